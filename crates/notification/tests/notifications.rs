//! notification with in-memory SNS and idempotency records.

use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::idempotency::{IdempotencyStore, Idempotent, Once};
use notification::{NotifyError, handle};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use testkit::fakes::{InMemoryIdempotencyStore, InMemoryNotifier};

struct World {
    notifier: InMemoryNotifier,
    records: InMemoryIdempotencyStore,
    once: Idempotent<InMemoryIdempotencyStore>,
}

fn world() -> World {
    let records = InMemoryIdempotencyStore::default();
    World {
        notifier: InMemoryNotifier::default(),
        once: Idempotent::new(
            records.clone(),
            Duration::from_secs(3600),
            Duration::from_secs(30),
        ),
        records,
    }
}

fn event(
    source: &str,
    event_type: &str,
    causation_id: &str,
    data: Value,
) -> EventBridgeEvent<Value> {
    serde_json::from_value(json!({
        "version": "0", "id": "eb", "detail-type": event_type, "source": source,
        "account": "000000000000", "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "metadata": {
                "eventId": uuid::Uuid::new_v4(), "eventType": event_type, "eventVersion": 1,
                "occurredAt": "2026-11-22T10:00:00.000Z", "correlationId": "corr-7",
                "causationId": causation_id, "producer": "test"
            },
            "data": data
        }
    }))
    .unwrap()
}

fn order_completed() -> EventBridgeEvent<Value> {
    event(
        "order-service",
        "OrderCompleted",
        "payment-event-1",
        json!({"orderId": 101, "amount": 100, "currency": "USD", "paymentId": "pay-9"}),
    )
}

async fn send(world: &World, event: EventBridgeEvent<Value>) -> Result<Once<String>, NotifyError> {
    // Delivered as Lambda does: the detail as raw JSON.
    let raw: EventBridgeEvent<Box<RawValue>> =
        serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
    handle(&world.notifier, &world.once, raw).await
}

#[tokio::test]
async fn each_event_type_gets_its_own_message_with_attributes_to_filter_on() {
    let world = world();
    let cases = [
        (
            event(
                "order-service",
                "OrderCreated",
                "req-1",
                json!({"orderId": 101, "amount": 100, "currency": "USD"}),
            ),
            "Order 101 received: 100.00 USD",
            "Order 101 for 100.00 USD was received and is awaiting payment.",
        ),
        (
            event(
                "payment-service",
                "PaymentSucceeded",
                "created-1",
                json!({"orderId": 101, "amount": 100, "currency": "USD", "paymentId": "pay-9"}),
            ),
            "Payment for order 101 succeeded",
            "The payment of 100.00 USD for order 101 succeeded (payment pay-9).",
        ),
        (
            order_completed(),
            "Order 101 completed: 100.00 USD",
            "Order 101 is complete: 100.00 USD paid (payment pay-9).",
        ),
        (
            event(
                "payment-service",
                "PaymentFailed",
                "created-2",
                json!({"orderId": "ord-2", "amount": 600, "currency": "EUR", "reason": "amount 600 is over the fraud threshold of 500"}),
            ),
            "Payment for order ord-2 failed",
            "The payment of 600.00 EUR for order ord-2 failed: amount 600 is over the fraud threshold of 500.",
        ),
        (
            event(
                "order-service",
                "OrderCancelled",
                "payment-event-2",
                json!({"orderId": "ord-2", "amount": 600, "currency": "EUR", "reason": "amount 600 is over the fraud threshold of 500"}),
            ),
            "Order ord-2 cancelled",
            "Order ord-2 for 600.00 EUR was cancelled: amount 600 is over the fraud threshold of 500.",
        ),
    ];
    for (event, subject, first_line) in cases {
        let event_type = event.detail["metadata"]["eventType"]
            .as_str()
            .unwrap()
            .to_owned();
        let order_id = event.detail["data"]["orderId"]
            .to_string()
            .trim_matches('"')
            .to_owned();
        assert!(matches!(send(&world, event).await.unwrap(), Once::Done(_)));
        let sent = world.notifier.sent().pop().unwrap();
        assert_eq!(sent.subject, subject);
        assert_eq!(sent.body.lines().next(), Some(first_line));
        assert!(
            sent.body.contains("Correlation id: corr-7"),
            "{}",
            sent.body
        );
        assert_eq!(
            (sent.event_type.as_str(), sent.order_id.as_str()),
            (event_type.as_str(), order_id.as_str())
        );
    }
    assert_eq!(world.notifier.sent().len(), 5);
}

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_message() {
    let world = world();
    let delivery = order_completed();
    let first = send(&world, delivery.clone()).await.unwrap();
    let again = send(&world, delivery).await.unwrap();
    assert!(matches!(first, Once::Done(_)));
    assert_eq!(again, Once::Replayed(first.into_inner()));
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn a_second_event_of_the_same_type_and_cause_sends_no_second_message() {
    let world = world();
    // Two deliveries of one cause with distinct event ids, as a payment workflow run twice makes.
    send(&world, order_completed()).await.unwrap();
    send(&world, order_completed()).await.unwrap();
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn a_failed_send_is_retried_and_then_sent_once() {
    let world = world();
    world.notifier.fail_calls(1);
    let error = send(&world, order_completed()).await.unwrap_err();
    assert!(matches!(error, NotifyError::Send(_)), "{error:?}");
    assert!(world.notifier.sent().is_empty());

    send(&world, order_completed()).await.unwrap();
    send(&world, order_completed()).await.unwrap();
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn an_event_being_sent_elsewhere_is_retried_later() {
    let world = world();
    let now = chrono::Utc::now();
    let in_an_hour = now + chrono::Duration::hours(1);
    world
        .records
        .claim(
            "notification:OrderCompleted:payment-event-1",
            now,
            in_an_hour,
            in_an_hour,
        )
        .await
        .unwrap();
    let error = send(&world, order_completed()).await.unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "NotificationInProgress"
    );
    assert!(world.notifier.sent().is_empty());
}

#[tokio::test]
async fn an_abandoned_send_is_taken_over() {
    let world = world();
    let now = chrono::Utc::now();
    world
        .records
        .claim(
            "notification:OrderCompleted:payment-event-1",
            now - chrono::Duration::minutes(5),
            now + chrono::Duration::hours(1),
            now - chrono::Duration::minutes(4),
        )
        .await
        .unwrap();
    assert!(matches!(
        send(&world, order_completed()).await.unwrap(),
        Once::Done(_)
    ));
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn an_unknown_event_type_still_tells_people() {
    let world = world();
    send(
        &world,
        event(
            "order-service",
            "OrderShipped",
            "x",
            json!({"orderId": "A-1", "carrier": "post"}),
        ),
    )
    .await
    .unwrap();
    let sent = world.notifier.sent().pop().unwrap();
    assert_eq!(sent.subject, "OrderShipped for order A-1");
    assert_eq!(sent.order_id, "A-1");
}

#[tokio::test]
async fn a_malformed_event_is_an_error_and_sends_nothing() {
    let world = world();
    let mut broken = order_completed();
    broken.detail["data"]["amount"] = json!("lots");
    assert!(matches!(
        send(&world, broken).await,
        Err(NotifyError::Unreadable(_))
    ));
    let mut no_envelope = order_completed();
    no_envelope.detail = json!({"id": 101});
    assert!(matches!(
        send(&world, no_envelope).await,
        Err(NotifyError::Unreadable(_))
    ));
    assert!(world.notifier.sent().is_empty());
}

#[test]
fn subjects_are_cut_to_what_sns_accepts() {
    let metadata: domain::EventMetadata = serde_json::from_value(json!({
        "eventId": uuid::Uuid::new_v4(), "eventType": "X".repeat(150), "eventVersion": 1,
        "occurredAt": "2026-11-22T10:00:00.000Z", "correlationId": "c", "causationId": "c", "producer": "p"
    }))
    .unwrap();
    let message = notification::message::for_unknown_event(&metadata, Some("1"));
    assert_eq!(message.subject.len(), 100);
    assert!(message.subject.ends_with("..."));
}
