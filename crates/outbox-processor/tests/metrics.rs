//! outbox-processor's metrics for a stream batch, as one invocation emits them (testkit::metrics
//! checks each document against the embedded metric format's specification). A test binary of
//! its own: the metrics recorder is one per process.

use adapters::metrics::names;
use aws_lambda_events::event::dynamodb::Event;
use chrono::Utc;
use domain::RecordedEvent;
use domain::ports::EventStore;
use outbox_processor::{Outbox, handle_batch};
use serde_json::{Value, json};
use testkit::fakes::{InMemoryBus, InMemoryEventStore};
use testkit::history::recorded_order;
use testkit::metrics::capture;
use testkit::stream::{stream_image, stream_record};

const SERVICE: &str = "outbox-processor";

/// Two orders' events (one paid: OrderCreated, OrderCompleted; one not: OrderCreated), stored.
async fn given_stored_events() -> (InMemoryEventStore, Vec<RecordedEvent>) {
    let store = InMemoryEventStore::default();
    let mut events = recorded_order("a-1", Some("alice"), true, Utc::now());
    events.extend(recorded_order("a-2", Some("alice"), false, Utc::now()));
    for event in &events {
        store.append(std::slice::from_ref(event)).await.unwrap();
    }
    (store, events)
}

/// The stream batch of `events`, INSERT records numbered from 1, then `extra` records.
fn batch(events: &[RecordedEvent], extra: &[Value]) -> Event {
    let mut records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, event)| stream_record("INSERT", &format!("{:05}", i + 1), stream_image(event)))
        .collect();
    records.extend_from_slice(extra);
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn given_a_batch_published_then_each_entry_and_each_event_is_counted_by_type() {
    let (store, events) = given_stored_events().await;
    let bus = InMemoryBus::default();
    let outbox = Outbox::new(bus.clone(), store);

    let (response, emitted) = capture(SERVICE, handle_batch(&outbox, batch(&events, &[]))).await;

    assert!(response.unwrap().batch_item_failures.is_empty());
    assert_eq!(emitted.count(names::BUS_ENTRIES_PUBLISHED, &[]), 3.0);
    assert_eq!(emitted.count(names::BUS_ENTRIES_FAILED, &[]), 0.0);
    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCreated")]),
        2.0
    );
    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCompleted")]),
        1.0
    );
    assert_eq!(
        emitted.property("orderId"),
        vec![None],
        "a batch is about no one order"
    );
}

#[tokio::test]
async fn given_a_batch_delivered_again_then_its_events_are_duplicates_and_nothing_is_published() {
    let (store, events) = given_stored_events().await;
    let outbox = Outbox::new(InMemoryBus::default(), store);
    // Inside a capture too: metrics emitted outside one would land in another test's.
    capture(SERVICE, handle_batch(&outbox, batch(&events, &[])))
        .await
        .0
        .unwrap();

    let (response, again) = capture(SERVICE, handle_batch(&outbox, batch(&events, &[]))).await;

    assert!(response.unwrap().batch_item_failures.is_empty());
    assert_eq!(again.count(names::BUS_ENTRIES_PUBLISHED, &[]), 0.0);
    assert_eq!(
        again.count(names::DUPLICATES_SKIPPED, &[("eventType", "OrderCreated")]),
        2.0
    );
    assert_eq!(
        again.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCreated")]),
        2.0
    );
}

#[tokio::test]
async fn given_the_bus_rejecting_an_entry_and_an_unreadable_record_then_both_are_counted_as_failed()
{
    let (store, events) = given_stored_events().await;
    let bus = InMemoryBus::default();
    bus.reject(events[1].event_id, 1);
    let outbox = Outbox::new(bus, store);
    let unreadable = stream_record(
        "INSERT",
        "00009",
        json!({"aggregateId": {"S": "x"}, "version": {"N": "1"}}),
    );

    let (response, emitted) = capture(
        SERVICE,
        handle_batch(&outbox, batch(&events, &[unreadable])),
    )
    .await;

    assert_eq!(response.unwrap().batch_item_failures.len(), 2);
    assert_eq!(emitted.count(names::BUS_ENTRIES_FAILED, &[]), 1.0);
    assert_eq!(emitted.count(names::BUS_ENTRIES_PUBLISHED, &[]), 2.0);
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "OrderCompleted")]),
        1.0
    );
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "Unreadable")]),
        1.0
    );
}
