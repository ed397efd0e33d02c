//! An order's current state as the API shows it, folded from its events.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::OrderId;
use super::aggregate::{Order, OrderStatus};
use super::events::{LineItem, OrderEvent};
use crate::currency::Currency;
use crate::envelope::{EventEnvelope, rfc3339_millis};
use crate::money::Money;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    pub id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<LineItem>,
    pub status: OrderStatus,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
    /// The version of the last event: it grows by one with every change.
    pub version: u64,
}

impl OrderSummary {
    /// Folds an order's events, oldest first; `None` if they do not create an order.
    pub fn fold(events: &[EventEnvelope<OrderEvent>]) -> Option<OrderSummary> {
        let order = Order::from_events(events.iter().map(|envelope| &envelope.data));
        let placed = order.placed()?;
        Some(OrderSummary {
            id: placed.details.order_id.clone(),
            amount: placed.details.amount,
            currency: placed.details.currency,
            customer_id: placed.details.customer_id.clone(),
            items: placed.details.items.clone(),
            status: placed.status,
            created_at: events.first()?.metadata.occurred_at,
            updated_at: events.last()?.metadata.occurred_at,
            version: order.version(),
        })
    }
}
