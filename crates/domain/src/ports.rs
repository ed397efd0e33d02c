//! What the services need from the outside world, as small traits. The AWS adapters live in the
//! `adapters` crate, in-memory ones for tests in `testkit`.

use std::collections::HashSet;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::recorded::{EventKey, RecordedEvent};

/// A failure of the storage or network behind a port; worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InfrastructureError(pub String);

impl InfrastructureError {
    pub fn new(error: impl std::fmt::Display) -> Self {
        InfrastructureError(error.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer already stored this version: reload and decide again.
    #[error("version {version} of {aggregate_id} already exists")]
    Conflict { aggregate_id: String, version: u64 },
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

/// The source of truth: each aggregate's events, in order.
pub trait EventStore: Send + Sync {
    /// Stores the events of one aggregate atomically, all or none. Each version must not exist
    /// yet, so two writers can never both write version N.
    fn append(
        &self,
        events: &[RecordedEvent],
    ) -> impl Future<Output = Result<(), AppendError>> + Send;

    /// All events of an aggregate, oldest first (empty if there are none).
    fn load(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, InfrastructureError>> + Send;

    /// The events of an aggregate after version `after`, oldest first: the tail behind a
    /// snapshot. Stores that can read a range should.
    fn load_after(
        &self,
        aggregate_id: &str,
        after: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, InfrastructureError>> + Send {
        async move {
            let mut events = self.load(aggregate_id).await?;
            events.retain(|event| event.version > after);
            Ok(events)
        }
    }
}

/// An aggregate's state at a version, so that loading it reads only the events after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub aggregate_id: String,
    pub version: u64,
    /// The shape of `state`; a snapshot of another shape is ignored (and the events replayed).
    pub schema: u32,
    /// The state as JSON.
    pub state: String,
    pub taken_at: DateTime<Utc>,
}

pub trait SnapshotStore: Send + Sync {
    fn latest(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<Option<Snapshot>, InfrastructureError>> + Send;

    /// Keeps `snapshot` unless a newer one is stored.
    fn save(
        &self,
        snapshot: &Snapshot,
    ) -> impl Future<Output = Result<(), InfrastructureError>> + Send;
}

/// For services that do not snapshot: nothing is ever stored.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSnapshots;

impl SnapshotStore for NoSnapshots {
    async fn latest(&self, _: &str) -> Result<Option<Snapshot>, InfrastructureError> {
        Ok(None)
    }

    async fn save(&self, _: &Snapshot) -> Result<(), InfrastructureError> {
        Ok(())
    }
}

/// What became of one entry of a publish call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    Published,
    Failed { code: String, message: String },
}

/// The event bus.
pub trait EventPublisher: Send + Sync {
    /// The largest batch `publish` takes: this many entries, ...
    const MAX_BATCH_ENTRIES: usize;
    /// ... whose `entry_size`s add up to at most this.
    const MAX_BATCH_BYTES: usize;

    fn entry_size(&self, event: &RecordedEvent) -> usize;

    /// Cuts `events` into runs that fit in one `publish` call each, in order: the index ranges
    /// of the batches.
    fn batch_ranges<'a>(
        &self,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        let mut bytes = 0;
        for (index, event) in events.into_iter().enumerate() {
            let size = self.entry_size(event);
            match ranges.last_mut() {
                Some(batch)
                    if batch.len() < Self::MAX_BATCH_ENTRIES
                        && bytes + size <= Self::MAX_BATCH_BYTES =>
                {
                    batch.end = index + 1;
                    bytes += size;
                }
                _ => {
                    ranges.push(index..index + 1);
                    bytes = size;
                }
            }
        }
        ranges
    }

    /// Publishes one batch and reports each entry's fate, in order. `Err` means the call as a
    /// whole failed and nothing is known to be published.
    fn publish(
        &self,
        events: &[RecordedEvent],
    ) -> impl Future<Output = Result<Vec<PublishOutcome>, InfrastructureError>> + Send;
}

/// Which stored events have been published: the outbox's bookkeeping.
pub trait PublicationLog: Send + Sync {
    /// The keys among `keys` already marked as published.
    fn published(
        &self,
        keys: &[EventKey],
    ) -> impl Future<Output = Result<HashSet<EventKey>, InfrastructureError>> + Send;

    fn mark_published(
        &self,
        key: &EventKey,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), InfrastructureError>> + Send;
}

/// A message for people: one per event, on the notification topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// Message attributes, so subscribers can filter.
    pub event_type: String,
    pub order_id: String,
}

pub trait Notifier: Send + Sync {
    /// Sends the message; returns its id.
    fn notify(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<String, InfrastructureError>> + Send;
}
