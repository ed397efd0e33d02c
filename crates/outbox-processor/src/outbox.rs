//! Relaying stored events to the bus, exactly once in effect.
//!
//! The stream delivers the event store's INSERTs in batches. A batch may be delivered again: when
//! this function reports a record as failed, Lambda re-delivers the stream from that record on,
//! so records after it that did get published come back too. Each event's `publishedAt` is
//! therefore checked before publishing and set after, and only events not yet on the bus are
//! published.

use std::collections::HashSet;

use adapters::stream::StreamedEvent;
use chrono::Utc;
use domain::ports::{EventPublisher, PublicationLog, PublishOutcome};
use domain::{EventKey, RecordedEvent};
use futures::future::join_all;

/// What happened to a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RelayReport {
    pub published: usize,
    /// Already on the bus from an earlier delivery of the same record.
    pub already_published: usize,
    /// Sequence numbers of the records to retry, in input order.
    pub failed: Vec<String>,
}

pub struct Outbox<P, L> {
    publisher: P,
    log: L,
}

impl<P: EventPublisher, L: PublicationLog> Outbox<P, L> {
    pub fn new(publisher: P, log: L) -> Self {
        Outbox { publisher, log }
    }

    pub async fn relay(&self, records: Vec<StreamedEvent>) -> RelayReport {
        let mut report = RelayReport::default();
        let mut failed = HashSet::new();
        let mut pending = Vec::with_capacity(records.len());
        for record in &records {
            match &record.event {
                Ok(event) => pending.push((record.sequence_number.as_str(), event)),
                Err(reason) => {
                    // Retried, then sent to the mapping's dead-letter queue: never dropped.
                    tracing::error!(sequence_number = %record.sequence_number, %reason, "unreadable outbox record");
                    failed.insert(record.sequence_number.as_str());
                }
            }
        }

        let keys: Vec<EventKey> = pending.iter().map(|(_, event)| event.key()).collect();
        match self.log.published(&keys).await {
            Ok(published) => pending.retain(|(_, event)| {
                let done = published.contains(&event.key());
                report.already_published += usize::from(done);
                !done
            }),
            Err(error) => {
                tracing::error!(%error, "cannot read publication state; retrying the batch");
                failed.extend(
                    pending
                        .drain(..)
                        .map(|(sequence_number, _)| sequence_number),
                );
            }
        }

        let batches: Vec<&[(&str, &RecordedEvent)]> = self
            .publisher
            .batch_ranges(pending.iter().map(|(_, event)| *event))
            .into_iter()
            .map(|range| &pending[range])
            .collect();
        let outcomes = join_all(batches.iter().map(|batch| self.publish(batch))).await;
        for (batch, outcome) in batches.iter().zip(outcomes) {
            for ((sequence_number, _), published) in batch.iter().zip(outcome) {
                if published {
                    report.published += 1;
                } else {
                    failed.insert(sequence_number);
                }
            }
        }

        report.failed = records
            .iter()
            .map(|record| record.sequence_number.as_str())
            .filter(|sequence_number| failed.contains(sequence_number))
            .map(str::to_owned)
            .collect();
        report
    }

    /// Publishes one batch and records what reached the bus; `true` per entry that did.
    async fn publish(&self, batch: &[(&str, &RecordedEvent)]) -> Vec<bool> {
        let events: Vec<RecordedEvent> = batch.iter().map(|(_, event)| (*event).clone()).collect();
        let outcomes = match self.publisher.publish(&events).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::warn!(%error, entries = events.len(), "publish call failed; retrying its records");
                return vec![false; events.len()];
            }
        };
        let now = Utc::now();
        let marks = events.iter().zip(&outcomes).map(|(event, outcome)| async move {
            match outcome {
                PublishOutcome::Published => {
                    // The event is on the bus whatever happens next. If it cannot be marked, a
                    // redelivery would publish it again, and consumers de-duplicate by event id;
                    // failing the record here would make that redelivery certain.
                    if let Err(error) = self.log.mark_published(&event.key(), now).await {
                        tracing::warn!(%error, event_id = %event.event_id, "published but not marked");
                    }
                    true
                }
                PublishOutcome::Failed { code, message } => {
                    tracing::warn!(event_id = %event.event_id, %code, %message, "entry rejected by the bus");
                    false
                }
            }
        });
        join_all(marks).await
    }
}

#[cfg(test)]
mod tests;
