//! The payment task of the payment state machine: charges an order, once.
//!
//! There is no real payment provider: a charge is its record in the payment ledger. Charging is
//! idempotent per order, twice over: the shared idempotency records (keyed by the order) answer
//! a retried task, or a second run of the workflow for the same order, with the first charge's
//! result; and the ledger's record is written with a condition on the order id, so even without
//! them an order could not be charged twice.

use adapters::metrics::{self, names};
use chrono::Utc;
use domain::idempotency::{IdempotencyStore, Idempotent, Once};
use domain::journey;
use domain::order::{OrderCreated, OrderEvent};
use domain::payment::{Charge, PaymentLedger};
use domain::ports::InfrastructureError;
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

/// The event a charge is for: a repeated charge is a duplicate of this event type.
const CHARGED_FOR: &str = "OrderCreated";

/// What the state machine sends: the order, as its `OrderCreated` event carries it (in that
/// event's version: both are on the bus during a rollout), and where it comes from.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub order: OrderCreated,
    pub correlation_id: String,
    /// The `OrderCreated` event's id.
    pub causation_id: String,
}

impl<'de> Deserialize<'de> for ChargeRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            order: Box<serde_json::value::RawValue>,
            order_event_version: u32,
            correlation_id: String,
            causation_id: String,
        }
        let payload = Payload::deserialize(deserializer)?;
        let order =
            match OrderEvent::decode("OrderCreated", payload.order_event_version, &payload.order) {
                Ok(OrderEvent::Created(order)) => order,
                Ok(_) => unreachable!("an OrderCreated decodes as OrderCreated"),
                Err(error) => return Err(serde::de::Error::custom(error)),
            };
        Ok(ChargeRequest {
            order,
            correlation_id: payload.correlation_id,
            causation_id: payload.causation_id,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeResult {
    pub payment_id: String,
}

/// Why a charge failed. The state machine retries the transient ones and turns any that
/// persists into `PaymentFailed`; the names are the `Error`s it matches on.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment provider is unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("the payment ledger is unavailable: {0}")]
    LedgerUnavailable(#[from] InfrastructureError),
    #[error("order {order} was charged before with {on_record}, not {requested}")]
    Conflict {
        order: String,
        on_record: String,
        requested: String,
    },
    #[error("order {0} is being charged by another invocation")]
    InProgress(String),
}

impl From<PaymentError> for Diagnostic {
    fn from(error: PaymentError) -> Diagnostic {
        let error_type = match error {
            PaymentError::ProviderUnavailable(_) => "PaymentProviderUnavailable",
            PaymentError::LedgerUnavailable(_) => "PaymentLedgerUnavailable",
            PaymentError::Conflict { .. } => "PaymentConflict",
            PaymentError::InProgress(_) => "PaymentInProgress",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub struct PaymentService<L, I> {
    ledger: L,
    once: Idempotent<I>,
    /// Orders of this customer fail as if the provider were down, so that the end-to-end suite
    /// can drive the state machine's error path (template parameter `SimulatedOutageCustomer`).
    /// A test hook: the build for AWS does not have it.
    #[cfg(any(test, feature = "test-hooks"))]
    simulated_outage_customer: Option<String>,
}

impl<L: PaymentLedger, I: IdempotencyStore> PaymentService<L, I> {
    pub fn new(ledger: L, once: Idempotent<I>) -> Self {
        PaymentService {
            ledger,
            once,
            #[cfg(any(test, feature = "test-hooks"))]
            simulated_outage_customer: None,
        }
    }

    #[cfg(any(test, feature = "test-hooks"))]
    pub fn with_simulated_outage(mut self, customer: Option<String>) -> Self {
        self.simulated_outage_customer = customer.filter(|c| !c.is_empty());
        self
    }

    /// Charges the order once: a repeat gets the first charge's payment id.
    pub async fn charge(&self, request: ChargeRequest) -> Result<ChargeResult, PaymentError> {
        let key = format!("payment:{}", request.order.order_id.key());
        metrics::about_order(&request.order.order_id, Some(&request.correlation_id));
        // The event handled is the order's OrderCreated, the cause this request names.
        let span = journey::span(
            &request.correlation_id,
            &request.causation_id,
            None,
            &request.order.order_id.key(),
        );
        let outcome = self
            .once
            .run(&key, || self.charge_once(request))
            .instrument(span)
            .await;
        if let Ok(Once::Replayed(_)) = outcome {
            metrics::count_event(names::DUPLICATES_SKIPPED, CHARGED_FOR);
        }
        outcome.map(Once::into_inner).map_err(|error| {
            error.into_caller_error(
                |work| work,
                PaymentError::InProgress,
                PaymentError::LedgerUnavailable,
            )
        })
    }

    async fn charge_once(&self, request: ChargeRequest) -> Result<ChargeResult, PaymentError> {
        let order = request.order;
        #[cfg(any(test, feature = "test-hooks"))]
        if order.customer_id.is_some() && order.customer_id == self.simulated_outage_customer {
            return Err(PaymentError::ProviderUnavailable(format!(
                "simulated outage for customer {}",
                order.customer_id.unwrap_or_default()
            )));
        }
        let charge = Charge {
            order_id: order.order_id.clone(),
            payment_id: format!("pay-{}", uuid::Uuid::new_v4()),
            amount: order.amount,
            currency: order.currency,
            customer_id: order.customer_id,
            correlation_id: request.correlation_id,
            causation_id: request.causation_id,
            charged_at: Utc::now(),
        };
        let on_record = self.ledger.record(&charge).await?;
        if (on_record.amount, on_record.currency) != (charge.amount, charge.currency) {
            return Err(PaymentError::Conflict {
                order: order.order_id.key(),
                on_record: format!("{} {}", on_record.amount, on_record.currency),
                requested: format!("{} {}", charge.amount, charge.currency),
            });
        }
        tracing::info!(
            order_id = %order.order_id,
            payment_id = %on_record.payment_id,
            repeated = !on_record.new,
            "order charged"
        );
        if on_record.new {
            metrics::count(names::PAYMENTS_CHARGED);
        } else {
            metrics::count_event(names::DUPLICATES_SKIPPED, CHARGED_FOR);
        }
        Ok(ChargeResult {
            payment_id: on_record.payment_id,
        })
    }
}

#[cfg(test)]
mod tests;
