//! The order use cases: placing an order (the command side, over the event store) and reading
//! orders (the query side, over the order views the `projection` function keeps, and the event
//! store while a view is behind).

use chrono::Utc;
use domain::order::repository::{self, OrderRepository};
use domain::order::{NewOrder, Order, OrderCommand, OrderEvent, OrderId, OrderView};
use domain::ports::{AppendError, EventStore, InfrastructureError, OrderViews, Page, PageError};
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

pub struct OrderService<S, V> {
    orders: OrderRepository<S>,
    views: V,
}

impl<S: EventStore, V: OrderViews> OrderService<S, V> {
    pub fn new(store: S, views: V) -> Self {
        OrderService {
            orders: OrderRepository::new(store),
            views,
        }
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
        match self.orders.event_store().append(&recorded).await {
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
        let stored = self.orders.history(&id.key()).await?;
        match stored.into_iter().next() {
            Some(original) if original.data == attempt.data => Ok(Receipt {
                id: original.data.order_id().clone(),
                correlation_id: original.metadata.correlation_id,
            }),
            _ => Err(PlaceOrderError::Conflict(id)),
        }
    }

    /// The order, `None` if there is none. Its view answers when it shows the order's end;
    /// otherwise the view may be missing or behind the event store (the projection runs after
    /// the write), so the order's events are read (a consistent read) and folded, and the newer
    /// of the two answers: a client always reads its own writes.
    pub async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        let held = self.views.get(key).await?;
        if held.as_ref().is_some_and(|view| view.status.is_terminal()) {
            return Ok(held);
        }
        let history = self.orders.history(key).await?;
        let folded = OrderView::fold((1..).zip(&history)).map_err(InfrastructureError::new)?;
        Ok(match (held, folded) {
            (Some(held), Some(folded)) if held.version >= folded.version => Some(held),
            (held, folded) => folded.or(held),
        })
    }

    /// A customer's orders, newest first.
    pub async fn customer_orders(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        self.views.by_customer(customer_id, limit, cursor).await
    }
}
