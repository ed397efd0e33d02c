//! Operations on the event store, for people: rebuild the read models from it, replay its
//! events to the bus, and publish what the outbox has not; and on the dead-letter queues: list
//! what is parked there and re-drive it after a fix; on the bus's archive: replay a window of it;
//! and an order's journey, traced. The binary `eda-admin` is a thin command line over these; the
//! end-to-end suite calls them directly. Publishing the unpublished and replaying are the recovery
//! sweep's library, which the scheduled sweep runs too: one implementation for the person and the
//! schedule.

pub mod archive;
pub mod dead_letters;
pub mod rebuild;
pub mod settings;
pub mod trace;
pub mod workflow_runs;

pub use recovery_sweep::{Progress, pending, replay};
pub use settings::{Settings, StackEnv};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Infrastructure(#[from] domain::ports::InfrastructureError),
    #[error("{0}")]
    Invalid(String),
}
