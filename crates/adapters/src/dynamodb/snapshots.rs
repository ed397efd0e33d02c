//! Snapshots on DynamoDB: the latest one per aggregate, keyed by `aggregateId`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::envelope::format_timestamp;
use domain::ports::{InfrastructureError, Snapshot, SnapshotStore};

use super::infrastructure;

#[derive(Clone, Debug)]
pub struct DynamoDbSnapshotStore {
    client: Client,
    table: String,
}

impl DynamoDbSnapshotStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbSnapshotStore {
            client,
            table: table.into(),
        }
    }
}

impl SnapshotStore for DynamoDbSnapshotStore {
    async fn latest(&self, aggregate_id: &str) -> Result<Option<Snapshot>, InfrastructureError> {
        let Some(item) = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("aggregateId", AttributeValue::S(aggregate_id.to_owned()))
            .send()
            .await
            .map_err(infrastructure)?
            .item
        else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        };
        let taken_at = text("takenAt")
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        match (number("version"), number("schema"), text("state"), taken_at) {
            (Some(version), Some(schema), Some(state), Some(taken_at)) => Ok(Some(Snapshot {
                aggregate_id: aggregate_id.to_owned(),
                version,
                schema: schema as u32,
                state,
                taken_at,
            })),
            _ => Err(InfrastructureError(format!(
                "malformed snapshot of {aggregate_id}"
            ))),
        }
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), InfrastructureError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                "aggregateId",
                AttributeValue::S(snapshot.aggregate_id.clone()),
            )
            .item("version", AttributeValue::N(snapshot.version.to_string()))
            .item("schema", AttributeValue::N(snapshot.schema.to_string()))
            .item("state", AttributeValue::S(snapshot.state.clone()))
            .item(
                "takenAt",
                AttributeValue::S(format_timestamp(snapshot.taken_at)),
            )
            // Never replace a newer snapshot with an older one.
            .condition_expression("attribute_not_exists(aggregateId) OR version < :version")
            .expression_attribute_values(
                ":version",
                AttributeValue::N(snapshot.version.to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(infrastructure(e)),
        }
    }
}
