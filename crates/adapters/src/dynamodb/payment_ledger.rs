//! The payment ledger on DynamoDB: one item per charged order, keyed by `orderId`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::envelope::format_timestamp;
use domain::payment::{Charge, ChargeOnRecord, PaymentLedger};
use domain::ports::InfrastructureError;
use domain::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::infrastructure;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentItem {
    /// The order's key (its id as text).
    order_id: String,
    payment_id: String,
    amount: Money,
    currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    correlation_id: String,
    causation_id: String,
    charged_at: String,
}

#[derive(Clone, Debug)]
pub struct DynamoDbPaymentLedger {
    client: Client,
    table: String,
}

impl DynamoDbPaymentLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbPaymentLedger {
            client,
            table: table.into(),
        }
    }
}

impl PaymentLedger for DynamoDbPaymentLedger {
    async fn record(&self, charge: &Charge) -> Result<ChargeOnRecord, InfrastructureError> {
        let key = charge.order_id.key();
        let item = PaymentItem {
            order_id: key.clone(),
            payment_id: charge.payment_id.clone(),
            amount: charge.amount,
            currency: charge.currency,
            customer_id: charge.customer_id.clone(),
            correlation_id: charge.correlation_id.clone(),
            causation_id: charge.causation_id.clone(),
            charged_at: format_timestamp(charge.charged_at),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(
                serde_dynamo::to_item(&item).map_err(InfrastructureError::new)?,
            ))
            .condition_expression("attribute_not_exists(orderId)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(ChargeOnRecord {
                payment_id: item.payment_id,
                amount: item.amount,
                currency: item.currency,
                new: true,
            }),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                let stored = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("orderId", AttributeValue::S(key.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(infrastructure)?
                    .item
                    .ok_or_else(|| {
                        InfrastructureError(format!("payment of order {key} vanished"))
                    })?;
                let stored: PaymentItem =
                    serde_dynamo::from_item(stored).map_err(InfrastructureError::new)?;
                Ok(ChargeOnRecord {
                    payment_id: stored.payment_id,
                    amount: stored.amount,
                    currency: stored.currency,
                    new: false,
                })
            }
            Err(e) => Err(infrastructure(e)),
        }
    }
}
