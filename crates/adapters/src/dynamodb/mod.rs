//! DynamoDB adapters. The event store: one table keyed by `aggregateId` (partition) and
//! `version` (sort), whose stream is the transactional outbox; the idempotency records; the
//! payment ledger.

mod event_item;
mod event_store;
mod idempotency;
pub mod order_views;
mod payment_ledger;
mod snapshots;

pub use event_item::{EventItem, ItemDecodeError};
pub use event_store::{DynamoDbEventStore, EventFilter};
pub use idempotency::DynamoDbIdempotencyStore;
pub use order_views::DynamoDbOrderViews;
pub use payment_ledger::DynamoDbPaymentLedger;
pub use snapshots::DynamoDbSnapshotStore;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use domain::ports::InfrastructureError;

/// An SDK failure as the ports report it, with its whole chain of causes.
fn infrastructure<E: std::error::Error + Send + Sync + 'static>(error: E) -> InfrastructureError {
    InfrastructureError::new(DisplayErrorContext(error))
}

/// Attribute names of the event-store table, as the template declares them.
pub mod attributes {
    pub const AGGREGATE_ID: &str = "aggregateId";
    pub const VERSION: &str = "version";
    pub const PUBLISHED_AT: &str = "publishedAt";
}
