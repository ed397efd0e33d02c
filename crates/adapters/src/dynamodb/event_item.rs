//! One stored event as a DynamoDB item. The same struct is written through the SDK and read from
//! stream records, so the two can never disagree on the item's shape.

use chrono::{DateTime, Utc};
use domain::RecordedEvent;
use domain::envelope::format_timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventItem {
    pub aggregate_id: String,
    pub version: u64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
    /// The envelope as JSON: published as the EventBridge `detail` unchanged.
    pub detail: String,
    /// Set by the outbox once the event is on the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ItemDecodeError {
    #[error("item is not an event: {0}")]
    Shape(#[from] serde_dynamo::Error),
    #[error("item {aggregate_id}/{version} has a malformed {field}")]
    Field {
        aggregate_id: String,
        version: u64,
        field: &'static str,
    },
}

impl From<&RecordedEvent> for EventItem {
    fn from(event: &RecordedEvent) -> Self {
        EventItem {
            aggregate_id: event.aggregate_id.clone(),
            version: event.version,
            source: event.source.clone(),
            event_id: event.event_id.to_string(),
            event_type: event.event_type.clone(),
            occurred_at: format_timestamp(event.occurred_at),
            detail: event.detail.clone(),
            published_at: None,
        }
    }
}

impl EventItem {
    /// Reads an item of the SDK's or of a stream record's attribute type.
    pub fn from_item(item: impl Into<serde_dynamo::Item>) -> Result<Self, ItemDecodeError> {
        Ok(serde_dynamo::from_item(item)?)
    }

    pub fn into_recorded(self) -> Result<RecordedEvent, ItemDecodeError> {
        let field = |field| ItemDecodeError::Field {
            aggregate_id: self.aggregate_id.clone(),
            version: self.version,
            field,
        };
        let event_id = self.event_id.parse().map_err(|_| field("eventId"))?;
        let occurred_at = DateTime::parse_from_rfc3339(&self.occurred_at)
            .map_err(|_| field("occurredAt"))?
            .with_timezone(&Utc);
        Ok(RecordedEvent {
            aggregate_id: self.aggregate_id,
            version: self.version,
            source: self.source,
            event_id,
            event_type: self.event_type,
            occurred_at,
            detail: self.detail,
        })
    }
}
