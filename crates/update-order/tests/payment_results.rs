//! update-order against in-memory adapters: transitions, duplicates, late results, concurrent
//! writers and snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::idempotency::{Idempotent, Once};
use domain::order::repository::{self, OrderRepository};
use domain::order::{Order, OrderEvent, OrderStatus};
use domain::ports::{AppendError, EventStore, InfrastructureError, SnapshotStore};
use domain::{EventEnvelope, RecordedEvent};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use testkit::fakes::{InMemoryEventStore, InMemoryIdempotencyStore, InMemorySnapshotStore};
use update_order::{OrderUpdate, OrderUpdater, UpdateError};

mod payment_events;
use payment_events::{failed, given_a_created_order, succeeded};

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

type Updater<S> = OrderUpdater<S, InMemorySnapshotStore, InMemoryIdempotencyStore>;

/// update-order over `store`, snapshotting every `snapshot_every` events, with its own
/// idempotency records.
fn updater<S: EventStore>(store: S, snapshot_every: u64) -> (Updater<S>, InMemorySnapshotStore) {
    let snapshots = InMemorySnapshotStore::default();
    let updater = OrderUpdater::new(
        OrderRepository::with_snapshots(store, snapshots.clone(), snapshot_every),
        Idempotent::new(
            InMemoryIdempotencyStore::default(),
            Duration::from_secs(3600),
            Duration::from_secs(30),
        ),
    );
    (updater, snapshots)
}

/// Delivers an event as Lambda does: its detail as raw JSON.
async fn deliver<S: EventStore>(
    updater: &Updater<S>,
    event: &Value,
) -> Result<Once<OrderUpdate>, UpdateError> {
    let raw: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(&event.to_string()).unwrap();
    updater.handle(raw).await
}

fn transitioned(event_type: &str) -> OrderUpdate {
    OrderUpdate::Transitioned(event_type.to_owned())
}

async fn stored(store: &InMemoryEventStore) -> (Order, Vec<EventEnvelope<OrderEvent>>) {
    let orders = OrderRepository::new(store.clone());
    (
        orders.load("101").await.unwrap(),
        orders.history("101").await.unwrap(),
    )
}

#[tokio::test]
async fn payment_succeeded_completes_the_order_through_the_event_store() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    let payment_id = new_id();

    let outcome = deliver(&updater, &succeeded(&payment_id)).await.unwrap();

    assert_eq!(outcome, Once::Done(transitioned("OrderCompleted")));
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
    let (updater, _) = updater(store.clone(), 0);

    let outcome = deliver(&updater, &failed(&new_id())).await.unwrap();

    assert_eq!(outcome, Once::Done(transitioned("OrderCancelled")));
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
async fn the_same_event_delivered_again_is_answered_from_the_idempotency_record() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    let event = succeeded(&new_id());
    deliver(&updater, &event).await.unwrap();

    let again = deliver(&updater, &event).await.unwrap();

    assert_eq!(again, Once::Replayed(transitioned("OrderCompleted")));
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_second_result_for_the_same_payment_changes_nothing() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    deliver(&updater, &succeeded(&new_id())).await.unwrap();

    // Another event id: the idempotency records do not know it, the order does.
    let outcome = deliver(&updater, &succeeded(&new_id())).await.unwrap();

    assert_eq!(outcome, Once::Done(OrderUpdate::AlreadyApplied));
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_replayed_result_changes_nothing() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    let event = succeeded(&new_id());
    deliver(&updater, &event).await.unwrap();
    let mut replayed = event.clone();
    replayed["detail"]["metadata"]["replayedAt"] = json!("2026-11-23T08:00:00.000Z");

    let outcome = deliver(&updater, &replayed).await.unwrap();

    assert_eq!(outcome, Once::Replayed(transitioned("OrderCompleted")));
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_late_contradicting_result_is_ignored() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    deliver(&updater, &succeeded(&new_id())).await.unwrap();

    let outcome = deliver(&updater, &failed(&new_id())).await.unwrap();

    assert_eq!(
        outcome,
        Once::Done(OrderUpdate::Ignored(
            "order is Completed and can no longer change".into()
        ))
    );
    assert_eq!(
        stored(&store).await.0.status(),
        Some(OrderStatus::Completed)
    );
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_result_for_an_unknown_order_is_an_error_and_can_be_retried() {
    let store = InMemoryEventStore::default();
    let (updater, _) = updater(store.clone(), 0);
    let event = succeeded(&new_id());
    let error = deliver(&updater, &event).await.unwrap_err();
    assert!(
        matches!(error, UpdateError::UnknownOrder(ref key) if key == "101"),
        "{error:?}"
    );
    assert!(store.events().is_empty());

    // Its claim was released: once the order exists, the retry goes through.
    given_a_created_order(&store).await;
    assert_eq!(
        deliver(&updater, &event).await.unwrap(),
        Once::Done(transitioned("OrderCompleted"))
    );
}

#[tokio::test]
async fn an_unreadable_event_is_an_error() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    let mut event = succeeded(&new_id());
    event["detail"]["data"]["amount"] = json!("a lot");
    assert!(matches!(
        deliver(&updater, &event).await,
        Err(UpdateError::Unreadable(_))
    ));
    let mut event = succeeded(&new_id());
    event["detail"]["metadata"]["eventType"] = json!("PaymentRefunded");
    assert!(matches!(
        deliver(&updater, &event).await,
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
    let (updater, _) = updater(store.clone(), 0);

    let outcome = deliver(&updater, &succeeded(&new_id())).await.unwrap();

    // The other writer completed the order; decided again, this delivery has nothing to add.
    assert_eq!(outcome, Once::Done(OrderUpdate::AlreadyApplied));
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
    let (updater, _) = updater(store.clone(), 0);

    let error = deliver(&updater, &succeeded(&new_id())).await.unwrap_err();

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
    let (updater, _) = updater(store.clone(), 0);
    let updater = Arc::new(updater);
    let event = succeeded(&new_id());
    let deliveries: Vec<_> = (0..50)
        .map(|_| {
            let (updater, event) = (updater.clone(), event.clone());
            tokio::spawn(async move { deliver(&updater, &event).await })
        })
        .collect();
    let mut transitions = 0;
    for delivery in deliveries {
        match delivery.await.unwrap() {
            Ok(Once::Done(outcome)) if outcome == transitioned("OrderCompleted") => {
                transitions += 1
            }
            // Answered from the record, or told to retry while the first one works.
            Ok(Once::Replayed(_)) | Err(UpdateError::InProgress) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(transitions, 1);
    assert_eq!(store.events().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_results_with_distinct_ids_make_one_transition() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, _) = updater(store.clone(), 0);
    let updater = Arc::new(updater);
    let deliveries: Vec<_> = (0..50)
        .map(|_| {
            let updater = updater.clone();
            tokio::spawn(async move { deliver(&updater, &succeeded(&new_id())).await.unwrap() })
        })
        .collect();
    let mut transitions = 0;
    for delivery in deliveries {
        if delivery.await.unwrap() == Once::Done(transitioned("OrderCompleted")) {
            transitions += 1;
        }
    }
    assert_eq!(transitions, 1);
    assert_eq!(store.events().len(), 2);
}

#[tokio::test]
async fn a_snapshot_is_written_when_due_and_loading_from_it_gives_the_same_order() {
    let store = InMemoryEventStore::default();
    given_a_created_order(&store).await;
    let (updater, snapshots) = updater(store.clone(), 2);

    deliver(&updater, &succeeded(&new_id())).await.unwrap();

    let snapshot = snapshots
        .latest("101")
        .await
        .unwrap()
        .expect("a snapshot at version 2");
    assert_eq!(snapshot.version, 2);
    let from_snapshot = OrderRepository::with_snapshots(store.clone(), snapshots, 2)
        .load("101")
        .await
        .unwrap();
    let from_events = OrderRepository::new(store).load("101").await.unwrap();
    assert_eq!(from_snapshot, from_events);
    assert_eq!(from_snapshot.status(), Some(OrderStatus::Completed));
}
