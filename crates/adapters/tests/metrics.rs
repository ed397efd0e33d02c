//! The metrics' setup: what an invocation's documents hold, checked against the embedded metric
//! format's specification (testkit::metrics). A test binary of its own: the recorder is one per
//! process.

use adapters::metrics::{
    self, CORRELATION_ID_PROPERTY, MetricsError, NAMESPACE_VARIABLE, ORDER_ID_PROPERTY, names,
};
use serde_json::json;
use testkit::metrics::{NAMESPACE, capture, check_emf};

const SERVICE: &str = "adapters-test";

#[tokio::test]
async fn given_a_count_when_the_invocation_ends_then_it_is_one_document_with_the_service_dimension_and_unit_count()
 {
    let ((), emitted) = capture(SERVICE, async {
        metrics::count(names::ORDERS_PLACED);
        metrics::count(names::ORDERS_PLACED);
    })
    .await;

    let placed = emitted.metric(names::ORDERS_PLACED, &[]).expect("emitted");
    assert_eq!(placed.namespace, NAMESPACE);
    assert_eq!(placed.unit.as_deref(), Some("Count"));
    assert_eq!(placed.values, vec![2.0]);
    assert_eq!(
        placed.dimensions.get("service").map(String::as_str),
        Some(SERVICE)
    );
    assert_eq!(emitted.names(), vec![names::ORDERS_PLACED]);
}

#[tokio::test]
async fn given_counts_of_two_event_types_when_flushed_then_each_type_is_its_own_dimension_value() {
    let ((), emitted) = capture(SERVICE, async {
        metrics::count_event(names::EVENTS_PROCESSED, "OrderCreated");
        metrics::count_event(names::EVENTS_PROCESSED, "OrderCreated");
        metrics::count_event(names::EVENTS_PROCESSED, "OrderCompleted");
    })
    .await;

    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCreated")]),
        2.0
    );
    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCompleted")]),
        1.0
    );
    assert_eq!(emitted.count(names::EVENTS_PROCESSED, &[]), 0.0);
}

#[tokio::test]
async fn given_order_latencies_when_flushed_then_every_value_is_kept_in_milliseconds() {
    let ((), emitted) = capture(SERVICE, async {
        metrics::order_latency(1250.0);
        metrics::order_latency(80.5);
    })
    .await;

    let latency = emitted.metric(names::ORDER_LATENCY, &[]).expect("emitted");
    assert_eq!(latency.unit.as_deref(), Some("Milliseconds"));
    assert_eq!(latency.values, vec![1250.0, 80.5]);
}

#[tokio::test]
async fn given_an_invocation_about_an_order_then_its_documents_name_the_order_and_the_next_invocations_do_not()
 {
    let ((), about_one) = capture(SERVICE, async {
        metrics::about_order("alice.101", Some("corr-1"));
        metrics::count(names::PAYMENTS_CHARGED);
    })
    .await;
    let ((), next) = capture(SERVICE, async {
        metrics::count(names::PAYMENTS_CHARGED);
    })
    .await;

    assert_eq!(
        about_one.property(ORDER_ID_PROPERTY),
        vec![Some("alice.101")]
    );
    assert_eq!(
        about_one.property(CORRELATION_ID_PROPERTY),
        vec![Some("corr-1")]
    );
    let charged = about_one
        .metric(names::PAYMENTS_CHARGED, &[])
        .expect("emitted");
    assert!(
        !charged.dimensions.contains_key(ORDER_ID_PROPERTY),
        "an order is never a dimension"
    );
    assert_eq!(next.property(ORDER_ID_PROPERTY), vec![None]);
    assert_eq!(next.property(CORRELATION_ID_PROPERTY), vec![None]);
}

#[tokio::test]
async fn given_nothing_recorded_when_the_invocation_ends_then_no_document_is_written() {
    let ((), emitted) = capture(SERVICE, async {}).await;

    assert!(emitted.0.is_empty());
}

#[test]
fn given_no_namespace_in_the_environment_when_a_function_starts_then_it_fails_naming_the_variable()
{
    assert!(
        std::env::var_os(NAMESPACE_VARIABLE).is_none(),
        "run the tests without {NAMESPACE_VARIABLE}"
    );

    let error = metrics::init("create-order").err().expect("refused");

    assert!(matches!(error, MetricsError::MissingNamespace(_)));
    assert!(error.to_string().contains(NAMESPACE_VARIABLE));
}

#[test]
fn given_documents_that_break_the_specification_then_the_check_names_each_violation() {
    let valid = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
            "Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "A", "Unit": "Count"}]}]},
        "service": "s", "A": 1
    });
    let no_timestamp = json!({
        "_aws": {"CloudWatchMetrics": [{
            "Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}]}]},
        "service": "s", "A": 1
    });
    let bad_unit = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
            "Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "A", "Unit": "Orders"}]}]},
        "service": "s", "A": 1
    });
    let dimension_missing = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
            "Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}]}]},
        "A": 1
    });
    let value_not_a_number = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
            "Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}]}]},
        "service": "s", "A": "one"
    });

    assert_eq!(check_emf(&valid), Ok(()));
    for broken in [
        no_timestamp,
        bad_unit,
        dimension_missing,
        value_not_a_number,
    ] {
        assert!(check_emf(&broken).is_err(), "accepted {broken}");
    }
}

#[test]
fn the_catalogue_has_one_unit_per_name_and_every_name_is_a_cloudwatch_metric_name() {
    let source = include_str!("../src/metrics/names.rs");
    let declared: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split('"').nth(1))
        .collect();

    assert_eq!(declared.len(), 13);
    for name in declared {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}"
        );
    }
}
