//! The outbox processor: the event store's stream in, the bus out.

pub mod outbox;

use adapters::EventItem;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::ports::{EventPublisher, PublicationLog};
use lambda_runtime::Error;

pub use outbox::{Outbox, OutboxRecord, RelayReport};

/// Handles one stream batch and returns the records to retry.
pub async fn handle_batch<P, L>(
    outbox: &Outbox<P, L>,
    event: Event,
) -> Result<DynamoDbEventResponse, Error>
where
    P: EventPublisher,
    L: PublicationLog,
{
    let received = event.records.len();
    let records = event
        .records
        .into_iter()
        // The mapping's filter lets only INSERTs through; the check here keeps the MODIFY that
        // marking an event as published causes from ever being published, whatever the filter.
        .filter(|record| record.event_name == "INSERT")
        .map(outbox_record)
        .collect::<Result<Vec<_>, _>>()?;
    let report = outbox.relay(records).await;
    tracing::info!(
        received,
        published = report.published,
        already_published = report.already_published,
        failed = report.failed.len(),
        "outbox batch relayed"
    );
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = report
        .failed
        .into_iter()
        .map(|sequence_number| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number);
            failure
        })
        .collect();
    Ok(response)
}

fn outbox_record(record: EventRecord) -> Result<OutboxRecord, Error> {
    // Without its sequence number a record cannot be retried alone: fail the whole batch.
    let sequence_number = record
        .change
        .sequence_number
        .ok_or("stream record without a sequence number")?;
    let event = EventItem::from_item(record.change.new_image)
        .and_then(EventItem::into_recorded)
        .map_err(|error| error.to_string());
    Ok(OutboxRecord {
        sequence_number,
        event,
    })
}
