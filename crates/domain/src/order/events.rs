//! The events of an order, each a versioned contract (schemas in `events/schemas/`).

use serde::{Deserialize, Serialize};

use super::OrderId;
use crate::currency::Currency;
use crate::decode::{EventDecodeError, decode_detail, event_family};
use crate::envelope::EventEnvelope;
use crate::money::Money;
use crate::recorded::RecordedEvent;

/// The service that owns orders: the EventBridge `source` of their events.
pub const ORDER_SERVICE: &str = "order-service";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub product_id: String,
    pub quantity: u32,
    pub price: Money,
}

/// Where an order was placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Web,
    Mobile,
    Api,
    Store,
}

/// The version of `OrderCreated` this code writes.
pub const ORDER_CREATED_VERSION: u32 = 3;

/// An order was accepted. Version 3: the order is scoped to its customer, who is who signed in
/// (`customerId`), and `placedBy` names the token's subject. Version 2 (`currency` always present,
/// `channel` optional) reads into the same shape, without `placedBy`: those orders were placed
/// before sign-in, and their `customerId` is whatever the body said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<LineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// The subject (`sub`) of the token the order was placed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_by: Option<String>,
}

/// `OrderCreated` version 1, as earlier releases stored and published it: `currency` could be
/// absent (US dollars, as in the original demo), and there was no channel. Read, then upcast.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderCreatedV1 {
    order_id: OrderId,
    amount: Money,
    #[serde(default)]
    currency: Option<Currency>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    items: Vec<LineItem>,
}

impl From<OrderCreatedV1> for OrderCreated {
    fn from(v1: OrderCreatedV1) -> Self {
        OrderCreated {
            order_id: v1.order_id,
            amount: v1.amount,
            currency: v1.currency.unwrap_or(Currency::DEFAULT),
            customer_id: v1.customer_id,
            items: v1.items,
            channel: None,
            placed_by: None,
        }
    }
}

/// The order was paid for. Version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCompleted {
    pub order_id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    pub payment_id: String,
}

/// The order will not be fulfilled. Version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    pub reason: String,
}

event_family! {
    /// An event of an order.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum OrderEvent {
        Created(OrderCreated) = "OrderCreated" version ORDER_CREATED_VERSION
            upcast { 1 => OrderCreatedV1, 2 => OrderCreated },
        Completed(OrderCompleted) = "OrderCompleted" version 1,
        Cancelled(OrderCancelled) = "OrderCancelled" version 1,
    }
}

impl OrderEvent {
    /// Reads a stored event back as an order event in its envelope.
    pub fn from_recorded(
        recorded: &RecordedEvent,
    ) -> Result<EventEnvelope<OrderEvent>, EventDecodeError> {
        decode_detail(&recorded.detail, OrderEvent::decode)
    }

    pub fn order_id(&self) -> &OrderId {
        match self {
            OrderEvent::Created(e) => &e.order_id,
            OrderEvent::Completed(e) => &e.order_id,
            OrderEvent::Cancelled(e) => &e.order_id,
        }
    }
}
