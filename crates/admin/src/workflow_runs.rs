//! The payment workflow's runs, read from its log group. An Express workflow keeps no history that
//! the Step Functions API lists or describes: each run's events go only to CloudWatch Logs (the
//! template logs them all, with their data), one history event per log event, as JSON:
//! `{"id", "previous_event_id", "event_timestamp", "type", "execution_arn", "details"}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::ports::InfrastructureError;
use serde_json::Value;

/// How a run ended, in Step Functions' status names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    fn ended_by(kind: &str) -> Option<Status> {
        match kind {
            "ExecutionSucceeded" => Some(Status::Succeeded),
            "ExecutionFailed" => Some(Status::Failed),
            "ExecutionTimedOut" => Some(Status::TimedOut),
            "ExecutionAborted" => Some(Status::Aborted),
            _ => None,
        }
    }
}

/// One history event of a run.
#[derive(Clone, Debug)]
pub struct RunEvent {
    /// The history event's type: `TaskStateEntered`, `LambdaFunctionFailed`, ...
    pub kind: String,
    pub at: DateTime<Utc>,
    pub details: Value,
}

/// One run of the workflow, as its logged events tell it.
#[derive(Clone, Debug)]
pub struct Run {
    pub arn: String,
    pub name: String,
    /// What the run was started with: the `OrderCreated` EventBridge event.
    pub input: Value,
    pub started: DateTime<Utc>,
    /// When it ended, if it has.
    pub stopped: Option<DateTime<Utc>>,
    pub status: Status,
    /// Every event, in order.
    pub events: Vec<RunEvent>,
}

impl Run {
    /// The order the run was started for (its input's `detail.data.orderId`).
    pub fn order_id(&self) -> &Value {
        &self.input["detail"]["data"]["orderId"]
    }

    /// The event that started it (its input's `detail.metadata.eventId`).
    pub fn started_by(&self) -> Option<&str> {
        self.input["detail"]["metadata"]["eventId"].as_str()
    }
}

/// The runs whose start is among `logged` (each a log event's time and message), oldest first.
/// Events of a run whose start is not among them (it started before the window) are left out, and
/// so is any message that is not a history event.
pub fn runs_from(logged: impl IntoIterator<Item = (DateTime<Utc>, String)>) -> Vec<Run> {
    let mut by_arn: BTreeMap<String, Vec<(u64, RunEvent)>> = BTreeMap::new();
    for (at, message) in logged {
        let Ok(event) = serde_json::from_str::<Value>(&message) else {
            continue;
        };
        let (Some(arn), Some(kind)) = (event["execution_arn"].as_str(), event["type"].as_str())
        else {
            continue;
        };
        // The id orders a run's events; two logged in the same millisecond keep their order.
        let id = match &event["id"] {
            Value::String(text) => text.parse().unwrap_or_default(),
            other => other.as_u64().unwrap_or_default(),
        };
        by_arn.entry(arn.to_owned()).or_default().push((
            id,
            RunEvent {
                kind: kind.to_owned(),
                at,
                details: event["details"].clone(),
            },
        ));
    }
    let mut runs: Vec<Run> = by_arn
        .into_iter()
        .filter_map(|(arn, mut events)| {
            events.sort_by_key(|(id, _)| *id);
            let events: Vec<RunEvent> = events.into_iter().map(|(_, event)| event).collect();
            let start = events.iter().find(|e| e.kind == "ExecutionStarted")?;
            let input = start.details["input"]
                .as_str()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_else(|| start.details["input"].clone());
            let end = events
                .iter()
                .find_map(|e| Status::ended_by(&e.kind).map(|status| (e.at, status)));
            Some(Run {
                // arn:aws:states:<region>:<account>:express:<state machine>:<run name>:<id>
                name: arn.split(':').nth(7).unwrap_or(&arn).to_owned(),
                input,
                started: start.at,
                stopped: end.map(|(at, _)| at),
                status: end.map_or(Status::Running, |(_, status)| status),
                arn,
                events,
            })
        })
        .collect();
    runs.sort_by_key(|run| run.started);
    runs
}

/// The runs started from `from` on whose events are in the log group `group` by `to`.
pub async fn runs(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Run>, InfrastructureError> {
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(from.timestamp_millis())
        .end_time(to.timestamp_millis())
        .into_paginator()
        .send();
    let mut logged = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            InfrastructureError(format!(
                "read the workflow's log group {group}: {}",
                aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
            ))
        })?;
        for event in page.events() {
            let at = DateTime::from_timestamp_millis(event.timestamp().unwrap_or_default())
                .unwrap_or_default();
            if let Some(message) = event.message() {
                logged.push((at, message.to_owned()));
            }
        }
    }
    Ok(runs_from(logged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str =
        "arn:aws:states:us-east-1:000000000000:express:eda-demo-payment-service:run-1:7d2f";

    fn logged(id: u64, second: i64, kind: &str, details: Value) -> (DateTime<Utc>, String) {
        let event = json!({
            "id": id.to_string(), "previous_event_id": (id - 1).to_string(),
            "event_timestamp": (second * 1000).to_string(), "type": kind,
            "execution_arn": ARN, "details": details,
        });
        (
            DateTime::from_timestamp(second, 0).unwrap(),
            event.to_string(),
        )
    }

    fn started(second: i64) -> (DateTime<Utc>, String) {
        let input = json!({"detail": {"metadata": {"eventId": "e-1"}, "data": {"orderId": "o-1"}}});
        logged(
            1,
            second,
            "ExecutionStarted",
            json!({"input": input.to_string(), "inputDetails": {"truncated": false}}),
        )
    }

    #[test]
    fn a_run_is_told_by_its_events_in_the_order_of_their_ids() {
        let runs = runs_from([
            logged(3, 12, "ExecutionSucceeded", json!({"output": "{}"})),
            started(10),
            logged(2, 11, "TaskStateEntered", json!({"name": "Charge"})),
        ]);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.name, "run-1");
        assert_eq!(run.order_id(), &json!("o-1"));
        assert_eq!(run.started_by(), Some("e-1"));
        assert_eq!(run.status, Status::Succeeded);
        assert_eq!((run.stopped.unwrap() - run.started).num_seconds(), 2);
        let kinds: Vec<&str> = run.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["ExecutionStarted", "TaskStateEntered", "ExecutionSucceeded"]
        );
    }

    #[test]
    fn a_run_without_its_end_is_running_and_one_without_its_start_is_left_out() {
        assert_eq!(runs_from([started(10)])[0].status, Status::Running);
        assert!(runs_from([logged(5, 12, "ExecutionFailed", json!({}))]).is_empty());
    }

    #[test]
    fn a_message_that_is_not_a_history_event_is_skipped() {
        let runs = runs_from([
            (
                DateTime::from_timestamp(9, 0).unwrap(),
                "not json".to_owned(),
            ),
            (DateTime::from_timestamp(9, 0).unwrap(), "{}".to_owned()),
            started(10),
        ]);
        assert_eq!(runs.len(), 1);
    }
}
