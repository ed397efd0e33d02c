//! notification's metrics, as its invocations emit them (testkit::metrics checks each document
//! against the embedded metric format's specification). A test binary of its own: the metrics
//! recorder is one per process.

use std::time::Duration;

use adapters::metrics::names;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::idempotency::Idempotent;
use notification::handle;
use serde_json::json;
use serde_json::value::RawValue;
use testkit::fakes::{InMemoryIdempotencyStore, InMemoryNotifier};
use testkit::metrics::{Emitted, capture};

const SERVICE: &str = "notification";

fn once() -> Idempotent<InMemoryIdempotencyStore> {
    Idempotent::new(
        InMemoryIdempotencyStore::default(),
        Duration::from_secs(3600),
        Duration::from_secs(30),
    )
}

fn order_completed(event_id: &str) -> String {
    json!({
        "version": "0", "id": "eb", "detail-type": "OrderCompleted", "source": "order-service",
        "account": "000000000000", "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "metadata": {
                "eventId": event_id, "eventType": "OrderCompleted", "eventVersion": 1,
                "occurredAt": "2026-11-22T10:00:00.000Z", "correlationId": "corr-7",
                "causationId": "payment-event-1", "producer": "test"
            },
            "data": {"orderId": "alice.101", "amount": 100, "currency": "USD", "paymentId": "pay-9"}
        }
    })
    .to_string()
}

/// Delivers an event as Lambda does, as one invocation: whether it succeeded, and its documents.
async fn deliver(
    notifier: &InMemoryNotifier,
    once: &Idempotent<InMemoryIdempotencyStore>,
    event: &str,
) -> (bool, Emitted) {
    let raw: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(event).unwrap();
    let (result, emitted) = capture(SERVICE, handle(notifier, once, raw)).await;
    (result.is_ok(), emitted)
}

#[tokio::test]
async fn given_an_order_event_when_its_message_is_sent_then_it_is_counted_by_event_type_for_that_order()
 {
    let (notifier, once) = (InMemoryNotifier::default(), once());

    let (ok, emitted) = deliver(
        &notifier,
        &once,
        &order_completed(&uuid::Uuid::new_v4().to_string()),
    )
    .await;

    assert!(ok);
    assert_eq!(
        emitted.count(
            names::NOTIFICATIONS_SENT,
            &[("eventType", "OrderCompleted")]
        ),
        1.0
    );
    assert_eq!(
        emitted.count(names::EVENTS_PROCESSED, &[("eventType", "OrderCompleted")]),
        1.0
    );
    assert_eq!(
        emitted.names(),
        vec![names::EVENTS_PROCESSED, names::NOTIFICATIONS_SENT]
    );
    assert_eq!(emitted.property("orderId"), vec![Some("alice.101")]);
    assert_eq!(emitted.property("correlationId"), vec![Some("corr-7")]);
}

#[tokio::test]
async fn given_a_message_sent_when_the_event_comes_again_then_it_is_a_duplicate_and_nothing_is_sent()
 {
    let (notifier, once) = (InMemoryNotifier::default(), once());
    let event = order_completed(&uuid::Uuid::new_v4().to_string());
    deliver(&notifier, &once, &event).await;

    let (ok, again) = deliver(&notifier, &once, &event).await;

    assert!(ok);
    assert_eq!(
        again.count(
            names::DUPLICATES_SKIPPED,
            &[("eventType", "OrderCompleted")]
        ),
        1.0
    );
    assert_eq!(
        again.count(
            names::NOTIFICATIONS_SENT,
            &[("eventType", "OrderCompleted")]
        ),
        0.0
    );
}

#[tokio::test]
async fn given_an_event_that_is_not_an_envelope_then_it_is_counted_as_failed() {
    let (notifier, once) = (InMemoryNotifier::default(), once());
    let not_an_envelope = json!({
        "version": "0", "id": "eb", "detail-type": "OrderCompleted", "source": "order-service",
        "account": "000000000000", "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"hello": "world"}
    })
    .to_string();

    let (ok, emitted) = deliver(&notifier, &once, &not_an_envelope).await;

    assert!(!ok);
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "Unreadable")]),
        1.0
    );
    assert_eq!(emitted.names(), vec![names::EVENTS_FAILED]);
}

#[tokio::test]
async fn given_the_topic_failing_when_a_message_is_sent_then_the_event_is_counted_as_failed() {
    let (notifier, once) = (InMemoryNotifier::default(), once());
    notifier.fail_calls(1);

    let (ok, emitted) = deliver(
        &notifier,
        &once,
        &order_completed(&uuid::Uuid::new_v4().to_string()),
    )
    .await;

    assert!(!ok);
    assert_eq!(
        emitted.count(names::EVENTS_FAILED, &[("eventType", "OrderCompleted")]),
        1.0
    );
    assert_eq!(
        emitted.count(
            names::NOTIFICATIONS_SENT,
            &[("eventType", "OrderCompleted")]
        ),
        0.0
    );
}
