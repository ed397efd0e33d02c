use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::envelope::format_timestamp;
use domain::ports::{AppendError, EventStore, InfrastructureError, PublicationLog};
use domain::{EventKey, RecordedEvent};

use super::attributes::{AGGREGATE_ID, PUBLISHED_AT, VERSION};
use super::event_item::EventItem;
use super::infrastructure;

/// DynamoDB holds at most 100 items in one transaction and returns at most 100 in one BatchGet.
const MAX_TRANSACTION_ITEMS: usize = 100;
const MAX_BATCH_GET_KEYS: usize = 100;
/// A version may only be written once.
const VERSION_IS_NEW: &str = "attribute_not_exists(version)";

/// Which stored events a scan returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventFilter {
    All,
    /// Occurred in this time range, both ends included.
    OccurredBetween(DateTime<Utc>, DateTime<Utc>),
    /// Not marked as published, and older than this.
    UnpublishedBefore(DateTime<Utc>),
}

/// The event store and its publication log, on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoDbEventStore {
    client: Client,
    table: String,
}

impl DynamoDbEventStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbEventStore {
            client,
            table: table.into(),
        }
    }

    fn item(event: &RecordedEvent) -> HashMap<String, AttributeValue> {
        // EventItem holds strings and integers only: it always converts.
        serde_dynamo::to_item(EventItem::from(event)).expect("event items convert to attributes")
    }

    fn key(key: &EventKey) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                AGGREGATE_ID.to_owned(),
                AttributeValue::S(key.aggregate_id.clone()),
            ),
            (
                VERSION.to_owned(),
                AttributeValue::N(key.version.to_string()),
            ),
        ])
    }

    /// Every stored event that `filter` lets through, read with a parallel scan: for the
    /// operations commands (rebuilds, replays, the unpublished backlog), not for request paths.
    pub async fn scan(&self, filter: &EventFilter) -> Result<Vec<EventItem>, InfrastructureError> {
        const SEGMENTS: i32 = 4;
        let segments = (0..SEGMENTS).map(|segment| {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(segment)
                .total_segments(SEGMENTS)
                .consistent_read(true);
            match filter {
                EventFilter::All => {}
                EventFilter::OccurredBetween(from, to) => {
                    request = request
                        .filter_expression("occurredAt BETWEEN :from AND :to")
                        .expression_attribute_values(
                            ":from",
                            AttributeValue::S(format_timestamp(*from)),
                        )
                        .expression_attribute_values(
                            ":to",
                            AttributeValue::S(format_timestamp(*to)),
                        );
                }
                EventFilter::UnpublishedBefore(cutoff) => {
                    request = request
                        .filter_expression("attribute_not_exists(#p) AND occurredAt < :cutoff")
                        .expression_attribute_names("#p", PUBLISHED_AT)
                        .expression_attribute_values(
                            ":cutoff",
                            AttributeValue::S(format_timestamp(*cutoff)),
                        );
                }
            }
            async move {
                request
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
            }
        });
        let mut events = Vec::new();
        for segment in futures::future::join_all(segments).await {
            for item in segment.map_err(infrastructure)? {
                events.push(EventItem::from_item(item).map_err(InfrastructureError::new)?);
            }
        }
        events.sort_by(|a, b| (&a.aggregate_id, a.version).cmp(&(&b.aggregate_id, b.version)));
        Ok(events)
    }

    fn conflict(events: &[RecordedEvent]) -> AppendError {
        AppendError::Conflict {
            aggregate_id: events[0].aggregate_id.clone(),
            version: events[0].version,
        }
    }

    async fn put_one(&self, event: &RecordedEvent) -> Result<(), AppendError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(event)))
            .condition_expression(VERSION_IS_NEW)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(Self::conflict(std::slice::from_ref(event)))
            }
            Err(e) => Err(infrastructure(e).into()),
        }
    }

    async fn put_all(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
        let puts = events
            .iter()
            .map(|event| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(Self::item(event)))
                    .condition_expression(VERSION_IS_NEW)
                    .build()
                    .map_err(infrastructure)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect::<Result<Vec<_>, InfrastructureError>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(puts))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled)
                    if cancelled
                        .cancellation_reasons()
                        .iter()
                        .any(|reason| reason.code() == Some("ConditionalCheckFailed")) =>
                {
                    Err(Self::conflict(events))
                }
                _ => Err(infrastructure(SdkError::ServiceError(e)).into()),
            },
            Err(e) => Err(infrastructure(e).into()),
        }
    }
}

impl EventStore for DynamoDbEventStore {
    async fn append(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
        match events.len() {
            0 => Ok(()),
            // A single conditional put is cheaper than a transaction and just as atomic.
            1 => self.put_one(&events[0]).await,
            n if n <= MAX_TRANSACTION_ITEMS => self.put_all(events).await,
            n => Err(InfrastructureError(format!(
                "cannot append {n} events at once (at most {MAX_TRANSACTION_ITEMS})"
            ))
            .into()),
        }
    }

    async fn load(&self, aggregate_id: &str) -> Result<Vec<RecordedEvent>, InfrastructureError> {
        self.load_after(aggregate_id, 0).await
    }

    async fn load_after(
        &self,
        aggregate_id: &str,
        after: u64,
    ) -> Result<Vec<RecordedEvent>, InfrastructureError> {
        self.items_after(aggregate_id, after)
            .await?
            .into_iter()
            .map(|item| item.into_recorded().map_err(InfrastructureError::new))
            .collect()
    }
}

impl DynamoDbEventStore {
    /// Every stored event of one aggregate as the table holds it, when it was published included:
    /// for the operations commands that show an order's history.
    pub async fn stored(&self, aggregate_id: &str) -> Result<Vec<EventItem>, InfrastructureError> {
        self.items_after(aggregate_id, 0).await
    }

    async fn items_after(
        &self,
        aggregate_id: &str,
        after: u64,
    ) -> Result<Vec<EventItem>, InfrastructureError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#id = :id AND #v > :after")
            .expression_attribute_names("#id", AGGREGATE_ID)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":id", AttributeValue::S(aggregate_id.to_owned()))
            .expression_attribute_values(":after", AttributeValue::N(after.to_string()))
            // Read-your-writes: a command decided on stale state would only conflict later.
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infrastructure)?;
        pages
            .into_iter()
            .map(|item| EventItem::from_item(item).map_err(InfrastructureError::new))
            .collect()
    }
}

impl PublicationLog for DynamoDbEventStore {
    async fn published(&self, keys: &[EventKey]) -> Result<HashSet<EventKey>, InfrastructureError> {
        let mut published = HashSet::new();
        for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(Self::key).collect()))
                    .projection_expression("#id, #v, #p")
                    .expression_attribute_names("#id", AGGREGATE_ID)
                    .expression_attribute_names("#v", VERSION)
                    .expression_attribute_names("#p", PUBLISHED_AT)
                    .consistent_read(true)
                    .build()
                    .map_err(infrastructure)?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(infrastructure)?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    if item.contains_key(PUBLISHED_AT) {
                        published.insert(key_of(item)?);
                    }
                }
                // Keys DynamoDB did not get to (throttling) are asked again, with backoff.
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .filter(|rest| !rest.keys().is_empty());
                attempt += 1;
                if pending.is_some() {
                    if attempt >= 8 {
                        return Err(InfrastructureError(
                            "BatchGetItem kept returning unprocessed keys".into(),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
            }
        }
        Ok(published)
    }

    async fn mark_published(
        &self,
        key: &EventKey,
        at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            // The first publication time wins; the condition keeps a stray update from creating
            // an item that holds nothing but a publication time.
            .update_expression("SET #p = if_not_exists(#p, :at)")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#p", PUBLISHED_AT)
            .expression_attribute_names("#id", AGGREGATE_ID)
            .expression_attribute_values(":at", AttributeValue::S(format_timestamp(at)))
            .send()
            .await
            .map_err(infrastructure)?;
        Ok(())
    }
}

fn key_of(item: &HashMap<String, AttributeValue>) -> Result<EventKey, InfrastructureError> {
    let aggregate_id = item.get(AGGREGATE_ID).and_then(|v| v.as_s().ok());
    let version = item
        .get(VERSION)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok());
    match (aggregate_id, version) {
        (Some(aggregate_id), Some(version)) => Ok(EventKey {
            aggregate_id: aggregate_id.clone(),
            version,
        }),
        _ => Err(InfrastructureError(
            "BatchGetItem returned an item without its key".into(),
        )),
    }
}
