//! The domain of the order system: events and their envelope, the order aggregate, commands,
//! validation, and the ports through which services reach the outside world.
//!
//! Nothing here knows about AWS; see the `adapters` crate for that.

pub mod currency;
pub mod decode;
pub mod envelope;
pub mod events;
pub mod idempotency;
pub mod journey;
pub mod money;
pub mod order;
pub mod payment;
pub mod ports;
pub mod recorded;

pub use currency::Currency;
pub use envelope::{Causation, DomainEvent, EventEnvelope, EventMetadata};
pub use money::Money;
pub use recorded::{EventKey, RecordedEvent};
