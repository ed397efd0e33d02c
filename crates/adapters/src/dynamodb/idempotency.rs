//! The idempotency records on DynamoDB, as Powertools keeps them: `id`, `status`, `expiration`
//! (epoch seconds, the table's TTL attribute), `inProgressExpiration` (epoch milliseconds) and
//! `data` (the stored result).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::idempotency::{Claim, IdempotencyStore};
use domain::ports::InfrastructureError;

use super::infrastructure;

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

#[derive(Clone, Debug)]
pub struct DynamoDbIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoDbIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbIdempotencyStore {
            client,
            table: table.into(),
        }
    }

    async fn existing(&self, key: &str) -> Result<Claim, InfrastructureError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(infrastructure)?
            .item;
        let text = |name: &str| item.as_ref()?.get(name)?.as_s().ok().cloned();
        Ok(match (text("status").as_deref(), text("data")) {
            (Some(COMPLETED), Some(data)) => Claim::Completed(data),
            // Still being worked on, or gone between the two calls: either way, not ours now.
            _ => Claim::InProgress,
        })
    }
}

fn epoch_seconds(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<Claim, InfrastructureError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(key.to_owned()))
            .item("status", AttributeValue::S(IN_PROGRESS.into()))
            .item("expiration", epoch_seconds(expires_at))
            .item(
                "inProgressExpiration",
                AttributeValue::N(in_progress_until.timestamp_millis().to_string()),
            )
            // Powertools' condition: a new key, an expired record, or an abandoned claim.
            .condition_expression(
                "attribute_not_exists(id) OR expiration < :now \
                 OR (#status = :in_progress AND inProgressExpiration < :now_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", epoch_seconds(now))
            .expression_attribute_values(
                ":now_ms",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                self.existing(key).await
            }
            Err(e) => Err(infrastructure(e)),
        }
    }

    async fn complete(
        &self,
        key: &str,
        result: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .update_expression("SET #status = :completed, #data = :data, expiration = :exp REMOVE inProgressExpiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#data", "data")
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.into()))
            .expression_attribute_values(":data", AttributeValue::S(result.to_owned()))
            .expression_attribute_values(":exp", epoch_seconds(expires_at))
            .send()
            .await
            .map_err(infrastructure)?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), InfrastructureError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            // Never delete a completed record: that would let the work run twice.
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(infrastructure(e)),
        }
    }
}
