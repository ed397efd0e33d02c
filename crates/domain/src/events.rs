//! Every event the system publishes, for consumers that read more than one service's events.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::decode::EventDecodeError;
use crate::envelope::DomainEvent;
use crate::order::{OrderEvent, OrderId};
use crate::payment::PaymentEvent;

/// An event of any service of the system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SystemEvent {
    Order(OrderEvent),
    Payment(PaymentEvent),
}

impl SystemEvent {
    /// Reads the `data` of an envelope with the family that names its type; a type no family
    /// names is `Unknown`.
    pub fn decode(
        event_type: &str,
        event_version: u32,
        data: &RawValue,
    ) -> Result<Self, EventDecodeError> {
        if PaymentEvent::TYPES.contains(&event_type) {
            PaymentEvent::decode(event_type, event_version, data).map(SystemEvent::Payment)
        } else {
            OrderEvent::decode(event_type, event_version, data).map(SystemEvent::Order)
        }
    }

    pub fn order_id(&self) -> &OrderId {
        match self {
            SystemEvent::Order(e) => e.order_id(),
            SystemEvent::Payment(e) => e.order_id(),
        }
    }
}

impl DomainEvent for SystemEvent {
    fn event_type(&self) -> &'static str {
        match self {
            SystemEvent::Order(e) => e.event_type(),
            SystemEvent::Payment(e) => e.event_type(),
        }
    }

    fn event_version(&self) -> u32 {
        match self {
            SystemEvent::Order(e) => e.event_version(),
            SystemEvent::Payment(e) => e.event_version(),
        }
    }
}
