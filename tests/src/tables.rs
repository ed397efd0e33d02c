//! The stack's tables read directly: the event store and the order views.

use std::collections::HashMap;
use std::time::Duration;

use adapters::EventItem;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use testkit::stream::{stream_image, stream_record};

use crate::{World, eventually};

impl World {
    /// The event-store items of one order, read consistently.
    pub async fn stored_events(&self, order_key: &str) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .query()
            .table_name(&self.stack.event_store_table)
            .key_condition_expression("aggregateId = :id")
            .expression_attribute_values(":id", AttributeValue::S(order_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("query the event store")
            .items
            .unwrap_or_default()
    }

    /// The event types of an order's stored events, in version order.
    pub async fn stored_types(&self, order_key: &str) -> Vec<String> {
        self.stored_events(order_key)
            .await
            .iter()
            .map(|item| {
                item.get("eventType")
                    .and_then(|value| value.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// A DynamoDB stream batch holding the stored event `version` of order `key` as an INSERT,
    /// as Lambda delivers it: to hand to a stream consumer again. (Its image is the item as it was
    /// inserted: without the `publishedAt` the outbox may have set since.)
    pub async fn stream_batch_of(&self, key: &str, version: u64, sequence_number: &str) -> Value {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.stack.event_store_table)
            .key("aggregateId", AttributeValue::S(key.to_owned()))
            .key("version", AttributeValue::N(version.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("read a stored event")
            .item
            .unwrap_or_else(|| panic!("no event {key}/{version}"));
        let stored = EventItem::from_item(item).expect("a stored event");
        json!({"Records": [stream_record("INSERT", sequence_number, stream_image(stored))]})
    }

    /// Polls the order views table until it holds the order's view, and returns the view as
    /// `GET /orders/{key}` shows it. (The API itself answers from the event store while a view
    /// is missing or behind, so it cannot tell whether the projection did its work.)
    pub async fn wait_for_order(&self, key: &str, timeout: Duration) -> Value {
        eventually(
            &format!("order {key} in the order views"),
            timeout,
            || async { self.order_view(key).await },
        )
        .await
    }

    /// Deletes the order's view, as if the projection had not written it yet.
    pub async fn delete_order_view(&self, key: &str) {
        self.dynamodb
            .delete_item()
            .table_name(&self.stack.order_views_table)
            .key("orderKey", AttributeValue::S(key.to_owned()))
            .send()
            .await
            .expect("delete an order view");
    }

    /// The order's view in the order views table, read consistently, as the API shows it.
    pub async fn order_view(&self, key: &str) -> Option<Value> {
        use domain::order::OrderViews;
        let views =
            adapters::DynamoDbOrderViews::new(self.dynamodb.clone(), &self.stack.order_views_table);
        let view = views.get(key).await.expect("read the order views")?;
        Some(serde_json::to_value(view).expect("a view serializes"))
    }
}
