//! The domain's work per event, without any I/O: what each function spends its CPU on.
//!
//!   cargo bench -p domain                      full measurement
//!   cargo bench -p domain -- --quick           a quick pass (CI runs this so the benches cannot rot)

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::order::{
    NewOrder, Order, OrderCommand, OrderCompleted, OrderEvent, OrderId, OrderView, Projected,
    parse_new_order,
};
use domain::{Currency, EventEnvelope, Money, RecordedEvent};
use testkit::builders::causation;

const BODY: &[u8] = br#"{"id":"A-1001","amount":59.98,"customerId":"cust-7","channel":"web",
    "items":[{"productId":"PROD_001","quantity":2,"price":29.99}]}"#;

/// The correlation id every benchmarked event carries.
const CORRELATION_ID: &str = "7d3c2a9e-4b1f-4e8d-a6c5-0f9e8d7c6b5a";

fn completed() -> OrderEvent {
    OrderEvent::Completed(OrderCompleted {
        order_id: OrderId::Text("A-1001".into()),
        amount: Money::from_cents(5_998),
        currency: Currency::DEFAULT,
        payment_id: "pay-1".into(),
    })
}

/// The two events of a paid order, as stored.
fn history() -> Vec<(u64, EventEnvelope<OrderEvent>)> {
    let order = Order::default();
    let created = order
        .handle(OrderCommand::Create(parse_new_order(BODY).unwrap()))
        .unwrap();
    let causation = causation(CORRELATION_ID);
    vec![
        (1, causation.envelope(created[0].clone(), Utc::now())),
        (2, causation.envelope(completed(), Utc::now())),
    ]
}

fn place_order(c: &mut Criterion) {
    let mut group = c.benchmark_group("command side");
    group.throughput(Throughput::Elements(1));
    // What POST /orders does between receiving the body and calling DynamoDB.
    group.bench_function("validate + handle + record an order", |b| {
        let causation = causation(CORRELATION_ID);
        b.iter(|| {
            let new_order: NewOrder = parse_new_order(black_box(BODY)).unwrap();
            let key = new_order.id.key();
            let order = Order::default();
            let events = order.handle(OrderCommand::Create(new_order)).unwrap();
            let envelope = causation.envelope(events.into_iter().next().unwrap(), Utc::now());
            black_box(RecordedEvent::new(key, 1, "order-service", &envelope))
        })
    });
    let recorded: Vec<RecordedEvent> = history()
        .iter()
        .map(|(version, envelope)| {
            RecordedEvent::new("A-1001", *version, "order-service", envelope)
        })
        .collect();
    group.bench_function("decode a stored event", |b| {
        b.iter(|| black_box(OrderEvent::from_recorded(black_box(&recorded[0])).unwrap()))
    });
    group.finish();
}

fn fold_and_project(c: &mut Criterion) {
    let history = history();
    let events: Vec<OrderEvent> = history.iter().map(|(_, e)| e.data.clone()).collect();
    let mut group = c.benchmark_group("folding and applying");

    // An order's state from its events, as every command on it does (a paid order: 2 events,
    // the first cloning the order's details into the state).
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("fold a paid order's events into its state", |b| {
        b.iter(|| black_box(Order::from_events(black_box(&events))))
    });

    // The projection applying one order's events to its view (a typical order: 2 events).
    group.throughput(Throughput::Elements(history.len() as u64));
    group.bench_function("project a paid order's events into its view", |b| {
        b.iter(|| {
            let mut view: Option<OrderView> = None;
            for (version, event) in black_box(&history) {
                if let Projected::Changed(next) =
                    OrderView::project(view.as_ref(), *version, event).unwrap()
                {
                    view = Some(*next);
                }
            }
            black_box(view)
        })
    });
    // A redelivered event: the check that makes it a no-op.
    let view = OrderView::fold(history.iter().map(|(v, e)| (*v, e)))
        .unwrap()
        .unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("project a redelivered event (no-op)", |b| {
        b.iter(|| black_box(OrderView::project(Some(&view), 2, black_box(&history[1].1)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, place_order, fold_and_project);
criterion_main!(benches);
