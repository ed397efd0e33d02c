//! Where a journey's steps are read from.

use std::collections::{BTreeMap, HashSet};

use adapters::{DynamoDbEventStore, EventItem};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::journey::{Journey, Step};
use crate::AdminError;
use crate::workflow_runs::{self, Run, Status};

/// The payment workflow as a step's place.
const WORKFLOW: &str = "payment workflow";
/// How long after an order's last stored event its consequences are looked for: a payment run
/// lasts up to 5 minutes, and the recovery sweep starts another for an order left open (on AWS,
/// RecoveryStuckAfterSeconds, 30 minutes by default, plus up to one sweep's interval).
const AFTERMATH: TimeDelta = TimeDelta::minutes(40);
/// How much of a log message a step shows.
const MESSAGE_WIDTH: usize = 160;

/// What a trace reads, and where.
pub struct Sources<'a> {
    pub events: &'a DynamoDbEventStore,
    pub logs: &'a aws_sdk_cloudwatchlogs::Client,
    pub lambda: &'a aws_sdk_lambda::Client,
    /// Where the payment workflow logs its runs (empty: no workflow to trace).
    pub payment_workflow_log_group: &'a str,
    pub catch_all_log_group: &'a str,
    /// (service, function name) of each function whose logs to read.
    pub functions: &'a [(String, String)],
}

/// The journey of the order stored as `order` (its key in the event store).
pub async fn trace(sources: &Sources<'_>, order: &str) -> Result<Journey, AdminError> {
    let stored = sources.events.stored(order).await?;
    if stored.is_empty() {
        return Err(AdminError::Invalid(format!(
            "no order {order} in the event store"
        )));
    }
    let mut steps = stored_steps(&stored)?;
    let first = &stored[0];
    let correlation_id = metadata(&first.detail)?["correlationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let from = timestamp(&first.occurred_at)? - TimeDelta::seconds(5);
    let to = std::cmp::min(
        Utc::now(),
        timestamp(&stored[stored.len() - 1].occurred_at)? + AFTERMATH,
    );
    let mentions = Mentions {
        correlation_id: correlation_id.clone(),
        order: format!("\"{order}\""),
    };

    let stored_ids: HashSet<String> = stored.iter().map(|item| item.event_id.clone()).collect();
    let bus = logged_lines(
        sources.logs,
        sources.catch_all_log_group,
        from,
        to,
        &mentions,
    )
    .await?;
    let mut published = bus_steps(&bus, &stored_ids);
    let runs = runs_of(sources, &stored_ids, from, to).await?;
    // A workflow's result is caused by the event that started it, and was published by it.
    for step in published.iter_mut().filter(|step| step.place == WORKFLOW) {
        if let Some(run) = runs
            .iter()
            .find(|run| step.caused_by.is_some() && step.caused_by.as_deref() == run.started_by())
        {
            step.caused_by = Some(run_step_id(run));
        }
    }
    steps.extend(published);
    for run in &runs {
        steps.extend(run_steps(run));
    }

    for (service, function) in sources.functions {
        let group = log_group_of(sources.lambda, function).await?;
        let lines = logged_lines(sources.logs, &group, from, to, &mentions).await?;
        steps.extend(invocation_steps(service, &lines));
    }
    Ok(Journey {
        order: order.to_owned(),
        correlation_id,
        steps,
    })
}

/// What makes a log line about this order: its correlation id, or its key as a JSON string.
struct Mentions {
    correlation_id: String,
    order: String,
}

impl Mentions {
    fn in_line(&self, line: &str) -> bool {
        (!self.correlation_id.is_empty() && line.contains(&self.correlation_id))
            || line.contains(&self.order)
    }
}

fn timestamp(text: &str) -> Result<DateTime<Utc>, AdminError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| AdminError::Invalid(format!("unreadable time {text:?}: {e}")))
}

fn metadata(detail: &str) -> Result<Value, AdminError> {
    let detail: Value = serde_json::from_str(detail)
        .map_err(|e| AdminError::Invalid(format!("unreadable stored event: {e}")))?;
    Ok(detail["metadata"].clone())
}

/// Each stored event, and its publication by the outbox.
fn stored_steps(stored: &[EventItem]) -> Result<Vec<Step>, AdminError> {
    let mut steps = Vec::new();
    for item in stored {
        let metadata = metadata(&item.detail)?;
        let replayed = metadata["replayedAt"].as_str().map(str::to_owned);
        steps.push(Step {
            id: item.event_id.clone(),
            caused_by: metadata["causationId"].as_str().map(str::to_owned),
            at: timestamp(&item.occurred_at)?,
            took: None,
            place: metadata["producer"]
                .as_str()
                .unwrap_or(&item.source)
                .to_owned(),
            what: format!(
                "{} v{} stored as the order's event {}",
                item.event_type,
                metadata["eventVersion"].as_u64().unwrap_or(1),
                item.version
            ),
        });
        if let Some(published) = &item.published_at {
            steps.push(Step {
                id: format!("{}/published", item.event_id),
                caused_by: Some(item.event_id.clone()),
                at: timestamp(published)?,
                took: None,
                place: "outbox-processor".into(),
                what: format!(
                    "published {} to the bus{}",
                    item.event_type,
                    replayed.map(|_| " (replayed)").unwrap_or_default()
                ),
            });
        }
    }
    Ok(steps)
}

/// The events on the bus that the event store does not hold (another service's, about this
/// order), and every replay of one it does.
fn bus_steps(lines: &[Logged], stored: &HashSet<String>) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in lines {
        let Ok(event) = serde_json::from_str::<Value>(&line.message) else {
            continue;
        };
        let metadata = &event["detail"]["metadata"];
        let (Some(id), Some(kind)) = (metadata["eventId"].as_str(), event["detail-type"].as_str())
        else {
            continue;
        };
        let version = metadata["eventVersion"].as_u64().unwrap_or(1);
        if let Some(replayed) = metadata["replayedAt"].as_str() {
            steps.push(Step {
                id: format!("{id}/replayed/{replayed}"),
                caused_by: Some(id.to_owned()),
                at: line.at,
                took: None,
                place: "bus".into(),
                what: format!("{kind} v{version} replayed (eda-admin replay)"),
            });
        } else if !stored.contains(id) {
            let at = metadata["occurredAt"]
                .as_str()
                .and_then(|at| timestamp(at).ok())
                .unwrap_or(line.at);
            steps.push(Step {
                id: id.to_owned(),
                caused_by: metadata["causationId"].as_str().map(str::to_owned),
                at,
                took: None,
                place: match metadata["producer"].as_str() {
                    Some("payment-state-machine") => WORKFLOW.to_owned(),
                    Some(producer) => producer.to_owned(),
                    None => event["source"].as_str().unwrap_or("bus").to_owned(),
                },
                what: format!("{kind} v{version} published to the bus"),
            });
        }
    }
    steps
}

/// The id of a run's step, which its states' steps name as their cause.
fn run_step_id(run: &Run) -> String {
    format!("execution/{}", run.name)
}

/// The payment workflow's runs started in `from..to` by one of `events`, found by their input
/// (EventBridge names them itself).
async fn runs_of(
    sources: &Sources<'_>,
    events: &HashSet<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Run>, AdminError> {
    if sources.payment_workflow_log_group.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        workflow_runs::runs(sources.logs, sources.payment_workflow_log_group, from, to)
            .await?
            .into_iter()
            .filter(|run| run.started_by().is_some_and(|event| events.contains(event)))
            .collect(),
    )
}

/// The run as a step, with one step under it for each state it went through.
fn run_steps(run: &Run) -> Vec<Step> {
    let id = run_step_id(run);
    let mut steps = Vec::new();
    let mut entered: Option<(String, DateTime<Utc>, usize)> = None;
    for event in &run.events {
        let kind = event.kind.as_str();
        if matches!(kind, "TaskFailed" | "LambdaFunctionFailed" | "TaskTimedOut")
            && let Some((_, _, failures)) = &mut entered
        {
            *failures += 1;
        }
        let name = event.details["name"].as_str().unwrap_or_default();
        if kind.ends_with("StateEntered") {
            entered = Some((name.to_owned(), event.at, 0));
        }
        if kind.ends_with("StateExited")
            && let Some((state, since, failures)) = entered.take()
            && state == name
        {
            let retried = match failures {
                0 => String::new(),
                n => format!(", {n} failed attempts retried"),
            };
            steps.push(Step {
                id: format!("{id}/{}-{state}", steps.len()),
                caused_by: Some(id.clone()),
                at: since,
                took: Some(event.at - since),
                place: WORKFLOW.into(),
                what: format!("state {state}{retried}"),
            });
        }
    }
    let outcome = match run.status {
        Status::Running => "running",
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::TimedOut => "timed out",
        Status::Aborted => "aborted",
    };
    steps.push(Step {
        id: id.clone(),
        caused_by: run.started_by().map(str::to_owned),
        at: run.started,
        took: run.stopped.map(|stopped| stopped - run.started),
        place: WORKFLOW.into(),
        what: format!("execution {} {outcome}", run.name),
    });
    steps
}

/// One invocation's lines as a step: when it logged first, for how long, and what, under the
/// event it was handling when its lines say which (their `eventId`).
fn invocation_steps(service: &str, lines: &[Logged]) -> Vec<Step> {
    let mut invocations: BTreeMap<String, Vec<(&Logged, Value)>> = BTreeMap::new();
    for line in lines {
        let Ok(json) = serde_json::from_str::<Value>(&line.message) else {
            continue;
        };
        // A metrics document (embedded metric format) names the order too, but says nothing.
        if json.get("_aws").is_some() {
            continue;
        }
        let request = span_field(&json, "requestId").unwrap_or_else(|| line.stream.clone());
        let event = span_field(&json, "eventId").unwrap_or_default();
        invocations
            .entry(format!("{request}/{event}"))
            .or_default()
            .push((line, json));
    }
    invocations
        .into_iter()
        .map(|(key, lines)| {
            let first = lines
                .iter()
                .map(|(line, _)| line.at)
                .min()
                .unwrap_or_default();
            let last = lines
                .iter()
                .map(|(line, _)| line.at)
                .max()
                .unwrap_or_default();
            let mut messages: Vec<String> = Vec::new();
            for (_, json) in &lines {
                let message = json["fields"]["message"]
                    .as_str()
                    .or(json["message"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                if !message.is_empty() && !messages.contains(&message) {
                    messages.push(message);
                }
            }
            let mut what = messages.join("; ");
            if what.chars().count() > MESSAGE_WIDTH {
                what = what.chars().take(MESSAGE_WIDTH).collect::<String>() + "…";
            }
            Step {
                id: format!("{service}/{key}"),
                caused_by: lines
                    .iter()
                    .find_map(|(_, json)| span_field(json, "eventId")),
                at: first,
                took: (last > first).then(|| last - first),
                place: service.to_owned(),
                what,
            }
        })
        .collect()
}

/// A field of the line or of any span it was logged in (the tracing JSON's `span` and `spans`).
fn span_field(line: &Value, name: &str) -> Option<String> {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    text(&line["fields"][name])
        .or_else(|| text(&line[name]))
        .or_else(|| text(&line["span"][name]))
        .or_else(|| {
            line["spans"]
                .as_array()?
                .iter()
                .rev()
                .find_map(|span| text(&span[name]))
        })
}

/// One log line: when, in which stream, what.
struct Logged {
    at: DateTime<Utc>,
    stream: String,
    message: String,
}

/// The lines of `group` logged in `from..to` that mention the order. The correlation id is also
/// given to CloudWatch Logs as a filter pattern, which AWS applies and LocalStack ignores; the
/// lines are matched here either way.
async fn logged_lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    mentions: &Mentions,
) -> Result<Vec<Logged>, AdminError> {
    if group.is_empty() {
        return Ok(Vec::new());
    }
    let pattern = [&mentions.correlation_id, &mentions.order]
        .iter()
        .filter(|term| !term.is_empty())
        .map(|term| format!("?\"{}\"", term.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" ");
    let events: Vec<_> = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(from.timestamp_millis())
        .end_time(to.timestamp_millis())
        .filter_pattern(pattern)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(infrastructure)?;
    Ok(events
        .into_iter()
        .flat_map(|page| page.events.unwrap_or_default())
        .flat_map(|event| {
            let at = DateTime::from_timestamp_millis(event.timestamp.unwrap_or_default())
                .unwrap_or_default();
            let stream = event.log_stream_name.unwrap_or_default();
            event
                .message
                .unwrap_or_default()
                .lines()
                .filter(|line| mentions.in_line(line))
                .map(|line| Logged {
                    at,
                    stream: stream.clone(),
                    message: line.to_owned(),
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Where a function logs: its logging configuration's group, or Lambda's default.
pub async fn log_group_of(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<String, AdminError> {
    let configuration = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(infrastructure)?;
    Ok(configuration
        .logging_config()
        .and_then(|logging| logging.log_group())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/aws/lambda/{function}")))
}

fn infrastructure(error: impl std::error::Error + Send + Sync + 'static) -> AdminError {
    AdminError::Infrastructure(domain::ports::InfrastructureError::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(ms: i64, stream: &str, message: Value) -> Logged {
        Logged {
            at: DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap(),
            stream: stream.into(),
            message: message.to_string(),
        }
    }

    #[test]
    fn an_invocations_lines_make_one_step_under_the_event_its_span_names() {
        let span = |request: &str| {
            serde_json::json!([{"name": "Lambda runtime invoke", "requestId": request},
                {"name": "event", "eventId": "e1", "correlationId": "c"}])
        };
        let lines = [
            logged(
                0,
                "s",
                serde_json::json!({"fields": {"message": "received"}, "spans": span("r1")}),
            ),
            logged(
                40,
                "s",
                serde_json::json!({"fields": {"message": "published"}, "spans": span("r1")}),
            ),
            logged(
                90,
                "s",
                serde_json::json!({"fields": {"message": "received"}, "spans": span("r2")}),
            ),
            logged(
                95,
                "s",
                serde_json::json!({"_aws": {"CloudWatchMetrics": []}, "orderId": "c.102"}),
            ),
        ];
        let steps = invocation_steps("outbox-processor", &lines);
        assert_eq!(steps.len(), 2, "{steps:#?}");
        assert_eq!(steps[0].what, "received; published");
        assert_eq!(steps[0].took, Some(TimeDelta::milliseconds(40)));
        assert_eq!(steps[0].caused_by.as_deref(), Some("e1"));
        assert_eq!(steps[0].place, "outbox-processor");
        assert_eq!((steps[1].what.as_str(), steps[1].took), ("received", None));
    }

    #[test]
    fn lines_without_spans_are_grouped_by_their_log_stream() {
        let lines = [
            logged(0, "a", serde_json::json!({"fields": {"message": "one"}})),
            logged(5, "b", serde_json::json!({"fields": {"message": "two"}})),
        ];
        let steps = invocation_steps("notification", &lines);
        assert_eq!(steps.len(), 2);
        assert!(steps.iter().all(|step| step.caused_by.is_none()));
    }

    #[test]
    fn the_bus_adds_other_services_events_and_replays_not_what_the_store_holds() {
        let event = |id: &str, kind: &str, producer: &str, replayed: Option<&str>| {
            let mut metadata = serde_json::json!({"eventId": id, "causationId": "e1",
                "producer": producer, "eventVersion": 1, "occurredAt": "2027-01-15T08:00:01Z"});
            if let Some(at) = replayed {
                metadata["replayedAt"] = at.into();
            }
            serde_json::json!({"detail-type": kind, "source": "x", "detail": {"metadata": metadata}})
        };
        let lines = [
            logged(0, "s", event("e1", "OrderCreated", "create-order", None)),
            logged(
                1,
                "s",
                event("p1", "PaymentSucceeded", "payment-state-machine", None),
            ),
            logged(
                2,
                "s",
                event(
                    "e1",
                    "OrderCreated",
                    "create-order",
                    Some("2027-01-15T09:00:00Z"),
                ),
            ),
        ];
        let stored = HashSet::from(["e1".to_owned()]);
        let steps = bus_steps(&lines, &stored);
        assert_eq!(steps.len(), 2, "{steps:#?}");
        assert_eq!(
            (
                steps[0].id.as_str(),
                steps[0].place.as_str(),
                steps[0].caused_by.as_deref()
            ),
            ("p1", WORKFLOW, Some("e1"))
        );
        assert_eq!(steps[1].caused_by.as_deref(), Some("e1"));
        assert!(steps[1].what.contains("replayed"), "{:?}", steps[1]);
    }

    #[test]
    fn a_line_is_about_the_order_by_its_correlation_id_or_its_quoted_key() {
        let mentions = Mentions {
            correlation_id: "corr-1".into(),
            order: "\"c.102\"".into(),
        };
        assert!(mentions.in_line(r#"{"correlationId":"corr-1"}"#));
        assert!(mentions.in_line(r#"{"orderId":"c.102"}"#));
        assert!(!mentions.in_line(r#"{"orderId":"c.1020"}"#));
    }
}
