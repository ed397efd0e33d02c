//! The stack's alarms: which one watches a queue, its state, and the alarm topic, watched as its
//! email subscriber would watch it.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, StateValue};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::World;
use crate::probe_queue::TopicSubscription;

impl World {
    /// The name of the alarm on a message waiting in the queue at `queue_url`, found as CloudWatch
    /// finds the alarms on a metric (so the template's dimension is what is checked).
    pub async fn alarm_on_queue(&self, queue_url: &str) -> String {
        let queue_name = queue_url.rsplit('/').next().expect("a queue URL");
        let alarms = self
            .cloudwatch
            .describe_alarms_for_metric()
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .dimensions(
                Dimension::builder()
                    .name("QueueName")
                    .value(queue_name)
                    .build(),
            )
            .send()
            .await
            .expect("describe the alarms on the queue");
        let names: Vec<String> = alarms
            .metric_alarms()
            .iter()
            .filter_map(|alarm| alarm.alarm_name().map(str::to_owned))
            .collect();
        assert_eq!(names.len(), 1, "one alarm watches {queue_name}: {names:?}");
        names.into_iter().next().expect("one alarm")
    }

    /// Sets an alarm's state by hand, as `aws cloudwatch set-alarm-state` does to test one: its
    /// next evaluation sets it again from its metric.
    pub async fn set_alarm_state(&self, alarm: &str, state: StateValue, reason: &str) {
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(alarm)
            .state_value(state)
            .state_reason(reason)
            .send()
            .await
            .expect("set the alarm's state");
    }

    /// Starts watching the alarm topic.
    pub async fn alarm_probe(&self) -> AlarmProbe {
        AlarmProbe(TopicSubscription::start(self, &self.stack.alarm_topic, None).await)
    }
}

/// An alarm's change of state, as CloudWatch publishes it to the alarm's topic.
#[derive(Debug, Clone)]
pub struct AlarmStateChange {
    pub alarm: String,
    pub state: String,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
}

impl AlarmStateChange {
    fn from_notification(envelope: &Value) -> Option<AlarmStateChange> {
        let message: Value = serde_json::from_str(envelope["Message"].as_str()?).ok()?;
        Some(AlarmStateChange {
            alarm: message["AlarmName"].as_str()?.to_owned(),
            state: message["NewStateValue"].as_str()?.to_owned(),
            reason: message["NewStateReason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            changed_at: message["StateChangeTime"]
                .as_str()
                .and_then(|time| {
                    DateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.f%z")
                        .or_else(|_| DateTime::parse_from_rfc3339(time))
                        .ok()
                })?
                .with_timezone(&Utc),
        })
    }
}

/// A queue subscribed to the alarm topic.
pub struct AlarmProbe(TopicSubscription);

impl AlarmProbe {
    /// The first change of `alarm` to `state` at or after `since` that reaches the topic, waiting
    /// up to `deadline`; `None` if none came. Other messages are read and dropped.
    pub async fn wait_for(
        &self,
        alarm: &str,
        state: &str,
        since: DateTime<Utc>,
        deadline: Duration,
    ) -> Option<AlarmStateChange> {
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            let change = self
                .0
                .queue
                .receive()
                .await
                .iter()
                .filter_map(AlarmStateChange::from_notification)
                .find(|change| {
                    change.alarm == alarm && change.state == state && change.changed_at >= since
                });
            if change.is_some() {
                return change;
            }
        }
        None
    }

    pub async fn close(&self) {
        self.0.close().await;
    }
}
