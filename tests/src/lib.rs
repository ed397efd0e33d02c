//! Support for the end-to-end suite: the deployed stack's coordinates, HTTP and AWS clients, and a
//! probe that sees what reaches the event bus.
//!
//! The stack is described by `.local/stack.env` (written by `scripts/local-up.sh`), or by the
//! file named in `STACK_ENV`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use admin::{Settings, StackEnv};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The deployed stack, from the env file that deploying it wrote.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The env file it was read from (what `eda-admin --env-file` takes).
    pub env_file: PathBuf,
    /// What `eda-admin` takes from the same file; also how the suite's clients reach the stack.
    pub settings: Settings,
    pub stack_name: String,
    pub api: String,
    pub region: String,
    /// LocalStack's URL; `None` for AWS.
    pub endpoint: Option<String>,
    pub event_store_table: String,
    pub event_bus: String,
    pub catch_all_log_group: String,
    pub payment_state_machine: String,
    pub notification_topic: String,
    pub order_views_table: String,
    pub payments_table: String,
    pub outbox_function: String,
    pub projection_function: String,
    pub payment_function: String,
    pub update_order_function: String,
    pub notification_function: String,
    pub outbox_dead_letter_queue: String,
    pub projection_dead_letter_queue: String,
    pub payment_rule_dead_letter_queue: String,
    pub update_order_dead_letter_queue: String,
    pub notification_dead_letter_queue: String,
    /// Orders of this customer fail payment, when the stack simulates a provider outage.
    pub simulated_outage_customer: Option<String>,
}

impl Stack {
    /// Reads `.local/stack.env`, or the file named in `STACK_ENV`; panics without it, or when a
    /// name the suite needs is missing from it.
    pub fn load() -> Stack {
        let path = std::env::var_os("STACK_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/stack.env"))
            });
        let env = StackEnv::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): bring the stack up first with scripts/local-up.sh",
                path.display()
            )
        });
        let var = |name: &str| {
            env.get(name)
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{} has no {name}", path.display()))
        };
        Stack {
            env_file: path.clone(),
            settings: Settings::from_env(&env),
            stack_name: var("STACK_NAME"),
            api: var("API").trim_end_matches('/').to_owned(),
            region: var("AWS_REGION"),
            endpoint: env.get("AWS_ENDPOINT_URL").map(str::to_owned),
            event_store_table: var("EVENT_STORE_TABLE_NAME"),
            event_bus: var("EVENT_BUS_NAME"),
            catch_all_log_group: var("CATCH_ALL_LOG_GROUP_NAME"),
            payment_state_machine: var("PAYMENT_STATE_MACHINE_ARN"),
            notification_topic: var("NOTIFICATION_TOPIC_ARN"),
            order_views_table: var("ORDER_VIEWS_TABLE_NAME"),
            payments_table: var("PAYMENTS_TABLE_NAME"),
            outbox_function: var("OUTBOX_PROCESSOR_FUNCTION_NAME"),
            projection_function: var("PROJECTION_FUNCTION_NAME"),
            payment_function: var("PAYMENT_FUNCTION_NAME"),
            update_order_function: var("UPDATE_ORDER_FUNCTION_NAME"),
            notification_function: var("NOTIFICATION_FUNCTION_NAME"),
            outbox_dead_letter_queue: var("OUTBOX_DEAD_LETTER_QUEUE_URL"),
            projection_dead_letter_queue: var("PROJECTION_DEAD_LETTER_QUEUE_URL"),
            payment_rule_dead_letter_queue: var("PAYMENT_RULE_DEAD_LETTER_QUEUE_URL"),
            update_order_dead_letter_queue: var("UPDATE_ORDER_DEAD_LETTER_QUEUE_URL"),
            notification_dead_letter_queue: var("NOTIFICATION_DEAD_LETTER_QUEUE_URL"),
            simulated_outage_customer: env.get("SIMULATED_OUTAGE_CUSTOMER").map(str::to_owned),
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

/// Who `World::post` places orders as when the body names no customer.
pub const DEFAULT_CUSTOMER: &str = "e2e-customer";

/// The operator `World::get` reads as: operators read every customer's orders.
pub const OPERATOR: &str = "e2e-operator";

/// A signed-in customer of the stack: their token, from `scripts/token.sh`.
#[derive(Clone, Debug)]
pub struct Customer {
    /// The customer id the API knows them by: the token's `sub` (on the local stack the name
    /// they were given; on AWS a UUID Cognito made).
    pub id: String,
    pub token: String,
}

impl Customer {
    /// The key of the order this customer placed with `client_id` (`alice.101`).
    pub fn order_key(&self, client_id: impl std::fmt::Display) -> String {
        format!("{}.{client_id}", self.id)
    }

    /// The `Authorization` header of their requests.
    pub fn authorization(&self) -> (&'static str, String) {
        ("authorization", format!("Bearer {}", self.token))
    }
}

/// Runs `scripts/token.sh` with `args` and returns the token it prints.
pub fn token(stack: &Stack, args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/token.sh");
    let mut command = std::process::Command::new("bash");
    command.arg(script);
    if stack.endpoint.is_none() {
        command.args([
            "--aws",
            "--stack-name",
            &stack.stack_name,
            "--region",
            &stack.region,
        ]);
    }
    let output = command
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(output.status.success(), "{script} {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("a token is ASCII")
        .trim()
        .to_owned()
}

/// The claims of a token, read without checking it (the API checks it).
pub fn token_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("a JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("a JWT payload is JSON")
}

/// Clients for the stack, built once per test.
pub struct World {
    pub stack: Stack,
    http: reqwest::Client,
    /// Customers signed in so far, by name and whether they are operators.
    customers: std::sync::Mutex<HashMap<(String, bool), Customer>>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sns: aws_sdk_sns::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl World {
    pub async fn connect() -> World {
        let stack = Stack::load();
        let config = stack.settings.aws().await;
        World {
            customers: std::sync::Mutex::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
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
        self.try_request(method, path, body, headers)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// The request, or why no answer came (refused connection, timeout, a body that is not
    /// JSON): for callers that count failures instead of stopping at the first.
    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
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
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{method} {url} -> {status}: reading the body: {e}"))?;
        let body = serde_json::from_str(&text)
            .map_err(|e| format!("{method} {path} -> {status}: body is not JSON ({e}): {text}"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The customer `name`, signed in once per test.
    pub fn customer(&self, name: &str) -> Customer {
        self.signed_in(name, false)
    }

    /// An operator, who may read every customer's orders.
    pub fn operator(&self) -> Customer {
        self.signed_in(OPERATOR, true)
    }

    fn signed_in(&self, name: &str, operator: bool) -> Customer {
        let key = (name.to_owned(), operator);
        if let Some(customer) = self.customers.lock().unwrap().get(&key) {
            return customer.clone();
        }
        let args: &[&str] = if operator {
            &["--operator", name]
        } else {
            &[name]
        };
        let token = token(&self.stack, args);
        let id = token_claims(&token)["sub"]
            .as_str()
            .expect("a token has a sub")
            .to_owned();
        let customer = Customer { id, token };
        self.customers.lock().unwrap().insert(key, customer.clone());
        customer
    }

    /// The key of an order `DEFAULT_CUSTOMER` placed with `client_id`.
    pub fn key(&self, client_id: impl std::fmt::Display) -> String {
        self.customer(DEFAULT_CUSTOMER).order_key(client_id)
    }

    /// Places an order as the customer the body names in `customerId`, or as
    /// `DEFAULT_CUSTOMER`.
    pub async fn post(&self, path: &str, body: &str) -> Reply {
        let named = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|body| body["customerId"].as_str().map(str::to_owned));
        let customer = self.customer(named.as_deref().unwrap_or(DEFAULT_CUSTOMER));
        self.post_as(&customer, path, body).await
    }

    pub async fn post_as(&self, customer: &Customer, path: &str, body: &str) -> Reply {
        let (name, value) = customer.authorization();
        self.request("POST", path, Some(body), &[(name, &value)])
            .await
    }

    /// A GET as an operator, who may read every order.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(&self.operator(), path).await
    }

    pub async fn get_as(&self, customer: &Customer, path: &str) -> Reply {
        let (name, value) = customer.authorization();
        self.request("GET", path, None, &[(name, &value)]).await
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

    /// The event types of an order's stored events, in version order.
    pub async fn stored_types(&self, order_key: &str) -> Vec<String> {
        self.stored_events(order_key)
            .await
            .iter()
            .map(|item| {
                item.get("eventType")
                    .and_then(|value| value.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

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

    /// The settings the operations commands (`eda-admin`) need for this stack.
    pub fn admin_settings(&self) -> admin::Settings {
        self.stack.settings.clone()
    }

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
        let configuration = self
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .unwrap_or_else(|e| panic!("read {function}'s configuration: {e}"));
        let group = configuration
            .logging_config()
            .and_then(|logging| logging.log_group())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("/aws/lambda/{function}"));
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

    /// A DynamoDB stream batch holding the stored event `version` of order `key` as an INSERT,
    /// as Lambda delivers it: to hand to a stream consumer again.
    pub async fn stream_batch_of(&self, key: &str, version: u64, sequence_number: &str) -> Value {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.stack.event_store_table)
            .key("aggregateId", AttributeValue::S(key.to_owned()))
            .key("version", AttributeValue::N(version.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("read a stored event")
            .item
            .unwrap_or_else(|| panic!("no event {key}/{version}"));
        let image: serde_json::Map<String, Value> = item
            .iter()
            .filter_map(|(name, value)| {
                let typed = match value {
                    AttributeValue::S(text) => json!({"S": text}),
                    AttributeValue::N(number) => json!({"N": number}),
                    _ => return None,
                };
                Some((name.clone(), typed))
            })
            .filter(|(name, _)| name != "publishedAt")
            .collect();
        json!({"Records": [adapters::memory::stream_record("INSERT", sequence_number, Value::Object(image))]})
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

    /// Starts watching the notification topic for the messages about one order.
    pub async fn notification_probe(&self, order_key: &str) -> NotificationProbe {
        NotificationProbe::start(self, order_key).await
    }

    /// Polls the order views table until it holds the order's view, and returns the view as
    /// `GET /orders/{key}` shows it. (The API itself answers from the event store while a view
    /// is missing or behind, so it cannot tell whether the projection did its work.)
    pub async fn wait_for_order(&self, key: &str, timeout: Duration) -> Value {
        eventually(
            &format!("order {key} in the order views"),
            timeout,
            || async { self.order_view(key).await },
        )
        .await
    }

    /// The order's view in the order views table, read consistently, as the API shows it.
    pub async fn order_view(&self, key: &str) -> Option<Value> {
        use domain::ports::OrderViews;
        let views =
            adapters::DynamoDbOrderViews::new(self.dynamodb.clone(), &self.stack.order_views_table);
        let view = views.get(key).await.expect("read the order views")?;
        Some(serde_json::to_value(view).expect("a view serializes"))
    }

    /// Polls `GET /orders/{key}` until the order has `status`; returns it and how long that took.
    pub async fn wait_for_status(
        &self,
        key: &str,
        status: &str,
        timeout: Duration,
    ) -> (Value, Duration) {
        let start = Instant::now();
        let order = eventually(&format!("order {key} to be {status}"), timeout, || async {
            let reply = self.get(&format!("/orders/{key}")).await;
            (reply.status == 200 && reply.body["status"] == status).then_some(reply.body)
        })
        .await;
        (order, start.elapsed())
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

/// The order an execution of the payment state machine was started for (its input is the
/// `OrderCreated` EventBridge event).
fn execution_order_id(
    execution: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> Value {
    let input: Value =
        serde_json::from_str(execution.input().unwrap_or("null")).unwrap_or_default();
    input["detail"]["data"]["orderId"].clone()
}

/// A throwaway SQS queue that a probe points something at.
struct TestQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
}

impl TestQueue {
    async fn create(world: &World, name: &str) -> TestQueue {
        let url = world
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create a probe queue")
            .queue_url
            .expect("queue url");
        let arn = world
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("probe queue attributes")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("queue arn");
        TestQueue {
            sqs: world.sqs.clone(),
            url,
            arn,
        }
    }

    /// Lets `service` (from `source_arn`) send to the queue.
    async fn allow(&self, service: &str, source_arn: &str) {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": self.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}
            }]
        });
        self.sqs
            .set_queue_attributes()
            .queue_url(&self.url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("set the probe queue's policy");
    }

    /// Every message body that arrives until `quiet` passes without a new one after at least
    /// `expected` arrived, or until `deadline` passes.
    async fn collect(&self, expected: usize, deadline: Duration, quiet: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut bodies = Vec::new();
        let mut last = Instant::now();
        while start.elapsed() < deadline && (bodies.len() < expected || last.elapsed() < quiet) {
            let received = self.receive().await;
            if !received.is_empty() {
                last = Instant::now();
            }
            bodies.extend(received);
        }
        bodies
    }

    /// The messages one receive call gets (long-polling a second), deleted from the queue.
    async fn receive(&self) -> Vec<Value> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from a probe queue");
        let mut bodies = Vec::new();
        for message in received.messages.unwrap_or_default() {
            let body = message.body.as_deref().unwrap_or("null");
            bodies.push(serde_json::from_str(body).expect("a JSON message"));
            if let Some(handle) = message.receipt_handle {
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        bodies
    }

    async fn delete(&self) {
        let _ = self.sqs.delete_queue().queue_url(&self.url).send().await;
    }
}

fn probe_name() -> String {
    unique_id("e2e-probe")
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

/// A message as the notification topic sent it.
#[derive(Debug, Clone)]
pub struct SentNotification {
    pub subject: String,
    pub message: String,
    pub event_type: String,
    pub order_id: String,
}

/// A queue subscribed to the notification topic, filtered to one order by its `orderId`
/// message attribute, as a subscriber of the real system would do it.
pub struct NotificationProbe {
    sns: aws_sdk_sns::Client,
    subscription: String,
    queue: TestQueue,
}

impl NotificationProbe {
    async fn start(world: &World, order_key: &str) -> NotificationProbe {
        let queue = TestQueue::create(world, &probe_name()).await;
        queue
            .allow("sns.amazonaws.com", &world.stack.notification_topic)
            .await;
        let subscription = world
            .sns
            .subscribe()
            .topic_arn(&world.stack.notification_topic)
            .protocol("sqs")
            .endpoint(&queue.arn)
            .attributes("FilterPolicy", json!({"orderId": [order_key]}).to_string())
            .return_subscription_arn(true)
            .send()
            .await
            .expect("subscribe the probe queue")
            .subscription_arn
            .expect("subscription arn");
        NotificationProbe {
            sns: world.sns.clone(),
            subscription,
            queue,
        }
    }

    /// The messages that arrive, as `BusProbe::collect` counts them.
    pub async fn collect(
        &self,
        expected: usize,
        deadline: Duration,
        quiet: Duration,
    ) -> Vec<SentNotification> {
        let attribute = |envelope: &Value, name: &str| {
            envelope["MessageAttributes"][name]["Value"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        self.queue
            .collect(expected, deadline, quiet)
            .await
            .into_iter()
            .map(|envelope| SentNotification {
                subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                message: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                event_type: attribute(&envelope, "eventType"),
                order_id: attribute(&envelope, "orderId"),
            })
            .collect()
    }

    pub async fn close(self) {
        let _ = self
            .sns
            .unsubscribe()
            .subscription_arn(&self.subscription)
            .send()
            .await;
        self.queue.delete().await;
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("a log tail is base64 ({e}): {text}"))
}

/// An id no other run of the suite uses: the stack may outlive a run.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A numeric order id (as the original demo's are) no other run uses: below the largest id the
/// API takes (`domain::order::MAX_NUMERIC_ID`).
pub fn unique_number() -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(domain::order::MAX_NUMERIC_ID)) as u64 + 1
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
