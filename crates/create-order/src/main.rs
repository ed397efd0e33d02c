// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use std::sync::Arc;

use adapters::config::{self, required_env};
use adapters::{DynamoDbEventStore, DynamoDbOrderViews};
use create_order::api;
use create_order::auth::jwks::RemoteJwks;
use create_order::auth::{AuthSettings, Authenticator};
use create_order::service::OrderService;
use lambda_http::{Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("create-order")?;
    let events_table = required_env("EVENT_STORE_TABLE")?;
    let views_table = required_env("ORDER_VIEWS_TABLE")?;
    let settings = AuthSettings {
        issuer: required_env("OIDC_ISSUER")?,
        audience: required_env("OIDC_AUDIENCE")?,
        customer_id_claim: required_env("CUSTOMER_ID_CLAIM")?,
        groups_claim: required_env("GROUPS_CLAIM")?,
        operator_group: required_env("OPERATOR_GROUP")?,
    };
    // Cognito publishes its keys under the issuer; other issuers may say where.
    let jwks_url = match std::env::var("OIDC_JWKS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!(
            "{}/.well-known/jwks.json",
            settings.issuer.trim_end_matches('/')
        ),
    };
    let keys = Arc::new(RemoteJwks::new(jwks_url));
    tokio::spawn({
        let keys = Arc::clone(&keys);
        async move { keys.prefetch().await }
    });
    let auth = Authenticator::new(settings, keys);
    let aws = config::load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let service = OrderService::new(
        DynamoDbEventStore::new(dynamodb.clone(), events_table),
        DynamoDbOrderViews::new(dynamodb, views_table),
    );
    let (service, auth) = (&service, &auth);
    metrics
        .run_http(move |request: Request| async move {
            Ok::<_, Error>(api::handle(service, auth, request).await)
        })
        .await
}
