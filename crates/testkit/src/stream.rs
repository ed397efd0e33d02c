//! The event store's DynamoDB stream as Lambda delivers it (JSON): for tests and benchmarks that
//! hand a stream consumer a batch without a stream.

use adapters::EventItem;
use serde_json::{Value, json};

/// A stream record holding `new_image`, as Lambda delivers it.
pub fn stream_record(event_name: &str, sequence_number: &str, new_image: Value) -> Value {
    json!({
        "eventID": format!("evt-{sequence_number}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_763_800_000.0,
            "Keys": {"aggregateId": new_image["aggregateId"], "version": new_image["version"]},
            "NewImage": new_image,
            "SequenceNumber": sequence_number,
            "SizeBytes": 300,
            "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/events/stream/2026-11-22T00:00:00.000"
    })
}

/// A stored event (a `&RecordedEvent`, or an item read from the table) as an INSERT record's
/// `NewImage` shows it. The image is the item the event store writes, through the same
/// `EventItem`, so the two cannot disagree on its shape; `publishedAt` is left out, since the
/// outbox sets it later, in a MODIFY.
pub fn stream_image(event: impl Into<EventItem>) -> Value {
    let mut item: EventItem = event.into();
    item.published_at = None;
    // EventItem holds strings and integers only: it always converts, and so does the result.
    let attributes: serde_dynamo::Item =
        serde_dynamo::to_item(item).expect("event items convert to attributes");
    serde_json::to_value(attributes).expect("attributes serialize to JSON")
}
