//! The outbox's own work per stream batch, without AWS: decoding the batch Lambda delivers and
//! relaying its events (publication check, PutEvents-sized batches, marking) against in-memory
//! ports. What is left of an invocation's time is the calls to DynamoDB and EventBridge.
//!
//!   cargo bench -p outbox-processor            (add `-- --quick` for a quick pass)

use std::hint::black_box;

use aws_lambda_events::event::dynamodb::Event;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use domain::order::OrderId;
use domain::ports::EventStore;
use domain::{Money, RecordedEvent};
use outbox_processor::{Outbox, handle_batch};
use testkit::builders::{causation, new_order};
use testkit::fakes::{InMemoryBus, InMemoryEventStore};
use testkit::history::recorded;
use testkit::stream::{stream_image, stream_record};

/// The stream's batch size in the template.
const BATCH: u64 = 10;

fn order_created(id: u64) -> RecordedEvent {
    let created = new_order(OrderId::Number(id))
        .amount(Money::from_cents(5_998))
        .customer("cust-7")
        .created_event();
    let causation = causation("7d3c2a9e-4b1f-4e8d-a6c5-0f9e8d7c6b5a");
    recorded(&id.to_string(), [created], &causation, chrono::Utc::now()).remove(0)
}

fn relay(c: &mut Criterion) {
    let events: Vec<RecordedEvent> = (1..=BATCH).map(order_created).collect();
    let batch = serde_json::to_vec(&serde_json::json!({
        "Records": events
            .iter()
            .enumerate()
            .map(|(n, event)| stream_record("INSERT", &format!("{}", 100 + n), stream_image(event)))
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
