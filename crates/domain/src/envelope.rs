//! The one envelope every event of the system travels in.
//!
//! On EventBridge the envelope is the `detail`; `source` names the producing service and
//! `detail-type` repeats `metadata.eventType`, so rules can route without reading the detail.
//! Readers are tolerant: unknown fields are ignored, so producers can add fields without
//! breaking consumers (a breaking change gets a new `eventVersion` instead).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What every event says about itself, beside its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: u32,
    #[serde(with = "rfc3339_millis")]
    pub occurred_at: DateTime<Utc>,
    /// Shared by every event of one business flow (an order and all that follows from it).
    pub correlation_id: String,
    /// The id of the event, or request, that directly caused this one.
    pub causation_id: String,
    /// The component that wrote the event, e.g. `create-order`.
    pub producer: String,
    /// Set when the event is published again from the event store by the replay command, so
    /// consumers can tell a replay from the original delivery. Everything else is unchanged,
    /// the event id included.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_millis::optional"
    )]
    pub replayed_at: Option<DateTime<Utc>>,
}

/// `metadata` plus the event's own `data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<D> {
    pub metadata: EventMetadata,
    pub data: D,
}

/// Where an event comes from and what it follows from: everything but the event itself that its
/// metadata needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Causation {
    pub correlation_id: String,
    pub causation_id: String,
    pub producer: String,
}

impl Causation {
    /// Wraps one event, stamping it with a fresh id and the given time (to the millisecond, the
    /// precision of its serialized form, so that reading it back gives the same envelope).
    pub fn envelope<D: DomainEvent>(
        &self,
        data: D,
        occurred_at: DateTime<Utc>,
    ) -> EventEnvelope<D> {
        let occurred_at = occurred_at.trunc_subsecs(3);
        EventEnvelope {
            metadata: EventMetadata {
                event_id: Uuid::new_v4(),
                event_type: data.event_type().to_owned(),
                event_version: data.event_version(),
                occurred_at,
                correlation_id: self.correlation_id.clone(),
                causation_id: self.causation_id.clone(),
                producer: self.producer.clone(),
                replayed_at: None,
            },
            data,
        }
    }
}

/// An event of the domain, named and versioned as a contract.
pub trait DomainEvent: Serialize {
    fn event_type(&self) -> &'static str;
    fn event_version(&self) -> u32;
}

/// Timestamps as RFC 3339 in UTC with milliseconds (`2026-11-22T10:15:30.123Z`): precise enough
/// to order events, and the form every consumer's date parser accepts.
pub mod rfc3339_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same, for an optional time.
    pub mod optional {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Timestamp(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Timestamp>::deserialize(deserializer)?.map(|Timestamp(at)| at))
        }
    }
}

/// Formats a time the way event metadata does.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
