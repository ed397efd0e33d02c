//! An order's journey through the services, as their logs tell it: each service handles an event
//! (or a request) of the order inside a span that names the order and the event, so that every
//! line logged there carries them, and one Logs Insights query by correlation id finds the
//! order's whole path (README, "Operating it").

use serde::Deserialize;

use crate::RecordedEvent;
use crate::envelope::EventMetadata;

/// The span for handling one event of an order: `correlationId` (the order's whole flow),
/// `eventId` (the event handled), `causationId` (what caused that event) and `orderId`.
pub fn handling_span(metadata: &EventMetadata, order_id: &str) -> tracing::Span {
    span(
        &metadata.correlation_id,
        &metadata.event_id.to_string(),
        Some(&metadata.causation_id),
        order_id,
    )
}

/// `handling_span` for a handler that is given the ids rather than the event (and perhaps not
/// what caused it).
pub fn span(
    correlation_id: &str,
    event_id: &str,
    causation_id: Option<&str>,
    order_id: &str,
) -> tracing::Span {
    tracing::info_span!(
        "order",
        correlationId = correlation_id,
        eventId = event_id,
        causationId = causation_id,
        orderId = order_id
    )
}

/// `handling_span` for a stored event, read from its envelope; an event too malformed to read
/// gets a span with its id only.
pub fn recorded_span(recorded: &RecordedEvent) -> tracing::Span {
    #[derive(Deserialize)]
    struct Detail {
        metadata: EventMetadata,
        data: Data,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        order_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Detail>(&recorded.detail) {
        Ok(detail) => {
            let order = match detail.data.order_id {
                Some(serde_json::Value::String(key)) => key,
                _ => recorded.aggregate_id.clone(),
            };
            handling_span(&detail.metadata, &order)
        }
        Err(_) => span(
            "",
            &recorded.event_id.to_string(),
            None,
            &recorded.aggregate_id,
        ),
    }
}
