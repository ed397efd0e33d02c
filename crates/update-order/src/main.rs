// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use adapters::config::{self, required_env};
use adapters::redelivery::{IDEMPOTENCY_LIFETIME, IN_PROGRESS_WINDOW};
use adapters::{DynamoDbEventStore, DynamoDbIdempotencyStore, DynamoDbSnapshotStore};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::idempotency::Idempotent;
use domain::order::repository::OrderRepository;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::value::RawValue;
use update_order::OrderUpdater;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("update-order")?;
    let events_table = required_env("EVENT_STORE_TABLE")?;
    let snapshots_table = required_env("SNAPSHOTS_TABLE")?;
    let idempotency_table = required_env("IDEMPOTENCY_TABLE")?;
    let snapshot_every: u64 = required_env("SNAPSHOT_EVERY")?.parse()?;
    let aws = config::load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let updater = OrderUpdater::new(
        OrderRepository::with_snapshots(
            DynamoDbEventStore::new(dynamodb.clone(), events_table),
            DynamoDbSnapshotStore::new(dynamodb.clone(), snapshots_table),
            snapshot_every,
        ),
        Idempotent::new(
            DynamoDbIdempotencyStore::new(dynamodb, idempotency_table),
            IDEMPOTENCY_LIFETIME,
            IN_PROGRESS_WINDOW,
        ),
    );
    let updater = &updater;
    metrics
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Box<RawValue>>>| async move {
                updater.handle(event.payload).await.map(|_| ())
            },
        )
        .await
}
