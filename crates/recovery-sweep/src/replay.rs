//! Replaying stored events to the bus, marked as replayed (`metadata.replayedAt`) and otherwise
//! unchanged: every consumer is idempotent, so a replay catches up whoever missed an event and
//! changes nothing for the others.
//!
//! That makes it the way to unstick orders too: an order that has not ended and has not moved for
//! a long time lost its next step somewhere (a payment workflow that failed or was never started,
//! an event published into a bus that was gone); replaying its latest event starts that step
//! again, and the idempotent consumers make sure it happens once.

use std::collections::HashMap;

use adapters::dynamodb::EventFilter;
use adapters::{DynamoDbEventStore, EventBridgePublisher, EventItem};
use chrono::{DateTime, Utc};
use domain::RecordedEvent;
use domain::envelope::format_timestamp;
use domain::order::{OrderEvent, OrderStatus};
use domain::ports::{EventPublisher, EventStore, InfrastructureError, PublishOutcome};

use crate::Progress;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every event of one order.
    Order(String),
    /// Every event that occurred in this range, both ends included.
    Between(DateTime<Utc>, DateTime<Utc>),
    /// The latest event of every order that has not ended and has not moved since `since`: that
    /// event reached the bus before then (an event not yet on the bus is the outbox's, or
    /// `pending`'s, to publish). With `not_before`, only those that reached the bus after it.
    Stuck {
        since: DateTime<Utc>,
        not_before: Option<DateTime<Utc>>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub selected: usize,
    pub published: usize,
    /// Events the bus refused, with the reason.
    pub failed: Vec<(String, String)>,
}

pub async fn replay(
    events: &DynamoDbEventStore,
    bus: &EventBridgePublisher,
    selection: &Selection,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<ReplayReport, InfrastructureError> {
    let mut selected: Vec<RecordedEvent> = match selection {
        Selection::Order(key) => events.load(key).await?,
        Selection::Between(from, to) => events
            .scan(&EventFilter::OccurredBetween(*from, *to))
            .await?
            .into_iter()
            .map(EventItem::into_recorded)
            .collect::<Result<_, _>>()
            .map_err(InfrastructureError::new)?,
        Selection::Stuck { since, not_before } => {
            let stuck = stuck_orders(events.scan(&EventFilter::All).await?, *since, *not_before);
            for (order, error) in &stuck.unreadable {
                progress(format!("order {order} skipped: {error}"));
            }
            stuck.latest
        }
    };
    // In the order they happened, as consumers first saw them.
    selected.sort_by(|a, b| {
        (a.occurred_at, &a.aggregate_id, a.version).cmp(&(
            b.occurred_at,
            &b.aggregate_id,
            b.version,
        ))
    });
    let mut report = ReplayReport {
        selected: selected.len(),
        ..ReplayReport::default()
    };
    let now = Utc::now();
    let replayed = selected
        .iter()
        .map(|event| event.replayed(now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(InfrastructureError::new)?;
    for event in &replayed {
        progress(format!(
            "{} {} order {} event {} {}",
            if dry_run { "would replay" } else { "replaying" },
            format_timestamp(event.occurred_at),
            event.aggregate_id,
            event.version,
            event.event_type,
        ));
    }
    if dry_run {
        return Ok(report);
    }
    for range in bus.batch_ranges(&replayed) {
        let batch = &replayed[range];
        match bus.publish(batch).await {
            Ok(outcomes) => {
                for (event, outcome) in batch.iter().zip(outcomes) {
                    match outcome {
                        PublishOutcome::Published => report.published += 1,
                        PublishOutcome::Failed { code, message } => report
                            .failed
                            .push((event.event_id.to_string(), format!("{code}: {message}"))),
                    }
                }
            }
            Err(error) => {
                for event in batch {
                    report
                        .failed
                        .push((event.event_id.to_string(), error.to_string()));
                }
            }
        }
    }
    progress(format!(
        "{} of {} events replayed",
        report.published, report.selected
    ));
    for (event_id, reason) in &report.failed {
        progress(format!("event {event_id} not replayed: {reason}"));
    }
    Ok(report)
}

/// The orders `Selection::Stuck` picks, by their latest event; and the orders left out because
/// an event of theirs cannot be read (one unreadable event must not stop the others' recovery).
#[derive(Debug, Default)]
pub struct Stuck {
    pub latest: Vec<RecordedEvent>,
    /// Each order left out, with why.
    pub unreadable: Vec<(String, String)>,
}

/// The latest event of each order that has not ended and whose latest event reached the bus
/// before `since` (and after `not_before`, if given).
pub fn stuck_orders(
    items: Vec<EventItem>,
    since: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
) -> Stuck {
    let mut latest: HashMap<String, EventItem> = HashMap::new();
    let mut stuck = Stuck::default();
    for item in items {
        match latest.get(&item.aggregate_id) {
            Some(held) if held.version >= item.version => {}
            _ => {
                latest.insert(item.aggregate_id.clone(), item);
            }
        }
    }
    for (order, item) in latest {
        let Some(published_at) = item.published_at.as_deref() else {
            continue;
        };
        let read = DateTime::parse_from_rfc3339(published_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| format!("unreadable publishedAt {published_at:?}: {error}"))
            .and_then(|published_at| {
                let event = item.into_recorded().map_err(|error| error.to_string())?;
                let order_event = OrderEvent::from_recorded(&event).map_err(|e| e.to_string())?;
                Ok((published_at, event, order_event))
            });
        match read {
            Ok((published_at, event, order_event)) => {
                let ended = OrderStatus::Created.after(&order_event.data).is_terminal();
                let moved = published_at >= since;
                let too_old = not_before.is_some_and(|bound| published_at < bound);
                if !ended && !moved && !too_old {
                    stuck.latest.push(event);
                }
            }
            Err(error) => stuck.unreadable.push((order, error)),
        }
    }
    stuck.unreadable.sort();
    stuck
}
