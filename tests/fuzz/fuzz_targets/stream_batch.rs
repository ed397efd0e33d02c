//! A DynamoDB stream batch as Lambda hands it to the outbox and the projection: every INSERT
//! record is either handed to the consumer's work or reported for retry (then parked), never
//! both, never dropped, and never a panic that would fail the whole batch.
#![no_main]

use std::collections::HashSet;

use adapters::stream::{BatchReport, StreamedEvent, process_batch};
use aws_lambda_events::event::dynamodb::Event;
use libfuzzer_sys::fuzz_target;

/// The report of work that succeeded.
struct Done;

impl BatchReport for Done {
    fn log(&self, _received: usize) {}

    fn into_failed(self) -> Vec<String> {
        Vec::new()
    }
}

fuzz_target!(|batch: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<Event>(batch) else {
        return;
    };
    let inserts: Vec<Option<String>> = batch
        .records
        .iter()
        .filter(|r| r.event_name == "INSERT")
        .map(|r| r.change.sequence_number.clone())
        .collect();
    // Sequence numbers are unique within a shard, so within a batch.
    let distinct: HashSet<&Option<String>> = inserts.iter().collect();
    if distinct.len() < inserts.len() {
        return;
    }
    let mut handed = Vec::new();
    let answer = futures::executor::block_on(process_batch(batch, |events: Vec<StreamedEvent>| {
        handed = events.into_iter().map(|streamed| streamed.id).collect();
        std::future::ready(Done)
    }));
    let Ok(answer) = answer else {
        assert!(
            inserts.contains(&None),
            "refused a batch whose INSERTs all have sequence numbers"
        );
        return;
    };
    let retried: Vec<String> = answer
        .batch_item_failures
        .into_iter()
        .map(|failure| {
            failure
                .item_identifier
                .expect("a retried record names its sequence number")
        })
        .collect();
    assert!(
        retried.iter().all(|id| !handed.contains(id)),
        "a record both handed and retried"
    );
    assert_eq!(
        handed.len() + retried.len(),
        inserts.len(),
        "one outcome per INSERT record"
    );
});
