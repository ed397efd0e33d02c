//! The payment task of the payment state machine: charges an order, once.
//!
//! There is no real payment provider: a charge is its record in the payment ledger, written with
//! a condition on the order id, so a task that Step Functions retries (or an order whose
//! `OrderCreated` arrives twice) is charged once and always gets the same payment id back.

use chrono::Utc;
use domain::order::OrderCreated;
use domain::ports::{Charge, InfrastructureError, PaymentLedger};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

/// What the state machine sends: the order, as in its `OrderCreated`, and where it comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    pub order: OrderCreated,
    pub correlation_id: String,
    /// The `OrderCreated` event's id.
    pub causation_id: String,
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
}

impl From<PaymentError> for Diagnostic {
    fn from(error: PaymentError) -> Diagnostic {
        let error_type = match error {
            PaymentError::ProviderUnavailable(_) => "PaymentProviderUnavailable",
            PaymentError::LedgerUnavailable(_) => "PaymentLedgerUnavailable",
            PaymentError::Conflict { .. } => "PaymentConflict",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub struct PaymentService<L> {
    ledger: L,
    /// Orders of this customer fail as if the provider were down: configuration that lets the
    /// end-to-end suite drive the state machine's error path (template parameter
    /// `SimulatedOutageCustomer`; empty in production).
    simulated_outage_customer: Option<String>,
}

impl<L: PaymentLedger> PaymentService<L> {
    pub fn new(ledger: L, simulated_outage_customer: Option<String>) -> Self {
        PaymentService {
            ledger,
            simulated_outage_customer: simulated_outage_customer.filter(|c| !c.is_empty()),
        }
    }

    pub async fn charge(&self, request: ChargeRequest) -> Result<ChargeResult, PaymentError> {
        let order = request.order;
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
        Ok(ChargeResult {
            payment_id: on_record.payment_id,
        })
    }
}

#[cfg(test)]
mod tests;
