//! Payment results as EventBridge delivers them to update-order, for order 101 (100 USD) with
//! correlation id `corr-101`: shared by the test files.
// Each test file uses a part of it.
#![allow(dead_code)]

use serde_json::{Value, json};

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
