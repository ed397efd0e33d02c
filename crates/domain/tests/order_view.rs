//! The order view: given events, when they are projected (in order, again, out of order), then
//! the view is the one their history says.

use std::collections::VecDeque;

use chrono::{TimeZone, Utc};
use domain::order::{
    OrderCancelled, OrderCompleted, OrderEvent, OrderId, OrderStatus, OrderView, Projected,
    ProjectionError,
};
use domain::{Currency, EventEnvelope, Money};
use proptest::prelude::*;
use testkit::builders::{causation, new_order};

fn envelope(event: OrderEvent, second: u32) -> EventEnvelope<OrderEvent> {
    causation("corr").envelope(
        event,
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, second).unwrap(),
    )
}

fn created() -> OrderEvent {
    new_order(OrderId::Text("A-1".into()))
        .amount(Money::from_cents(5_000))
        .customer("c-1")
        .created_event()
}

fn completed() -> OrderEvent {
    OrderEvent::Completed(OrderCompleted {
        order_id: OrderId::Text("A-1".into()),
        amount: Money::from_cents(5_000),
        currency: Currency::DEFAULT,
        payment_id: "pay-1".into(),
    })
}

fn cancelled() -> OrderEvent {
    OrderEvent::Cancelled(OrderCancelled {
        order_id: OrderId::Text("A-1".into()),
        amount: Money::from_cents(5_000),
        currency: Currency::DEFAULT,
        reason: "refused".into(),
    })
}

fn history(events: Vec<OrderEvent>) -> Vec<(u64, EventEnvelope<OrderEvent>)> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| (i as u64 + 1, envelope(event, i as u32)))
        .collect()
}

fn fold(history: &[(u64, EventEnvelope<OrderEvent>)]) -> OrderView {
    OrderView::fold(history.iter().map(|(v, e)| (*v, e)))
        .unwrap()
        .unwrap()
}

#[test]
fn a_created_then_completed_order_shows_completed_with_its_events() {
    let history = history(vec![created(), completed()]);
    let view = fold(&history);
    assert_eq!(view.status, OrderStatus::Completed);
    assert_eq!(view.payment_id.as_deref(), Some("pay-1"));
    assert_eq!(view.customer_id.as_deref(), Some("c-1"));
    assert_eq!(view.version, 2);
    assert_eq!(view.created_at, history[0].1.metadata.occurred_at);
    assert_eq!(view.updated_at, history[1].1.metadata.occurred_at);
    let listed: Vec<(&str, u64)> = view
        .events
        .iter()
        .map(|e| (e.event_type.as_str(), e.version))
        .collect();
    assert_eq!(listed, [("OrderCreated", 1), ("OrderCompleted", 2)]);
    assert_eq!(view.events[1].event_id, history[1].1.metadata.event_id);
}

#[test]
fn a_cancelled_order_keeps_the_reason() {
    let view = fold(&history(vec![created(), cancelled()]));
    assert_eq!(view.status, OrderStatus::Cancelled);
    assert_eq!(view.cancellation_reason.as_deref(), Some("refused"));
    assert_eq!(view.payment_id, None);
}

#[test]
fn an_event_the_view_holds_changes_nothing() {
    let history = history(vec![created(), completed()]);
    let view = fold(&history);
    for (version, event) in &history {
        assert_eq!(
            OrderView::project(Some(&view), *version, event),
            Ok(Projected::Unchanged)
        );
    }
}

#[test]
fn an_event_after_a_gap_is_refused_so_it_is_retried() {
    let history = history(vec![created(), completed()]);
    assert_eq!(
        OrderView::project(None, 2, &history[1].1),
        Err(ProjectionError::Gap {
            expected: 1,
            got: 2
        })
    );
}

#[test]
fn an_order_must_start_with_its_creation() {
    let history = history(vec![completed()]);
    assert!(matches!(
        OrderView::project(None, 1, &history[0].1),
        Err(ProjectionError::NotCreatedFirst { .. })
    ));
}

#[test]
fn a_terminal_order_stays_terminal_in_the_view_too() {
    let view = fold(&history(vec![created(), completed(), cancelled()]));
    assert_eq!(view.status, OrderStatus::Completed);
    assert_eq!(view.cancellation_reason, None);
    assert_eq!(
        view.version, 3,
        "the event is listed even though it changed nothing"
    );
}

/// Delivers `deliveries` (indexes into `history`) like a stream with retries: an event that
/// arrives before its predecessor is retried after the others, as Lambda retries a failed record.
fn deliver(history: &[(u64, EventEnvelope<OrderEvent>)], deliveries: Vec<usize>) -> OrderView {
    let mut queue: VecDeque<usize> = deliveries.into();
    let mut view: Option<OrderView> = None;
    let mut turns = 0;
    while let Some(index) = queue.pop_front() {
        turns += 1;
        assert!(turns < 10_000, "the deliveries never settle");
        let (version, event) = &history[index];
        match OrderView::project(view.as_ref(), *version, event) {
            Ok(Projected::Changed(next)) => view = Some(*next),
            Ok(Projected::Unchanged) => {}
            Err(ProjectionError::Gap { .. }) => queue.push_back(index),
            Err(other) => panic!("{other}"),
        }
    }
    view.expect("the first event was delivered")
}

fn later_event() -> impl Strategy<Value = OrderEvent> {
    prop_oneof![Just(completed()), Just(cancelled())]
}

proptest! {
    /// Any order of duplicate and redelivered records yields the same read model.
    #[test]
    fn any_order_of_duplicates_and_redeliveries_yields_the_same_view(
        later in proptest::collection::vec(later_event(), 0..4),
        copies in proptest::collection::vec(1usize..4, 4),
        seed in proptest::collection::vec(any::<u32>(), 16),
    ) {
        let mut events = vec![created()];
        events.extend(later);
        let history = history(events);
        let mut deliveries: Vec<usize> = (0..history.len())
            .flat_map(|i| std::iter::repeat_n(i, copies[i]))
            .collect();
        // A seeded shuffle, so proptest can shrink a failing case.
        for i in (1..deliveries.len()).rev() {
            let j = seed[i % seed.len()] as usize % (i + 1);
            deliveries.swap(i, j);
        }
        prop_assert_eq!(deliver(&history, deliveries), fold(&history));
    }
}
