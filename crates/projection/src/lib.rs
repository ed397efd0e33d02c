//! projection: the event store's stream in, the order views out.
//!
//! Each order's records in a batch are applied to its view in stream order and the view is
//! written once, on the condition that it is still at the version it was read at. An event the
//! view holds already changes nothing (redeliveries are harmless); an event that skips one is a
//! failure, retried until the missing one is in. The failed record is reported to Lambda, which
//! retries from it; the mapping parks what keeps failing in its dead-letter queue.

use std::collections::HashMap;

use adapters::stream::{StreamedEvent, inserted_events, retry};
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::order::{OrderEvent, OrderView, Projected};
use domain::ports::{OrderViews, ViewWriteError};
use futures::future::join_all;
use lambda_runtime::Error;

/// What became of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectionReport {
    /// Events newly applied to a view.
    pub applied: usize,
    /// Events the views already held.
    pub unchanged: usize,
    /// Sequence numbers of the records to retry, in stream order.
    pub failed: Vec<String>,
}

pub struct Projection<V> {
    views: V,
}

impl<V: OrderViews> Projection<V> {
    pub fn new(views: V) -> Self {
        Projection { views }
    }

    pub async fn handle_batch(&self, batch: Event) -> Result<DynamoDbEventResponse, Error> {
        let received = batch.records.len();
        let report = self.project(inserted_events(batch)?).await;
        tracing::info!(
            received,
            applied = report.applied,
            unchanged = report.unchanged,
            failed = report.failed.len(),
            "projection batch applied"
        );
        Ok(retry(report.failed))
    }

    pub async fn project(&self, records: Vec<StreamedEvent>) -> ProjectionReport {
        let mut by_order: Vec<(String, Vec<&StreamedEvent>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut unreadable = Vec::new();
        for record in &records {
            match &record.event {
                Ok(event) => {
                    let slot = *index.entry(event.aggregate_id.clone()).or_insert_with(|| {
                        by_order.push((event.aggregate_id.clone(), Vec::new()));
                        by_order.len() - 1
                    });
                    by_order[slot].1.push(record);
                }
                Err(reason) => {
                    tracing::error!(sequence_number = %record.sequence_number, %reason, "unreadable record");
                    unreadable.push(record.sequence_number.clone());
                }
            }
        }
        let outcomes = join_all(
            by_order
                .iter()
                .map(|(key, records)| self.project_order(key, records)),
        )
        .await;

        let mut report = ProjectionReport::default();
        let mut failed: Vec<String> = unreadable;
        for outcome in outcomes {
            report.applied += outcome.applied;
            report.unchanged += outcome.unchanged;
            failed.extend(outcome.failed);
        }
        report.failed = records
            .iter()
            .map(|record| &record.sequence_number)
            .filter(|sequence_number| failed.contains(sequence_number))
            .cloned()
            .collect();
        report
    }

    /// Applies one order's records to its view and writes the view once.
    async fn project_order(&self, key: &str, records: &[&StreamedEvent]) -> ProjectionReport {
        let mut outcome = ProjectionReport::default();
        let fail_from = |index: usize| {
            records[index..]
                .iter()
                .map(|r| r.sequence_number.clone())
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
        for (index, record) in records.iter().enumerate() {
            let Ok(recorded) = &record.event else {
                continue;
            };
            let projected = OrderEvent::from_recorded(recorded)
                .map_err(|error| error.to_string())
                .and_then(|event| {
                    OrderView::project(view.as_ref(), recorded.version, &event)
                        .map_err(|error| error.to_string())
                });
            match projected {
                Ok(Projected::Changed(next)) => {
                    first_change.get_or_insert(index);
                    view = Some(*next);
                    outcome.applied += 1;
                }
                Ok(Projected::Unchanged) => outcome.unchanged += 1,
                Err(reason) => {
                    // Later records of this order must wait for this one: retry from here.
                    tracing::warn!(order = key, version = recorded.version, %reason, "event not applied");
                    outcome.failed = fail_from(index);
                    break;
                }
            }
        }
        let (Some(view), Some(first_change)) = (view, first_change) else {
            return outcome;
        };
        match self.views.put(&view, held).await {
            Ok(()) => outcome,
            Err(error) => {
                if let ViewWriteError::Infrastructure(failure) = &error {
                    tracing::warn!(%failure, order = key, "view not written; retrying its records");
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
