// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use adapters::DynamoDbOrderViews;
use adapters::config::{self, required_env};
use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent};
use projection::Projection;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("projection")?;
    let table = required_env("ORDER_VIEWS_TABLE")?;
    let aws = config::load().await;
    let views = DynamoDbOrderViews::new(aws_sdk_dynamodb::Client::new(&aws), table);
    #[cfg(feature = "test-hooks")]
    let views = adapters::fault::FaultyViews::new(views, adapters::fault::FaultSwitch::from_env()?);
    let projection = Projection::new(views);
    let projection = &projection;
    metrics
        .run(move |event: LambdaEvent<Event>| async move {
            projection.handle_batch(event.payload).await
        })
        .await
}
