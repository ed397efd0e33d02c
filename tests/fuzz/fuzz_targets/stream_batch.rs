//! A DynamoDB stream batch as Lambda hands it to the outbox and the projection: records that
//! are not stored events come back as per-record errors (to be retried, then parked), never as
//! a panic that would fail the whole batch.
#![no_main]

use adapters::stream::inserted_events;
use aws_lambda_events::event::dynamodb::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|batch: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<Event>(batch) else {
        return;
    };
    let inserts = batch
        .records
        .iter()
        .filter(|r| r.event_name == "INSERT")
        .count();
    if let Ok(events) = inserted_events(batch) {
        assert_eq!(events.len(), inserts, "one result per INSERT record");
    }
});
