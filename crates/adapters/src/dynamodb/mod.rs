//! The event store on DynamoDB: one table keyed by `aggregateId` (partition) and `version`
//! (sort). Its stream is the transactional outbox.

mod event_item;
mod event_store;

pub use event_item::{EventItem, ItemDecodeError};
pub use event_store::DynamoDbEventStore;

/// Attribute names of the event-store table, as the template declares them.
pub mod attributes {
    pub const AGGREGATE_ID: &str = "aggregateId";
    pub const VERSION: &str = "version";
    pub const PUBLISHED_AT: &str = "publishedAt";
}
