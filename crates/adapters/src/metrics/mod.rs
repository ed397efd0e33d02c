//! The functions' metrics, in CloudWatch's embedded metric format (EMF): JSON documents written
//! to the function's log, from which CloudWatch Logs extracts the metrics (no API call, no IAM
//! permission beyond the logs every function has).
//!
//! A function's `main` calls [`init`] with its service name once, then starts Lambda with
//! [`Metrics::run`] or [`Metrics::run_http`]: they flush the invocation's metrics into the log
//! when it ends. The code emits through [`count`], [`count_event`] and [`order_latency`], with
//! the names of [`names`]; an invocation that handles one order says which with [`about_order`],
//! a property of its documents (never a dimension).

pub mod names;

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::OnceLock;

use lambda_runtime::{Diagnostic, LambdaEvent};
use metrics_cloudwatch_embedded::Collector;
use metrics_cloudwatch_embedded::lambda::service;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{MissingVariable, required_env};

/// The variable the template sets to its `MetricsNamespace` parameter.
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// The dimension every metric has: the function's service name.
pub const SERVICE_DIMENSION: &str = "service";
/// The dimension of the counts per event type.
pub const EVENT_TYPE_DIMENSION: &str = "eventType";
/// The `eventType` a failure is counted under when what came in is no readable event.
pub const UNREADABLE: &str = "Unreadable";
/// The properties that say which order an invocation handled.
pub const ORDER_ID_PROPERTY: &str = "orderId";
pub const CORRELATION_ID_PROPERTY: &str = "correlationId";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    MissingNamespace(#[from] MissingVariable),
    #[error("cannot install the metrics recorder: {0}")]
    Install(String),
}

/// The process's one recorder (the `metrics` facade has one per process).
static INSTALLED: OnceLock<Metrics> = OnceLock::new();

/// The installed recorder of this process's metrics.
#[derive(Clone, Copy)]
pub struct Metrics {
    collector: &'static Collector,
    service: &'static str,
}

/// Installs the recorder of the function `service`, in the namespace of `METRICS_NAMESPACE`.
pub fn init(service: &'static str) -> Result<Metrics, MetricsError> {
    install(required_env(NAMESPACE_VARIABLE)?, service)
}

/// Installs the recorder: every metric in `namespace`, with dimension `service`. Once per
/// process (tests call it through `testkit::metrics`).
pub fn install(namespace: String, service: &'static str) -> Result<Metrics, MetricsError> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension(SERVICE_DIMENSION, service)
        .init()
        .map_err(|error| MetricsError::Install(error.to_string()))?;
    for (name, unit) in names::UNITS {
        metrics::describe_counter!(name, unit, "");
    }
    let metrics = Metrics { collector, service };
    INSTALLED
        .set(metrics)
        .map_err(|_| MetricsError::Install("installed twice".to_owned()))?;
    Ok(metrics)
}

impl Metrics {
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Starts Lambda with `handler`, flushing each invocation's metrics when it ends.
    pub async fn run<A, R, E, F, Fut>(self, mut handler: F) -> Result<(), lambda_runtime::Error>
    where
        F: FnMut(LambdaEvent<A>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: Into<Diagnostic> + Debug,
        A: DeserializeOwned,
        R: Serialize,
    {
        service::run(
            self.collector,
            lambda_runtime::service_fn(move |event| {
                self.begin_invocation();
                self.flushed_after(handler(event))
            }),
        )
        .await
    }

    /// Starts Lambda with the HTTP `handler`, flushing each invocation's metrics when it ends.
    pub async fn run_http<'a, R, E, F, Fut>(
        self,
        mut handler: F,
    ) -> Result<(), lambda_runtime::Error>
    where
        F: FnMut(lambda_http::Request) -> Fut,
        Fut: Future<Output = Result<R, E>> + Send + 'a,
        E: Into<Diagnostic> + Debug,
        R: lambda_http::IntoResponse,
    {
        service::run_http(
            self.collector,
            lambda_http::service_fn(move |request| {
                self.begin_invocation();
                self.flushed_after(handler(request))
            }),
        )
        .await
    }

    /// `invocation`, then the flush of its metrics: before its answer goes back to Lambda, so
    /// that the documents are logged within the invocation (the crate's own flush, after the
    /// answer, then has nothing left to write).
    /// The invocation is boxed: nested in the runtime's layers, its type is otherwise too deep
    /// for the compiler's layout of the outbox's `main`.
    async fn flushed_after<T>(self, invocation: impl Future<Output = T>) -> T {
        let output = Box::pin(invocation).await;
        if let Err(error) = self.flush(std::io::stdout()) {
            tracing::error!(%error, "metrics not written");
        }
        output
    }

    /// Forgets the order of the invocation before: the recorder's properties outlive a flush.
    pub fn begin_invocation(&self) {
        self.collector
            .remove_property(ORDER_ID_PROPERTY)
            .remove_property(CORRELATION_ID_PROPERTY);
    }

    /// Writes the metrics recorded since the last flush, one EMF document a line.
    pub fn flush(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        self.collector.flush(writer)
    }
}

/// Adds one to `name` (a constant of [`names`]), with dimension `service` only.
pub fn count(name: &'static str) {
    add(name, 1);
}

/// Adds `n` to `name`, with dimension `service` only.
pub fn add(name: &'static str, n: u64) {
    metrics::counter!(name).increment(n);
}

/// Adds one to `name` for events of `event_type`: dimensions `service` and `eventType`.
pub fn count_event(name: &'static str, event_type: &str) {
    metrics::counter!(name, EVENT_TYPE_DIMENSION => event_type.to_owned()).increment(1);
}

/// Records one order's business latency (`OrderLatency`), in milliseconds.
pub fn order_latency(milliseconds: f64) {
    metrics::histogram!(names::ORDER_LATENCY).record(milliseconds);
}

/// Says which order this invocation handles: properties of its documents, so that an order's
/// metrics can be found in the logs. Nothing when no recorder is installed (unit tests).
pub fn about_order(order_id: impl Display, correlation_id: Option<&str>) {
    let Some(installed) = INSTALLED.get() else {
        return;
    };
    installed
        .collector
        .set_property(ORDER_ID_PROPERTY, order_id.to_string());
    if let Some(correlation_id) = correlation_id {
        installed
            .collector
            .set_property(CORRELATION_ID_PROPERTY, correlation_id.to_owned());
    }
}
