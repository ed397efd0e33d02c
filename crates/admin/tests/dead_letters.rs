//! Reading dead letters in the shapes the stack's three mechanisms write them. The bodies in
//! `dead_letters/` are: an asynchronous failure as LocalStack's Lambda wrote it into the
//! update-order queue; stream failures as LocalStack's stream poller builds them
//! (`create_dlq_event`), with and without the request context it leaves out when records grew
//! too old; an undelivered event, which is the event itself.

use std::collections::HashMap;

use admin::dead_letters::{About, Kind, StreamFailure, execution_name, read};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/dead_letters/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn no_attributes() -> HashMap<String, String> {
    HashMap::new()
}

fn rule_attributes() -> HashMap<String, String> {
    [
        (
            "RULE_ARN",
            "arn:aws:events:us-east-1:000000000000:rule/eda-demo/payment-service-filtering-orders",
        ),
        (
            "TARGET_ARN",
            "arn:aws:states:us-east-1:000000000000:stateMachine:eda-demo-payment-service",
        ),
        ("ERROR_CODE", "SDK_CLIENT_ERROR"),
        ("ERROR_MESSAGE", "Unable to invoke the target"),
        ("EXHAUSTED_RETRY_CONDITION", "MaximumRetryAttempts"),
        ("RETRY_ATTEMPTS", "185"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

#[test]
fn a_stream_failure_points_at_a_range_of_records() {
    let kind = read(&fixture("stream-failure.json"), &no_attributes());
    let expected = StreamFailure {
        condition: Some("RetryAttemptsExhausted".into()),
        function_arn: Some(
            "arn:aws:lambda:us-east-1:000000000000:function:eda-demo-outbox-processor".into(),
        ),
        invocations: Some(6),
        shard_id: Some("shardId-00000001796030000000-5c1a2b3d".into()),
        first_sequence_number: Some(
            "49659836912345678901234567890123456789012345678901233".into(),
        ),
        last_sequence_number: Some("49659836912345678901234567890123456789012345678901234".into()),
        batch_size: Some(2),
        stream_arn: Some(
            "arn:aws:dynamodb:us-east-1:000000000000:table/eda-demo-event-store/stream/2026-11-30T10:30:00.000"
                .into(),
        ),
    };
    assert_eq!(kind, Kind::StreamFailure(expected));
    assert_eq!(
        kind.to_string(),
        "stream failure: RetryAttemptsExhausted, shard shardId-00000001796030000000-5c1a2b3d, \
         records 49659836912345678901234567890123456789012345678901233..\
         49659836912345678901234567890123456789012345678901234 (2 records)"
    );
}

#[test]
fn a_stream_failure_without_its_request_context_is_still_one() {
    let kind = read(&fixture("stream-failure-record-age.json"), &no_attributes());
    assert!(
        kind.to_string()
            .starts_with("stream failure: ?, shard shardId-")
    );
    let Kind::StreamFailure(failure) = kind else {
        panic!("not read as a stream failure");
    };
    assert_eq!(failure.condition, None);
    assert_eq!(failure.batch_size, Some(5));
}

#[test]
fn an_async_failure_holds_the_event_and_the_functions_error() {
    let body = fixture("async-failure.json");
    let Kind::AsyncFailure(failure) = read(&body, &no_attributes()) else {
        panic!("not read as an async failure");
    };
    assert_eq!(failure.condition.as_deref(), Some("RetriesExhausted"));
    assert_eq!(failure.invocations, Some(3));
    assert_eq!(
        failure.request_id.as_deref(),
        Some("5a93060e-7020-43f7-8183-7302a6fc3fc8")
    );
    assert_eq!(
        failure.about,
        About {
            detail_type: Some("PaymentSucceeded".into()),
            event_id: Some("3f1cc73d-2685-40eb-bd8d-cd552bffe888".into()),
            order_id: Some("ord-dlq-probe-async-947e2d58".into()),
        }
    );
    assert_eq!(failure.error_type.as_deref(), Some("UnknownOrder"));
    let whole: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(failure.event.as_ref(), Some(&whole["requestPayload"]));
    assert_eq!(
        Kind::AsyncFailure(failure).to_string(),
        "async failure: RetriesExhausted after 3 invocations, PaymentSucceeded event \
         3f1cc73d-2685-40eb-bd8d-cd552bffe888 order ord-dlq-probe-async-947e2d58: UnknownOrder: \
         payment result for order ord-dlq-probe-async-947e2d58, which does not exist"
    );
}

#[test]
fn an_async_failure_of_a_zero_concurrency_function_has_no_response() {
    // Lambda leaves responseContext and responsePayload out when it never ran the function.
    let body = json!({
        "version": "1.0",
        "timestamp": "2026-11-30T10:59:05.027Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:eda-demo-notification:$LATEST",
            "condition": "ZeroReservedConcurrency",
            "approximateInvokeCount": 0
        },
        "requestPayload": {"detail-type": "OrderCreated", "detail": {"data": {"orderId": "o-1"}}}
    });
    let kind = read(&body.to_string(), &no_attributes());
    assert_eq!(
        kind.to_string(),
        "async failure: ZeroReservedConcurrency after 0 invocations, OrderCreated event ? \
         order o-1: ?: ?"
    );
}

#[test]
fn an_undelivered_event_is_the_event_with_the_rules_reasons() {
    let body = fixture("undelivered.json");
    let Kind::Undelivered(undelivered) = read(&body, &rule_attributes()) else {
        panic!("not read as an undelivered event");
    };
    assert_eq!(
        undelivered.event,
        serde_json::from_str::<Value>(&body).unwrap()
    );
    // The samples' order id is a number: shown all the same.
    assert_eq!(undelivered.about.order_id.as_deref(), Some("101"));
    assert_eq!(undelivered.error_code.as_deref(), Some("SDK_CLIENT_ERROR"));
    assert!(undelivered.rule_arn.is_some() && undelivered.target_arn.is_some());
    assert_eq!(
        Kind::Undelivered(undelivered).to_string(),
        "undelivered event: OrderCreated event 5f0c6f1e-2b8a-4d55-9a3e-8c1d2f4b6a70 order 101: \
         SDK_CLIENT_ERROR (Unable to invoke the target)"
    );
}

#[test]
fn a_malformed_detail_shows_what_can_be_read() {
    let cases = [
        (
            json!({"detail-type": "OrderCreated", "detail": "not an object"}),
            "OrderCreated event ? order ?",
        ),
        (
            json!({"detail-type": 7, "detail": {"metadata": null, "data": {"orderId": ["o"]}}}),
            "7 event ? order ?",
        ),
        (
            json!({"detail": {"metadata": {"eventId": "e-1"}}}),
            "? event e-1 order ?",
        ),
    ];
    for (body, about) in cases {
        assert_eq!(
            read(&body.to_string(), &no_attributes()).to_string(),
            format!("undelivered event: {about}: ?"),
            "{body}"
        );
    }
}

#[test]
fn anything_else_is_unreadable_and_says_why() {
    for body in [
        "",
        "not json",
        "[1, 2]",
        "\"text\"",
        "{\"hello\": \"world\"}",
    ] {
        let kind = read(body, &no_attributes());
        assert!(
            matches!(kind, Kind::Unreadable(_)),
            "{body:?} read as {kind:?}"
        );
        assert!(kind.to_string().starts_with("unreadable: "));
    }
}

#[test]
fn the_execution_is_named_after_the_event_so_a_second_redrive_starts_none() {
    let event: Value = serde_json::from_str(&fixture("undelivered.json")).unwrap();
    assert_eq!(
        execution_name(&event, "message-1"),
        "5f0c6f1e-2b8a-4d55-9a3e-8c1d2f4b6a70"
    );
    for unusable in [
        json!("has a space"),
        json!("a/b"),
        json!("x".repeat(81)),
        json!(""),
        json!(null),
    ] {
        let event = json!({"detail": {"metadata": {"eventId": unusable}}});
        assert_eq!(
            execution_name(&event, "message-1"),
            "message-1",
            "{unusable}"
        );
    }
    assert_eq!(execution_name(&json!({}), "message-1"), "message-1");
}
