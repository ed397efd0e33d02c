// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use std::time::Duration;

use adapters::config::{self, required_env};
use adapters::{DynamoDbEventStore, EventBridgePublisher};
use lambda_runtime::{Error, LambdaEvent};
use recovery_sweep::Sweep;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("recovery-sweep")?;
    let table = required_env("EVENT_STORE_TABLE")?;
    let bus = required_env("EVENT_BUS_NAME")?;
    let stuck_after = Duration::from_secs(required_env("STUCK_AFTER_SECONDS")?.parse()?);
    let aws = config::load().await;
    let sweep = Sweep::new(
        DynamoDbEventStore::new(aws_sdk_dynamodb::Client::new(&aws), table),
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&aws), bus),
        stuck_after,
    );
    let sweep = &sweep;
    // The schedule's event carries nothing the sweep needs. A run that could not publish
    // everything due fails, so that the function's errors (and its failure destination) show it;
    // the next run tries again.
    metrics
        .run(move |_: LambdaEvent<Value>| async move {
            let report = sweep.run().await?;
            if report.failed > 0 {
                return Err(Error::from(format!(
                    "{} events were due but could not be published",
                    report.failed
                )));
            }
            Ok::<_, Error>(report.events_republished + report.payments_restarted)
        })
        .await
}
