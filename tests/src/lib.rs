//! Support for the end-to-end suite: the deployed stack's coordinates, HTTP and AWS clients, and a
//! probe that sees what reaches the event bus.
//!
//! The stack is described by `.local/stack.env` (written by `scripts/local-up.sh`), or by the
//! file named in `STACK_ENV`.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::Target;
use serde_json::{Value, json};

/// The deployed stack, from the env file that deploying it wrote.
#[derive(Clone, Debug)]
pub struct Stack {
    pub api: String,
    pub region: String,
    /// LocalStack's URL; `None` for AWS.
    pub endpoint: Option<String>,
    pub event_store_table: String,
    pub event_bus: String,
    pub catch_all_log_group: String,
}

impl Stack {
    pub fn load() -> Stack {
        let path = std::env::var_os("STACK_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/stack.env"))
            });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): bring the stack up first with scripts/local-up.sh",
                path.display()
            )
        });
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let var = |name: &str| {
            vars.get(name)
                .map(|v| v.to_string())
                .unwrap_or_else(|| panic!("{} has no {name}", path.display()))
        };
        Stack {
            api: var("API").trim_end_matches('/').to_owned(),
            region: var("AWS_REGION"),
            endpoint: vars.get("AWS_ENDPOINT_URL").map(|v| v.to_string()),
            event_store_table: var("EVENT_STORE_TABLE_NAME"),
            event_bus: var("EVENT_BUS_NAME"),
            catch_all_log_group: var("CATCH_ALL_LOG_GROUP_NAME"),
        }
    }
}

/// An HTTP response with its JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `field`s named by an error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Clients for the stack, built once per test.
pub struct World {
    pub stack: Stack,
    http: reqwest::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl World {
    pub async fn connect() -> World {
        let stack = Stack::load();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(stack.region.clone()));
        if let Some(endpoint) = &stack.endpoint {
            // LocalStack accepts any credentials; don't depend on the developer's.
            loader = loader.endpoint_url(endpoint).credentials_provider(
                aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "e2e"),
            );
        }
        let config = loader.load().await;
        World {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            stack,
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.stack.api);
        let mut request = self
            .http
            .request(method.parse().expect("HTTP method"), &url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path} -> {status}: body is not JSON ({e}): {text}")
        });
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, Some(body), &[]).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None, &[]).await
    }

    /// The event-store items of one order, read consistently.
    pub async fn stored_events(&self, order_key: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .query()
            .table_name(&self.stack.event_store_table)
            .key_condition_expression("aggregateId = :id")
            .expression_attribute_values(":id", AttributeValue::S(order_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("query the event store")
            .items
            .unwrap_or_default()
    }

    /// Starts watching the bus for the events of one order.
    pub async fn probe(&self, order_id: &Value) -> Probe {
        Probe::start(self, order_id).await
    }
}

/// An SQS queue behind a rule on the bus that matches one order's events: what reaches the bus
/// for that order reaches the queue.
pub struct Probe {
    sqs: aws_sdk_sqs::Client,
    eventbridge: aws_sdk_eventbridge::Client,
    bus: String,
    rule: String,
    queue_url: String,
}

impl Probe {
    async fn start(world: &World, order_id: &Value) -> Probe {
        let name = format!(
            "e2e-probe-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let queue_url = world
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("create the probe queue")
            .queue_url
            .expect("queue url");
        let queue_arn = world
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("probe queue attributes")
            .attributes
            .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn");
        let rule_arn = world
            .eventbridge
            .put_rule()
            .name(&name)
            .event_bus_name(&world.stack.event_bus)
            .event_pattern(json!({"detail": {"data": {"orderId": [order_id]}}}).to_string())
            .send()
            .await
            .expect("create the probe rule")
            .rule_arn
            .expect("rule arn");
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
            }]
        });
        world
            .sqs
            .set_queue_attributes()
            .queue_url(&queue_url)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::Policy,
                policy.to_string(),
            )
            .send()
            .await
            .expect("allow the rule to send to the probe queue");
        world
            .eventbridge
            .put_targets()
            .rule(&name)
            .event_bus_name(&world.stack.event_bus)
            .targets(
                Target::builder()
                    .id("probe")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target the probe queue");
        Probe {
            sqs: world.sqs.clone(),
            eventbridge: world.eventbridge.clone(),
            bus: world.stack.event_bus.clone(),
            rule: name,
            queue_url,
        }
    }

    /// Every EventBridge event that arrives until `quiet` passes without a new one, or until
    /// `deadline` passes. Waits at least until the first event or the deadline.
    pub async fn collect(&self, deadline: Duration, quiet: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut events = Vec::new();
        let mut last = Instant::now();
        while start.elapsed() < deadline && (events.is_empty() || last.elapsed() < quiet) {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive from the probe queue");
            for message in received.messages.unwrap_or_default() {
                let body = message.body.as_deref().unwrap_or("null");
                events.push(serde_json::from_str(body).expect("an EventBridge event"));
                last = Instant::now();
                if let Some(handle) = message.receipt_handle {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await;
                }
            }
        }
        events
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
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
    }
}

/// An id no other run of the suite uses: the stack may outlive a run.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
