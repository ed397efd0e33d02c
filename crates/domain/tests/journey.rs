//! The spans an order's events are handled in put the order's ids on every line logged there,
//! as the functions' JSON logs show them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use domain::journey::{handling_span, recorded_span};
use domain::order::{OrderEvent, OrderId};
use domain::{EventEnvelope, RecordedEvent};
use serde_json::Value;
use testkit::builders::{causation, new_order};

/// The JSON lines logged while `work` runs, as lambda_runtime's subscriber writes them.
fn logged(work: impl FnOnce()) -> Vec<Value> {
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, work);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn created() -> EventEnvelope<OrderEvent> {
    let order = new_order(OrderId::Text("alice.102".into())).created_event();
    causation("corr-102").envelope(order, chrono::Utc::now())
}

#[test]
fn a_line_logged_while_handling_an_event_carries_the_orders_ids() {
    let event = created();
    let lines = logged(|| {
        handling_span(&event.metadata, "alice.102").in_scope(|| tracing::info!("handled"));
    });
    let span = &lines[0]["span"];
    assert_eq!(span["correlationId"], "corr-102");
    assert_eq!(span["eventId"], event.metadata.event_id.to_string());
    assert_eq!(span["causationId"], event.metadata.causation_id.as_str());
    assert_eq!(span["orderId"], "alice.102");
    assert_eq!(lines[0]["fields"]["message"], "handled");
}

#[test]
fn a_stored_events_span_is_read_from_its_envelope() {
    let event = created();
    let recorded = RecordedEvent::new("alice.102", 1, "order-service", &event);
    let lines = logged(|| recorded_span(&recorded).in_scope(|| tracing::warn!("not applied")));
    let span = &lines[0]["span"];
    assert_eq!(span["correlationId"], "corr-102");
    assert_eq!(span["eventId"], event.metadata.event_id.to_string());
    assert_eq!(span["orderId"], event.data.order_id().key());
}

#[test]
fn an_unreadable_stored_event_still_names_its_id_and_order() {
    let mut recorded = RecordedEvent::new("alice.102", 1, "order-service", &created());
    recorded.detail = "{}".into();
    let lines = logged(|| recorded_span(&recorded).in_scope(|| tracing::warn!("unreadable")));
    let span = &lines[0]["span"];
    assert_eq!(span["eventId"], recorded.event_id.to_string());
    assert_eq!(span["orderId"], "alice.102");
}
