//! Orders over an event store: loading an order by folding its events, and running a command
//! against it with optimistic concurrency.

use chrono::{DateTime, Utc};

use super::{ORDER_SERVICE, Order, OrderCommand, OrderError, OrderEvent};
use crate::envelope::{Causation, EventEnvelope};
use crate::events::EventDecodeError;
use crate::ports::{AppendError, EventStore, InfrastructureError};
use crate::recorded::RecordedEvent;

/// How many times a command is decided again from fresh state when another writer got there
/// first. Conflicts on one order are rare (two results for one payment at once), so a few
/// immediate retries settle them.
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The order refused the command; nothing was stored.
    #[error(transparent)]
    Rejected(#[from] OrderError),
    #[error("order {key} kept changing under {attempts} attempts")]
    Contended { key: String, attempts: u32 },
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

/// Wraps newly decided events in envelopes and stores them after the order's current version.
pub fn record(
    order: &Order,
    key: &str,
    events: Vec<OrderEvent>,
    causation: &Causation,
    now: DateTime<Utc>,
) -> (Vec<EventEnvelope<OrderEvent>>, Vec<RecordedEvent>) {
    let envelopes: Vec<_> = events
        .into_iter()
        .map(|event| causation.envelope(event, now))
        .collect();
    let recorded = envelopes
        .iter()
        .zip(order.version() + 1..)
        .map(|(envelope, version)| RecordedEvent::new(key, version, ORDER_SERVICE, envelope))
        .collect();
    (envelopes, recorded)
}

/// The order stored under `key` and its events, oldest first.
pub async fn load<S: EventStore>(
    store: &S,
    key: &str,
) -> Result<(Order, Vec<EventEnvelope<OrderEvent>>), InfrastructureError> {
    let events = store
        .load(key)
        .await?
        .iter()
        .map(OrderEvent::from_recorded)
        .collect::<Result<Vec<_>, EventDecodeError>>()
        .map_err(InfrastructureError::new)?;
    let order = Order::from_events(events.iter().map(|envelope| &envelope.data));
    Ok((order, events))
}

/// Loads the order, lets it decide on `command`, and stores what it decided; on a version
/// conflict, does it all again from the new state. Returns the new events: none when the
/// command changed nothing (a repeated payment result, say).
pub async fn execute<S: EventStore>(
    store: &S,
    key: &str,
    command: &OrderCommand,
    causation: &Causation,
) -> Result<Vec<EventEnvelope<OrderEvent>>, ExecuteError> {
    for _ in 0..MAX_ATTEMPTS {
        let (order, _) = load(store, key).await?;
        let events = order.handle(command.clone())?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (envelopes, recorded) = record(&order, key, events, causation, Utc::now());
        match store.append(&recorded).await {
            Ok(()) => return Ok(envelopes),
            Err(AppendError::Conflict { .. }) => continue,
            Err(AppendError::Infrastructure(error)) => return Err(error.into()),
        }
    }
    Err(ExecuteError::Contended {
        key: key.to_owned(),
        attempts: MAX_ATTEMPTS,
    })
}
