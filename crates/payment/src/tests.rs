use std::time::Duration;

use serde_json::json;
use testkit::fakes::{InMemoryIdempotencyStore, InMemoryPaymentLedger};

use super::*;

/// The task's input as the state machine sends it, for an `OrderCreated` of version 2.
fn request(order: serde_json::Value) -> ChargeRequest {
    request_of_version(order, 2)
}

fn request_of_version(order: serde_json::Value, version: u32) -> ChargeRequest {
    serde_json::from_str(
        &json!({
            "order": order,
            "orderEventVersion": version,
            "correlationId": "corr-1",
            "causationId": "evt-created-1"
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_order_from_a_version_1_event_is_charged_in_us_dollars() {
    let ledger = InMemoryPaymentLedger::default();
    let request = request_of_version(json!({"orderId": 100, "amount": 100}), 1);
    assert_eq!(request.order.currency.as_str(), "USD");
    service(&ledger, None).charge(request).await.unwrap();
    assert_eq!(ledger.charges()[0].currency.as_str(), "USD");
}

fn once() -> Idempotent<InMemoryIdempotencyStore> {
    Idempotent::new(
        InMemoryIdempotencyStore::default(),
        Duration::from_secs(3600),
        Duration::from_secs(30),
    )
}

/// A payment service over `ledger`, with idempotency records of its own.
fn service(
    ledger: &InMemoryPaymentLedger,
    outage: Option<&str>,
) -> PaymentService<InMemoryPaymentLedger, InMemoryIdempotencyStore> {
    PaymentService::new(ledger.clone(), once()).with_simulated_outage(outage.map(str::to_owned))
}

#[tokio::test]
async fn an_order_is_charged_and_recorded() {
    let ledger = InMemoryPaymentLedger::default();
    let result = service(&ledger, None)
        .charge(request(
            json!({"orderId": 101, "amount": 100, "currency": "USD"}),
        ))
        .await
        .unwrap();
    assert!(result.payment_id.starts_with("pay-"));
    let charges = ledger.charges();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].payment_id, result.payment_id);
    assert_eq!(charges[0].correlation_id, "corr-1");
    assert_eq!(charges[0].causation_id, "evt-created-1");
}

#[tokio::test]
async fn a_retried_charge_returns_the_first_payment_and_charges_nothing_more() {
    let ledger = InMemoryPaymentLedger::default();
    let payments = service(&ledger, None);
    let order = json!({"orderId": "A-1", "amount": 59.98, "currency": "EUR", "customerId": "c-1"});
    let first = payments.charge(request(order.clone())).await.unwrap();
    let again = payments.charge(request(order)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(ledger.charges().len(), 1);
}

#[tokio::test]
async fn a_retry_after_the_idempotency_records_expired_still_charges_nothing_more() {
    let ledger = InMemoryPaymentLedger::default();
    let order = json!({"orderId": "A-2", "amount": 5, "currency": "USD"});
    let first = service(&ledger, None)
        .charge(request(order.clone()))
        .await
        .unwrap();
    // A fresh set of idempotency records: only the ledger remembers the charge.
    let again = service(&ledger, None).charge(request(order)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(ledger.charges().len(), 1);
}

#[tokio::test]
async fn a_different_amount_for_a_charged_order_is_a_conflict() {
    let ledger = InMemoryPaymentLedger::default();
    // Separate idempotency records per call, so the second request reaches the ledger.
    service(&ledger, None)
        .charge(request(
            json!({"orderId": 7, "amount": 10, "currency": "USD"}),
        ))
        .await
        .unwrap();
    let error = service(&ledger, None)
        .charge(request(
            json!({"orderId": 7, "amount": 11, "currency": "USD"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(Diagnostic::from(error).error_type, "PaymentConflict");
}

#[tokio::test]
async fn the_simulated_outage_fails_only_its_customer_and_records_nothing() {
    let ledger = InMemoryPaymentLedger::default();
    let payments = service(&ledger, Some("payment-down"));
    let error = payments
        .charge(request(
            json!({"orderId": 1, "amount": 5, "currency": "USD", "customerId": "payment-down"}),
        ))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "PaymentProviderUnavailable");
    assert!(
        diagnostic.error_message.contains("payment-down"),
        "{}",
        diagnostic.error_message
    );
    assert!(ledger.charges().is_empty());

    payments
        .charge(request(
            json!({"orderId": 2, "amount": 5, "currency": "USD", "customerId": "someone"}),
        ))
        .await
        .unwrap();
    payments
        .charge(request(
            json!({"orderId": 3, "amount": 5, "currency": "USD"}),
        ))
        .await
        .unwrap();
    assert_eq!(ledger.charges().len(), 2);
}

#[tokio::test]
async fn an_empty_outage_setting_means_no_outage() {
    let ledger = InMemoryPaymentLedger::default();
    service(&ledger, Some(""))
        .charge(request(
            json!({"orderId": 1, "amount": 5, "currency": "USD"}),
        ))
        .await
        .unwrap();
    assert_eq!(ledger.charges().len(), 1);
}

#[test]
fn the_state_machine_retries_exactly_the_transient_errors() {
    let definition: serde_json::Value = serde_json::from_str(include_str!(
        "../../../infra/statemachines/payment.asl.json"
    ))
    .unwrap();
    let retriers = definition["States"]["Charge"]["Retry"].as_array().unwrap();
    let attempts_for = |error: &str| {
        retriers
            .iter()
            .find(|retrier| {
                retrier["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(error))
            })
            .map(|retrier| retrier["MaxAttempts"].as_u64().unwrap())
    };
    let retried: Vec<&str> = retriers
        .iter()
        .flat_map(|retrier| retrier["ErrorEquals"].as_array().unwrap())
        .map(|e| e.as_str().unwrap())
        .collect();
    // A burst that throttles the function must delay orders, not cancel them.
    assert!(
        attempts_for("Lambda.TooManyRequestsException")
            > attempts_for(
                &Diagnostic::from(PaymentError::ProviderUnavailable(String::new())).error_type
            ),
        "throttling is retried longer than a provider outage"
    );
    // ...but within the run: an Express run lasts at most 5 minutes, and a charge that could not be
    // made by then must be handed to the recovery sweep by the run itself (below), not cut off.
    // The longest the retrier can wait in all, before full jitter shortens each wait at random,
    // leaves room for its attempts:
    let throttling = retriers
        .iter()
        .find(|retrier| retrier["ErrorEquals"][0] == "Lambda.TooManyRequestsException")
        .unwrap();
    let field = |name: &str| throttling[name].as_f64().unwrap();
    let longest_wait: f64 = (0..field("MaxAttempts") as i32)
        .map(|n| {
            (field("IntervalSeconds") * field("BackoffRate").powi(n)).min(field("MaxDelaySeconds"))
        })
        .sum();
    assert!(
        (60.0..=150.0).contains(&longest_wait),
        "throttling is retried for {longest_wait} s at most: at least a minute, at most half a run"
    );
    // What the retries could not make is not a refusal: the run fails with nothing published, the
    // order stays open, and the recovery sweep starts its payment again.
    let catchers = definition["States"]["Charge"]["Catch"].as_array().unwrap();
    let caught_into = |error: &str| {
        let catcher = catchers
            .iter()
            .find(|catcher| {
                let errors = catcher["ErrorEquals"].as_array().unwrap();
                errors.contains(&json!(error)) || errors.contains(&json!("States.ALL"))
            })
            .unwrap();
        &definition["States"][catcher["Next"].as_str().unwrap()]
    };
    // A timeout may come after the charge went through, and another run may be charging the same
    // order (an Express run can happen twice): asked again, never reported as a failed payment.
    for transient in [
        "Lambda.TooManyRequestsException",
        "Sandbox.Timedout",
        "PaymentInProgress",
    ] {
        assert_eq!(
            caught_into(transient)["Type"],
            "Fail",
            "{transient} after its retries is left to the recovery sweep"
        );
        assert_eq!(
            attempts_for(transient),
            attempts_for("Lambda.TooManyRequestsException"),
            "{transient} is retried like Lambda's own errors"
        );
    }
    let provider = Diagnostic::from(PaymentError::ProviderUnavailable(String::new())).error_type;
    assert_eq!(
        caught_into(&provider)["Type"],
        "Pass",
        "the provider's own failure cancels the order (described, then PaymentFailed published)"
    );
    let name = |error| Diagnostic::from(error).error_type;
    assert!(retried.contains(&name(PaymentError::ProviderUnavailable(String::new())).as_str()));
    assert!(
        retried.contains(
            &name(PaymentError::LedgerUnavailable(InfrastructureError(
                String::new()
            )))
            .as_str()
        )
    );
    assert!(retried.contains(&name(PaymentError::InProgress(String::new())).as_str()));
    let conflict = PaymentError::Conflict {
        order: String::new(),
        on_record: String::new(),
        requested: String::new(),
    };
    assert!(
        !retried.contains(&name(conflict).as_str()),
        "a conflict is permanent"
    );
}
