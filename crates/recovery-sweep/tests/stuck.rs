//! Which orders `Selection::Stuck` picks (the sweep's and `eda-admin replay --stuck-for`'s): those
//! that have not ended and whose latest event reached the bus before the cutoff.

use adapters::EventItem;
use chrono::{DateTime, Duration, Utc};
use domain::envelope::format_timestamp;
use recovery_sweep::replay::stuck_orders;
use testkit::history::recorded_order;

/// Order `id`'s stored events, placed at `at`, then completed a second later if `paid`; each
/// published at `published` (`None`: not yet).
fn history(
    id: &str,
    paid: bool,
    at: DateTime<Utc>,
    published: Option<DateTime<Utc>>,
) -> Vec<EventItem> {
    recorded_order(id, None, paid, at)
        .iter()
        .map(|event| EventItem {
            published_at: published.map(format_timestamp),
            ..EventItem::from(event)
        })
        .collect()
}

/// (order, version, event type) of each order picked, sorted.
fn picked(
    items: Vec<EventItem>,
    since: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
) -> Vec<(String, u64, String)> {
    let stuck = stuck_orders(items, since, not_before);
    assert!(stuck.unreadable.is_empty(), "{:?}", stuck.unreadable);
    let mut picked: Vec<_> = stuck
        .latest
        .into_iter()
        .map(|e| (e.aggregate_id, e.version, e.event_type))
        .collect();
    picked.sort();
    picked
}

#[test]
fn an_order_that_has_not_ended_nor_moved_since_the_cutoff_is_stuck() {
    let now = Utc::now();
    let long_ago = now - Duration::minutes(30);
    let cutoff = now - Duration::minutes(5);
    let mut items = history("waiting", false, long_ago, Some(long_ago));
    items.extend(history("paid", true, long_ago, Some(long_ago)));
    items.extend(history("just-placed", false, now, Some(now)));
    assert_eq!(
        picked(items, cutoff, None),
        [("waiting".to_owned(), 1, "OrderCreated".to_owned())]
    );
}

#[test]
fn the_latest_event_decides_whatever_the_order_of_the_scan() {
    let long_ago = Utc::now() - Duration::minutes(30);
    let mut items = history("paid", true, long_ago, Some(long_ago));
    items.reverse();
    assert!(picked(items, Utc::now(), None).is_empty());
}

#[test]
fn the_clock_starts_when_the_event_reached_the_bus_not_when_it_was_stored() {
    let now = Utc::now();
    let long_ago = now - Duration::minutes(30);
    let cutoff = now - Duration::minutes(5);
    // Stored long ago, but the outbox (or the sweep's own publishing) got it out just now: its
    // next step has had no time yet.
    let mut items = history("late", false, long_ago, Some(now));
    // Not on the bus at all: publishing it is the outbox's job, or the sweep's pending step.
    items.extend(history("unpublished", false, long_ago, None));
    assert!(picked(items, cutoff, None).is_empty());
}

#[test]
fn orders_that_reached_the_bus_before_the_bound_are_left_to_a_person() {
    let now = Utc::now();
    let cutoff = now - Duration::minutes(5);
    let bound = now - Duration::days(15);
    let mut items = history(
        "forgotten",
        false,
        now - Duration::days(20),
        Some(now - Duration::days(20)),
    );
    items.extend(history(
        "remembered",
        false,
        now - Duration::days(10),
        Some(now - Duration::days(10)),
    ));
    assert_eq!(
        picked(items.clone(), cutoff, Some(bound)),
        [("remembered".to_owned(), 1, "OrderCreated".to_owned())]
    );
    assert_eq!(
        picked(items, cutoff, None).len(),
        2,
        "without a bound, both"
    );
}

#[test]
fn an_unreadable_event_leaves_out_its_order_only() {
    let long_ago = Utc::now() - Duration::minutes(30);
    let mut items = history("waiting", false, long_ago, Some(long_ago));
    let mut broken = history("broken", false, long_ago, Some(long_ago));
    broken[0].event_id = "not-a-uuid".into();
    items.extend(broken);
    let stuck = stuck_orders(items, Utc::now(), None);
    let orders: Vec<&str> = stuck
        .latest
        .iter()
        .map(|e| e.aggregate_id.as_str())
        .collect();
    assert_eq!(orders, ["waiting"]);
    assert_eq!(stuck.unreadable.len(), 1, "{:?}", stuck.unreadable);
    assert_eq!(stuck.unreadable[0].0, "broken");
}
