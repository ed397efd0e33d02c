//! What the services need from the outside world, as small traits. The AWS adapters live in the
//! `adapters` crate, beside in-memory ones for tests.

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

/// A charge of an order, as the payment service records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub order_id: crate::order::OrderId,
    pub payment_id: String,
    pub amount: crate::Money,
    pub currency: crate::Currency,
    pub customer_id: Option<String>,
    pub correlation_id: String,
    /// The event that asked for the charge (the order's `OrderCreated`).
    pub causation_id: String,
    pub charged_at: DateTime<Utc>,
}

/// The charge of an order as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeOnRecord {
    pub payment_id: String,
    pub amount: crate::Money,
    pub currency: crate::Currency,
    /// Whether this call recorded it (false: the order had been charged before).
    pub new: bool,
}

/// The payment service's record of charges: at most one per order.
pub trait PaymentLedger: Send + Sync {
    /// Records `charge` unless its order was charged already; returns the charge on record
    /// (this one, or the earlier one).
    fn record(
        &self,
        charge: &Charge,
    ) -> impl Future<Output = Result<ChargeOnRecord, InfrastructureError>> + Send;
}
