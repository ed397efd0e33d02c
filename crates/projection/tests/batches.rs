//! The projection over in-memory views: stream batches as Lambda delivers them, with
//! duplicates, redeliveries, gaps, poison records and a concurrent writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adapters::stream::StreamedEvent;
use aws_lambda_events::event::dynamodb::Event;
use chrono::Utc;
use domain::RecordedEvent;
use domain::order::{OrderEvent, OrderStatus, OrderView};
use domain::order::{OrderViews, Page, PageError, ViewWriteError};
use domain::ports::InfrastructureError;
use projection::{Projection, ProjectionReport};
use proptest::prelude::*;
use serde_json::json;
use testkit::fakes::InMemoryOrderViews;
use testkit::history::recorded_order;
use testkit::stream::{stream_image, stream_record};

/// The recorded events of order `id`: created, then completed if `paid`.
fn history(id: &str, paid: bool) -> Vec<RecordedEvent> {
    recorded_order(id, Some("c-1"), paid, Utc::now())
}

fn records(events: &[&RecordedEvent]) -> Vec<StreamedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| StreamedEvent {
            id: format!("{:06}", i + 1),
            event: (*event).clone(),
        })
        .collect()
}

fn expected_view(events: &[RecordedEvent]) -> OrderView {
    let decoded: Vec<_> = events
        .iter()
        .map(|e| (e.version, OrderEvent::from_recorded(e).unwrap()))
        .collect();
    OrderView::fold(decoded.iter().map(|(v, e)| (*v, e)))
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn each_order_gets_its_view_from_its_events() {
    let (a, b) = (history("A", true), history("B", false));
    let views = InMemoryOrderViews::default();
    let batch = records(&[&a[0], &b[0], &a[1]]);

    let report = Projection::new(views.clone()).project(batch).await;

    assert_eq!(
        report,
        ProjectionReport {
            applied: 3,
            unchanged: 0,
            failed: vec![]
        }
    );
    let a_view = views.get("A").await.unwrap().unwrap();
    assert_eq!(a_view, expected_view(&a));
    assert_eq!(a_view.status, OrderStatus::Completed);
    assert_eq!(
        views.get("B").await.unwrap().unwrap().status,
        OrderStatus::Created
    );
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let a = history("A", true);
    let views = InMemoryOrderViews::default();
    let projection = Projection::new(views.clone());
    projection.project(records(&[&a[0], &a[1]])).await;

    let again = projection.project(records(&[&a[0], &a[1], &a[1]])).await;

    assert_eq!(
        again,
        ProjectionReport {
            applied: 0,
            unchanged: 3,
            failed: vec![]
        }
    );
    assert_eq!(views.get("A").await.unwrap().unwrap(), expected_view(&a));
}

#[tokio::test]
async fn an_event_after_a_gap_is_retried_not_skipped() {
    let a = history("A", true);
    let views = InMemoryOrderViews::default();
    let projection = Projection::new(views.clone());

    let report = projection.project(records(&[&a[1]])).await;
    assert_eq!(report.failed, ["000001"]);
    assert!(views.get("A").await.unwrap().is_none());

    projection.project(records(&[&a[0], &a[1]])).await;
    assert_eq!(views.get("A").await.unwrap().unwrap(), expected_view(&a));
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_order_only() {
    let (a, b) = (history("A", true), history("B", true));
    let views = InMemoryOrderViews::default();
    // A's completion arrives without its creation; B is whole.
    let report = Projection::new(views.clone())
        .project(records(&[&a[1], &b[0], &b[1]]))
        .await;
    assert_eq!(report.failed, ["000001"]);
    assert_eq!(report.applied, 2);
    assert_eq!(views.get("B").await.unwrap().unwrap(), expected_view(&b));
}

#[tokio::test]
async fn an_unreadable_record_is_reported() {
    let a = history("A", false);
    let mut unreadable = stream_image(&a[0]);
    unreadable["version"] = json!({"S": "not a number"});
    let batch: Event = serde_json::from_value(json!({"Records": [
        stream_record("INSERT", "000001", stream_image(&a[0])),
        stream_record("INSERT", "000002", unreadable),
    ]}))
    .unwrap();
    let views = InMemoryOrderViews::default();

    let response = Projection::new(views.clone())
        .handle_batch(batch)
        .await
        .unwrap();

    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "000002"}]})
    );
    assert_eq!(views.get("A").await.unwrap().unwrap(), expected_view(&a));
}

/// Views whose writes conflict the first `conflicts` times, as if another writer got there.
#[derive(Clone)]
struct ContestedViews(InMemoryOrderViews, Arc<AtomicUsize>);

impl OrderViews for ContestedViews {
    async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        self.0.get(key).await
    }

    async fn put(&self, view: &OrderView, expected_version: u64) -> Result<(), ViewWriteError> {
        if self.1.load(Ordering::SeqCst) > 0 {
            self.1.fetch_sub(1, Ordering::SeqCst);
            return Err(ViewWriteError::Conflict);
        }
        self.0.put(view, expected_version).await
    }

    async fn by_customer(
        &self,
        customer: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        self.0.by_customer(customer, limit, cursor).await
    }
}

#[tokio::test]
async fn a_conflicting_write_retries_every_record_of_that_order() {
    let a = history("A", true);
    let inner = InMemoryOrderViews::default();
    let projection = Projection::new(ContestedViews(inner.clone(), Arc::new(AtomicUsize::new(1))));

    let report = projection.project(records(&[&a[0], &a[1]])).await;
    assert_eq!(report.failed, ["000001", "000002"]);
    assert!(inner.get("A").await.unwrap().is_none());

    let retried = projection.project(records(&[&a[0], &a[1]])).await;
    assert_eq!(retried.failed, Vec::<String>::new());
    assert_eq!(inner.get("A").await.unwrap().unwrap(), expected_view(&a));
}

proptest! {
    /// Whatever the batch boundaries and however often records are delivered again, the views
    /// end up as the events say: Lambda's retries (from the first failed record on) and
    /// duplicates only ever cost work, never correctness.
    #[test]
    fn batches_with_duplicates_and_retries_end_in_the_folded_views(
        orders in proptest::collection::vec(any::<bool>(), 1..5),
        duplicates in proptest::collection::vec(0usize..12, 0..8),
        batch_sizes in proptest::collection::vec(1usize..6, 40),
    ) {
        let histories: Vec<Vec<RecordedEvent>> = orders
            .iter()
            .enumerate()
            .map(|(i, paid)| history(&format!("O{i}"), *paid))
            .collect();
        // The stream: each order's events in order, orders interleaved round-robin, then extra
        // copies of earlier records re-inserted as at-least-once delivery may.
        let mut stream: Vec<&RecordedEvent> = Vec::new();
        for version in 0..2 {
            for history in &histories {
                if let Some(event) = history.get(version) {
                    stream.push(event);
                }
            }
        }
        for position in duplicates {
            let at = position % stream.len();
            let copy = stream[position % (at + 1)];
            stream.insert(at + 1, copy);
        }
        let all = records(&stream);

        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let views = InMemoryOrderViews::default();
        let projection = Projection::new(views.clone());
        let mut start = 0;
        let mut sizes = batch_sizes.iter().cycle();
        let mut turns = 0;
        while start < all.len() {
            turns += 1;
            prop_assert!(turns < 500, "the stream never settles");
            let end = (start + sizes.next().unwrap()).min(all.len());
            let report = runtime.block_on(projection.project(all[start..end].to_vec()));
            start = match report.failed.first() {
                Some(first) => all.iter().position(|r| &r.id == first).unwrap(),
                None => end,
            };
        }
        for history in &histories {
            let key = history[0].aggregate_id.clone();
            let view = runtime.block_on(views.get(&key)).unwrap().unwrap();
            prop_assert_eq!(view, expected_view(history));
        }
    }
}
