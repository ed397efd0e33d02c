//! HTTP in front of the order use cases: routing, request reading and JSON responses.
//!
//! API Gateway sends every path and method here (a `{proxy+}` resource), so unknown routes and
//! methods get the same JSON error bodies as everything else.

use domain::journey;
use domain::order::{
    FieldError, IDENTIFIER_RULE, OrderId, OrderStatus, OrderView, is_identifier, parse_new_order,
};
use domain::order::{OrderViews, PageError};
use domain::ports::EventStore;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use uuid::Uuid;

use adapters::metrics::{self, names};

use crate::auth::{AuthError, Authenticator, Caller, SigningKeys};
use domain::order::repository::CreateError;

use crate::service::{OrderService, Receipt};

pub const CORRELATION_HEADER: &str = "x-correlation-id";
const MAX_CORRELATION_ID: usize = 128;

/// The API's description is public; every order route needs a signed-in caller.
enum Route<'a> {
    ApiDocument,
    Orders(OrderRoute<'a>),
}

enum OrderRoute<'a> {
    Place,
    Get(&'a str),
    OfCustomer(&'a str),
}

enum RouteError {
    NotFound,
    MethodNotAllowed { allow: &'static str },
}

/// `POST /orders` (and `/order`, the original demo's path), `GET /orders/{id}`,
/// `GET /customers/{customerId}/orders`, and `GET /openapi.yaml`, the API's description.
fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, RouteError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (segments.as_slice(), method) {
        (["openapi.yaml"], &Method::GET) => Ok(Route::ApiDocument),
        (["openapi.yaml"], _) => Err(RouteError::MethodNotAllowed { allow: "GET" }),
        (["orders" | "order"], &Method::POST) => Ok(Route::Orders(OrderRoute::Place)),
        (["orders" | "order"], _) => Err(RouteError::MethodNotAllowed { allow: "POST" }),
        (["orders", id], &Method::GET) => Ok(Route::Orders(OrderRoute::Get(id))),
        (["orders", _], _) => Err(RouteError::MethodNotAllowed { allow: "GET" }),
        (["customers", customer, "orders"], &Method::GET) => {
            Ok(Route::Orders(OrderRoute::OfCustomer(customer)))
        }
        (["customers", _, "orders"], _) => Err(RouteError::MethodNotAllowed { allow: "GET" }),
        _ => Err(RouteError::NotFound),
    }
}

/// The OpenAPI 3.1 description of this API, served as it is in the repository.
pub const OPENAPI_DOCUMENT: &str = include_str!("../../../infra/openapi.yaml");

/// Orders a page holds unless the client asks for fewer, and at most.
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// The body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderList<'a> {
    orders: &'a [OrderView],
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Accepted<'a> {
    id: &'a OrderId,
    status: OrderStatus,
    correlation_id: &'a str,
}

/// Answers one request. Everything but the API's description needs a signed-in caller, unknown
/// routes too, as API Gateway's authorizer does on AWS.
pub async fn handle<S: EventStore, V: OrderViews, K: SigningKeys>(
    service: &OrderService<S, V>,
    auth: &Authenticator<K>,
    request: Request,
) -> Response<Body> {
    let path = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    let routed = match route(request.method(), &path) {
        Ok(Route::ApiDocument) => return api_document(),
        Ok(Route::Orders(route)) => Ok(route),
        Err(refused) => Err(refused),
    };
    let caller = match auth
        .authenticate(request.headers().get(header::AUTHORIZATION))
        .await
    {
        Ok(caller) => caller,
        Err(refusal) => {
            let response = refused(&refusal);
            tracing::info!(method = %request.method(), %path, status = response.status().as_u16(), reason = %refusal, "request refused");
            return response;
        }
    };
    let response = match routed {
        Ok(OrderRoute::Place) => place_order(service, &caller, &request).await,
        Ok(OrderRoute::Get(id)) => get_order(service, &caller, id).await,
        Ok(OrderRoute::OfCustomer(customer)) => {
            customer_orders(service, &caller, customer, &request).await
        }
        Err(RouteError::NotFound) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {path}"),
        ),
        Err(RouteError::MethodNotAllowed { allow }) => {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not allowed on {path}; use {allow}", request.method()),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
    };
    tracing::info!(method = %request.method(), %path, status = response.status().as_u16(), customer = %caller.customer_id, "request handled");
    response
}

async fn place_order<S: EventStore, V: OrderViews>(
    service: &OrderService<S, V>,
    caller: &Caller,
    request: &Request,
) -> Response<Body> {
    let response = place_order_answer(service, caller, request).await;
    if response.status().is_client_error() {
        metrics::count(names::ORDERS_REJECTED);
    }
    response
}

async fn place_order_answer<S: EventStore, V: OrderViews>(
    service: &OrderService<S, V>,
    caller: &Caller,
    request: &Request,
) -> Response<Body> {
    let correlation_id = match correlation_id(request) {
        Ok(id) => id,
        Err(field) => return invalid(vec![field]),
    };
    let new_order = match parse_new_order(request.body()) {
        Ok(order) => order,
        Err(errors) => return invalid(errors),
    };
    // The customer is who signed in; a body may repeat it, never name someone else.
    if let Some(named) = &new_order.customer_id
        && *named != caller.customer_id
    {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "customerId {named} is not the signed-in customer {}: leave it out or send that",
                caller.customer_id
            ),
        );
    }
    let new_order = new_order.placed_by(&caller.customer_id, &caller.subject);
    metrics::about_order(new_order.id.key(), Some(&correlation_id));
    match service
        .place(new_order, correlation_id, causation_id(request))
        .await
    {
        Ok(receipt) => {
            if receipt.placed_now {
                metrics::count(names::ORDERS_PLACED);
            }
            let span = journey::span(
                &receipt.correlation_id,
                &receipt.event_id,
                Some(&receipt.causation_id),
                &receipt.id.key(),
            );
            span.in_scope(|| tracing::info!(customer = %caller.customer_id, "order placed"));
            accepted(&receipt)
        }
        Err(CreateError::Taken(id)) => error(
            StatusCode::CONFLICT,
            "conflict",
            format!("order {id} already exists with different contents"),
        ),
        Err(CreateError::Infrastructure(failure)) => internal(&failure),
    }
}

/// `/orders/alice.101`, or `/orders/101` for the caller's own order 101. Another customer's
/// order is answered exactly like a missing one, so that ids reveal nothing.
async fn get_order<S: EventStore, V: OrderViews>(
    service: &OrderService<S, V>,
    caller: &Caller,
    id: &str,
) -> Response<Body> {
    if !OrderId::is_valid_key(id) {
        return invalid(vec![FieldError::new(
            "id",
            format!("must be {IDENTIFIER_RULE}, or a customer id, a dot and such an id"),
        )]);
    }
    match service
        .get(&OrderId::key_for(&caller.customer_id, id))
        .await
    {
        Ok(Some(order)) if caller.may_read(order.customer_id.as_deref()) => {
            json(StatusCode::OK, &order)
        }
        Ok(_) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("order {id} does not exist"),
        ),
        Err(failure) => internal(&failure),
    }
}

async fn customer_orders<S: EventStore, V: OrderViews>(
    service: &OrderService<S, V>,
    caller: &Caller,
    customer: &str,
    request: &Request,
) -> Response<Body> {
    let query = request.query_string_parameters();
    let mut errors = Vec::new();
    if !is_identifier(customer) {
        errors.push(FieldError::new(
            "customerId",
            format!("must be {IDENTIFIER_RULE}"),
        ));
    }
    let limit = match query.first("limit").map(str::parse::<u32>) {
        None => DEFAULT_PAGE,
        Some(Ok(limit)) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => {
            errors.push(FieldError::new(
                "limit",
                format!("must be an integer from 1 to {MAX_PAGE}"),
            ));
            DEFAULT_PAGE
        }
    };
    if !errors.is_empty() {
        return invalid(errors);
    }
    if !caller.may_read(Some(customer)) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only {} and operators may list the orders of {customer}",
                caller.customer_id
            ),
        );
    }
    match service
        .customer_orders(customer, limit, query.first("cursor"))
        .await
    {
        Ok(page) => json(
            StatusCode::OK,
            &OrderList {
                orders: &page.items,
                next_cursor: page.next_cursor.as_deref(),
            },
        ),
        Err(PageError::BadCursor) => invalid(vec![FieldError::new(
            "cursor",
            "is not a cursor this API gave out for this customer",
        )]),
        Err(PageError::Infrastructure(failure)) => internal(&failure),
    }
}

/// The caller's correlation id, or a new one. It travels in every event of the order, so it is
/// held to a length and to printable ASCII.
fn correlation_id(request: &Request) -> Result<String, FieldError> {
    let Some(value) = request.headers().get(CORRELATION_HEADER) else {
        return Ok(Uuid::new_v4().to_string());
    };
    match value.to_str() {
        Ok(id)
            if (1..=MAX_CORRELATION_ID).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(id.to_owned())
        }
        _ => Err(FieldError::new(
            "X-Correlation-Id",
            format!("must be 1-{MAX_CORRELATION_ID} printable ASCII characters without spaces"),
        )),
    }
}

/// What caused the order's first event: the API request, by API Gateway's request id.
fn causation_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn accepted(receipt: &Receipt) -> Response<Body> {
    let mut response = json(
        StatusCode::ACCEPTED,
        &Accepted {
            id: &receipt.id,
            status: OrderStatus::Created,
            correlation_id: &receipt.correlation_id,
        },
    );
    let headers = response.headers_mut();
    // Order keys and correlation ids are restricted to header-safe ASCII above.
    if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", receipt.id.key())) {
        headers.insert(header::LOCATION, location);
    }
    if let Ok(correlation) = HeaderValue::from_str(&receipt.correlation_id) {
        headers.insert(CORRELATION_HEADER, correlation);
    }
    response
}

fn api_document() -> Response<Body> {
    let mut response = Response::new(Body::Text(OPENAPI_DOCUMENT.to_owned()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    response
}

fn invalid(errors: Vec<FieldError>) -> Response<Body> {
    let message = match errors.as_slice() {
        [one] => format!("{} {}", one.field, one.message),
        many => format!("{} fields are invalid", many.len()),
    };
    json(
        StatusCode::BAD_REQUEST,
        &ErrorBody {
            error: "validation_failed",
            message,
            errors,
        },
    )
}

/// A caller the API does not let in: 401 with the `WWW-Authenticate` challenge of RFC 6750, 403,
/// or 503 when the issuer's keys cannot be had.
fn refused(refusal: &AuthError) -> Response<Body> {
    match refusal {
        AuthError::Unauthenticated {
            reason,
            token_given,
        } => {
            let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized", reason.clone());
            let challenge = if *token_given {
                format!(r#"Bearer error="invalid_token", error_description="{reason}""#)
            } else {
                "Bearer".to_owned()
            };
            // The reasons are fixed ASCII sentences without quotes.
            if let Ok(challenge) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        }
        AuthError::Forbidden(reason) => error(StatusCode::FORBIDDEN, "forbidden", reason.clone()),
        AuthError::KeysUnavailable(cause) => {
            tracing::error!(%cause, "signing keys unavailable");
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "sign-in cannot be checked right now; it is safe to retry".into(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

fn internal(failure: &dyn std::fmt::Display) -> Response<Body> {
    // The cause goes to the log, not to the client.
    tracing::error!(%failure, "request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the request could not be completed; it is safe to retry".into(),
    )
}

fn error(status: StatusCode, code: &'static str, message: String) -> Response<Body> {
    json(
        status,
        &ErrorBody {
            error: code,
            message,
            errors: Vec::new(),
        },
    )
}

fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Every body here is a plain struct of strings and numbers: serializing cannot fail.
    let body = serde_json::to_string(body).expect("response bodies serialize to JSON");
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests;
