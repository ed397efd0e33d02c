//! In-memory adapters for unit tests: the same ports, no AWS. They record what happened and can
//! be told to fail, so tests can check retries and partial failures.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use domain::idempotency::{Claim, IdempotencyStore};
use domain::order::OrderView;
use domain::payment::{Charge, ChargeOnRecord, PaymentLedger};
use domain::ports::{
    AppendError, EventPublisher, EventStore, InfrastructureError, Notification, Notifier,
    OrderViews, Page, PageError, PublicationLog, PublishOutcome, Snapshot, SnapshotStore,
    ViewWriteError,
};
use domain::{EventKey, RecordedEvent};
use uuid::Uuid;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock already failed; keep the data usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Each stored event with the time it was marked published, if it was.
type StoredEvents = BTreeMap<EventKey, (RecordedEvent, Option<DateTime<Utc>>)>;

#[derive(Clone, Debug, Default)]
pub struct InMemoryEventStore {
    events: Arc<Mutex<StoredEvents>>,
    failing: Arc<Mutex<bool>>,
}

impl InMemoryEventStore {
    /// Every stored event, ordered by aggregate and version.
    pub fn events(&self) -> Vec<RecordedEvent> {
        lock(&self.events)
            .values()
            .map(|(event, _)| event.clone())
            .collect()
    }

    pub fn published_at(&self, key: &EventKey) -> Option<DateTime<Utc>> {
        lock(&self.events).get(key).and_then(|(_, at)| *at)
    }

    /// While set, every call fails as if the table could not be reached.
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.failing) = unavailable;
    }

    fn check_available(&self) -> Result<(), InfrastructureError> {
        if *lock(&self.failing) {
            Err(InfrastructureError("event store unavailable".into()))
        } else {
            Ok(())
        }
    }
}

impl EventStore for InMemoryEventStore {
    async fn append(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
        self.check_available()?;
        let mut stored = lock(&self.events);
        if let Some(taken) = events
            .iter()
            .find(|event| stored.contains_key(&event.key()))
        {
            return Err(AppendError::Conflict {
                aggregate_id: taken.aggregate_id.clone(),
                version: taken.version,
            });
        }
        for event in events {
            stored.insert(event.key(), (event.clone(), None));
        }
        Ok(())
    }

    async fn load(&self, aggregate_id: &str) -> Result<Vec<RecordedEvent>, InfrastructureError> {
        self.check_available()?;
        Ok(lock(&self.events)
            .values()
            .filter(|(event, _)| event.aggregate_id == aggregate_id)
            .map(|(event, _)| event.clone())
            .collect())
    }
}

impl PublicationLog for InMemoryEventStore {
    async fn published(&self, keys: &[EventKey]) -> Result<HashSet<EventKey>, InfrastructureError> {
        self.check_available()?;
        let stored = lock(&self.events);
        Ok(keys
            .iter()
            .filter(|key| stored.get(key).is_some_and(|(_, at)| at.is_some()))
            .cloned()
            .collect())
    }

    async fn mark_published(
        &self,
        key: &EventKey,
        at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        self.check_available()?;
        match lock(&self.events).get_mut(key) {
            Some((_, published_at)) => {
                published_at.get_or_insert(at);
                Ok(())
            }
            None => Err(InfrastructureError(format!("no event {key:?}"))),
        }
    }
}

/// A bus that keeps what it is given. Entries can be made to fail one by one, or whole calls.
#[derive(Clone, Debug, Default)]
pub struct InMemoryBus {
    state: Arc<Mutex<BusState>>,
}

#[derive(Debug, Default)]
struct BusState {
    published: Vec<RecordedEvent>,
    batch_sizes: Vec<usize>,
    /// Event id -> how many more attempts to reject.
    rejections: HashMap<Uuid, usize>,
    failing_calls: usize,
}

impl InMemoryBus {
    /// Everything published, in order, duplicates included.
    pub fn published(&self) -> Vec<RecordedEvent> {
        lock(&self.state).published.clone()
    }

    /// The number of entries of each publish call that reached the bus.
    pub fn batch_sizes(&self) -> Vec<usize> {
        lock(&self.state).batch_sizes.clone()
    }

    /// Rejects the entry of this event in the next `times` calls that include it.
    pub fn reject(&self, event_id: Uuid, times: usize) {
        lock(&self.state).rejections.insert(event_id, times);
    }

    /// Fails the next `calls` publish calls as a whole.
    pub fn fail_calls(&self, calls: usize) {
        lock(&self.state).failing_calls = calls;
    }
}

impl EventPublisher for InMemoryBus {
    const MAX_BATCH_ENTRIES: usize = 10;
    const MAX_BATCH_BYTES: usize = 256 * 1024;

    fn entry_size(&self, event: &RecordedEvent) -> usize {
        event.source.len() + event.event_type.len() + event.detail.len() + 14
    }

    async fn publish(
        &self,
        events: &[RecordedEvent],
    ) -> Result<Vec<PublishOutcome>, InfrastructureError> {
        let mut state = lock(&self.state);
        assert!(
            events.len() <= Self::MAX_BATCH_ENTRIES,
            "batch of {} entries",
            events.len()
        );
        let bytes: usize = events.iter().map(|e| self.entry_size(e)).sum();
        assert!(bytes <= Self::MAX_BATCH_BYTES, "batch of {bytes} bytes");
        state.batch_sizes.push(events.len());
        if state.failing_calls > 0 {
            state.failing_calls -= 1;
            return Err(InfrastructureError("bus unavailable".into()));
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            match state.rejections.get_mut(&event.event_id) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    outcomes.push(PublishOutcome::Failed {
                        code: "InternalFailure".into(),
                        message: "rejected by the test".into(),
                    });
                }
                _ => {
                    state.published.push(event.clone());
                    outcomes.push(PublishOutcome::Published);
                }
            }
        }
        Ok(outcomes)
    }
}

/// Idempotency records in memory, with the same claim rules as the DynamoDB store.
#[derive(Clone, Debug, Default)]
pub struct InMemoryIdempotencyStore {
    records: Arc<Mutex<HashMap<String, IdempotencyRecord>>>,
}

#[derive(Clone, Debug)]
struct IdempotencyRecord {
    result: Option<String>,
    expires_at: DateTime<Utc>,
    in_progress_until: DateTime<Utc>,
}

impl InMemoryIdempotencyStore {
    /// The stored result of `key`, if its work completed.
    pub fn result(&self, key: &str) -> Option<String> {
        lock(&self.records).get(key).and_then(|r| r.result.clone())
    }

    pub fn keys(&self) -> Vec<String> {
        lock(&self.records).keys().cloned().collect()
    }
}

impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<Claim, InfrastructureError> {
        let mut records = lock(&self.records);
        if let Some(record) = records.get(key).filter(|r| r.expires_at >= now) {
            match &record.result {
                Some(result) => return Ok(Claim::Completed(result.clone())),
                None if record.in_progress_until >= now => return Ok(Claim::InProgress),
                None => {} // abandoned: take it over
            }
        }
        records.insert(
            key.to_owned(),
            IdempotencyRecord {
                result: None,
                expires_at,
                in_progress_until,
            },
        );
        Ok(Claim::Acquired)
    }

    async fn complete(
        &self,
        key: &str,
        result: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        let mut records = lock(&self.records);
        let record = records
            .get_mut(key)
            .ok_or_else(|| InfrastructureError(format!("no claim on {key}")))?;
        record.result = Some(result.to_owned());
        record.expires_at = expires_at;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), InfrastructureError> {
        let mut records = lock(&self.records);
        if records.get(key).is_some_and(|r| r.result.is_none()) {
            records.remove(key);
        }
        Ok(())
    }
}

/// A notifier that keeps what it sends, and can be told to fail.
#[derive(Clone, Debug, Default)]
pub struct InMemoryNotifier {
    sent: Arc<Mutex<Vec<Notification>>>,
    failing_calls: Arc<Mutex<usize>>,
}

impl InMemoryNotifier {
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }

    /// Fails the next `calls` sends.
    pub fn fail_calls(&self, calls: usize) {
        *lock(&self.failing_calls) = calls;
    }
}

impl Notifier for InMemoryNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, InfrastructureError> {
        let mut failing = lock(&self.failing_calls);
        if *failing > 0 {
            *failing -= 1;
            return Err(InfrastructureError("topic unavailable".into()));
        }
        let mut sent = lock(&self.sent);
        sent.push(notification.clone());
        Ok(format!("message-{}", sent.len()))
    }
}

/// A payment ledger in memory: one charge per order key.
#[derive(Clone, Debug, Default)]
pub struct InMemoryPaymentLedger {
    charges: Arc<Mutex<HashMap<String, Charge>>>,
}

impl InMemoryPaymentLedger {
    pub fn charges(&self) -> Vec<Charge> {
        lock(&self.charges).values().cloned().collect()
    }
}

impl PaymentLedger for InMemoryPaymentLedger {
    async fn record(&self, charge: &Charge) -> Result<ChargeOnRecord, InfrastructureError> {
        let mut charges = lock(&self.charges);
        let key = charge.order_id.key();
        let new = !charges.contains_key(&key);
        let on_record = charges.entry(key).or_insert_with(|| charge.clone());
        Ok(ChargeOnRecord {
            payment_id: on_record.payment_id.clone(),
            amount: on_record.amount,
            currency: on_record.currency,
            new,
        })
    }
}

/// Order views in memory, with the DynamoDB adapter's version check and customer listing.
#[derive(Clone, Debug, Default)]
pub struct InMemoryOrderViews {
    views: Arc<Mutex<BTreeMap<String, OrderView>>>,
}

impl InMemoryOrderViews {
    pub fn all(&self) -> Vec<OrderView> {
        lock(&self.views).values().cloned().collect()
    }
}

impl OrderViews for InMemoryOrderViews {
    async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        Ok(lock(&self.views).get(key).cloned())
    }

    async fn put(&self, view: &OrderView, expected_version: u64) -> Result<(), ViewWriteError> {
        let mut views = lock(&self.views);
        let held = views.get(&view.id.key()).map_or(0, |v| v.version);
        if held != expected_version {
            return Err(ViewWriteError::Conflict);
        }
        views.insert(view.id.key(), view.clone());
        Ok(())
    }

    /// Newest first; the cursor is simply how many orders were already returned.
    async fn by_customer(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        let skip: usize = cursor
            .map(str::parse)
            .transpose()
            .map_err(|_| PageError::BadCursor)?
            .unwrap_or(0);
        let mut orders: Vec<OrderView> = lock(&self.views)
            .values()
            .filter(|v| v.customer_id.as_deref() == Some(customer_id))
            .cloned()
            .collect();
        orders.sort_by_key(|view| std::cmp::Reverse((view.created_at, view.id.key())));
        let items: Vec<OrderView> = orders
            .iter()
            .skip(skip)
            .take(limit as usize)
            .cloned()
            .collect();
        let next = skip + items.len();
        Ok(Page {
            next_cursor: (next < orders.len()).then(|| next.to_string()),
            items,
        })
    }
}

/// Snapshots in memory: the latest per aggregate.
#[derive(Clone, Debug, Default)]
pub struct InMemorySnapshotStore {
    snapshots: Arc<Mutex<HashMap<String, Snapshot>>>,
}

impl SnapshotStore for InMemorySnapshotStore {
    async fn latest(&self, aggregate_id: &str) -> Result<Option<Snapshot>, InfrastructureError> {
        Ok(lock(&self.snapshots).get(aggregate_id).cloned())
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), InfrastructureError> {
        let mut snapshots = lock(&self.snapshots);
        if snapshots
            .get(&snapshot.aggregate_id)
            .is_none_or(|held| held.version < snapshot.version)
        {
            snapshots.insert(snapshot.aggregate_id.clone(), snapshot.clone());
        }
        Ok(())
    }
}

/// A DynamoDB stream record as Lambda delivers it (JSON), holding `new_image`: for tests and
/// benchmarks that hand a stream consumer a batch without a stream.
pub fn stream_record(
    event_name: &str,
    sequence_number: &str,
    new_image: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "eventID": format!("evt-{sequence_number}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_763_800_000.0,
            "Keys": {"aggregateId": new_image["aggregateId"], "version": new_image["version"]},
            "NewImage": new_image,
            "SequenceNumber": sequence_number,
            "SizeBytes": 300,
            "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/events/stream/2026-11-22T00:00:00.000"
    })
}

/// A stored event as the stream's `NewImage` shows it (before it is marked as published).
pub fn stream_image(event: &RecordedEvent) -> serde_json::Value {
    serde_json::json!({
        "aggregateId": {"S": event.aggregate_id},
        "version": {"N": event.version.to_string()},
        "source": {"S": event.source},
        "eventId": {"S": event.event_id.to_string()},
        "eventType": {"S": event.event_type},
        "occurredAt": {"S": domain::envelope::format_timestamp(event.occurred_at)},
        "detail": {"S": event.detail}
    })
}

/// The events an event store holds for order `id` of `customer`, placed at `placed_at` and, if
/// `paid`, completed a second later: for tests that need a believable history without running
/// the services.
pub fn recorded_order(
    id: &str,
    customer: Option<&str>,
    paid: bool,
    placed_at: DateTime<Utc>,
) -> Vec<RecordedEvent> {
    use domain::order::{NewOrder, ORDER_SERVICE, Order, OrderCommand, OrderId};
    use domain::{Causation, Currency, Money};

    let causation = Causation {
        correlation_id: format!("corr-{id}"),
        causation_id: "cause".into(),
        producer: "test".into(),
    };
    let mut commands = vec![OrderCommand::Create(NewOrder {
        id: OrderId::Text(id.into()),
        amount: Money::from_cents(1_000),
        currency: Currency::DEFAULT,
        customer_id: customer.map(str::to_owned),
        items: vec![],
        channel: None,
        placed_by: customer.map(str::to_owned),
    })];
    if paid {
        commands.push(OrderCommand::Complete {
            payment_id: format!("pay-{id}"),
        });
    }
    let mut order = Order::default();
    let mut recorded = Vec::new();
    for (n, command) in commands.into_iter().enumerate() {
        let events = order.handle(command).expect("a valid command");
        let at = placed_at + chrono::Duration::seconds(n as i64);
        for event in events {
            let envelope = causation.envelope(event, at);
            recorded.push(RecordedEvent::new(
                id,
                order.version() + 1,
                ORDER_SERVICE,
                &envelope,
            ));
            order.apply(&envelope.data);
        }
    }
    recorded
}
