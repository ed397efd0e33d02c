//! Every event the system publishes, for consumers that read more than one service's events.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::envelope::{DomainEvent, EventEnvelope};
use crate::order::{OrderEvent, OrderId};
use crate::payment::PaymentEvent;

/// A received or stored event that is not one this code understands.
#[derive(Debug, thiserror::Error)]
pub enum EventDecodeError {
    #[error("unknown event {event_type} version {event_version}")]
    Unknown {
        event_type: String,
        event_version: u32,
    },
    #[error("malformed {event_type} event: {source}")]
    Malformed {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("malformed event envelope: {0}")]
    Envelope(#[source] serde_json::Error),
}

impl EventDecodeError {
    pub fn unknown(event_type: &str, event_version: u32) -> Self {
        EventDecodeError::Unknown {
            event_type: event_type.to_owned(),
            event_version,
        }
    }
}

/// An event of any service of the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SystemEvent {
    Order(OrderEvent),
    Payment(PaymentEvent),
}

impl SystemEvent {
    pub fn decode(
        event_type: &str,
        event_version: u32,
        data: &RawValue,
    ) -> Result<Self, EventDecodeError> {
        match event_type {
            "PaymentSucceeded" | "PaymentFailed" => {
                PaymentEvent::decode(event_type, event_version, data).map(SystemEvent::Payment)
            }
            _ => OrderEvent::decode(event_type, event_version, data).map(SystemEvent::Order),
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

impl Serialize for SystemEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SystemEvent::Order(e) => e.serialize(serializer),
            SystemEvent::Payment(e) => e.serialize(serializer),
        }
    }
}

/// Reads an EventBridge `detail` (an envelope) into a typed event, using `decode` for its data.
pub fn decode_detail<T>(
    detail: &str,
    decode: impl FnOnce(&str, u32, &RawValue) -> Result<T, EventDecodeError>,
) -> Result<EventEnvelope<T>, EventDecodeError> {
    let envelope: EventEnvelope<Box<RawValue>> =
        serde_json::from_str(detail).map_err(EventDecodeError::Envelope)?;
    let data = decode(
        &envelope.metadata.event_type,
        envelope.metadata.event_version,
        &envelope.data,
    )?;
    Ok(EventEnvelope {
        metadata: envelope.metadata,
        data,
    })
}
