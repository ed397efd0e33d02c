//! The payment workflow: its runs and the charges in the payments table.

use std::collections::BTreeMap;

use admin::workflow_runs::{self, Run};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::World;

impl World {
    /// How many charges the payments table holds for an order, read consistently.
    pub async fn charges(&self, order_key: &str) -> i32 {
        self.dynamodb
            .query()
            .table_name(&self.stack.payments_table)
            .key_condition_expression("orderId = :id")
            .expression_attribute_values(":id", AttributeValue::S(order_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("query the payments")
            .count
    }

    /// Every run of the payment workflow, read from its log group (an Express workflow's runs
    /// cannot be listed), as `eda-admin trace` reads them.
    pub async fn payment_runs(&self) -> Vec<Run> {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        workflow_runs::runs(
            &self.logs,
            &self.stack.settings.payment_workflow_log_group,
            epoch,
            Utc::now() + chrono::Duration::minutes(1),
        )
        .await
        .expect("read the payment workflow's runs")
    }

    /// The statuses of the payment workflow's runs started for `order_id`.
    pub async fn payment_executions(&self, order_id: &Value) -> Vec<String> {
        self.payment_runs()
            .await
            .into_iter()
            .filter(|run| run.order_id() == order_id)
            .map(|run| run.status.as_str().to_owned())
            .collect()
    }

    /// When each order's payment run started and stopped, by order key.
    pub async fn payment_execution_times(
        &self,
    ) -> BTreeMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)> {
        self.payment_runs()
            .await
            .into_iter()
            .filter_map(|run| {
                let key = match run.order_id() {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    _ => return None,
                };
                Some((key, (run.started, run.stopped)))
            })
            .collect()
    }
}
