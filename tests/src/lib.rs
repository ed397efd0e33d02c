//! Support for the end-to-end suite: the deployed stack's coordinates, HTTP and AWS clients, and
//! probes that see what reaches the event bus and the notification topic.
//!
//! The stack is described by `.local/stack.env` (written by `scripts/local-up.sh`), or by the
//! file named in `STACK_ENV`. `World` holds the clients; its methods live with what they reach:
//! the API (`http`, `customers`), the tables, the bus, the notification topic, the functions and
//! the payment workflow.

mod alarms;
mod bus;
mod customers;
mod functions;
mod http;
mod journeys;
mod metrics;
mod notifications;
mod operator;
mod payments;
mod probe_queue;
mod stack;
mod tables;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub use alarms::{AlarmProbe, AlarmStateChange};
pub use bus::BusProbe;
pub use customers::{Customer, DEFAULT_CUSTOMER, OPERATOR, token, token_claims};
pub use http::Reply;
pub use notifications::{NotificationProbe, SentNotification};
pub use operator::eda_admin;
pub use stack::Stack;

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
    pub cloudwatch: aws_sdk_cloudwatch::Client,
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
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            stack,
        }
    }

    /// The settings the operations commands (`eda-admin`) need for this stack.
    pub fn admin_settings(&self) -> admin::Settings {
        self.stack.settings.clone()
    }
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

/// How long the suites wait for an order's whole flow on the local stack: each hop (stream, rule,
/// state machine, function) takes up to a second or two there, more while another test loads the
/// machine, and a charge that failed is retried by the payment workflow after up to 60 s
/// (`infra/statemachines/payment.asl.json`). A passing test waits only as long as its flow takes.
pub const FLOW: Duration = Duration::from_secs(180);

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

/// For the tests of the bins' options: panics unless every command line in `cases` (the
/// arguments after the program's name) is a usage error of `P`, one that exits with code 2.
pub fn assert_usage_errors<P: clap::Parser>(cases: &[&[&str]]) {
    for args in cases {
        let error = P::try_parse_from(std::iter::once(&"bin").chain(args.iter()))
            .err()
            .unwrap_or_else(|| panic!("{args:?} was taken"));
        assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
    }
}
