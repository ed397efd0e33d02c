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

use crate::{AdminError, Progress};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every event of one order.
    Order(String),
    /// Every event that occurred in this range, both ends included.
    Between(DateTime<Utc>, DateTime<Utc>),
    /// The latest event of every order that has not ended and has not moved since this time.
    StuckSince(DateTime<Utc>),
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
) -> Result<ReplayReport, AdminError> {
    let mut selected: Vec<RecordedEvent> = match selection {
        Selection::Order(key) => events.load(key).await?,
        Selection::Between(from, to) => events
            .scan(&EventFilter::OccurredBetween(*from, *to))
            .await?
            .into_iter()
            .map(EventItem::into_recorded)
            .collect::<Result<_, _>>()
            .map_err(InfrastructureError::new)?,
        Selection::StuckSince(cutoff) => stuck_since(
            events
                .scan(&EventFilter::All)
                .await?
                .into_iter()
                .map(EventItem::into_recorded)
                .collect::<Result<_, _>>()
                .map_err(InfrastructureError::new)?,
            *cutoff,
        )?,
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

/// The latest event of each order that has not ended and whose latest event happened before
/// `cutoff`.
pub fn stuck_since(
    events: Vec<RecordedEvent>,
    cutoff: DateTime<Utc>,
) -> Result<Vec<RecordedEvent>, InfrastructureError> {
    let mut latest: HashMap<String, RecordedEvent> = HashMap::new();
    for event in events {
        match latest.get(&event.aggregate_id) {
            Some(held) if held.version >= event.version => {}
            _ => {
                latest.insert(event.aggregate_id.clone(), event);
            }
        }
    }
    let mut stuck = Vec::new();
    for event in latest.into_values() {
        let order_event = OrderEvent::from_recorded(&event).map_err(InfrastructureError::new)?;
        let status = OrderStatus::Created.after(&order_event.data);
        if !status.is_terminal() && event.occurred_at < cutoff {
            stuck.push(event);
        }
    }
    Ok(stuck)
}
