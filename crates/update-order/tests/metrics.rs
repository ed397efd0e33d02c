//! update-order's metrics, as its invocations emit them (testkit::metrics checks each document
//! against the embedded metric format's specification). A test binary of its own: the metrics
//! recorder is one per process.

use std::time::Duration;

use adapters::metrics::names;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::EventEnvelope;
use domain::idempotency::Idempotent;
use domain::order::OrderEvent;
use domain::order::repository::OrderRepository;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use testkit::fakes::{InMemoryEventStore, InMemoryIdempotencyStore, InMemorySnapshotStore};
use testkit::metrics::{Emitted, capture};
use update_order::{OrderUpdater, UpdateError};

mod payment_events;
use payment_events::{failed, given_a_created_order, payment_event, succeeded};

const SERVICE: &str = "update-order";

type Updater = OrderUpdater<InMemoryEventStore, InMemorySnapshotStore, InMemoryIdempotencyStore>;

/// update-order over a store holding order 101 (100 USD), created with correlation id
/// `corr-101`.
async fn given_order_101() -> (Updater, InMemoryEventStore) {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let updater = OrderUpdater::new(
        OrderRepository::with_snapshots(store.clone(), InMemorySnapshotStore::default(), 0),
        Idempotent::new(
            InMemoryIdempotencyStore::default(),
            Duration::from_secs(3600),
            Duration::from_secs(30),
        ),
    );
    (updater, store)
}

/// Delivers an event as Lambda does, as one invocation: its result and its documents.
async fn deliver(updater: &Updater, event: &Value) -> (Result<(), String>, Emitted) {
    let raw: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(&event.to_string()).unwrap();
    let (result, emitted) = capture(SERVICE, updater.handle(raw)).await;
    (
        result.map(|_| ()).map_err(|e: UpdateError| e.to_string()),
        emitted,
    )
}

/// The milliseconds from the order's `OrderCreated` to its last event, as stored.
async fn stored_latency(store: &InMemoryEventStore) -> f64 {
    let history: Vec<EventEnvelope<OrderEvent>> = OrderRepository::new(store.clone())
        .history("101")
        .await
        .unwrap();
    let (created, ended) = (history.first().unwrap(), history.last().unwrap());
    (ended.metadata.occurred_at - created.metadata.occurred_at).num_milliseconds() as f64
}

#[tokio::test]
async fn given_a_created_order_when_its_payment_succeeds_then_the_result_is_counted_and_its_latency_recorded()
 {
    let (updater, store) = given_order_101().await;

    let (result, emitted) = deliver(&updater, &succeeded(&uuid::Uuid::new_v4().to_string())).await;

    result.unwrap();
    assert_eq!(
        emitted.count(
            names::EVENTS_PROCESSED,
            &[("eventType", "PaymentSucceeded")]
        ),
        1.0
    );
    assert_eq!(emitted.count(names::PAYMENTS_REFUSED, &[]), 0.0);
    assert_eq!(
        emitted.count(
            names::DUPLICATES_SKIPPED,
            &[("eventType", "PaymentSucceeded")]
        ),
        0.0
    );
    let latency = emitted
        .metric(names::ORDER_LATENCY, &[])
        .expect("a latency");
    assert_eq!(latency.unit.as_deref(), Some("Milliseconds"));
    assert_eq!(latency.values, vec![stored_latency(&store).await]);
    assert_eq!(emitted.property("orderId"), vec![Some("101")]);
    assert_eq!(emitted.property("correlationId"), vec![Some("corr-101")]);
    assert_eq!(
        emitted.names(),
        vec![names::EVENTS_PROCESSED, names::ORDER_LATENCY]
    );
}

#[tokio::test]
async fn given_a_created_order_when_its_payment_is_refused_then_the_refusal_is_counted_with_the_latency()
 {
    let (updater, store) = given_order_101().await;

    let (result, emitted) = deliver(&updater, &failed(&uuid::Uuid::new_v4().to_string())).await;

    result.unwrap();
    assert_eq!(emitted.count(names::PAYMENTS_REFUSED, &[]), 1.0);
    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "PaymentFailed")]),
        1.0
    );
    let latency = emitted
        .metric(names::ORDER_LATENCY, &[])
        .expect("a latency");
    assert_eq!(latency.values, vec![stored_latency(&store).await]);
}

#[tokio::test]
async fn given_a_payment_result_handled_when_it_is_delivered_again_then_it_is_a_duplicate_with_no_second_latency()
 {
    let (updater, _) = given_order_101().await;
    let event = failed(&uuid::Uuid::new_v4().to_string());
    deliver(&updater, &event).await.0.unwrap();

    let (result, again) = deliver(&updater, &event).await;

    result.unwrap();
    assert_eq!(
        again.count(names::EVENTS_PROCESSED, &[("eventType", "PaymentFailed")]),
        1.0
    );
    assert_eq!(
        again.count(names::DUPLICATES_SKIPPED, &[("eventType", "PaymentFailed")]),
        1.0
    );
    assert_eq!(again.count(names::PAYMENTS_REFUSED, &[]), 0.0);
    assert!(again.metric(names::ORDER_LATENCY, &[]).is_none());
}

#[tokio::test]
async fn given_a_second_result_for_an_ended_order_then_it_is_a_duplicate_with_no_second_latency() {
    let (updater, _) = given_order_101().await;
    deliver(&updater, &succeeded(&uuid::Uuid::new_v4().to_string()))
        .await
        .0
        .unwrap();

    let (result, second) = deliver(&updater, &succeeded(&uuid::Uuid::new_v4().to_string())).await;

    result.unwrap();
    assert_eq!(
        second.count(
            names::DUPLICATES_SKIPPED,
            &[("eventType", "PaymentSucceeded")]
        ),
        1.0
    );
    assert!(second.metric(names::ORDER_LATENCY, &[]).is_none());
}

#[tokio::test]
async fn given_an_unreadable_event_then_it_is_counted_as_failed_and_names_no_order() {
    let (updater, _) = given_order_101().await;
    let unreadable = payment_event("PaymentSucceeded", "not-a-uuid", json!({"orderId": 101}));

    let (result, emitted) = deliver(&updater, &unreadable).await;

    assert!(result.is_err());
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "Unreadable")]),
        1.0
    );
    assert_eq!(emitted.property("orderId"), vec![None]);
}

#[tokio::test]
async fn given_a_payment_for_an_unknown_order_then_it_is_counted_as_failed() {
    let (updater, _) = given_order_101().await;
    let unknown = payment_event(
        "PaymentSucceeded",
        &uuid::Uuid::new_v4().to_string(),
        json!({"orderId": 999, "amount": 100, "currency": "USD", "paymentId": "pay-9"}),
    );

    let (result, emitted) = deliver(&updater, &unknown).await;

    assert!(result.is_err());
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "PaymentSucceeded")]),
        1.0
    );
    assert_eq!(emitted.property("orderId"), vec![Some("999")]);
}
