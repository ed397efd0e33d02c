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

    /// Reads the envelope back, with `data` as `D`.
    pub fn envelope<D: DeserializeOwned>(&self) -> Result<EventEnvelope<D>, serde_json::Error> {
        serde_json::from_str(&self.detail)
    }
}
