//! The outbox's backlog: events stored but still not published after a while (the bus was
//! down, or a record ended in the outbox's dead-letter queue), listed and published through the
//! outbox's own logic, which marks them as it goes.

use std::time::Duration;

use adapters::dynamodb::EventFilter;
use adapters::stream::StreamedEvent;
use adapters::{DynamoDbEventStore, EventBridgePublisher};
use chrono::Utc;
use domain::envelope::format_timestamp;
use outbox_processor::Outbox;

use crate::{AdminError, Progress};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingReport {
    pub found: usize,
    pub published: usize,
    /// Events the bus still refused: they stay pending.
    pub failed: usize,
}

pub async fn publish_pending(
    events: &DynamoDbEventStore,
    outbox: &Outbox<EventBridgePublisher, DynamoDbEventStore>,
    older_than: Duration,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<PendingReport, AdminError> {
    let cutoff = Utc::now() - older_than;
    let pending = events.scan(&EventFilter::UnpublishedBefore(cutoff)).await?;
    progress(format!(
        "{} events stored before {} are not published",
        pending.len(),
        format_timestamp(cutoff)
    ));
    let records: Vec<StreamedEvent> = pending
        .into_iter()
        .map(|item| {
            progress(format!(
                "  {} order {} event {} {}",
                item.occurred_at, item.aggregate_id, item.version, item.event_type
            ));
            StreamedEvent {
                sequence_number: format!("{}/{}", item.aggregate_id, item.version),
                event: item.into_recorded().map_err(|e| e.to_string()),
            }
        })
        .collect();
    let mut report = PendingReport {
        found: records.len(),
        ..PendingReport::default()
    };
    if dry_run || records.is_empty() {
        return Ok(report);
    }
    let relayed = outbox.relay(records).await;
    report.published = relayed.published;
    report.failed = relayed.failed.len();
    progress(format!(
        "{} published, {} already published meanwhile, {} failed",
        relayed.published,
        relayed.already_published,
        relayed.failed.len()
    ));
    for key in relayed.failed {
        progress(format!("  still pending: {key}"));
    }
    Ok(report)
}
