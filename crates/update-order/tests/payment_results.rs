//! update-order against an in-memory event store: transitions, duplicates, late results and
//! concurrent writers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adapters::memory::InMemoryEventStore;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::Utc;
use domain::order::repository;
use domain::order::{Order, OrderCommand, OrderError, OrderEvent, OrderId, OrderStatus};
use domain::ports::{AppendError, EventStore, InfrastructureError};
use domain::{Causation, Currency, Money, RecordedEvent};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use update_order::{Outcome, UpdateError, handle};

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An order 101 of 100 USD, created with correlation id `corr-101`.
async fn given_a_created_order(store: &impl EventStore) {
    let order = Order::default();
    let events = order
        .handle(OrderCommand::Create(domain::order::NewOrder {
            id: OrderId::Number(101),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            customer_id: None,
            items: vec![],
        }))
        .unwrap();
    let causation = Causation {
        correlation_id: "corr-101".into(),
        causation_id: "request-1".into(),
        producer: "create-order".into(),
    };
    let (_, recorded) = repository::record(&order, "101", events, &causation, Utc::now());
    store.append(&recorded).await.unwrap();
}

fn payment_event(detail_type: &str, event_id: &str, data: Value) -> EventBridgeEvent<Value> {
    serde_json::from_value(json!({
        "version": "0",
        "id": "eb-1",
        "detail-type": detail_type,
        "source": "payment-service",
        "account": "000000000000",
        "time": "2026-11-22T10:00:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "metadata": {
                "eventId": event_id,
                "eventType": detail_type,
                "eventVersion": 1,
                "occurredAt": "2026-11-22T10:00:01.000Z",
                "correlationId": "corr-101",
                "causationId": "order-created-event-id",
                "producer": "payment-state-machine"
            },
            "data": data
        }
    }))
    .unwrap()
}

/// Delivers an event as Lambda does: its detail as raw JSON.
async fn apply<S: EventStore>(
    store: &S,
    event: EventBridgeEvent<Value>,
) -> Result<Outcome, UpdateError> {
    let raw: EventBridgeEvent<Box<RawValue>> =
        serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
    handle(store, raw).await
}

fn succeeded(event_id: &str) -> EventBridgeEvent<Value> {
    payment_event(
        "PaymentSucceeded",
        event_id,
        json!({"orderId": 101, "amount": 100, "currency": "USD", "paymentId": "pay-1"}),
    )
}

fn failed(event_id: &str) -> EventBridgeEvent<Value> {
    payment_event(
        "PaymentFailed",
        event_id,
        json!({"orderId": 101, "amount": 100, "currency": "USD", "reason": "amount 100 is over the fraud threshold of 50"}),
    )
}

async fn stored(store: &InMemoryEventStore) -> (Order, Vec<domain::EventEnvelope<OrderEvent>>) {
    repository::load(store, "101").await.unwrap()
}

#[tokio::test]
async fn payment_succeeded_completes_the_order_through_the_event_store() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let payment_id = new_id();

    let outcome = apply(&store, succeeded(&payment_id)).await.unwrap();

    assert_eq!(outcome, Outcome::Transitioned("OrderCompleted"));
    let (order, events) = stored(&store).await;
    assert_eq!(order.status(), Some(OrderStatus::Completed));
    assert_eq!(events.len(), 2);
    let completed = &events[1];
    assert_eq!(completed.metadata.event_type, "OrderCompleted");
    assert_eq!(
        completed.metadata.correlation_id, "corr-101",
        "the order's correlation id"
    );
    assert_eq!(
        completed.metadata.causation_id, payment_id,
        "caused by the payment event"
    );
    assert_eq!(completed.metadata.producer, "update-order");
    let OrderEvent::Completed(done) = &completed.data else {
        panic!("expected OrderCompleted, got {:?}", completed.data);
    };
    assert_eq!(done.payment_id, "pay-1");
    assert_eq!(
        store.events()[1].source,
        "order-service",
        "published by the outbox as the order service's"
    );
}

#[tokio::test]
async fn payment_failed_cancels_the_order_with_the_reason() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;

    let outcome = apply(&store, failed(&new_id())).await.unwrap();

    assert_eq!(outcome, Outcome::Transitioned("OrderCancelled"));
    let (order, events) = stored(&store).await;
    assert_eq!(order.status(), Some(OrderStatus::Cancelled));
    let OrderEvent::Cancelled(cancelled) = &events[1].data else {
        panic!("expected OrderCancelled, got {:?}", events[1].data);
    };
    assert_eq!(
        cancelled.reason,
        "amount 100 is over the fraud threshold of 50"
    );
}

#[tokio::test]
async fn a_duplicate_payment_result_changes_nothing() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let event_id = new_id();
    apply(&store, succeeded(&event_id)).await.unwrap();

    assert_eq!(
        apply(&store, succeeded(&event_id)).await.unwrap(),
        Outcome::AlreadyApplied
    );
    assert_eq!(
        apply(&store, succeeded(&new_id())).await.unwrap(),
        Outcome::AlreadyApplied
    );
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_late_contradicting_result_is_ignored() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    apply(&store, succeeded(&new_id())).await.unwrap();

    let outcome = apply(&store, failed(&new_id())).await.unwrap();

    assert_eq!(
        outcome,
        Outcome::Ignored(OrderError::Closed {
            status: OrderStatus::Completed
        })
    );
    assert_eq!(
        stored(&store).await.0.status(),
        Some(OrderStatus::Completed)
    );
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_result_for_an_unknown_order_is_an_error_so_it_is_retried_then_parked() {
    let store = InMemoryEventStore::default();
    let error = apply(&store, succeeded(&new_id())).await.unwrap_err();
    assert!(
        matches!(error, UpdateError::UnknownOrder(ref key) if key == "101"),
        "{error:?}"
    );
    assert!(store.events().is_empty());
}

#[tokio::test]
async fn an_unreadable_event_is_an_error() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let mut event = succeeded(&new_id());
    event.detail["data"]["amount"] = json!("a lot");
    assert!(matches!(
        apply(&store, event).await,
        Err(UpdateError::Unreadable(_))
    ));
    let mut event = succeeded(&new_id());
    event.detail["metadata"]["eventType"] = json!("PaymentRefunded");
    assert!(matches!(
        apply(&store, event).await,
        Err(UpdateError::Unreadable(_))
    ));
    assert_eq!(store.events().len(), 1);
}

/// An event store where another writer gets in first, the first `conflicts` times an append is
/// tried: it stores the same transition (the other delivery of a duplicate event), then reports
/// the conflict.
#[derive(Clone)]
struct RacingStore {
    inner: InMemoryEventStore,
    conflicts: Arc<AtomicUsize>,
    appends: Arc<AtomicUsize>,
}

impl EventStore for RacingStore {
    async fn append(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        if self.conflicts.load(Ordering::SeqCst) > 0 {
            self.conflicts.fetch_sub(1, Ordering::SeqCst);
            self.inner.append(events).await?;
            return Err(AppendError::Conflict {
                aggregate_id: events[0].aggregate_id.clone(),
                version: events[0].version,
            });
        }
        self.inner.append(events).await
    }

    async fn load(&self, aggregate_id: &str) -> Result<Vec<RecordedEvent>, InfrastructureError> {
        self.inner.load(aggregate_id).await
    }
}

#[tokio::test]
async fn a_version_conflict_is_decided_again_from_fresh_state() {
    let inner = InMemoryEventStore::default();
    given_a_created_order(&inner).await;
    let store = RacingStore {
        inner: inner.clone(),
        conflicts: Arc::new(AtomicUsize::new(1)),
        appends: Arc::new(AtomicUsize::new(0)),
    };

    let outcome = apply(&store, succeeded(&new_id())).await.unwrap();

    // The other writer completed the order; decided again, this delivery has nothing to add.
    assert_eq!(outcome, Outcome::AlreadyApplied);
    assert_eq!(store.appends.load(Ordering::SeqCst), 1);
    assert_eq!(inner.events().len(), 2);
}

#[tokio::test]
async fn endless_conflicts_give_up_after_a_bounded_number_of_attempts() {
    /// Every append conflicts and nothing is ever stored.
    #[derive(Clone)]
    struct AlwaysBehind(InMemoryEventStore, Arc<AtomicUsize>);
    impl EventStore for AlwaysBehind {
        async fn append(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Err(AppendError::Conflict {
                aggregate_id: events[0].aggregate_id.clone(),
                version: events[0].version,
            })
        }
        async fn load(
            &self,
            aggregate_id: &str,
        ) -> Result<Vec<RecordedEvent>, InfrastructureError> {
            self.0.load(aggregate_id).await
        }
    }
    let inner = InMemoryEventStore::default();
    given_a_created_order(&inner).await;
    let store = AlwaysBehind(inner, Arc::new(AtomicUsize::new(0)));

    let error = apply(&store, succeeded(&new_id())).await.unwrap_err();

    assert!(matches!(error, UpdateError::Execute(_)), "{error:?}");
    assert_eq!(
        store.1.load(Ordering::SeqCst),
        repository::MAX_ATTEMPTS as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_deliveries_of_one_result_make_one_transition() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let event_id = new_id();
    let deliveries: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let event = succeeded(&event_id);
            tokio::spawn(async move { apply(&store, event).await.unwrap() })
        })
        .collect();
    let mut transitioned = 0;
    for delivery in deliveries {
        if delivery.await.unwrap() == Outcome::Transitioned("OrderCompleted") {
            transitioned += 1;
        }
    }
    assert_eq!(transitioned, 1);
    assert_eq!(store.events().len(), 2);
}
