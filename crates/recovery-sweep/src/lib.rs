//! Recovery without a person. Two faults leave an order waiting for good: an event stored but
//! never published (the bus was unreachable for longer than the outbox's retries, and the stream
//! record was parked), and an event published but never acted on (the payment workflow was never
//! started, or the bus dropped it). `pending` publishes the first kind through the outbox's own
//! logic; `replay` publishes the latest event of the second kind again, so that its next step
//! starts. Every consumer is idempotent, so either may run twice, at once, or race the outbox,
//! and the effect is still single.
//!
//! `sweep` runs both on a schedule (the `recovery-sweep` function); `eda-admin publish-pending`
//! and `eda-admin replay` run them on demand, with the same code.

pub mod metrics;
pub mod pending;
pub mod replay;
pub mod sweep;

pub use sweep::{Sweep, SweepReport};

/// What an operation reports as it goes: one line at a time.
pub type Progress<'a> = &'a mut dyn FnMut(String);
