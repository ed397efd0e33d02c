//! The payment service's events. The payment state machine publishes them (its definition is
//! `infra/statemachines/payment.asl.json`); `update-order` and `notification` read them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::currency::Currency;
use crate::envelope::DomainEvent;
use crate::events::EventDecodeError;
use crate::money::Money;
use crate::order::OrderId;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentEvent {
    Succeeded(PaymentSucceeded),
    Failed(PaymentFailed),
}

impl PaymentEvent {
    pub fn decode(
        event_type: &str,
        event_version: u32,
        data: &RawValue,
    ) -> Result<Self, EventDecodeError> {
        let malformed = |source| EventDecodeError::Malformed {
            event_type: event_type.to_owned(),
            source,
        };
        match (event_type, event_version) {
            ("PaymentSucceeded", 1) => {
                serde_json::from_str(data.get()).map(PaymentEvent::Succeeded)
            }
            ("PaymentFailed", 1) => serde_json::from_str(data.get()).map(PaymentEvent::Failed),
            _ => return Err(EventDecodeError::unknown(event_type, event_version)),
        }
        .map_err(malformed)
    }

    pub fn order_id(&self) -> &OrderId {
        match self {
            PaymentEvent::Succeeded(e) => &e.order_id,
            PaymentEvent::Failed(e) => &e.order_id,
        }
    }
}

impl DomainEvent for PaymentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            PaymentEvent::Succeeded(_) => "PaymentSucceeded",
            PaymentEvent::Failed(_) => "PaymentFailed",
        }
    }

    fn event_version(&self) -> u32 {
        1
    }
}

impl Serialize for PaymentEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PaymentEvent::Succeeded(e) => e.serialize(serializer),
            PaymentEvent::Failed(e) => e.serialize(serializer),
        }
    }
}
