use std::collections::HashMap;

use domain::EventEnvelope;
use domain::order::OrderViews as _;
use domain::order::{OrderEvent, OrderView};
use lambda_http::http::{self, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};
use testkit::fakes::{InMemoryEventStore, InMemoryOrderViews};

use super::*;
use crate::auth::testing::{StaticKeys, TestIssuer};
use crate::service::OrderService;

/// Who `Api::send` signs requests as, unless they carry a token already.
const CUSTOMER: &str = "c-1";

struct Api {
    store: InMemoryEventStore,
    views: InMemoryOrderViews,
    service: OrderService<InMemoryEventStore, InMemoryOrderViews>,
    issuer: TestIssuer,
    auth: Authenticator<StaticKeys>,
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

fn api() -> Api {
    let store = InMemoryEventStore::default();
    let views = InMemoryOrderViews::default();
    let issuer = TestIssuer::new();
    Api {
        service: OrderService::new(store.clone(), views.clone()),
        store,
        views,
        auth: issuer.authenticator(),
        issuer,
    }
}

fn request(method: &str, path: &str, body: &str) -> Request {
    http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com/Prod{path}"))
        .body(Body::from(body.to_owned()))
        .unwrap()
        .with_raw_http_path(path)
}

fn signed(mut request: Request, token: &str) -> Request {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    request
}

impl Api {
    /// Sends a request signed as `CUSTOMER` unless it has an `Authorization` header already.
    async fn send(&self, request: Request) -> Reply {
        let request = match request.headers().contains_key(header::AUTHORIZATION) {
            true => request,
            false => signed(request, &self.issuer.token(CUSTOMER)),
        };
        self.send_unsigned(request).await
    }

    async fn send_as(&self, customer: &str, request: Request) -> Reply {
        self.send(signed(request, &self.issuer.token(customer)))
            .await
    }

    async fn send_unsigned(&self, request: Request) -> Reply {
        let response = handle(&self.service, &self.auth, request).await;
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
            other => panic!("expected a text body, got {other:?}"),
        };
        assert_eq!(response.headers()["content-type"], "application/json");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body,
        }
    }

    async fn post(&self, body: &str) -> Reply {
        self.send(request("POST", "/orders", body)).await
    }

    /// Brings the order views up to date with the event store, as the projection does.
    async fn catch_up(&self) {
        let mut by_order: HashMap<String, Vec<(u64, EventEnvelope<OrderEvent>)>> = HashMap::new();
        for event in self.store.events() {
            by_order
                .entry(event.aggregate_id.clone())
                .or_default()
                .push((event.version, OrderEvent::from_recorded(&event).unwrap()));
        }
        for events in by_order.values() {
            let view = OrderView::fold(events.iter().map(|(v, e)| (*v, e)))
                .unwrap()
                .unwrap();
            let held = self
                .views
                .get(&view.id.key())
                .await
                .unwrap()
                .map_or(0, |v| v.version);
            if held < view.version {
                self.views.put(&view, held).await.unwrap();
            }
        }
    }

    fn stored(&self) -> Vec<EventEnvelope<OrderEvent>> {
        self.store
            .events()
            .iter()
            .map(|event| OrderEvent::from_recorded(event).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn post_accepts_an_order_and_stores_its_order_created_event() {
    let api = api();
    let reply = api.post(r#"{"id":101,"amount":100}"#).await;

    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body["id"], "c-1.101", "scoped to the customer");
    assert_eq!(reply.body["status"], "CREATED");
    let correlation_id = reply.body["correlationId"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&correlation_id).is_ok());
    assert_eq!(reply.headers["location"], "/orders/c-1.101");
    assert_eq!(reply.headers["x-correlation-id"], correlation_id.as_str());

    let stored = api.store.events();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].aggregate_id.as_str(), stored[0].version),
        ("c-1.101", 1)
    );
    assert_eq!(stored[0].source, "order-service");
    let envelope = &api.stored()[0];
    assert_eq!(envelope.metadata.event_type, "OrderCreated");
    assert_eq!(envelope.metadata.correlation_id, correlation_id);
    assert_eq!(envelope.metadata.producer, "create-order");
    let detail: Value = serde_json::from_str(&stored[0].detail).unwrap();
    assert_eq!(
        detail["data"],
        json!({"orderId": "c-1.101", "amount": 100, "currency": "USD",
               "customerId": "c-1", "placedBy": "c-1"}),
        "the customer and who placed it come from the token"
    );
}

#[tokio::test]
async fn the_original_demo_path_works_too() {
    let api = api();
    let reply = api
        .send(request("POST", "/order", r#"{"id":"A-1","amount":5.5}"#))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body["id"], "c-1.A-1");
    assert_eq!(reply.headers["location"], "/orders/c-1.A-1");
}

#[tokio::test]
async fn the_callers_correlation_id_is_kept() {
    let api = api();
    let mut req = request("POST", "/orders", r#"{"id":7,"amount":1}"#);
    req.headers_mut()
        .insert(CORRELATION_HEADER, "trace-abc".parse().unwrap());
    let reply = api.send(req).await;
    assert_eq!(reply.body["correlationId"], "trace-abc");
    assert_eq!(api.stored()[0].metadata.correlation_id, "trace-abc");
}

#[tokio::test]
async fn a_malformed_correlation_id_is_refused_and_nothing_is_written() {
    let api = api();
    let mut req = request("POST", "/orders", r#"{"id":7,"amount":1}"#);
    req.headers_mut()
        .insert(CORRELATION_HEADER, "has space".parse().unwrap());
    let reply = api.send(req).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["field"], "X-Correlation-Id");
    assert!(api.store.events().is_empty());
}

#[tokio::test]
async fn bad_input_is_a_400_naming_each_field_and_writes_nothing() {
    let api = api();
    let cases = [
        ("{not json", vec!["body"]),
        ("[]", vec!["body"]),
        (
            r#"{"id":"bad id!","amount":-1,"currency":"usd"}"#,
            vec!["id", "amount", "currency"],
        ),
        (r#"{"id":1,"amount":"100"}"#, vec!["amount"]),
        (r#"{"amount":100}"#, vec!["id"]),
    ];
    for (body, fields) in cases {
        let reply = api.post(body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"], "validation_failed");
        let named: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    assert!(api.store.events().is_empty());
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused() {
    let api = api();
    let body = format!(r#"{{"id":1,"amount":1,"pad":"{}"}}"#, "x".repeat(70_000));
    let reply = api.post(&body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["field"], "body");
    assert!(api.store.events().is_empty());
}

#[tokio::test]
async fn placing_the_same_order_again_gives_the_same_answer_and_no_second_event() {
    let api = api();
    let first = api.post(r#"{"id":101,"amount":100}"#).await;
    // The same order, written differently (the id as a string names the same scoped order),
    // naming its customer, and with no correlation id of its own.
    let again = api
        .post(r#"{ "amount": 100.00, "id": "101", "currency": "USD", "customerId": "c-1" }"#)
        .await;

    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(api.store.events().len(), 1);
}

#[tokio::test]
async fn the_same_id_with_other_contents_is_a_conflict() {
    let api = api();
    api.post(r#"{"id":101,"amount":100}"#).await;
    for body in [
        r#"{"id":101,"amount":200}"#,
        r#"{"id":101,"amount":100,"channel":"web"}"#,
    ] {
        let reply = api.post(body).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{body}");
        assert_eq!(reply.body["error"], "conflict");
    }
    assert_eq!(api.store.events().len(), 1);
}

#[tokio::test]
async fn get_right_after_post_reads_the_order_before_its_view_exists() {
    let api = api();
    api.post(r#"{"id":101,"amount":100}"#).await;
    assert!(
        api.views.get("c-1.101").await.unwrap().is_none(),
        "no view yet"
    );

    for path in ["/orders/101", "/orders/c-1.101"] {
        let reply = api.send(request("GET", path, "")).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.body["id"], "c-1.101");
        assert_eq!(reply.body["status"], "CREATED");
        assert_eq!(reply.body["version"], 1);
    }
    api.catch_up().await;
    let reply = api.send(request("GET", "/orders/101", "")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["id"], "c-1.101");
    assert_eq!(reply.body["amount"], json!(100));
    assert_eq!(reply.body["currency"], "USD");
    assert_eq!(reply.body["customerId"], "c-1");
    assert_eq!(reply.body["status"], "CREATED");
    assert_eq!(reply.body["version"], 1);
    assert_eq!(reply.body["events"][0]["eventType"], "OrderCreated");
    assert_eq!(reply.body["events"][0]["eventVersion"], 3);
    let created_at = reply.body["createdAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
}

#[tokio::test]
async fn get_of_an_unknown_order_is_404_and_of_a_malformed_id_400() {
    let api = api();
    let reply = api.send(request("GET", "/orders/999", "")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "not_found");

    let reply = api.send(request("GET", "/orders/a.b.c", "")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["field"], "id");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let api = api();
    let reply = api.send(request("GET", "/customers", "")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "not_found");

    let reply = api.send(request("GET", "/orders", "")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");

    let reply = api.send(request("DELETE", "/orders/101", "")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "GET");
    assert_eq!(reply.body["error"], "method_not_allowed");
}

#[tokio::test]
async fn the_api_serves_its_openapi_document() {
    let api = api();
    let response = handle(&api.service, &api.auth, request("GET", "/openapi.yaml", "")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let Body::Text(text) = response.body() else {
        panic!("a text body");
    };
    assert!(text.starts_with("openapi: 3.1.0"), "{}", &text[..40]);
    assert!(text.contains("/customers/{customerId}/orders:"));

    let reply = api.send(request("POST", "/openapi.yaml", "")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "GET");
}

#[tokio::test]
async fn a_storage_failure_is_a_500_that_tells_nothing_internal() {
    let api = api();
    api.store.set_unavailable(true);
    let reply = api.post(r#"{"id":101,"amount":100}"#).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body["error"], "internal_error");
    assert!(!reply.body.to_string().contains("unavailable"));
}

#[tokio::test]
async fn a_real_api_gateway_proxy_event_is_routed_without_its_stage() {
    let api = api();
    let event = json!({
        "resource": "/{proxy+}",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "Host": "abc.execute-api.us-east-1.amazonaws.com",
            "Authorization": format!("Bearer {}", api.issuer.token("c-7")),
        },
        "multiValueHeaders": {},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"proxy": "orders"},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r1", "stage": "Prod",
            "requestId": "req-42", "identity": {"sourceIp": "127.0.0.1"},
            "resourcePath": "/{proxy+}", "httpMethod": "POST", "apiId": "abc", "path": "/Prod/orders"
        },
        "body": "{\"id\":101,\"amount\":100}",
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let reply = api.send(request).await;

    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body["id"], "c-7.101");
    assert_eq!(
        api.stored()[0].metadata.causation_id,
        "req-42",
        "the request caused the event"
    );
}

fn with_query(mut request: Request, query: &[(&str, &str)]) -> Request {
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    request = request.with_query_string_parameters(query);
    request
}

#[tokio::test]
async fn a_customers_orders_are_listed_newest_first_a_page_at_a_time() {
    let api = api();
    for (id, amount) in [("o-1", 1), ("o-2", 2), ("o-3", 3)] {
        let body = json!({"id": id, "amount": amount, "customerId": "c-1"}).to_string();
        assert_eq!(api.post(&body).await.status, StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    api.send_as(
        "c-2",
        request("POST", "/orders", r#"{"id":"other","amount":1}"#),
    )
    .await;
    api.catch_up().await;

    let first = api
        .send(with_query(
            request("GET", "/customers/c-1/orders", ""),
            &[("limit", "2")],
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["c-1.o-3", "c-1.o-2"]);
    let cursor = first.body["nextCursor"]
        .as_str()
        .expect("a cursor to the next page")
        .to_owned();

    let second = api
        .send(with_query(
            request("GET", "/customers/c-1/orders", ""),
            &[("limit", "2"), ("cursor", &cursor)],
        ))
        .await;
    assert_eq!(ids(&second), ["c-1.o-1"]);
    assert!(
        second.body.get("nextCursor").is_none(),
        "the last page has no cursor"
    );

    let operator = api.issuer.operator_token("ops");
    let none = api
        .send(signed(
            request("GET", "/customers/nobody/orders", ""),
            &operator,
        ))
        .await;
    assert_eq!(none.body, json!({"orders": []}));
}

#[tokio::test]
async fn listing_refuses_bad_parameters_by_name() {
    let api = api();
    let reply = api
        .send(with_query(
            request("GET", "/customers/c-1/orders", ""),
            &[("limit", "0")],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["field"], "limit");
    let reply = api
        .send(with_query(
            request("GET", "/customers/c-1/orders", ""),
            &[("cursor", "nonsense")],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["field"], "cursor");
    let reply = api.send(request("GET", "/customers/a.b/orders", "")).await;
    assert_eq!(reply.body["errors"][0]["field"], "customerId");
    let reply = api.send(request("POST", "/customers/c-1/orders", "")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn every_route_but_the_api_document_needs_a_token_and_nothing_is_written_without_one() {
    let api = api();
    let mut expired = TestIssuer::claims(CUSTOMER);
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 600);
    let expired = api.issuer.sign(&expired);
    let routes = [
        ("POST", "/orders", r#"{"id":101,"amount":100}"#),
        ("POST", "/order", r#"{"id":101,"amount":100}"#),
        ("GET", "/orders/101", ""),
        ("GET", "/customers/c-1/orders", ""),
        ("GET", "/nowhere", ""),
    ];
    for (method, path, body) in routes {
        let reply = api.send_unsigned(request(method, path, body)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(reply.body["error"], "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        for token in ["garbage", expired.as_str()] {
            let reply = api.send(signed(request(method, path, body), token)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            let challenge = reply.headers["www-authenticate"].to_str().unwrap();
            assert!(
                challenge.starts_with(r#"Bearer error="invalid_token""#),
                "{challenge}"
            );
        }
    }
    assert!(api.store.events().is_empty());
}

#[tokio::test]
async fn a_body_naming_another_customer_is_a_403_and_writes_nothing() {
    let api = api();
    let reply = api
        .post(r#"{"id":101,"amount":100,"customerId":"c-2"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["error"], "forbidden");
    assert!(api.store.events().is_empty());
}

#[tokio::test]
async fn another_customers_order_is_answered_like_a_missing_one() {
    let api = api();
    api.post(r#"{"id":101,"amount":100}"#).await;
    let missing = api.send(request("GET", "/orders/c-1.999", "")).await;
    for path in ["/orders/c-1.101", "/orders/101"] {
        let reply = api.send_as("c-2", request("GET", path, "")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["error"], missing.body["error"]);
    }
    api.catch_up().await;
    let reply = api
        .send_as("c-2", request("GET", "/orders/c-1.101", ""))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "from the view too");
}

#[tokio::test]
async fn a_customer_lists_only_their_own_orders() {
    let api = api();
    let reply = api
        .send_as("c-2", request("GET", "/customers/c-1/orders", ""))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["error"], "forbidden");
}

#[tokio::test]
async fn customers_order_ids_never_collide_so_nobody_can_block_an_id() {
    let api = api();
    let first = api
        .send_as(
            "c-2",
            request("POST", "/orders", r#"{"id":101,"amount":5}"#),
        )
        .await;
    assert_eq!(first.body["id"], "c-2.101");
    let owner = api.post(r#"{"id":101,"amount":100}"#).await;
    assert_eq!(owner.status, StatusCode::ACCEPTED, "not a conflict");
    assert_eq!(owner.body["id"], "c-1.101");
    assert_eq!(api.store.events().len(), 2);
}

#[tokio::test]
async fn an_operator_reads_every_customers_orders() {
    let api = api();
    api.post(r#"{"id":101,"amount":100}"#).await;
    api.catch_up().await;
    let operator = api.issuer.operator_token("ops");
    let reply = api
        .send(signed(request("GET", "/orders/c-1.101", ""), &operator))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = api
        .send(signed(
            request("GET", "/customers/c-1/orders", ""),
            &operator,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["orders"][0]["id"], "c-1.101");
}

#[tokio::test]
async fn get_reads_the_event_store_when_the_view_is_behind() {
    use domain::order::OrderCommand;
    use domain::order::repository::OrderRepository;

    let api = api();
    api.post(r#"{"id":101,"amount":100}"#).await;
    api.catch_up().await;
    let causation = testkit::builders::caused("corr", "payment", "update-order");
    OrderRepository::new(api.store.clone())
        .execute(
            "c-1.101",
            &OrderCommand::Complete {
                payment_id: "pay-1".into(),
            },
            &causation,
        )
        .await
        .unwrap();
    assert_eq!(
        api.views.get("c-1.101").await.unwrap().unwrap().status,
        OrderStatus::Created,
        "the view is behind"
    );
    let reply = api.send(request("GET", "/orders/101", "")).await;
    assert_eq!(reply.body["status"], "COMPLETED");
    assert_eq!(reply.body["version"], 2);
}
