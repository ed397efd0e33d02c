//! Adapters: the domain's ports on AWS. (Their in-memory fakes, for tests, are in `testkit`.)
//!
//! Every function builds its clients once, at cold start, from [`config::load`], and hands them
//! to these adapters; nothing here creates a client per call.

pub mod config;
pub mod dynamodb;
pub mod eventbridge;
#[cfg(any(test, feature = "test-hooks"))]
pub mod fault;
pub mod metrics;
pub mod redelivery;
pub mod sns;
pub mod stream;

pub use dynamodb::{
    DynamoDbEventStore, DynamoDbIdempotencyStore, DynamoDbOrderViews, DynamoDbPaymentLedger,
    DynamoDbSnapshotStore, EventItem,
};
pub use eventbridge::EventBridgePublisher;
pub use sns::SnsNotifier;
