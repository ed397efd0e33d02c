//! The order use cases, over any event store.

use chrono::Utc;
use domain::order::{NewOrder, Order, OrderCommand, OrderEvent, OrderId, OrderSummary, repository};
use domain::ports::{AppendError, EventStore, InfrastructureError};
use domain::{Causation, EventEnvelope};

/// The component name written into every event's `metadata.producer`.
pub const PRODUCER: &str = "create-order";

/// What the client is told about an accepted order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: OrderId,
    pub correlation_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// The id is taken by an order with different contents.
    #[error("order {0} already exists with different contents")]
    Conflict(OrderId),
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

pub struct OrderService<S> {
    store: S,
}

impl<S: EventStore> OrderService<S> {
    pub fn new(store: S) -> Self {
        OrderService { store }
    }

    /// Stores the order's `OrderCreated` event, which is the order: the outbox publishes it from
    /// the same write. Placing the same order again is answered like the first time and stores
    /// nothing, so clients can retry safely.
    pub async fn place(
        &self,
        new_order: NewOrder,
        correlation_id: String,
        causation_id: String,
    ) -> Result<Receipt, PlaceOrderError> {
        let id = new_order.id.clone();
        let causation = Causation {
            correlation_id: correlation_id.clone(),
            causation_id,
            producer: PRODUCER.to_owned(),
        };
        // Optimistically assume the order is new: no read on the usual path. If it exists, the
        // append's version check says so and the stored order is read then.
        let order = Order::default();
        let events = order
            .handle(OrderCommand::Create(new_order))
            .map_err(|_| PlaceOrderError::Conflict(id.clone()))?;
        let (envelopes, recorded) =
            repository::record(&order, &id.key(), events, &causation, Utc::now());
        match self.store.append(&recorded).await {
            Ok(()) => Ok(Receipt { id, correlation_id }),
            Err(AppendError::Conflict { .. }) => self.replay_of(&envelopes[0]).await,
            Err(AppendError::Infrastructure(error)) => Err(error.into()),
        }
    }

    /// The receipt of the earlier placement of this same order, if that is what it is.
    async fn replay_of(
        &self,
        attempt: &EventEnvelope<OrderEvent>,
    ) -> Result<Receipt, PlaceOrderError> {
        let id = attempt.data.order_id().clone();
        let (_, stored) = repository::load(&self.store, &id.key()).await?;
        match stored.into_iter().next() {
            Some(original) if original.data == attempt.data => Ok(Receipt {
                id: original.data.order_id().clone(),
                correlation_id: original.metadata.correlation_id,
            }),
            _ => Err(PlaceOrderError::Conflict(id)),
        }
    }

    /// The order's current state, folded from its events; `None` if there is no such order.
    pub async fn get(&self, key: &str) -> Result<Option<OrderSummary>, InfrastructureError> {
        let (_, events) = repository::load(&self.store, key).await?;
        Ok(OrderSummary::fold(&events))
    }
}
