//! payment's metrics, as its invocations emit them (testkit::metrics checks each document
//! against the embedded metric format's specification). A test binary of its own: the metrics
//! recorder is one per process.

use std::time::Duration;

use adapters::metrics::names;
use domain::idempotency::Idempotent;
use payment::{ChargeRequest, PaymentService};
use serde_json::json;
use testkit::fakes::{InMemoryIdempotencyStore, InMemoryPaymentLedger};
use testkit::metrics::capture;

const SERVICE: &str = "payment";

fn request(order_id: u64) -> ChargeRequest {
    serde_json::from_value(json!({
        "order": {"orderId": order_id, "amount": 100, "currency": "USD"},
        "orderEventVersion": 2,
        "correlationId": "corr-1",
        "causationId": "evt-created-1"
    }))
    .unwrap()
}

fn service(
    ledger: &InMemoryPaymentLedger,
) -> PaymentService<InMemoryPaymentLedger, InMemoryIdempotencyStore> {
    PaymentService::new(
        ledger.clone(),
        Idempotent::new(
            InMemoryIdempotencyStore::default(),
            Duration::from_secs(3600),
            Duration::from_secs(30),
        ),
    )
}

#[tokio::test]
async fn given_an_order_when_it_is_charged_then_one_charge_is_counted_for_that_order() {
    let ledger = InMemoryPaymentLedger::default();

    let (result, emitted) = capture(SERVICE, service(&ledger).charge(request(101))).await;

    result.unwrap();
    assert_eq!(emitted.count(names::PAYMENTS_CHARGED, &[]), 1.0);
    assert_eq!(emitted.names(), vec![names::PAYMENTS_CHARGED]);
    assert_eq!(emitted.property("orderId"), vec![Some("101")]);
    assert_eq!(emitted.property("correlationId"), vec![Some("corr-1")]);
}

#[tokio::test]
async fn given_an_order_charged_when_the_task_is_retried_then_it_is_a_duplicate_not_a_second_charge()
 {
    let ledger = InMemoryPaymentLedger::default();
    let payment = service(&ledger);
    // Inside a capture too: metrics emitted outside one would land in another test's.
    capture(SERVICE, payment.charge(request(102)))
        .await
        .0
        .unwrap();

    let (result, again) = capture(SERVICE, payment.charge(request(102))).await;

    result.unwrap();
    assert_eq!(again.count(names::PAYMENTS_CHARGED, &[]), 0.0);
    assert_eq!(
        again.count(names::DUPLICATES_SKIPPED, &[("eventType", "OrderCreated")]),
        1.0
    );
}

#[tokio::test]
async fn given_an_order_in_the_ledger_but_not_in_the_records_then_the_repeat_is_a_duplicate() {
    let ledger = InMemoryPaymentLedger::default();
    capture(SERVICE, service(&ledger).charge(request(103)))
        .await
        .0
        .unwrap();

    // Another workflow run, whose idempotency records are not the first one's.
    let (result, again) = capture(SERVICE, service(&ledger).charge(request(103))).await;

    result.unwrap();
    assert_eq!(again.count(names::PAYMENTS_CHARGED, &[]), 0.0);
    assert_eq!(
        again.count(names::DUPLICATES_SKIPPED, &[("eventType", "OrderCreated")]),
        1.0
    );
}
