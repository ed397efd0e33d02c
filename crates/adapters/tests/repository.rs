//! The order repository over the in-memory stores: loading from a snapshot and the events after
//! it gives the same order as folding every event.

use chrono::Utc;
use domain::order::repository::{OrderRepository, SNAPSHOT_SCHEMA};
use domain::order::{Order, OrderCancelled, OrderCompleted, OrderEvent, OrderId};
use domain::ports::{EventStore, Snapshot, SnapshotStore};
use domain::{Currency, Money};
use proptest::prelude::*;
use testkit::builders::{causation, new_order};
use testkit::fakes::{InMemoryEventStore, InMemorySnapshotStore};
use testkit::history::recorded;

fn created() -> OrderEvent {
    new_order(OrderId::Number(7))
        .amount(Money::from_cents(700))
        .created_event()
}

fn later_event() -> impl Strategy<Value = OrderEvent> {
    prop_oneof![
        Just(OrderEvent::Completed(OrderCompleted {
            order_id: OrderId::Number(7),
            amount: Money::from_cents(700),
            currency: Currency::DEFAULT,
            payment_id: "pay".into(),
        })),
        Just(OrderEvent::Cancelled(OrderCancelled {
            order_id: OrderId::Number(7),
            amount: Money::from_cents(700),
            currency: Currency::DEFAULT,
            reason: "no".into(),
        })),
    ]
}

/// Stores `events` as order 7's history, one append each.
async fn store_history(events: &[OrderEvent]) -> InMemoryEventStore {
    let store = InMemoryEventStore::default();
    for event in recorded("7", events.iter().cloned(), &causation("c"), Utc::now()) {
        store.append(&[event]).await.unwrap();
    }
    store
}

proptest! {
    #[test]
    fn the_state_from_a_snapshot_and_its_tail_equals_the_state_from_all_events(
        later in proptest::collection::vec(later_event(), 0..20),
        at in 0usize..21,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut events = vec![created()];
        events.extend(later);
        let at = at.min(events.len());
        let (from_snapshot, from_events) = runtime.block_on(async {
            let store = store_history(&events).await;
            let snapshots = InMemorySnapshotStore::default();
            let orders = OrderRepository::with_snapshots(store.clone(), snapshots, 5);
            if at > 0 {
                orders.save_snapshot("7", &Order::from_events(&events[..at])).await.unwrap();
            }
            (orders.load("7").await.unwrap(), OrderRepository::new(store).load("7").await.unwrap())
        });
        prop_assert_eq!(&from_snapshot, &from_events);
        prop_assert_eq!(from_events, Order::from_events(&events));
    }
}

#[tokio::test]
async fn a_snapshot_of_another_shape_is_ignored() {
    let events = [created()];
    let store = store_history(&events).await;
    let snapshots = InMemorySnapshotStore::default();
    snapshots
        .save(&Snapshot {
            aggregate_id: "7".into(),
            version: 1,
            schema: SNAPSHOT_SCHEMA + 1,
            state: r#"{"something":"else"}"#.into(),
            taken_at: Utc::now(),
        })
        .await
        .unwrap();
    let order = OrderRepository::with_snapshots(store, snapshots, 5)
        .load("7")
        .await
        .unwrap();
    assert_eq!(order, Order::from_events(&events));
}

#[tokio::test]
async fn a_snapshot_that_disagrees_with_its_version_is_ignored() {
    let events = [created()];
    let store = store_history(&events).await;
    let snapshots = InMemorySnapshotStore::default();
    snapshots
        .save(&Snapshot {
            aggregate_id: "7".into(),
            version: 1,
            schema: SNAPSHOT_SCHEMA,
            state: serde_json::to_string(&Order::default()).unwrap(),
            taken_at: Utc::now(),
        })
        .await
        .unwrap();
    let order = OrderRepository::with_snapshots(store, snapshots, 5)
        .load("7")
        .await
        .unwrap();
    assert_eq!(order.version(), 1);
    assert!(order.placed().is_some());
}
