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

mod idempotency_on_dynamodb {
    use adapters::DynamoDbIdempotencyStore;
    use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::{Duration, Utc};
    use domain::idempotency::{Claim, IdempotencyStore};

    fn conditional_failure() -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    }

    #[tokio::test]
    async fn a_claim_uses_the_powertools_condition() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                let condition = req.condition_expression().unwrap_or_default();
                condition.contains("attribute_not_exists(id)")
                    && condition.contains("expiration < :now")
                    && condition.contains("inProgressExpiration < :now_ms")
                    && req.item().is_some_and(|item| {
                        item["status"] == AttributeValue::S("INPROGRESS".into())
                    })
            })
            .then_output(|| PutItemOutput::builder().build());
        let store =
            DynamoDbIdempotencyStore::new(mock_client!(aws_sdk_dynamodb, [&put]), "idempotency");
        let now = Utc::now();
        let claim = store
            .claim(
                "k",
                now,
                now + Duration::hours(1),
                now + Duration::seconds(30),
            )
            .await;
        assert_eq!(claim.unwrap(), Claim::Acquired);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_held_key_reports_the_stored_result_or_that_it_is_in_progress() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(conditional_failure);
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|req| req.consistent_read() == Some(true))
            .sequence()
            .output(|| {
                GetItemOutput::builder()
                    .item("id", AttributeValue::S("k".into()))
                    .item("status", AttributeValue::S("COMPLETED".into()))
                    .item("data", AttributeValue::S("\"message-1\"".into()))
                    .build()
            })
            .output(|| {
                GetItemOutput::builder()
                    .item("id", AttributeValue::S("k".into()))
                    .item("status", AttributeValue::S("INPROGRESS".into()))
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]);
        let store = DynamoDbIdempotencyStore::new(client, "idempotency");
        let now = Utc::now();
        let later = now + Duration::hours(1);
        assert_eq!(
            store.claim("k", now, later, later).await.unwrap(),
            Claim::Completed("\"message-1\"".into())
        );
        assert_eq!(
            store.claim("k", now, later, later).await.unwrap(),
            Claim::InProgress
        );
    }

    #[tokio::test]
    async fn releasing_only_ever_deletes_an_unfinished_claim() {
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
            .match_requests(|req| req.condition_expression() == Some("#status = :in_progress"))
            .sequence()
            .output(|| DeleteItemOutput::builder().build())
            .error(|| {
                DeleteItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                )
            })
            .build();
        let store =
            DynamoDbIdempotencyStore::new(mock_client!(aws_sdk_dynamodb, [&delete]), "idempotency");
        store.release("k").await.unwrap();
        // Completed meanwhile: the record stays and that is not an error.
        store.release("k").await.unwrap();
        assert_eq!(delete.num_calls(), 2);
    }
}

mod payment_ledger_on_dynamodb {
    use adapters::DynamoDbPaymentLedger;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use domain::order::OrderId;
    use domain::payment::{Charge, PaymentLedger};
    use domain::{Currency, Money};

    fn charge() -> Charge {
        Charge {
            order_id: OrderId::Number(101),
            payment_id: "pay-new".into(),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            customer_id: None,
            correlation_id: "c".into(),
            causation_id: "e".into(),
            charged_at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn the_first_charge_of_an_order_is_recorded() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.condition_expression() == Some("attribute_not_exists(orderId)")
                    && req.item().is_some_and(|item| {
                        item["orderId"] == AttributeValue::S("101".into())
                            && item["amount"] == AttributeValue::N("100".into())
                    })
            })
            .then_output(|| PutItemOutput::builder().build());
        let ledger = DynamoDbPaymentLedger::new(mock_client!(aws_sdk_dynamodb, [&put]), "payments");
        let on_record = ledger.record(&charge()).await.unwrap();
        assert_eq!(
            (on_record.payment_id.as_str(), on_record.new),
            ("pay-new", true)
        );
    }

    #[tokio::test]
    async fn a_second_charge_returns_the_first() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("orderId", AttributeValue::S("101".into()))
                .item("paymentId", AttributeValue::S("pay-first".into()))
                .item("amount", AttributeValue::N("100".into()))
                .item("currency", AttributeValue::S("USD".into()))
                .item("correlationId", AttributeValue::S("c".into()))
                .item("causationId", AttributeValue::S("e".into()))
                .item(
                    "chargedAt",
                    AttributeValue::S("2026-11-22T10:00:00.000Z".into()),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]);
        let on_record = DynamoDbPaymentLedger::new(client, "payments")
            .record(&charge())
            .await
            .unwrap();
        assert_eq!(
            (on_record.payment_id.as_str(), on_record.new),
            ("pay-first", false)
        );
        assert_eq!(on_record.amount, Money::from_cents(10_000));
    }
}

mod notifications_on_sns {
    use adapters::SnsNotifier;
    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use domain::ports::{Notification, Notifier};

    #[tokio::test]
    async fn a_notification_is_published_with_its_filterable_attributes() {
        let publish = mock!(aws_sdk_sns::Client::publish)
            .match_requests(|req| {
                let attributes = req.message_attributes().cloned().unwrap_or_default();
                let text = |name: &str| {
                    attributes
                        .get(name)
                        .and_then(|a| a.string_value().map(str::to_owned))
                };
                req.topic_arn() == Some("arn:topic")
                    && req.subject() == Some("Order 101 completed: 100.00 USD")
                    && text("eventType").as_deref() == Some("OrderCompleted")
                    && text("orderId").as_deref() == Some("101")
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let notifier = SnsNotifier::new(mock_client!(aws_sdk_sns, [&publish]), "arn:topic");
        let id = notifier
            .notify(&Notification {
                subject: "Order 101 completed: 100.00 USD".into(),
                body: "Order 101 is complete.".into(),
                event_type: "OrderCompleted".into(),
                order_id: "101".into(),
            })
            .await
            .unwrap();
        assert_eq!(id, "m-1");
        assert_eq!(publish.num_calls(), 1);
    }
}
