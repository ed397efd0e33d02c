use chrono::Utc;
use domain::ports::EventStore;
use domain::{EventKey, RecordedEvent};
use testkit::fakes::{InMemoryBus, InMemoryEventStore};
use uuid::Uuid;

use super::*;

fn event(aggregate_id: &str, version: u64, detail_bytes: usize) -> RecordedEvent {
    RecordedEvent {
        aggregate_id: aggregate_id.into(),
        version,
        source: "order-service".into(),
        event_id: Uuid::new_v4(),
        event_type: "OrderCreated".into(),
        occurred_at: Utc::now(),
        detail: format!("{{\"pad\":\"{}\"}}", "x".repeat(detail_bytes)),
    }
}

/// A store holding `events` and a batch of stream records for them, sequence numbers 1..
async fn given(events: &[RecordedEvent]) -> (InMemoryEventStore, Vec<StreamedEvent>) {
    let store = InMemoryEventStore::default();
    for event in events {
        store.append(std::slice::from_ref(event)).await.unwrap();
    }
    (store, records(events))
}

fn records(events: &[RecordedEvent]) -> Vec<StreamedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| StreamedEvent {
            id: format!("{:05}", i + 1),
            event: event.clone(),
        })
        .collect()
}

/// What Lambda re-delivers after a report: the stream from the first failed record on.
fn redelivery(events: &[RecordedEvent], report: &RelayReport) -> Vec<StreamedEvent> {
    let first: usize = report.failed[0].parse().unwrap();
    records(events).split_off(first - 1)
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

#[tokio::test]
async fn publishes_each_event_and_marks_it_published() {
    let events: Vec<_> = (1..=3).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    let report = Outbox::new(bus.clone(), store.clone()).relay(batch).await;

    assert_eq!(
        report,
        RelayReport {
            published: 3,
            already_published: 0,
            failed: vec![]
        }
    );
    assert_eq!(ids(&bus.published()), ids(&events));
    assert_eq!(
        bus.published()[0].detail,
        events[0].detail,
        "the detail is published as stored"
    );
    for event in &events {
        assert!(
            store.published_at(&event.key()).is_some(),
            "{:?} not marked",
            event.key()
        );
    }
}

#[tokio::test]
async fn batches_hold_at_most_ten_entries() {
    let events: Vec<_> = (1..=25).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    Outbox::new(bus.clone(), store).relay(batch).await;

    assert_eq!(bus.batch_sizes(), [10, 10, 5]);
    assert_eq!(bus.published().len(), 25);
}

#[tokio::test]
async fn batches_stay_under_the_size_limit() {
    // 60 KiB each: four fit in 256 KiB, a fifth does not.
    let events: Vec<_> = (1..=6).map(|v| event("101", v, 60 * 1024)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    Outbox::new(bus.clone(), store).relay(batch).await;

    assert_eq!(bus.batch_sizes(), [4, 2]);
}

#[tokio::test]
async fn a_rejected_entry_is_retried_alone_and_its_siblings_are_not_published_twice() {
    let events: Vec<_> = (1..=5).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    bus.reject(events[1].event_id, 1);
    let outbox = Outbox::new(bus.clone(), store.clone());

    let first = outbox.relay(batch).await;
    assert_eq!(first.failed, ["00002"]);
    assert_eq!(first.published, 4);
    assert!(store.published_at(&events[1].key()).is_none());

    // Lambda re-delivers records 2..5; 3..5 are already on the bus.
    let second = outbox.relay(redelivery(&events, &first)).await;
    assert_eq!(
        second,
        RelayReport {
            published: 1,
            already_published: 3,
            failed: vec![]
        }
    );

    let mut published = ids(&bus.published());
    published.sort();
    let mut expected = ids(&events);
    expected.sort();
    assert_eq!(published, expected, "each event exactly once");
}

#[tokio::test]
async fn a_failed_call_fails_only_the_records_of_its_batch() {
    let events: Vec<_> = (1..=12).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    bus.fail_calls(1);
    let report = Outbox::new(bus.clone(), store).relay(batch).await;

    // Batches are published concurrently, so which of the two failed is not fixed; exactly one
    // batch's records are reported.
    assert_eq!(report.published + report.failed.len(), 12);
    assert!(
        report.failed.len() == 10 || report.failed.len() == 2,
        "{report:?}"
    );
    assert_eq!(bus.published().len(), report.published);
}

#[tokio::test]
async fn when_publication_state_cannot_be_read_everything_is_retried_and_nothing_published() {
    let events: Vec<_> = (1..=3).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    store.set_unavailable(true);
    let bus = InMemoryBus::default();
    let report = Outbox::new(bus.clone(), store).relay(batch).await;

    assert_eq!(report.failed, ["00001", "00002", "00003"]);
    assert!(bus.published().is_empty());
}

#[tokio::test]
async fn a_whole_redelivered_batch_publishes_nothing_new() {
    let events: Vec<_> = (1..=4).map(|v| event("101", v, 10)).collect();
    let (store, batch) = given(&events).await;
    let bus = InMemoryBus::default();
    let outbox = Outbox::new(bus.clone(), store);
    outbox.relay(batch).await;
    let again = outbox.relay(records(&events)).await;

    assert_eq!(
        again,
        RelayReport {
            published: 0,
            already_published: 4,
            failed: vec![]
        }
    );
    assert_eq!(bus.published().len(), 4);
}

#[test]
fn keys_identify_events_by_aggregate_and_version() {
    let e = event("order-7", 3, 1);
    assert_eq!(
        e.key(),
        EventKey {
            aggregate_id: "order-7".into(),
            version: 3
        }
    );
}
