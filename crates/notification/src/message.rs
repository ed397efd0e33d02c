//! The words: one subject and body per event type.

use domain::envelope::EventMetadata;
use domain::events::SystemEvent;
use domain::order::OrderEvent;
use domain::payment::PaymentEvent;
use domain::ports::Notification;
use domain::{Currency, DomainEvent, Money};

/// SNS refuses subjects over 100 characters.
const MAX_SUBJECT: usize = 100;

fn price(amount: Money, currency: Currency) -> String {
    format!("{amount} {currency}")
}

/// The message for a known event.
pub fn for_event(metadata: &EventMetadata, event: &SystemEvent) -> Notification {
    let id = event.order_id();
    let (subject, text) = match event {
        SystemEvent::Order(OrderEvent::Created(e)) => (
            format!("Order {id} received: {}", price(e.amount, e.currency)),
            format!(
                "Order {id} for {} was received and is awaiting payment.",
                price(e.amount, e.currency)
            ),
        ),
        SystemEvent::Order(OrderEvent::Completed(e)) => (
            format!("Order {id} completed: {}", price(e.amount, e.currency)),
            format!(
                "Order {id} is complete: {} paid (payment {}).",
                price(e.amount, e.currency),
                e.payment_id
            ),
        ),
        SystemEvent::Order(OrderEvent::Cancelled(e)) => (
            format!("Order {id} cancelled"),
            format!(
                "Order {id} for {} was cancelled: {}.",
                price(e.amount, e.currency),
                e.reason
            ),
        ),
        SystemEvent::Payment(PaymentEvent::Succeeded(e)) => (
            format!("Payment for order {id} succeeded"),
            format!(
                "The payment of {} for order {id} succeeded (payment {}).",
                price(e.amount, e.currency),
                e.payment_id
            ),
        ),
        SystemEvent::Payment(PaymentEvent::Failed(e)) => (
            format!("Payment for order {id} failed"),
            format!(
                "The payment of {} for order {id} failed: {}.",
                price(e.amount, e.currency),
                e.reason
            ),
        ),
    };
    notification(metadata, event.event_type(), id.key(), subject, text)
}

/// The message for an event type this code does not know yet: people still hear of it.
pub fn for_unknown_event(metadata: &EventMetadata, order_id: Option<&str>) -> Notification {
    let order = order_id.unwrap_or("-");
    notification(
        metadata,
        &metadata.event_type,
        order.to_owned(),
        format!("{} for order {order}", metadata.event_type),
        format!(
            "Event {} (version {}) happened for order {order}.",
            metadata.event_type, metadata.event_version
        ),
    )
}

fn notification(
    metadata: &EventMetadata,
    event_type: &str,
    order_id: String,
    mut subject: String,
    text: String,
) -> Notification {
    if subject.len() > MAX_SUBJECT {
        let mut end = MAX_SUBJECT - 3;
        while !subject.is_char_boundary(end) {
            end -= 1;
        }
        subject.truncate(end);
        subject.push_str("...");
    }
    Notification {
        subject,
        body: format!(
            "{text}\n\nEvent: {event_type} {}\nAt: {}\nCorrelation id: {}\n",
            metadata.event_id,
            domain::envelope::format_timestamp(metadata.occurred_at),
            metadata.correlation_id
        ),
        event_type: event_type.to_owned(),
        order_id,
    }
}
