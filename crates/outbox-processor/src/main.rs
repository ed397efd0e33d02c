// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use adapters::config::{self, required_env};
use adapters::{DynamoDbEventStore, EventBridgePublisher};
use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent};
use outbox_processor::{Outbox, handle_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("outbox-processor")?;
    let table = required_env("EVENT_STORE_TABLE")?;
    let bus = required_env("EVENT_BUS_NAME")?;
    let aws = config::load().await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&aws), bus);
    #[cfg(feature = "test-hooks")]
    let publisher =
        adapters::fault::FaultyPublisher::new(publisher, adapters::fault::FaultSwitch::from_env()?);
    let outbox = Outbox::new(
        publisher,
        DynamoDbEventStore::new(aws_sdk_dynamodb::Client::new(&aws), table),
    );
    let outbox = &outbox;
    metrics.run(move |event: LambdaEvent<Event>| async move {
        handle_batch(outbox, event.payload).await
    })
    .await
}
