//! The handler on a stream batch as Lambda delivers it (the JSON shape of a DynamoDB stream event).

use adapters::memory::{self, InMemoryBus, InMemoryEventStore};
use aws_lambda_events::event::dynamodb::Event;
use domain::order::{ORDER_SERVICE, OrderCreated, OrderEvent, OrderId};
use domain::ports::EventStore;
use domain::{Causation, Currency, Money, RecordedEvent};
use outbox_processor::{Outbox, handle_batch};
use serde_json::json;

fn order_created(id: u64) -> RecordedEvent {
    let causation = Causation {
        correlation_id: "corr-1".into(),
        causation_id: "req-1".into(),
        producer: "create-order".into(),
    };
    let envelope = causation.envelope(
        OrderEvent::Created(OrderCreated {
            order_id: OrderId::Number(id),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            customer_id: None,
            items: vec![],
            channel: None,
            placed_by: None,
        }),
        chrono::Utc::now(),
    );
    RecordedEvent::new(id.to_string(), 1, ORDER_SERVICE, &envelope)
}

fn stream_record(event_name: &str, sequence: &str, event: &RecordedEvent) -> serde_json::Value {
    memory::stream_record(event_name, sequence, memory::stream_image(event))
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
