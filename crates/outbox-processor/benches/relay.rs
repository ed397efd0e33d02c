//! The outbox's own work per stream batch, without AWS: decoding the batch Lambda delivers and
//! relaying its events (publication check, PutEvents-sized batches, marking) against in-memory
//! ports. What is left of an invocation's time is the calls to DynamoDB and EventBridge.
//!
//!   cargo bench -p outbox-processor            (add `-- --quick` for a quick pass)

use std::hint::black_box;

use adapters::memory::{self, InMemoryBus, InMemoryEventStore};
use aws_lambda_events::event::dynamodb::Event;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use domain::order::{ORDER_SERVICE, OrderCreated, OrderEvent, OrderId};
use domain::ports::EventStore;
use domain::{Causation, Currency, Money, RecordedEvent};
use outbox_processor::{Outbox, handle_batch};

/// The stream's batch size in the template.
const BATCH: u64 = 10;

fn order_created(id: u64) -> RecordedEvent {
    let causation = Causation {
        correlation_id: "7d3c2a9e-4b1f-4e8d-a6c5-0f9e8d7c6b5a".into(),
        causation_id: "req-1".into(),
        producer: "create-order".into(),
    };
    let envelope = causation.envelope(
        OrderEvent::Created(OrderCreated {
            order_id: OrderId::Number(id),
            amount: Money::from_cents(5_998),
            currency: Currency::DEFAULT,
            customer_id: Some("cust-7".into()),
            items: vec![],
            channel: None,
            placed_by: None,
        }),
        chrono::Utc::now(),
    );
    RecordedEvent::new(id.to_string(), 1, ORDER_SERVICE, &envelope)
}

fn relay(c: &mut Criterion) {
    let events: Vec<RecordedEvent> = (1..=BATCH).map(order_created).collect();
    let batch = serde_json::to_vec(&serde_json::json!({
        "Records": events
            .iter()
            .enumerate()
            .map(|(n, event)| memory::stream_record("INSERT", &format!("{}", 100 + n), memory::stream_image(event)))
            .collect::<Vec<_>>()
    }))
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let mut group = c.benchmark_group("outbox");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("decode and relay a stream batch of 10 events", |b| {
        b.iter_batched(
            || {
                let store = InMemoryEventStore::default();
                runtime.block_on(store.append(&events)).unwrap();
                Outbox::new(InMemoryBus::default(), store)
            },
            |outbox| {
                let event: Event = serde_json::from_slice(black_box(&batch)).unwrap();
                let response = runtime.block_on(handle_batch(&outbox, event)).unwrap();
                assert!(response.batch_item_failures.is_empty());
                outbox
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
