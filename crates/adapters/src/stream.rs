//! The event store's DynamoDB stream as Lambda delivers it: the stored events in a batch, and
//! the answer that makes Lambda retry only the records that failed.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::RecordedEvent;

use crate::EventItem;

/// One stored event from a stream batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedEvent {
    /// The record's sequence number: what Lambda needs to retry it.
    pub sequence_number: String,
    /// The event, or why the record could not be read as one (a poison record: report it as
    /// failed, so it is retried and then parked in the mapping's dead-letter queue).
    pub event: Result<RecordedEvent, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("stream record without a sequence number: it cannot be retried alone")]
pub struct MissingSequenceNumber;

/// The events the batch's INSERT records hold, in stream order. Other records are left out:
/// the mappings' filters pass INSERTs only, and checking again here keeps a MODIFY (an event
/// marked as published) from ever being taken for a new event, whatever the filter says.
pub fn inserted_events(batch: Event) -> Result<Vec<StreamedEvent>, MissingSequenceNumber> {
    batch
        .records
        .into_iter()
        .filter(|record| record.event_name == "INSERT")
        .map(streamed_event)
        .collect()
}

fn streamed_event(record: EventRecord) -> Result<StreamedEvent, MissingSequenceNumber> {
    let sequence_number = record.change.sequence_number.ok_or(MissingSequenceNumber)?;
    let event = EventItem::from_item(record.change.new_image)
        .and_then(EventItem::into_recorded)
        .map_err(|error| error.to_string());
    Ok(StreamedEvent {
        sequence_number,
        event,
    })
}

/// The batch response asking Lambda to retry exactly these records.
pub fn retry(failed: impl IntoIterator<Item = String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|sequence_number| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number);
            failure
        })
        .collect();
    response
}
