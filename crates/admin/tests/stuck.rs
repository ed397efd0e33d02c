//! Which orders `replay --stuck-for` picks: those that have not ended and have not moved since
//! the cutoff, by their latest event.

use admin::replay::stuck_since;
use chrono::{DateTime, Duration, Utc};
use domain::RecordedEvent;
use testkit::history::recorded_order;

/// Order `id`'s recorded events, placed at `at`, then completed a second later if `paid`.
fn history(id: &str, paid: bool, at: DateTime<Utc>) -> Vec<RecordedEvent> {
    recorded_order(id, None, paid, at)
}

#[test]
fn an_order_that_has_not_ended_nor_moved_since_the_cutoff_is_stuck() {
    let now = Utc::now();
    let long_ago = now - Duration::minutes(30);
    let cutoff = now - Duration::minutes(5);
    let mut events = history("waiting", false, long_ago);
    events.extend(history("paid", true, long_ago));
    events.extend(history("just-placed", false, now));

    let stuck = stuck_since(events, cutoff).unwrap();
    let picked: Vec<(&str, u64, &str)> = stuck
        .iter()
        .map(|e| (e.aggregate_id.as_str(), e.version, e.event_type.as_str()))
        .collect();
    assert_eq!(picked, [("waiting", 1, "OrderCreated")]);
}

#[test]
fn the_latest_event_decides_whatever_the_order_of_the_scan() {
    let long_ago = Utc::now() - Duration::minutes(30);
    let mut events = history("paid", true, long_ago);
    events.reverse();
    assert!(stuck_since(events, Utc::now()).unwrap().is_empty());
}
