//! The payment workflow: the state machine's executions and the charges in the payments table.

use std::collections::BTreeMap;

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

    /// Every execution of the payment state machine, described: its input and how it went.
    async fn payment_execution_details(
        &self,
    ) -> Vec<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
        let pages = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.stack.payment_state_machine)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut described = Vec::new();
        for execution in pages
            .into_iter()
            .flat_map(|page| page.expect("list executions").executions)
        {
            let details = self
                .sfn
                .describe_execution()
                .execution_arn(execution.execution_arn())
                .send()
                .await
                .expect("describe execution");
            described.push(details);
        }
        described
    }

    /// The statuses of the payment state machine's executions started for `order_id`.
    pub async fn payment_executions(&self, order_id: &Value) -> Vec<String> {
        self.payment_execution_details()
            .await
            .into_iter()
            .filter(|execution| &execution_order_id(execution) == order_id)
            .map(|execution| execution.status().as_str().to_owned())
            .collect()
    }

    /// When each order's payment execution started and stopped, by order key.
    pub async fn payment_execution_times(
        &self,
    ) -> BTreeMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)> {
        let at = |t: &aws_sdk_sfn::primitives::DateTime| {
            DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
        };
        self.payment_execution_details()
            .await
            .into_iter()
            .filter_map(|execution| {
                let key = match execution_order_id(&execution) {
                    Value::String(text) => text,
                    Value::Number(number) => number.to_string(),
                    _ => return None,
                };
                Some((
                    key,
                    (
                        at(execution.start_date())?,
                        execution.stop_date().and_then(at),
                    ),
                ))
            })
            .collect()
    }
}

/// The order an execution of the payment state machine was started for (its input is the
/// `OrderCreated` EventBridge event).
fn execution_order_id(
    execution: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> Value {
    let input: Value =
        serde_json::from_str(execution.input().unwrap_or("null")).unwrap_or_default();
    input["detail"]["data"]["orderId"].clone()
}
