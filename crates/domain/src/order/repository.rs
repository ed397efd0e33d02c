//! Orders over an event store: loading an order (from its latest snapshot and the events after
//! it), and running a command against it with optimistic concurrency.

use chrono::{DateTime, Utc};

use super::{NewOrder, ORDER_SERVICE, Order, OrderCommand, OrderError, OrderEvent, OrderId};
use crate::decode::EventDecodeError;
use crate::envelope::{Causation, EventEnvelope};
use crate::idempotency::Once;
use crate::ports::{
    AppendError, EventStore, InfrastructureError, NoSnapshots, Snapshot, SnapshotStore,
};
use crate::recorded::RecordedEvent;

/// How many times a command is decided again from fresh state when another writer got there
/// first. Conflicts on one order are rare (two results for one payment at once), so a few
/// immediate retries settle them.
pub const MAX_ATTEMPTS: u32 = 5;

/// The shape of the order state snapshots hold; bump it when `Order` changes incompatibly, and
/// old snapshots are ignored (the events are replayed instead).
pub const SNAPSHOT_SCHEMA: u32 = 1;

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

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The id is taken by an order with other contents.
    #[error("order {0} already exists with different contents")]
    Taken(OrderId),
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

/// Wraps newly decided events in envelopes, numbered after the order's current version.
fn record(
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

fn decode(events: &[RecordedEvent]) -> Result<Vec<EventEnvelope<OrderEvent>>, InfrastructureError> {
    events
        .iter()
        .map(OrderEvent::from_recorded)
        .collect::<Result<Vec<_>, EventDecodeError>>()
        .map_err(InfrastructureError::new)
}

#[derive(Clone, Debug)]
pub struct OrderRepository<S, P = NoSnapshots> {
    events: S,
    snapshots: P,
    /// A snapshot is written each time an order's version crosses a multiple of this (0: never).
    snapshot_every: u64,
}

impl<S: EventStore> OrderRepository<S, NoSnapshots> {
    pub fn new(events: S) -> Self {
        OrderRepository {
            events,
            snapshots: NoSnapshots,
            snapshot_every: 0,
        }
    }
}

impl<S: EventStore, P: SnapshotStore> OrderRepository<S, P> {
    pub fn with_snapshots(events: S, snapshots: P, snapshot_every: u64) -> Self {
        OrderRepository {
            events,
            snapshots,
            snapshot_every,
        }
    }

    /// Every event of the order, oldest first.
    pub async fn history(
        &self,
        key: &str,
    ) -> Result<Vec<EventEnvelope<OrderEvent>>, InfrastructureError> {
        decode(&self.events.load(key).await?)
    }

    /// The order's current state: its latest usable snapshot, then the events after it.
    pub async fn load(&self, key: &str) -> Result<Order, InfrastructureError> {
        let snapshot = match self.snapshots.latest(key).await {
            Ok(snapshot) => snapshot.filter(|s| s.schema == SNAPSHOT_SCHEMA),
            Err(error) => {
                // A snapshot only saves reads: without one, the full history gives the same state.
                tracing::warn!(%error, order = key, "snapshot unavailable; reading every event");
                None
            }
        };
        let (mut order, after) =
            match snapshot.map(|s| (serde_json::from_str::<Order>(&s.state), s.version)) {
                Some((Ok(order), version)) if order.version() == version => (order, version),
                _ => (Order::default(), 0),
            };
        for event in decode(&self.events.load_after(key, after).await?)? {
            order.apply(&event.data);
        }
        Ok(order)
    }

    /// Stores a snapshot of `order` as it is now.
    pub async fn save_snapshot(&self, key: &str, order: &Order) -> Result<(), InfrastructureError> {
        self.snapshots
            .save(&Snapshot {
                aggregate_id: key.to_owned(),
                version: order.version(),
                schema: SNAPSHOT_SCHEMA,
                // Order is plain data: it always serializes.
                state: serde_json::to_string(order).expect("order state serializes to JSON"),
                taken_at: Utc::now(),
            })
            .await
    }

    /// Stores a new order's `OrderCreated`, which is the order, without reading first: the
    /// append's version check tells a taken id. Creating the same order again stores nothing and
    /// returns the event stored the first time, as `Replayed` (so a client's retry gets the first
    /// answer); an order with other contents under the same id is refused.
    pub async fn create(
        &self,
        new_order: NewOrder,
        causation: &Causation,
    ) -> Result<Once<EventEnvelope<OrderEvent>>, CreateError> {
        let id = new_order.id.clone();
        let key = id.key();
        let order = Order::default();
        let events = order
            .handle(OrderCommand::Create(new_order))
            .map_err(|_| CreateError::Taken(id.clone()))?;
        let (mut envelopes, recorded) = record(&order, &key, events, causation, Utc::now());
        match self.events.append(&recorded).await {
            Ok(()) => Ok(Once::Done(envelopes.remove(0))),
            Err(AppendError::Conflict { .. }) => match self.history(&key).await?.into_iter().next()
            {
                Some(stored) if stored.data == envelopes[0].data => Ok(Once::Replayed(stored)),
                _ => Err(CreateError::Taken(id)),
            },
            Err(AppendError::Infrastructure(error)) => Err(error.into()),
        }
    }

    /// Loads the order, lets it decide on `command`, and stores what it decided; on a version
    /// conflict, does it all again from the new state. Returns the new events: none when the
    /// command changed nothing (a repeated payment result, say).
    pub async fn execute(
        &self,
        key: &str,
        command: &OrderCommand,
        causation: &Causation,
    ) -> Result<Vec<EventEnvelope<OrderEvent>>, ExecuteError> {
        for _ in 0..MAX_ATTEMPTS {
            let order = self.load(key).await?;
            let events = order.handle(command.clone())?;
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let (envelopes, recorded) = record(&order, key, events, causation, Utc::now());
            match self.events.append(&recorded).await {
                Ok(()) => {
                    self.snapshot_if_due(key, order, &envelopes).await;
                    return Ok(envelopes);
                }
                Err(AppendError::Conflict { .. }) => continue,
                Err(AppendError::Infrastructure(error)) => return Err(error.into()),
            }
        }
        Err(ExecuteError::Contended {
            key: key.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    async fn snapshot_if_due(
        &self,
        key: &str,
        mut order: Order,
        new: &[EventEnvelope<OrderEvent>],
    ) {
        let before = order.version();
        for event in new {
            order.apply(&event.data);
        }
        let every = self.snapshot_every;
        if every == 0 || order.version() / every == before / every {
            return;
        }
        if let Err(error) = self.save_snapshot(key, &order).await {
            // The events are stored; the snapshot is only a shortcut and the next one will do.
            tracing::warn!(%error, order = key, "snapshot not saved");
        }
    }
}
