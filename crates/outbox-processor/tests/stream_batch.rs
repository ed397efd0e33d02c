//! The handler on a stream batch as Lambda delivers it (the JSON shape of a DynamoDB stream event).

use aws_lambda_events::event::dynamodb::Event;
use domain::RecordedEvent;
use domain::order::OrderId;
use domain::ports::EventStore;
use outbox_processor::{Outbox, handle_batch};
use serde_json::json;
use testkit::builders::{causation, new_order};
use testkit::fakes::{InMemoryBus, InMemoryEventStore};
use testkit::history::recorded;
use testkit::stream::stream_image;

/// Order `id`'s `OrderCreated` (100 USD), as stored.
fn order_created(id: u64) -> RecordedEvent {
    let created = new_order(OrderId::Number(id)).created_event();
    recorded(
        &id.to_string(),
        [created],
        &causation("corr-1"),
        chrono::Utc::now(),
    )
    .remove(0)
}

fn stream_record(event_name: &str, sequence: &str, event: &RecordedEvent) -> serde_json::Value {
    testkit::stream::stream_record(event_name, sequence, stream_image(event))
}

#[tokio::test]
async fn relays_inserts_and_reports_unreadable_records_for_retry() {
    let store = InMemoryEventStore::default();
    let created = order_created(101);
    store.append(std::slice::from_ref(&created)).await.unwrap();
    let mut modify = stream_record("MODIFY", "300", &created);
    modify["dynamodb"]["NewImage"]["publishedAt"] = json!({"S": "2026-11-22T10:00:00.000Z"});
    let mut broken = stream_record("INSERT", "200", &created);
    broken["dynamodb"]["NewImage"]["version"] = json!({"S": "not a number"});
    let event: Event = serde_json::from_value(json!({
        "Records": [stream_record("INSERT", "100", &created), broken, modify]
    }))
    .unwrap();

    let bus = InMemoryBus::default();
    let response = handle_batch(&Outbox::new(bus.clone(), store.clone()), event)
        .await
        .unwrap();

    let response = serde_json::to_value(response).unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "200"}]})
    );
    let published = bus.published();
    assert_eq!(published.len(), 1, "the MODIFY is not published");
    assert_eq!(published[0], created);
    assert!(store.published_at(&created.key()).is_some());
}

#[tokio::test]
async fn an_unreadable_record_is_reported_and_does_not_hold_up_the_others() {
    let store = InMemoryEventStore::default();
    let (first, second) = (order_created(102), order_created(103));
    store.append(std::slice::from_ref(&first)).await.unwrap();
    store.append(std::slice::from_ref(&second)).await.unwrap();
    let mut broken = stream_record("INSERT", "00001-bad", &first);
    broken["dynamodb"]["NewImage"]["version"] = json!({"S": "not a number"});
    let event: Event = serde_json::from_value(json!({
        "Records": [stream_record("INSERT", "00001", &first), broken, stream_record("INSERT", "00002", &second)]
    }))
    .unwrap();

    let bus = InMemoryBus::default();
    let response = handle_batch(&Outbox::new(bus.clone(), store), event)
        .await
        .unwrap();

    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "00001-bad"}]})
    );
    assert_eq!(bus.published().len(), 2);
}
