//! The event store's DynamoDB stream as Lambda delivers it, and the one way a consumer of it
//! handles a batch: [`process_batch`] reads the stored events, hands them to the consumer's work,
//! and answers Lambda with exactly the records to retry, in stream order. It counts each event as
//! processed or failed (`EventsProcessed`, `EventsFailed`), by event type.

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::RecordedEvent;

use crate::EventItem;
use crate::metrics::{self, UNREADABLE, names};

/// A stored event to work on, with the id its caller knows it by: for a stream batch the
/// record's sequence number, which is what Lambda needs to retry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedEvent<Id = String> {
    pub id: Id,
    pub event: RecordedEvent,
}

#[derive(Debug, thiserror::Error)]
#[error("stream record without a sequence number: it cannot be retried alone")]
pub struct MissingSequenceNumber;

/// What a consumer's work says about a batch: its log line, and the events to retry.
pub trait BatchReport {
    /// Logs the batch's counts; `received` is every record of the batch, whatever it held.
    fn log(&self, received: usize);
    fn into_failed(self) -> Vec<String>;
}

/// Handles one stream batch: the events of its INSERT records go to `work`, whose report says
/// which to retry; a record that is not a readable event is retried too (and, failing
/// again, parked in the mapping's dead-letter queue), never dropped. Other records are left
/// out: the mappings' filters pass INSERTs only, and checking again here keeps a MODIFY (an
/// event marked as published) from ever being taken for a new event, whatever the filter says.
pub async fn process_batch<W, Fut>(
    batch: Event,
    work: W,
) -> Result<DynamoDbEventResponse, MissingSequenceNumber>
where
    W: FnOnce(Vec<StreamedEvent>) -> Fut,
    Fut: Future<Output: BatchReport>,
{
    let received = batch.records.len();
    let mut stream_order = Vec::with_capacity(batch.records.len());
    let mut unreadable = Vec::new();
    let mut events = Vec::with_capacity(batch.records.len());
    for record in batch.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let (sequence_number, event) = read(record)?;
        stream_order.push(sequence_number.clone());
        match event {
            Ok(event) => events.push(StreamedEvent {
                id: sequence_number,
                event,
            }),
            Err(reason) => {
                tracing::error!(%sequence_number, %reason, "unreadable stream record");
                unreadable.push(sequence_number);
            }
        }
    }
    let event_types: Vec<(String, String)> = events
        .iter()
        .map(|streamed| (streamed.id.clone(), streamed.event.event_type.clone()))
        .collect();
    let report = work(events).await;
    report.log(received);
    let failed: HashSet<String> = report.into_failed().into_iter().collect();
    for (id, event_type) in &event_types {
        let outcome = if failed.contains(id) {
            names::EVENTS_FAILED
        } else {
            names::EVENTS_PROCESSED
        };
        metrics::count_event(outcome, event_type);
    }
    for _ in &unreadable {
        metrics::count_event(names::EVENTS_FAILED, UNREADABLE);
    }
    let failed: HashSet<String> = failed.into_iter().chain(unreadable).collect();
    Ok(retry(in_order(&stream_order, &failed)))
}

fn read(
    record: EventRecord,
) -> Result<(String, Result<RecordedEvent, String>), MissingSequenceNumber> {
    let sequence_number = record.change.sequence_number.ok_or(MissingSequenceNumber)?;
    let event = EventItem::from_item(record.change.new_image)
        .and_then(EventItem::into_recorded)
        .map_err(|error| error.to_string());
    Ok((sequence_number, event))
}

/// The ids of `all` that are in `chosen`, in the order of `all`: failures are reported in the
/// order the work came in, whatever order the work finished in.
pub fn in_order<Id: Clone + Eq + Hash>(all: &[Id], chosen: &HashSet<Id>) -> Vec<Id> {
    all.iter()
        .filter(|id| chosen.contains(id))
        .cloned()
        .collect()
}

/// The batch response asking Lambda to retry exactly these records.
fn retry(failed: impl IntoIterator<Item = String>) -> DynamoDbEventResponse {
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
