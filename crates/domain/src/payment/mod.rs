//! The payment service's events, and its ledger of charges. The payment state machine publishes
//! the events (its definition is `infra/statemachines/payment.asl.json`); `update-order` and
//! `notification` read them.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::decode::event_family;
use crate::money::Money;
use crate::order::OrderId;
use crate::ports::InfrastructureError;

/// The EventBridge `source` of payment events.
pub const PAYMENT_SERVICE: &str = "payment-service";

/// The order was charged. Version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSucceeded {
    pub order_id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    pub payment_id: String,
}

/// The order could not be charged: refused as fraud, or the charge kept failing. Version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailed {
    pub order_id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    pub reason: String,
}

event_family! {
    /// An event of the payment service.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PaymentEvent {
        Succeeded(PaymentSucceeded) = "PaymentSucceeded" version 1,
        Failed(PaymentFailed) = "PaymentFailed" version 1,
    }
}

impl PaymentEvent {
    pub fn order_id(&self) -> &OrderId {
        match self {
            PaymentEvent::Succeeded(e) => &e.order_id,
            PaymentEvent::Failed(e) => &e.order_id,
        }
    }
}

/// A charge of an order, as the payment service records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub order_id: OrderId,
    pub payment_id: String,
    pub amount: Money,
    pub currency: Currency,
    pub customer_id: Option<String>,
    pub correlation_id: String,
    /// The event that asked for the charge (the order's `OrderCreated`).
    pub causation_id: String,
    pub charged_at: DateTime<Utc>,
}

/// The charge of an order as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeOnRecord {
    pub payment_id: String,
    pub amount: Money,
    pub currency: Currency,
    /// Whether this call recorded it (false: the order had been charged before).
    pub new: bool,
}

/// The payment service's record of charges: at most one per order.
pub trait PaymentLedger: Send + Sync {
    /// Records `charge` unless its order was charged already; returns the charge on record
    /// (this one, or the earlier one).
    fn record(
        &self,
        charge: &Charge,
    ) -> impl Future<Output = Result<ChargeOnRecord, InfrastructureError>> + Send;
}
