// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use adapters::config::{self, required_env};
use adapters::redelivery::{IDEMPOTENCY_LIFETIME, IN_PROGRESS_WINDOW};
use adapters::{DynamoDbIdempotencyStore, SnsNotifier};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::idempotency::Idempotent;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("notification")?;
    let topic = required_env("NOTIFICATION_TOPIC_ARN")?;
    let table = required_env("IDEMPOTENCY_TABLE")?;
    let aws = config::load().await;
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&aws), topic);
    let once = Idempotent::new(
        DynamoDbIdempotencyStore::new(aws_sdk_dynamodb::Client::new(&aws), table),
        IDEMPOTENCY_LIFETIME,
        IN_PROGRESS_WINDOW,
    );
    let (notifier, once) = (&notifier, &once);
    metrics
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Box<RawValue>>>| async move {
                notification::handle(notifier, once, event.payload)
                    .await
                    .map(|_| ())
            },
        )
        .await
}
