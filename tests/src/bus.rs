//! The event bus: putting an event on it, watching what reaches it, and what its catch-all rule
//! logged.

use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use serde_json::{Value, json};

use crate::probe_queue::{TestQueue, probe_name};
use crate::{World, eventually};

impl World {
    /// Puts one event on the stack's bus, as its producer would; the call must accept it.
    pub async fn put_on_bus(&self, source: &str, detail_type: &str, detail: &Value) {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.stack.event_bus)
            .source(source)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build();
        let put = self
            .eventbridge
            .put_events()
            .entries(entry)
            .send()
            .await
            .expect("put an event on the bus");
        assert_eq!(put.failed_entry_count(), 0, "{put:?}");
    }

    /// Starts watching the bus for the events of one order: all of them, or those of the
    /// given types.
    pub async fn bus_probe(&self, order_id: &Value, event_types: &[&str]) -> BusProbe {
        let mut pattern = json!({"detail": {"data": {"orderId": [order_id]}}});
        if !event_types.is_empty() {
            pattern["detail-type"] = json!(event_types);
        }
        BusProbe::start(self, pattern).await
    }

    /// Starts watching the bus for the events that match an EventBridge `pattern`.
    pub async fn bus_probe_matching(&self, pattern: Value) -> BusProbe {
        BusProbe::start(self, pattern).await
    }

    /// The event with id `event_id` as the catch-all rule logged it, waiting up to `timeout`.
    pub async fn logged_event(&self, event_id: &str, timeout: Duration) -> Value {
        let line = eventually(
            &format!("event {event_id} in the catch-all log group"),
            timeout,
            || async { self.catch_all_log_lines(event_id).await.into_iter().next() },
        )
        .await;
        serde_json::from_str(&line).expect("a catch-all log line is the EventBridge event")
    }

    /// Messages of the catch-all log group that mention `text`.
    pub async fn catch_all_log_lines(&self, text: &str) -> Vec<String> {
        // Matched here rather than with a filter pattern, which LocalStack does not apply.
        let pages = self
            .logs
            .filter_log_events()
            .log_group_name(&self.stack.catch_all_log_group)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        pages
            .into_iter()
            .filter_map(Result::ok)
            .flat_map(|page| page.events.unwrap_or_default())
            .filter_map(|event| event.message)
            .filter(|message| message.contains(text))
            .collect()
    }
}

/// A rule on the bus that forwards one order's events to a queue: what reaches the bus for that
/// order reaches the queue.
pub struct BusProbe {
    eventbridge: aws_sdk_eventbridge::Client,
    bus: String,
    rule: String,
    queue: TestQueue,
}

impl BusProbe {
    async fn start(world: &World, pattern: Value) -> BusProbe {
        let rule = probe_name();
        let queue = TestQueue::create(world, &rule).await;
        let rule_arn = world
            .eventbridge
            .put_rule()
            .name(&rule)
            .event_bus_name(&world.stack.event_bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("create the probe rule")
            .rule_arn
            .expect("rule arn");
        queue.allow("events.amazonaws.com", &rule_arn).await;
        world
            .eventbridge
            .put_targets()
            .rule(&rule)
            .event_bus_name(&world.stack.event_bus)
            .targets(
                Target::builder()
                    .id("probe")
                    .arn(&queue.arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target the probe queue");
        BusProbe {
            eventbridge: world.eventbridge.clone(),
            bus: world.stack.event_bus.clone(),
            rule,
            queue,
        }
    }

    /// The EventBridge events that arrive: at least `expected` (or until `deadline`), then any
    /// more that come before `quiet` passes without one.
    pub async fn collect(
        &self,
        expected: usize,
        deadline: Duration,
        quiet: Duration,
    ) -> Vec<Value> {
        self.queue.collect(expected, deadline, quiet).await
    }

    /// One receive (waiting at most a second): for callers that keep their own count.
    pub async fn poll(&self) -> Vec<Value> {
        self.queue.receive().await
    }

    /// Removes the rule and the queue.
    pub async fn close(self) {
        let _ = self
            .eventbridge
            .remove_targets()
            .rule(&self.rule)
            .event_bus_name(&self.bus)
            .ids("probe")
            .send()
            .await;
        let _ = self
            .eventbridge
            .delete_rule()
            .name(&self.rule)
            .event_bus_name(&self.bus)
            .send()
            .await;
        self.queue.delete().await;
    }
}
