//! The AWS adapters against mocked SDK clients: what they send, and how they read AWS's answers,
//! errors and partial failures included. (Against real services they run in the e2e suite.)

use std::collections::HashMap;

use adapters::{DynamoDbEventStore, EventBridgePublisher, EventItem};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, ResourceNotFoundException, TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, KeysAndAttributes};
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{TimeZone, Utc};
use domain::ports::{AppendError, EventPublisher, EventStore, PublicationLog, PublishOutcome};
use domain::{EventKey, RecordedEvent};

fn event(aggregate_id: &str, version: u64) -> RecordedEvent {
    RecordedEvent {
        aggregate_id: aggregate_id.into(),
        version,
        source: "order-service".into(),
        event_id: uuid::Uuid::new_v4(),
        event_type: "OrderCreated".into(),
        occurred_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 15, 30).unwrap(),
        detail: r#"{"metadata":{},"data":{"orderId":101}}"#.into(),
    }
}

fn item(event: &RecordedEvent, published: bool) -> HashMap<String, AttributeValue> {
    let mut item = EventItem::from(event);
    if published {
        item.published_at = Some("2026-11-22T10:15:31.000Z".into());
    }
    serde_dynamo::to_item(item).unwrap()
}

#[test]
fn an_event_survives_the_trip_through_an_item() {
    let original = event("101", 3);
    let item = item(&original, false);
    assert_eq!(item["aggregateId"], AttributeValue::S("101".into()));
    assert_eq!(item["version"], AttributeValue::N("3".into()));
    assert!(!item.contains_key("publishedAt"));
    let back = EventItem::from_item(item).unwrap().into_recorded().unwrap();
    assert_eq!(back, original);
}

#[tokio::test]
async fn appending_one_event_is_a_conditional_put() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|req| {
            req.condition_expression() == Some("attribute_not_exists(version)")
                && req.table_name() == Some("events")
                && req
                    .item()
                    .is_some_and(|item| item["version"] == AttributeValue::N("1".into()))
        })
        .then_output(|| PutItemOutput::builder().build());
    let store = DynamoDbEventStore::new(mock_client!(aws_sdk_dynamodb, [&put]), "events");
    store.append(&[event("101", 1)]).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_taken_version_is_a_conflict() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let store = DynamoDbEventStore::new(mock_client!(aws_sdk_dynamodb, [&put]), "events");
    match store.append(&[event("101", 1)]).await {
        Err(AppendError::Conflict {
            aggregate_id,
            version,
        }) => assert_eq!((aggregate_id.as_str(), version), ("101", 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn several_events_are_one_transaction_and_a_cancelled_check_is_a_conflict() {
    let transact = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(|req| req.transact_items().len() == 2)
        .then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .cancellation_reasons(
                        CancellationReason::builder()
                            .code("ConditionalCheckFailed")
                            .build(),
                    )
                    .build(),
            )
        });
    let store = DynamoDbEventStore::new(mock_client!(aws_sdk_dynamodb, [&transact]), "events");
    let result = store.append(&[event("101", 2), event("101", 3)]).await;
    assert!(
        matches!(result, Err(AppendError::Conflict { version: 2, .. })),
        "{result:?}"
    );
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn other_failures_are_infrastructure_errors() {
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
    });
    let store = DynamoDbEventStore::new(mock_client!(aws_sdk_dynamodb, [&put]), "events");
    assert!(matches!(
        store.append(&[event("101", 1)]).await,
        Err(AppendError::Infrastructure(_))
    ));
}

#[tokio::test]
async fn loading_reads_every_page_consistently() {
    let (first, second) = (event("101", 1), event("101", 2));
    let (page1, page2) = (item(&first, true), item(&second, false));
    let query = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|req| req.consistent_read() == Some(true))
        .sequence()
        .output(move || {
            QueryOutput::builder()
                .items(page1.clone())
                .last_evaluated_key("version", AttributeValue::N("1".into()))
                .build()
        })
        .output(move || QueryOutput::builder().items(page2.clone()).build())
        .build();
    let store = DynamoDbEventStore::new(mock_client!(aws_sdk_dynamodb, [&query]), "events");
    assert_eq!(store.load("101").await.unwrap(), vec![first, second]);
    assert_eq!(query.num_calls(), 2);
}

#[tokio::test]
async fn publication_state_is_read_in_batches_and_unprocessed_keys_are_asked_again() {
    let (done, pending, late) = (event("101", 1), event("102", 1), event("103", 1));
    let responses =
        |items: Vec<HashMap<String, AttributeValue>>| HashMap::from([("events".to_owned(), items)]);
    let (done_item, pending_item, late_item) =
        (item(&done, true), item(&pending, false), item(&late, true));
    let unprocessed_key = HashMap::from([
        ("aggregateId".to_owned(), AttributeValue::S("103".into())),
        ("version".to_owned(), AttributeValue::N("1".into())),
    ]);
    let batch_get = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .sequence()
        .output(move || {
            BatchGetItemOutput::builder()
                .set_responses(Some(responses(vec![
                    done_item.clone(),
                    pending_item.clone(),
                ])))
                .unprocessed_keys(
                    "events",
                    KeysAndAttributes::builder()
                        .keys(unprocessed_key.clone())
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .output(move || {
            BatchGetItemOutput::builder()
                .set_responses(Some(HashMap::from([(
                    "events".to_owned(),
                    vec![late_item.clone()],
                )])))
                .build()
        })
        .build();
    let store = DynamoDbEventStore::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&batch_get]),
        "events",
    );
    let keys: Vec<EventKey> = [&done, &pending, &late].iter().map(|e| e.key()).collect();
    let published = store.published(&keys).await.unwrap();
    assert_eq!(batch_get.num_calls(), 2);
    assert!(published.contains(&done.key()) && published.contains(&late.key()));
    assert!(!published.contains(&pending.key()));
}

#[tokio::test]
async fn per_entry_failures_of_put_events_are_reported_entry_by_entry() {
    let put_events = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|req| {
            req.entries().iter().all(|entry| {
                entry.event_bus_name() == Some("eda-demo")
                    && entry.source() == Some("order-service")
                    && entry.detail_type() == Some("OrderCreated")
                    && entry.time().is_some()
            })
        })
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(PutEventsResultEntry::builder().event_id("e-1").build())
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("ThrottlingException")
                        .error_message("slow down")
                        .build(),
                )
                .build()
        });
    let bus =
        EventBridgePublisher::new(mock_client!(aws_sdk_eventbridge, [&put_events]), "eda-demo");
    let events = [event("101", 1), event("102", 1), event("103", 1)];
    let outcomes = bus.publish(&events).await.unwrap();
    assert_eq!(
        outcomes,
        [
            PublishOutcome::Published,
            PublishOutcome::Failed {
                code: "ThrottlingException".into(),
                message: "slow down".into()
            },
            PublishOutcome::Failed {
                code: "MissingResult".into(),
                message: "PutEvents returned fewer results than entries".into()
            },
        ]
    );
    assert_eq!(
        bus.entry_size(&events[0]),
        13 + 12 + events[0].detail.len() + 8 + 14
    );
}
