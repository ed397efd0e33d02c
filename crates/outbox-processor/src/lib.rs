//! The outbox processor: the event store's stream in, the bus out.

pub mod outbox;

use adapters::stream::process_batch;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::ports::{EventPublisher, PublicationLog};
use lambda_runtime::Error;

pub use outbox::{Outbox, RelayReport};

/// Handles one stream batch and returns the records to retry.
pub async fn handle_batch<P, L>(
    outbox: &Outbox<P, L>,
    batch: Event,
) -> Result<DynamoDbEventResponse, Error>
where
    P: EventPublisher,
    L: PublicationLog,
{
    Ok(process_batch(batch, |events| outbox.relay(events)).await?)
}
