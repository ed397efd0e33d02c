//! update-order: a payment result in, the order's transition out.
//!
//! The new event (`OrderCompleted` or `OrderCancelled`) is appended to the order's stream in the
//! event store, so it reaches the bus through the outbox exactly as `OrderCreated` does. Each
//! payment event is handled once (the shared idempotency records, keyed by its event id), and
//! even without them a repeated or late result would change nothing: the order decides, from its
//! own history.

use adapters::metrics::{self, UNREADABLE, names};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use domain::decode::{EventDecodeError, decode_detail};
use domain::idempotency::{self, IdempotencyStore, Idempotent};
use domain::journey;
use domain::order::repository::{ExecuteError, OrderRepository};
use domain::order::{OrderCommand, OrderError};
use domain::payment::PaymentEvent;
use domain::ports::{EventStore, InfrastructureError, SnapshotStore};
use domain::{Causation, DomainEvent, EventEnvelope};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::Instrument;

/// The component name written into the events it produces.
pub const PRODUCER: &str = "update-order";

/// What became of one payment result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderUpdate {
    /// The order moved on; the event type it recorded.
    Transitioned(String),
    /// The order was already where this result leads (a second result for the same payment).
    AlreadyApplied,
    /// The order had already ended the other way (a late, contradicting result); nothing changes.
    Ignored(String),
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
    #[error("this payment event is being handled by another invocation")]
    InProgress,
    #[error("idempotency records unavailable: {0}")]
    Idempotency(InfrastructureError),
}

impl From<UpdateError> for lambda_runtime::Diagnostic {
    fn from(error: UpdateError) -> Self {
        let error_type = match error {
            UpdateError::Unreadable(_) => "UnreadablePaymentEvent",
            UpdateError::UnknownOrder(_) => "UnknownOrder",
            UpdateError::Execute(_) => "OrderUpdateFailed",
            UpdateError::InProgress => "PaymentEventInProgress",
            UpdateError::Idempotency(_) => "IdempotencyStoreFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub struct OrderUpdater<S, P, I> {
    orders: OrderRepository<S, P>,
    once: Idempotent<I>,
}

impl<S: EventStore, P: SnapshotStore, I: IdempotencyStore> OrderUpdater<S, P, I> {
    pub fn new(orders: OrderRepository<S, P>, once: Idempotent<I>) -> Self {
        OrderUpdater { orders, once }
    }

    /// Applies one payment result; `Replayed` if this event was handled before.
    pub async fn handle(
        &self,
        event: EventBridgeEvent<Box<RawValue>>,
    ) -> Result<idempotency::Once<OrderUpdate>, UpdateError> {
        // The detail stays raw JSON until the envelope says which event it is.
        let envelope = match decode_detail(event.detail.get(), PaymentEvent::decode) {
            Ok(envelope) => envelope,
            Err(unreadable) => {
                metrics::count_event(names::EVENTS_FAILED, UNREADABLE);
                return Err(unreadable.into());
            }
        };
        let span = journey::handling_span(&envelope.metadata, &envelope.data.order_id().key());
        self.handle_once(&envelope).instrument(span).await
    }

    async fn handle_once(
        &self,
        envelope: &EventEnvelope<PaymentEvent>,
    ) -> Result<idempotency::Once<OrderUpdate>, UpdateError> {
        let payment_event = envelope.data.event_type();
        metrics::about_order(
            envelope.data.order_id(),
            Some(&envelope.metadata.correlation_id),
        );
        let key = format!("update-order:{}", envelope.metadata.event_id);
        let result = self
            .once
            .run(&key, || self.apply(&envelope.data, &envelope.metadata))
            .await;
        // One line for every delivery, a repeated one too: it is how an operator (and the e2e
        // suite) tells a duplicate that was absorbed from one that never arrived.
        tracing::info!(
            order_id = %envelope.data.order_id(),
            payment_event = envelope.data.event_type(),
            event_id = %envelope.metadata.event_id,
            replayed = envelope.metadata.replayed_at.is_some(),
            handled_before = matches!(result, Ok(idempotency::Once::Replayed(_))),
            outcome = ?result.as_ref().map(|outcome| outcome.clone().into_inner()),
            "payment result handled"
        );
        match &result {
            Ok(once) => {
                metrics::count_event(names::EVENTS_PROCESSED, payment_event);
                if matches!(
                    once,
                    idempotency::Once::Replayed(_)
                        | idempotency::Once::Done(OrderUpdate::AlreadyApplied)
                ) {
                    metrics::count_event(names::DUPLICATES_SKIPPED, payment_event);
                }
            }
            Err(_) => metrics::count_event(names::EVENTS_FAILED, payment_event),
        }
        result.map_err(|error| {
            error.into_caller_error(
                |work| work,
                |_| UpdateError::InProgress,
                UpdateError::Idempotency,
            )
        })
    }

    async fn apply(
        &self,
        payment: &PaymentEvent,
        metadata: &domain::EventMetadata,
    ) -> Result<OrderUpdate, UpdateError> {
        let key = payment.order_id().key();
        let command = match payment {
            PaymentEvent::Succeeded(paid) => OrderCommand::Complete {
                payment_id: paid.payment_id.clone(),
            },
            PaymentEvent::Failed(failed) => OrderCommand::Cancel {
                reason: failed.reason.clone(),
            },
        };
        let causation = Causation {
            correlation_id: metadata.correlation_id.clone(),
            causation_id: metadata.event_id.to_string(),
            producer: PRODUCER.to_owned(),
        };
        match self.orders.execute(&key, &command, &causation).await {
            Ok(events) => Ok(match events.first() {
                Some(event) => {
                    if let PaymentEvent::Failed(_) = payment {
                        metrics::count(names::PAYMENTS_REFUSED);
                    }
                    self.record_latency(&key, event.metadata.occurred_at).await;
                    OrderUpdate::Transitioned(event.data.event_type().to_owned())
                }
                None => OrderUpdate::AlreadyApplied,
            }),
            Err(ExecuteError::Rejected(OrderError::NotFound)) => {
                Err(UpdateError::UnknownOrder(key))
            }
            Err(ExecuteError::Rejected(refused)) => Ok(OrderUpdate::Ignored(refused.to_string())),
            Err(other) => Err(UpdateError::Execute(other)),
        }
    }

    /// Records the order's business latency, from its `OrderCreated` to its end at `ended_at`.
    /// Only a metric: if the history cannot be read, the order's update stands and the value is
    /// missing.
    async fn record_latency(&self, key: &str, ended_at: DateTime<Utc>) {
        match self.orders.history(key).await {
            Ok(history) => match history.first() {
                Some(created) => {
                    let latency = ended_at - created.metadata.occurred_at;
                    metrics::order_latency(latency.num_milliseconds() as f64);
                }
                None => tracing::warn!(order = key, "no history to measure the order's latency"),
            },
            Err(error) => {
                tracing::warn!(%error, order = key, "order latency not recorded");
            }
        }
    }
}
