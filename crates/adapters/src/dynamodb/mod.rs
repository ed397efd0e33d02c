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

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use domain::ports::InfrastructureError;

/// An SDK failure as the ports report it, with its whole chain of causes.
fn infrastructure<E: std::error::Error + Send + Sync + 'static>(error: E) -> InfrastructureError {
    InfrastructureError::new(DisplayErrorContext(error))
}

/// How long a new table gets to become active. The SDK's waiter asks at once, then 20 s or more
/// apart (its delays for a table); on the local stack a new table is active at once.
const TABLE_ACTIVE_WITHIN: Duration = Duration::from_secs(60);

/// Waits until a table just created is active (DescribeTable says so), with the SDK's waiter.
/// An error names the table: it did not become active within the minute, or asking failed (the
/// cause says which).
pub async fn wait_until_active(client: &Client, table: &str) -> Result<(), InfrastructureError> {
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(TABLE_ACTIVE_WITHIN)
        .await
        .map_err(|e| {
            InfrastructureError(format!(
                "table {table} did not become active within {} s: {}",
                TABLE_ACTIVE_WITHIN.as_secs(),
                DisplayErrorContext(e)
            ))
        })?;
    Ok(())
}

/// Attribute names of the event-store table, as the template declares them.
pub mod attributes {
    pub const AGGREGATE_ID: &str = "aggregateId";
    pub const VERSION: &str = "version";
    pub const PUBLISHED_AT: &str = "publishedAt";
}
