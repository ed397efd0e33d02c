//! The outbox's backlog: events stored but still not published after a while (the bus was
//! down, or a record ended in the outbox's dead-letter queue), listed and published through the
//! outbox's own logic, which marks them as it goes.

use std::time::Duration;

use adapters::dynamodb::EventFilter;
use adapters::stream::StreamedEvent;
use adapters::{DynamoDbEventStore, EventBridgePublisher};
use chrono::Utc;
use domain::EventKey;
use domain::envelope::format_timestamp;
use domain::ports::InfrastructureError;
use outbox_processor::Outbox;

use crate::Progress;

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
) -> Result<PendingReport, InfrastructureError> {
    let cutoff = Utc::now() - older_than;
    let pending = events.scan(&EventFilter::UnpublishedBefore(cutoff)).await?;
    progress(format!(
        "{} events stored before {} are not published",
        pending.len(),
        format_timestamp(cutoff)
    ));
    let mut report = PendingReport {
        found: pending.len(),
        ..PendingReport::default()
    };
    let mut records: Vec<StreamedEvent<EventKey>> = Vec::with_capacity(pending.len());
    let mut unreadable: Vec<EventKey> = Vec::new();
    for item in pending {
        progress(format!(
            "  unpublished: order {} event {} {}, stored {}",
            item.aggregate_id, item.version, item.event_type, item.occurred_at
        ));
        let key = EventKey {
            aggregate_id: item.aggregate_id.clone(),
            version: item.version,
        };
        match item.into_recorded() {
            Ok(event) => records.push(StreamedEvent { id: key, event }),
            Err(error) => {
                progress(format!(
                    "  cannot read order {} event {}: {error}",
                    key.aggregate_id, key.version
                ));
                unreadable.push(key);
            }
        }
    }
    if dry_run || report.found == 0 {
        return Ok(report);
    }
    let relayed = outbox.relay(records).await;
    report.published = relayed.published;
    report.failed = relayed.failed.len() + unreadable.len();
    progress(format!(
        "{} published, {} already published meanwhile, {} failed",
        relayed.published, relayed.already_published, report.failed
    ));
    for key in relayed.failed.into_iter().chain(unreadable) {
        progress(format!(
            "  still pending: order {} event {}",
            key.aggregate_id, key.version
        ));
    }
    Ok(report)
}
