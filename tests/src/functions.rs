//! The stack's functions: invoked directly, and what they logged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{World, eventually};

impl World {
    /// Invokes a function synchronously with `payload`; its JSON result, or its error.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, String> {
        let output = self
            .lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| format!("invoke {function}: {e}"))?;
        let body = output.payload.map(|p| p.into_inner()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match output.function_error {
            Some(kind) => Err(format!("{kind}: {body}")),
            None => Ok(body),
        }
    }

    /// Invokes a function synchronously with `payload`, as `invoke` does, and also returns the
    /// log lines of that very invocation (Lambda's log tail, its last 4 KB), parsed as JSON
    /// where they are JSON: what the function says it did with the payload.
    pub async fn invoke_logged(
        &self,
        function: &str,
        payload: &Value,
    ) -> (Result<Value, String>, Vec<Value>) {
        let output = self
            .lambda
            .invoke()
            .function_name(function)
            .log_type(aws_sdk_lambda::types::LogType::Tail)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("invoke {function}: {e}"));
        let tail = output
            .log_result()
            .unwrap_or_else(|| panic!("{function} returned no log tail"));
        let tail = base64_decode(tail);
        let lines = String::from_utf8_lossy(&tail)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.into())))
            .collect();
        let body = output.payload.map(|p| p.into_inner()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let result = match output.function_error {
            Some(kind) => Err(format!("{kind}: {body}")),
            None => Ok(body),
        };
        (result, lines)
    }

    /// The log lines a deployed function wrote since `since`, from its log group, parsed as JSON
    /// (the functions log JSON; Lambda's own START/END/REPORT lines are left out).
    pub async fn function_log(&self, function: &str, since: DateTime<Utc>) -> Vec<Value> {
        let group = admin::trace::log_group_of(&self.lambda, function)
            .await
            .unwrap_or_else(|e| panic!("read {function}'s configuration: {e}"));
        let pages = self
            .logs
            .filter_log_events()
            .log_group_name(&group)
            .start_time(since.timestamp_millis())
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut lines = Vec::new();
        for page in pages {
            let page = page.unwrap_or_else(|e| panic!("read log group {group}: {e}"));
            lines.extend(
                page.events
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|event| event.message)
                    .flat_map(|message| {
                        message
                            .lines()
                            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                            .filter(Value::is_object)
                            .collect::<Vec<_>>()
                    }),
            );
        }
        lines
    }

    /// Waits up to `timeout` until `function` has logged, since `since`, a line whose `fields`
    /// (the function's own structured fields) hold every pair of `fields`; returns those lines.
    /// How a test knows that a consumer really received an event, before it checks that the
    /// event changed nothing.
    pub async fn wait_for_log(
        &self,
        function: &str,
        since: DateTime<Utc>,
        fields: &[(&str, Value)],
        timeout: Duration,
    ) -> Vec<Value> {
        self.wait_for_log_where(
            function,
            since,
            &format!("a line with {fields:?}"),
            timeout,
            |logged| fields.iter().all(|(name, value)| &logged[*name] == value),
        )
        .await
    }

    /// `wait_for_log`, for the lines whose `fields` meet `wanted` (described by `what`).
    pub async fn wait_for_log_where(
        &self,
        function: &str,
        since: DateTime<Utc>,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        eventually(&format!("{function} to log {what}"), timeout, || async {
            let found: Vec<Value> = self
                .function_log(function, since)
                .await
                .into_iter()
                .filter(|line| wanted(&line["fields"]))
                .collect();
            (!found.is_empty()).then_some(found)
        })
        .await
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("a log tail is base64 ({e}): {text}"))
}
