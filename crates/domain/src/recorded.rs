//! Events as they are stored and published: the serialized envelope plus its place in the stream
//! of its aggregate.

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::envelope::EventEnvelope;

/// Identifies one stored event: the `version`-th event of aggregate `aggregate_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub aggregate_id: String,
    pub version: u64,
}

/// An event as the event store holds it and the outbox publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub aggregate_id: String,
    /// 1 for an aggregate's first event, then contiguous.
    pub version: u64,
    /// The service that produced it: the EventBridge `source`.
    pub source: String,
    pub event_id: Uuid,
    /// The EventBridge `detail-type`.
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// The serialized envelope, exactly the EventBridge `detail`. Serialized once, when the
    /// event is recorded, so what is published is byte for byte what was stored.
    pub detail: String,
}

impl RecordedEvent {
    pub fn new<D: Serialize>(
        aggregate_id: impl Into<String>,
        version: u64,
        source: impl Into<String>,
        envelope: &EventEnvelope<D>,
    ) -> Self {
        RecordedEvent {
            aggregate_id: aggregate_id.into(),
            version,
            source: source.into(),
            event_id: envelope.metadata.event_id,
            event_type: envelope.metadata.event_type.clone(),
            occurred_at: envelope.metadata.occurred_at,
            // The system's event types are plain structs with string keys: they always serialize.
            detail: serde_json::to_string(envelope).expect("event envelopes serialize to JSON"),
        }
    }

    pub fn key(&self) -> EventKey {
        EventKey {
            aggregate_id: self.aggregate_id.clone(),
            version: self.version,
        }
    }

    /// The same event, marked as replayed at `at` (its metadata's `replayedAt`); everything else,
    /// its id included, is unchanged, so consumers recognise it.
    pub fn replayed(&self, at: DateTime<Utc>) -> Result<RecordedEvent, serde_json::Error> {
        let mut envelope: EventEnvelope<Box<serde_json::value::RawValue>> = self.envelope()?;
        envelope.metadata.replayed_at = Some(at);
        Ok(RecordedEvent {
            detail: serde_json::to_string(&envelope)?,
            ..self.clone()
        })
    }

    /// Reads the envelope back, with `data` as `D`.
    pub fn envelope<D: DeserializeOwned>(&self) -> Result<EventEnvelope<D>, serde_json::Error> {
        serde_json::from_str(&self.detail)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::envelope::Causation;
    use crate::order::{OrderCreated, OrderEvent, OrderId};
    use crate::{Currency, Money};

    #[test]
    fn a_replayed_event_is_the_same_event_marked_as_replayed() {
        let envelope = Causation {
            correlation_id: "c".into(),
            causation_id: "r".into(),
            producer: "create-order".into(),
        }
        .envelope(
            OrderEvent::Created(OrderCreated {
                order_id: OrderId::Number(1),
                amount: Money::from_cents(100),
                currency: Currency::DEFAULT,
                customer_id: None,
                items: vec![],
                channel: None,
                placed_by: None,
            }),
            Utc::now(),
        );
        let original = RecordedEvent::new("1", 1, "order-service", &envelope);
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let replayed = original.replayed(at).unwrap();

        assert_eq!(
            (replayed.event_id, replayed.version),
            (original.event_id, original.version)
        );
        let read = OrderEvent::from_recorded(&replayed).unwrap();
        assert_eq!(read.metadata.replayed_at, Some(at));
        assert_eq!(read.metadata.event_id, envelope.metadata.event_id);
        assert_eq!(read.data, envelope.data);
        assert!(
            replayed
                .detail
                .contains(r#""replayedAt":"2026-11-23T08:00:00.000Z""#),
            "{}",
            replayed.detail
        );
        assert!(!original.detail.contains("replayedAt"));
    }
}
