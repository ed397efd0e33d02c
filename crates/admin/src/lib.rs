//! Operations on the event store, for people: rebuild the read models from it, replay its
//! events to the bus, and publish what the outbox has not; and on the dead-letter queues: list
//! what is parked there and re-drive it after a fix; and on the bus's archive: replay a window of it. The binary `eda-admin` is a thin command
//! line over these; the end-to-end suite calls them directly.

pub mod archive;
pub mod dead_letters;
pub mod pending;
pub mod rebuild;
pub mod replay;
pub mod settings;
pub mod trace;

pub use settings::{Settings, StackEnv};

/// What a command reports as it goes: one line at a time.
pub type Progress<'a> = &'a mut dyn FnMut(String);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Infrastructure(#[from] domain::ports::InfrastructureError),
    #[error("{0}")]
    Invalid(String),
}
