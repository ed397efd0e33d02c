//! One run of the scheduled sweep: publish what the outbox has not published for a while, then
//! replay the latest event of every order stuck for as long, and count both.
//!
//! Why it is safe to run at any time, twice at once, or while the outbox works: `pending` goes
//! through the outbox's own relay, which publishes only events not marked published; the events
//! both may publish keep their ids, and every consumer de-duplicates (the payment by order,
//! update-order by payment event, notification by event type and cause), so a second publication
//! has no second effect. A replay is a repeat by design, and only safe while the consumers still
//! remember the first delivery: the sweep leaves alone the orders whose latest event reached the
//! bus longer ago than `adapters::redelivery::IDEMPOTENCY_LIFETIME` (those need a person, and
//! `eda-admin replay --stuck-for`).

use std::time::Duration;

use adapters::redelivery::IDEMPOTENCY_LIFETIME;
use adapters::{DynamoDbEventStore, EventBridgePublisher};
use chrono::Utc;
use domain::ports::InfrastructureError;
use outbox_processor::Outbox;

use crate::pending::publish_pending;
use crate::replay::{Selection, replay};

pub struct Sweep {
    events: DynamoDbEventStore,
    outbox: Outbox<EventBridgePublisher, DynamoDbEventStore>,
    bus: EventBridgePublisher,
    /// How long an event may wait for the outbox, or an order for its next step, before the
    /// sweep steps in: longer than either takes when all is well (their retries included).
    stuck_after: Duration,
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub events_republished: usize,
    pub payments_restarted: usize,
    /// Events that were due but could not be published (they are tried again next run).
    pub failed: usize,
}

impl Sweep {
    pub fn new(
        events: DynamoDbEventStore,
        bus: EventBridgePublisher,
        stuck_after: Duration,
    ) -> Sweep {
        Sweep {
            outbox: Outbox::new(bus.clone(), events.clone()),
            events,
            bus,
            stuck_after,
        }
    }

    /// Runs once; every action and every failure is logged, one line each, and the counts are
    /// emitted as metrics.
    pub async fn run(&self) -> Result<SweepReport, InfrastructureError> {
        let mut log_pending = |line: String| tracing::info!(step = "publish-pending", "{line}");
        let pending = publish_pending(
            &self.events,
            &self.outbox,
            self.stuck_after,
            false,
            &mut log_pending,
        )
        .await?;
        // After the publishing above: an event it just published reached the bus now, so the
        // replay does not count it as stuck.
        let now = Utc::now();
        let selection = Selection::Stuck {
            since: now - self.stuck_after,
            not_before: Some(now - IDEMPOTENCY_LIFETIME),
        };
        let mut log_replay = |line: String| tracing::info!(step = "replay-stuck", "{line}");
        let replayed = replay(&self.events, &self.bus, &selection, false, &mut log_replay).await?;
        let report = SweepReport {
            events_republished: pending.published,
            payments_restarted: replayed.published,
            failed: pending.failed + replayed.failed.len(),
        };
        crate::metrics::record(report.events_republished, report.payments_restarted);
        tracing::info!(
            events_republished = report.events_republished,
            payments_restarted = report.payments_restarted,
            failed = report.failed,
            "recovery sweep done"
        );
        Ok(report)
    }
}
