//! `eda-admin trace`: an order's journey, put together from what the stack recorded of it. The
//! event store gives the order's events (what caused each, and when the outbox published it);
//! the bus's catch-all log group the events other services published about it (the payment's
//! result); the payment workflow's history its states and how long each took; and the
//! functions' logs every invocation that logged the order's correlation id.

mod journey;
mod sources;

pub use journey::{Journey, Step};
pub use sources::{Sources, log_group_of, trace};
