//! Relaying stored events to the bus, exactly once in effect.
//!
//! The stream delivers the event store's INSERTs in batches. A batch may be delivered again: when
//! this function reports a record as failed, Lambda re-delivers the stream from that record on,
//! so records after it that did get published come back too. Each event's `publishedAt` is
//! therefore checked before publishing and set after, and only events not yet on the bus are
//! published.

use std::collections::HashSet;
use std::hash::Hash;

use adapters::metrics::{self, names};
use adapters::stream::{BatchReport, StreamedEvent, in_order};
use chrono::Utc;
use domain::journey;
use domain::ports::{EventPublisher, PublicationLog, PublishOutcome};
use domain::{EventKey, RecordedEvent};
use futures::future::join_all;

/// What happened to a batch.
#[derive(Debug, PartialEq, Eq)]
pub struct RelayReport<Id = String> {
    pub published: usize,
    /// Already on the bus from an earlier delivery of the same record.
    pub already_published: usize,
    /// The ids of the events to retry, in input order.
    pub failed: Vec<Id>,
}

impl<Id> Default for RelayReport<Id> {
    fn default() -> Self {
        RelayReport {
            published: 0,
            already_published: 0,
            failed: Vec::new(),
        }
    }
}

impl BatchReport for RelayReport {
    fn log(&self, received: usize) {
        let (published, already_published) = (self.published, self.already_published);
        let failed = self.failed.len();
        tracing::info!(
            received,
            published,
            already_published,
            failed,
            "outbox batch relayed"
        );
    }

    fn into_failed(self) -> Vec<String> {
        self.failed
    }
}

pub struct Outbox<P, L> {
    publisher: P,
    log: L,
}

impl<P: EventPublisher, L: PublicationLog> Outbox<P, L> {
    pub fn new(publisher: P, log: L) -> Self {
        Outbox { publisher, log }
    }

    /// Publishes the events not yet on the bus and marks them; `Id` is whatever the caller
    /// knows each event by (a stream record's sequence number, an operator's event key).
    pub async fn relay<Id: Clone + Eq + Hash>(
        &self,
        events: Vec<StreamedEvent<Id>>,
    ) -> RelayReport<Id> {
        let mut report = RelayReport::default();
        let mut failed = HashSet::new();
        let mut pending: Vec<&StreamedEvent<Id>> = events.iter().collect();

        let keys: Vec<EventKey> = pending
            .iter()
            .map(|streamed| streamed.event.key())
            .collect();
        match self.log.published(&keys).await {
            Ok(published) => pending.retain(|streamed| {
                let done = published.contains(&streamed.event.key());
                if done {
                    report.already_published += 1;
                    metrics::count_event(names::DUPLICATES_SKIPPED, &streamed.event.event_type);
                }
                !done
            }),
            Err(error) => {
                tracing::error!(%error, "cannot read publication state; retrying the batch");
                failed.extend(pending.drain(..).map(|streamed| streamed.id.clone()));
            }
        }

        let batches: Vec<&[&StreamedEvent<Id>]> = self
            .publisher
            .batch_ranges(pending.iter().map(|streamed| &streamed.event))
            .into_iter()
            .map(|range| &pending[range])
            .collect();
        let outcomes = join_all(batches.iter().map(|batch| self.publish(batch))).await;
        for (batch, outcome) in batches.iter().zip(outcomes) {
            for (streamed, published) in batch.iter().zip(outcome) {
                if published {
                    report.published += 1;
                } else {
                    failed.insert(streamed.id.clone());
                }
            }
        }

        let ids: Vec<Id> = events.iter().map(|streamed| streamed.id.clone()).collect();
        report.failed = in_order(&ids, &failed);
        report
    }

    /// Publishes one batch and records what reached the bus; `true` per entry that did.
    async fn publish<Id>(&self, batch: &[&StreamedEvent<Id>]) -> Vec<bool> {
        let events: Vec<RecordedEvent> = batch
            .iter()
            .map(|streamed| streamed.event.clone())
            .collect();
        let outcomes = match self.publisher.publish(&events).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::warn!(%error, entries = events.len(), "publish call failed; retrying its records");
                metrics::add(names::BUS_ENTRIES_FAILED, events.len() as u64);
                return vec![false; events.len()];
            }
        };
        let now = Utc::now();
        let marks = events.iter().zip(&outcomes).map(|(event, outcome)| async move {
            match outcome {
                PublishOutcome::Published => {
                    metrics::count(names::BUS_ENTRIES_PUBLISHED);
                    // The event is on the bus whatever happens next. If it cannot be marked, a
                    // redelivery would publish it again, and consumers de-duplicate by event id;
                    // failing the record here would make that redelivery certain.
                    if let Err(error) = self.log.mark_published(&event.key(), now).await {
                        journey::recorded_span(event).in_scope(|| {
                            tracing::warn!(%error, event_id = %event.event_id, "published but not marked")
                        });
                    }
                    true
                }
                PublishOutcome::Failed { code, message } => {
                    metrics::count(names::BUS_ENTRIES_FAILED);
                    journey::recorded_span(event).in_scope(|| {
                        tracing::warn!(event_id = %event.event_id, %code, %message, "entry rejected by the bus")
                    });
                    false
                }
            }
        });
        join_all(marks).await
    }
}

#[cfg(test)]
mod tests;
