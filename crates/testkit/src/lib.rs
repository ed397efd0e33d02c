//! For tests only: what the tests of every crate need to run the domain without AWS.
//!
//! - [`fakes`]: the domain's ports in memory. They keep what happened and can be told to fail,
//!   so tests can check retries and partial failures.
//! - [`builders`]: the values tests keep building (an order, a causation), with defaults.
//! - [`history`]: stored histories, numbered and stamped as the order repository stores them.
//! - `stream` (feature `stream`): DynamoDB stream records as Lambda delivers them.
//! - `metrics` (feature `metrics`): the EMF documents an invocation emits, checked against the
//!   specification.
//!
//! A dev-dependency only (the end-to-end crate, itself a test crate, excepted): no crate that
//! builds a Lambda function, nor `adapters`, `domain` or `admin`, may depend on it.

pub mod builders;
pub mod fakes;
pub mod history;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "stream")]
pub mod stream;
