//! notification: every order and payment event becomes one message on the notification topic.

pub mod message;

use adapters::metrics::{self, UNREADABLE, names};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::EventEnvelope;
use domain::decode::EventDecodeError;
use domain::events::SystemEvent;
use domain::idempotency::{IdempotencyStore, Idempotent, Once};
use domain::journey;
use domain::ports::{InfrastructureError, Notifier};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("unreadable event: {0}")]
    Unreadable(#[from] EventDecodeError),
    /// The notifier failed; nothing was sent.
    #[error(transparent)]
    Send(InfrastructureError),
    #[error("the work for {0} is in progress elsewhere")]
    InProgress(String),
    #[error(transparent)]
    Records(InfrastructureError),
}

impl From<NotifyError> for lambda_runtime::Diagnostic {
    fn from(error: NotifyError) -> Self {
        let error_type = match &error {
            NotifyError::Unreadable(_) => "UnreadableEvent",
            NotifyError::InProgress(_) => "NotificationInProgress",
            NotifyError::Send(_) | NotifyError::Records(_) => "NotificationFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Sends the message for one event, unless it was sent already. Returns the message id and
/// whether it was sent now (`Done`) or before (`Replayed`).
pub async fn handle<N: Notifier, S: IdempotencyStore>(
    notifier: &N,
    once: &Idempotent<S>,
    event: EventBridgeEvent<Box<RawValue>>,
) -> Result<Once<String>, NotifyError> {
    let envelope: EventEnvelope<Box<RawValue>> = match serde_json::from_str(event.detail.get()) {
        Ok(envelope) => envelope,
        Err(unreadable) => {
            metrics::count_event(names::EVENTS_FAILED, UNREADABLE);
            return Err(EventDecodeError::Envelope(unreadable).into());
        }
    };
    let metadata = &envelope.metadata;
    let outcome = notify(notifier, once, &envelope).await;
    match &outcome {
        Ok(once) => {
            metrics::count_event(names::EVENTS_PROCESSED, &metadata.event_type);
            match once {
                Once::Done(_) => {
                    metrics::count_event(names::NOTIFICATIONS_SENT, &metadata.event_type)
                }
                Once::Replayed(_) => {
                    metrics::count_event(names::DUPLICATES_SKIPPED, &metadata.event_type)
                }
            }
        }
        Err(_) => metrics::count_event(names::EVENTS_FAILED, &metadata.event_type),
    }
    outcome
}

async fn notify<N: Notifier, S: IdempotencyStore>(
    notifier: &N,
    once: &Idempotent<S>,
    envelope: &EventEnvelope<Box<RawValue>>,
) -> Result<Once<String>, NotifyError> {
    let metadata = &envelope.metadata;
    let notification =
        match SystemEvent::decode(&metadata.event_type, metadata.event_version, &envelope.data) {
            Ok(known) => message::for_event(metadata, &known),
            Err(EventDecodeError::Unknown { .. }) => {
                let data: Value = serde_json::from_str(envelope.data.get()).unwrap_or_default();
                let order_id = match &data["orderId"] {
                    Value::String(text) => Some(text.clone()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                };
                message::for_unknown_event(metadata, order_id.as_deref())
            }
            Err(malformed) => return Err(malformed.into()),
        };
    metrics::about_order(&notification.order_id, Some(&metadata.correlation_id));
    // One message per event type and cause: a redelivered event has both, and so does the
    // rare duplicate a producer emits for the same cause (a payment workflow run twice for one
    // order, with a fresh event id each time).
    let key = format!(
        "notification:{}:{}",
        metadata.event_type, metadata.causation_id
    );
    let span = journey::handling_span(metadata, &notification.order_id);
    async {
        let outcome = once
            .run(&key, || notifier.notify(&notification))
            .await
            .map_err(|error| {
                error.into_caller_error(
                    NotifyError::Send,
                    NotifyError::InProgress,
                    NotifyError::Records,
                )
            })?;
        tracing::info!(
            event_type = %metadata.event_type,
            event_id = %metadata.event_id,
            order_id = %notification.order_id,
            sent_now = matches!(outcome, Once::Done(_)),
            "notification handled"
        );
        Ok(outcome)
    }
    .instrument(span)
    .await
}
