//! projection: the event store's stream in, the order views out.
//!
//! Each order's records in a batch are applied to its view in stream order and the view is
//! written once, on the condition that it is still at the version it was read at. An event the
//! view holds already changes nothing (redeliveries are harmless); an event that skips one is a
//! failure, retried until the missing one is in. The failed record is reported to Lambda, which
//! retries from it; the mapping parks what keeps failing in its dead-letter queue.

use std::collections::{HashMap, HashSet};

use adapters::metrics::{self, names};
use adapters::stream::{BatchReport, StreamedEvent, in_order, process_batch};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::journey;
use domain::order::{OrderEvent, OrderView, Projected};
use domain::order::{OrderViews, ViewWriteError};
use futures::future::join_all;
use lambda_runtime::Error;

/// What became of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectionReport {
    /// Events newly applied to a view.
    pub applied: usize,
    /// Events the views already held.
    pub unchanged: usize,
    /// The ids of the events to retry, in stream order.
    pub failed: Vec<String>,
}

impl BatchReport for ProjectionReport {
    fn log(&self, received: usize) {
        let (applied, unchanged, failed) = (self.applied, self.unchanged, self.failed.len());
        tracing::info!(
            received,
            applied,
            unchanged,
            failed,
            "projection batch applied"
        );
    }

    fn into_failed(self) -> Vec<String> {
        self.failed
    }
}

pub struct Projection<V> {
    views: V,
}

impl<V: OrderViews> Projection<V> {
    pub fn new(views: V) -> Self {
        Projection { views }
    }

    pub async fn handle_batch(&self, batch: Event) -> Result<DynamoDbEventResponse, Error> {
        Ok(process_batch(batch, |events| self.project(events)).await?)
    }

    pub async fn project(&self, events: Vec<StreamedEvent>) -> ProjectionReport {
        let mut by_order: Vec<(&str, Vec<&StreamedEvent>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for streamed in &events {
            let order = streamed.event.aggregate_id.as_str();
            let slot = *index.entry(order).or_insert_with(|| {
                by_order.push((order, Vec::new()));
                by_order.len() - 1
            });
            by_order[slot].1.push(streamed);
        }
        let outcomes = join_all(
            by_order
                .iter()
                .map(|(key, events)| self.project_order(key, events)),
        )
        .await;

        let mut report = ProjectionReport::default();
        let mut failed = HashSet::new();
        for outcome in outcomes {
            report.applied += outcome.applied;
            report.unchanged += outcome.unchanged;
            failed.extend(outcome.failed);
        }
        let ids: Vec<String> = events.iter().map(|streamed| streamed.id.clone()).collect();
        report.failed = in_order(&ids, &failed);
        report
    }

    /// Applies one order's records to its view and writes the view once.
    async fn project_order(&self, key: &str, events: &[&StreamedEvent]) -> ProjectionReport {
        let mut outcome = ProjectionReport::default();
        let fail_from = |index: usize| {
            events[index..]
                .iter()
                .map(|streamed| streamed.id.clone())
                .collect()
        };
        let stored = match self.views.get(key).await {
            Ok(view) => view,
            Err(error) => {
                tracing::warn!(%error, order = key, "cannot read the view; retrying its records");
                outcome.failed = fail_from(0);
                return outcome;
            }
        };
        let held = stored.as_ref().map_or(0, |v| v.version);
        let mut view = stored;
        let mut first_change = None;
        // The span of the event last read: the view's line is logged in it.
        let mut span = tracing::Span::none();
        for (index, streamed) in events.iter().enumerate() {
            let recorded = &streamed.event;
            let mut decoded_span = None;
            let projected = OrderEvent::from_recorded(recorded)
                .map_err(|error| error.to_string())
                .and_then(|event| {
                    decoded_span = Some(journey::handling_span(&event.metadata, key));
                    OrderView::project(view.as_ref(), recorded.version, &event)
                        .map_err(|error| error.to_string())
                });
            // The envelope is read once; only one that cannot be decoded is read again, leniently.
            span = decoded_span.unwrap_or_else(|| journey::recorded_span(recorded));
            match projected {
                Ok(Projected::Changed(next)) => {
                    first_change.get_or_insert(index);
                    view = Some(*next);
                    outcome.applied += 1;
                }
                Ok(Projected::Unchanged) => {
                    outcome.unchanged += 1;
                    metrics::count_event(names::DUPLICATES_SKIPPED, &recorded.event_type);
                }
                Err(reason) => {
                    // Later records of this order must wait for this one: retry from here.
                    span.in_scope(|| tracing::warn!(order = key, version = recorded.version, %reason, "event not applied"));
                    outcome.failed = fail_from(index);
                    break;
                }
            }
        }
        let (Some(view), Some(first_change)) = (view, first_change) else {
            return outcome;
        };
        match self.views.put(&view, held).await {
            Ok(()) => {
                span.in_scope(|| {
                    tracing::info!(order = key, version = view.version, "view written")
                });
                outcome
            }
            Err(error) => {
                if let ViewWriteError::Infrastructure(failure) = &error {
                    span.in_scope(|| tracing::warn!(%failure, order = key, "view not written; retrying its records"));
                }
                // Nothing of this order was written: everything from its first change is retried
                // (which includes any record that failed after it).
                outcome.applied = 0;
                outcome.failed = fail_from(first_change);
                outcome
            }
        }
    }
}
