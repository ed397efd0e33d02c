//! Order 101 (100 USD, correlation id `corr-101`) and its payment results as EventBridge
//! delivers them to update-order: shared by the test files.
// Each test file uses a part of it.
#![allow(dead_code)]

use domain::order::OrderId;
use domain::order::repository::OrderRepository;
use domain::ports::EventStore;
use serde_json::{Value, json};
use testkit::builders::{causation, new_order};

/// Order 101 of 100 USD, created in `store` with correlation id `corr-101`.
pub async fn given_a_created_order(store: &(impl EventStore + Clone)) {
    OrderRepository::new(store.clone())
        .create(
            new_order(OrderId::Number(101)).build(),
            &causation("corr-101"),
        )
        .await
        .unwrap();
}

pub fn payment_event(detail_type: &str, event_id: &str, data: Value) -> Value {
    json!({
        "version": "0",
        "id": "eb-1",
        "detail-type": detail_type,
        "source": "payment-service",
        "account": "000000000000",
        "time": "2026-11-22T10:00:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "metadata": {
                "eventId": event_id,
                "eventType": detail_type,
                "eventVersion": 1,
                "occurredAt": "2026-11-22T10:00:01.000Z",
                "correlationId": "corr-101",
                "causationId": "order-created-event-id",
                "producer": "payment-state-machine"
            },
            "data": data
        }
    })
}

pub fn succeeded(event_id: &str) -> Value {
    payment_event(
        "PaymentSucceeded",
        event_id,
        json!({"orderId": 101, "amount": 100, "currency": "USD", "paymentId": "pay-1"}),
    )
}

pub fn failed(event_id: &str) -> Value {
    payment_event(
        "PaymentFailed",
        event_id,
        json!({"orderId": 101, "amount": 100, "currency": "USD", "reason": "amount 100 is over the fraud threshold of 50"}),
    )
}
