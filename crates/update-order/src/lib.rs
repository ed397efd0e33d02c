//! update-order: a payment result in, the order's transition out.
//!
//! The new event (`OrderCompleted` or `OrderCancelled`) is appended to the order's stream in the
//! event store, so it reaches the bus through the outbox exactly as `OrderCreated` does. A
//! repeated or late payment result changes nothing: the order decides, from its own history.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::events::{EventDecodeError, decode_detail};
use domain::order::repository::{self, ExecuteError};
use domain::order::{OrderCommand, OrderError};
use domain::payment::PaymentEvent;
use domain::ports::EventStore;
use domain::{Causation, DomainEvent};
use serde_json::value::RawValue;

/// The component name written into the events it produces.
pub const PRODUCER: &str = "update-order";

/// What became of one payment result.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The order moved on; the event type it recorded.
    Transitioned(&'static str),
    /// The order was already where this result leads (a duplicate delivery).
    AlreadyApplied,
    /// The order had already ended the other way (a late, contradicting result); nothing changes.
    Ignored(OrderError),
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("not a payment event: {0}")]
    Unreadable(#[from] EventDecodeError),
    /// Retried by Lambda, then parked in the dead-letter queue: a payment for an order that does
    /// not exist needs a person to look at it.
    #[error("payment result for order {0}, which does not exist")]
    UnknownOrder(String),
    #[error(transparent)]
    Execute(ExecuteError),
}

impl From<UpdateError> for lambda_runtime::Diagnostic {
    fn from(error: UpdateError) -> Self {
        let error_type = match error {
            UpdateError::Unreadable(_) => "UnreadablePaymentEvent",
            UpdateError::UnknownOrder(_) => "UnknownOrder",
            UpdateError::Execute(_) => "OrderUpdateFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub async fn handle<S: EventStore>(
    store: &S,
    event: EventBridgeEvent<Box<RawValue>>,
) -> Result<Outcome, UpdateError> {
    // The detail stays raw JSON until the envelope says which event it is.
    let envelope = decode_detail(event.detail.get(), PaymentEvent::decode)?;
    let key = envelope.data.order_id().key();
    let command = match &envelope.data {
        PaymentEvent::Succeeded(paid) => OrderCommand::Complete {
            payment_id: paid.payment_id.clone(),
        },
        PaymentEvent::Failed(failed) => OrderCommand::Cancel {
            reason: failed.reason.clone(),
        },
    };
    let causation = Causation {
        correlation_id: envelope.metadata.correlation_id.clone(),
        causation_id: envelope.metadata.event_id.to_string(),
        producer: PRODUCER.to_owned(),
    };
    let outcome = match repository::execute(store, &key, &command, &causation).await {
        Ok(events) => match events.first() {
            Some(event) => Outcome::Transitioned(event.data.event_type()),
            None => Outcome::AlreadyApplied,
        },
        Err(ExecuteError::Rejected(OrderError::NotFound)) => {
            return Err(UpdateError::UnknownOrder(key));
        }
        Err(ExecuteError::Rejected(refused)) => Outcome::Ignored(refused),
        Err(other) => return Err(UpdateError::Execute(other)),
    };
    tracing::info!(
        order_id = %key,
        payment_event = envelope.data.event_type(),
        event_id = %envelope.metadata.event_id,
        outcome = ?outcome,
        "payment result applied"
    );
    Ok(outcome)
}
