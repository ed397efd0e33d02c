use adapters::config::{self, required_env};
use adapters::{DynamoDbEventStore, DynamoDbOrderViews};
use create_order::api;
use create_order::service::OrderService;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let events_table = required_env("EVENT_STORE_TABLE")?;
    let views_table = required_env("ORDER_VIEWS_TABLE")?;
    let aws = config::load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let service = OrderService::new(
        DynamoDbEventStore::new(dynamodb.clone(), events_table),
        DynamoDbOrderViews::new(dynamodb, views_table),
    );
    let service = &service;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(api::handle(service, request).await)
    }))
    .await
}
