//! The order use cases: placing an order (the command side, over the event store) and reading
//! orders (the query side, over the order views the `projection` function keeps, and the event
//! store while a view is behind).

use domain::Causation;
use domain::idempotency::Once;
use domain::order::repository::{CreateError, OrderRepository};
use domain::order::{NewOrder, OrderId, OrderView};
use domain::order::{OrderViews, Page, PageError};
use domain::ports::{EventStore, InfrastructureError};

/// The component name written into every event's `metadata.producer`.
pub const PRODUCER: &str = "create-order";

/// What the client is told about an accepted order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: OrderId,
    pub correlation_id: String,
    /// The id of the order's `OrderCreated` (the first one's, for a retry).
    pub event_id: String,
    pub causation_id: String,
    /// Stored by this request; `false` for a retry of an order stored before.
    pub placed_now: bool,
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
    ) -> Result<Receipt, CreateError> {
        let causation = Causation {
            correlation_id,
            causation_id,
            producer: PRODUCER.to_owned(),
        };
        let created = self.orders.create(new_order, &causation).await?;
        let placed_now = matches!(created, Once::Done(_));
        let created = created.into_inner();
        Ok(Receipt {
            placed_now,
            id: created.data.order_id().clone(),
            correlation_id: created.metadata.correlation_id,
            event_id: created.metadata.event_id.to_string(),
            causation_id: created.metadata.causation_id,
        })
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
