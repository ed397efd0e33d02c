use adapters::DynamoDbEventStore;
use adapters::config::{self, required_env};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = required_env("EVENT_STORE_TABLE")?;
    let aws = config::load().await;
    let store = DynamoDbEventStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Box<RawValue>>>| async move {
            update_order::handle(store, event.payload).await.map(|_| ())
        },
    ))
    .await
}
