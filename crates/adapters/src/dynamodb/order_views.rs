//! The order views on DynamoDB: one item per order, keyed by `orderKey`, holding the view as
//! JSON beside the attributes that key, guard and index it. The index `byCustomer`
//! (`customerId`, `createdAt`) is the per-customer list of orders; orders without a customer
//! are not in it.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::envelope::format_timestamp;
use domain::order::OrderView;
use domain::order::{OrderViews, Page, PageError, ViewWriteError};
use domain::ports::InfrastructureError;

use super::{infrastructure, wait_until_active};

/// The name of the per-customer index, as the template declares it.
pub const BY_CUSTOMER_INDEX: &str = "byCustomer";

#[derive(Clone, Debug)]
pub struct DynamoDbOrderViews {
    client: Client,
    table: String,
}

impl DynamoDbOrderViews {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbOrderViews {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Stores `view` unless the table holds a newer one: what a rebuild writes, so that it can
    /// run beside the live projection without ever taking a view back in time. Returns whether
    /// it was written.
    pub async fn put_if_newer(&self, view: &OrderView) -> Result<bool, InfrastructureError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(view)))
            .condition_expression("attribute_not_exists(orderKey) OR version < :version")
            .expression_attribute_values(":version", AttributeValue::N(view.version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(infrastructure(e)),
        }
    }

    /// Every view in the table.
    pub async fn all(&self) -> Result<Vec<OrderView>, InfrastructureError> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infrastructure)?;
        items.iter().map(view_of).collect()
    }

    /// Creates an empty views table like the template's (key `orderKey`, index `byCustomer`)
    /// and waits until it can be used.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), InfrastructureError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(InfrastructureError::new)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(InfrastructureError::new)
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("orderKey")?)
            .attribute_definitions(attribute("customerId")?)
            .attribute_definitions(attribute("createdAt")?)
            .key_schema(key("orderKey", KeyType::Hash)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(BY_CUSTOMER_INDEX)
                    .key_schema(key("customerId", KeyType::Hash)?)
                    .key_schema(key("createdAt", KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(InfrastructureError::new)?,
            )
            .send()
            .await
            .map_err(infrastructure)?;
        wait_until_active(client, table).await
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// Reads the view out of an item.
pub fn view_of(item: &HashMap<String, AttributeValue>) -> Result<OrderView, InfrastructureError> {
    let json =
        text(item, "view").ok_or_else(|| InfrastructureError("view item without a view".into()))?;
    serde_json::from_str(&json).map_err(InfrastructureError::new)
}

/// The item that stores `view`.
pub fn item_of(view: &OrderView) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("orderKey".to_owned(), AttributeValue::S(view.id.key())),
        (
            "version".to_owned(),
            AttributeValue::N(view.version.to_string()),
        ),
        (
            "createdAt".to_owned(),
            AttributeValue::S(format_timestamp(view.created_at)),
        ),
        // Views are plain data: they always serialize.
        (
            "view".to_owned(),
            AttributeValue::S(serde_json::to_string(view).expect("views serialize to JSON")),
        ),
    ]);
    if let Some(customer) = &view.customer_id {
        item.insert("customerId".to_owned(), AttributeValue::S(customer.clone()));
    }
    item
}

/// The cursor is the index key DynamoDB stopped at, as URL-safe base64 of JSON: opaque to
/// clients, and checked when it comes back.
fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let fields: BTreeMap<&str, String> = ["customerId", "createdAt", "orderKey"]
        .into_iter()
        .map(|name| Some((name, text(key, name)?)))
        .collect::<Option<_>>()?;
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&fields).ok()?))
}

fn decode_cursor(
    cursor: &str,
    customer_id: &str,
) -> Result<HashMap<String, AttributeValue>, PageError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| PageError::BadCursor)?;
    let fields: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| PageError::BadCursor)?;
    let expected = ["customerId", "createdAt", "orderKey"];
    if fields.len() != expected.len()
        || !expected.iter().all(|name| fields.contains_key(*name))
        || fields["customerId"] != customer_id
    {
        return Err(PageError::BadCursor);
    }
    Ok(fields
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

impl OrderViews for DynamoDbOrderViews {
    async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("orderKey", AttributeValue::S(key.to_owned()))
            // The projection decides from what it reads here: it must see its own last write.
            .consistent_read(true)
            .send()
            .await
            .map_err(infrastructure)?
            .item;
        item.as_ref().map(view_of).transpose()
    }

    async fn put(&self, view: &OrderView, expected_version: u64) -> Result<(), ViewWriteError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(view)));
        let request = if expected_version == 0 {
            request.condition_expression("attribute_not_exists(orderKey)")
        } else {
            request
                .condition_expression("version = :expected")
                .expression_attribute_values(
                    ":expected",
                    AttributeValue::N(expected_version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(ViewWriteError::Conflict)
            }
            Err(e) => Err(ViewWriteError::Infrastructure(infrastructure(e))),
        }
    }

    async fn by_customer(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        let start = cursor.map(|c| decode_cursor(c, customer_id)).transpose()?;
        // One more than asked for: whether it comes back says if there is a next page, so the
        // last page never carries a cursor to an empty one.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CUSTOMER_INDEX)
            .key_condition_expression("customerId = :customer")
            .expression_attribute_values(":customer", AttributeValue::S(customer_id.to_owned()))
            .scan_index_forward(false)
            .limit(limit as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(infrastructure)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().and_then(encode_cursor)
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(view_of).collect::<Result<Vec<_>, _>>()?,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::TABLE_ACTIVE_WITHIN;
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::create_table::CreateTableOutput;
    use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableOutput};
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
    use aws_sdk_dynamodb::types::{TableDescription, TableStatus};
    use aws_smithy_async::test_util::{InstantSleep, instant_time_and_sleep};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    fn described(status: TableStatus) -> DescribeTableOutput {
        DescribeTableOutput::builder()
            .table(TableDescription::builder().table_status(status).build())
            .build()
    }

    /// Creates table `views` with a client whose DescribeTable answers are `describe`'s, on a
    /// clock that the waiter's sleeps advance at once; the result, and how long it slept.
    async fn create_views_table(describe: &Rule) -> (Result<(), InfrastructureError>, Duration) {
        let create = mock!(Client::create_table)
            .match_requests(|request| request.table_name() == Some("views"))
            .then_output(|| CreateTableOutput::builder().build());
        let (time, sleep) = instant_time_and_sleep(std::time::UNIX_EPOCH);
        let slept: InstantSleep = sleep.clone();
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&create, describe],
            |config| config.time_source(time.clone()).sleep_impl(sleep.clone())
        );
        let result = DynamoDbOrderViews::create_table(&client, "views").await;
        assert_eq!(create.num_calls(), 1);
        (result, slept.total_duration())
    }

    #[tokio::test]
    async fn a_new_table_is_ready_when_dynamodb_says_it_is_active() {
        let describe = mock!(Client::describe_table)
            .match_requests(|request| request.table_name() == Some("views"))
            .sequence()
            // Just after CreateTable, DescribeTable may not know the table yet.
            .error(|| {
                DescribeTableError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .meta(
                            ErrorMetadata::builder()
                                .code("ResourceNotFoundException")
                                .build(),
                        )
                        .build(),
                )
            })
            .output(|| described(TableStatus::Creating))
            .output(|| described(TableStatus::Active))
            .build();
        let (result, _) = create_views_table(&describe).await;
        result.unwrap();
        assert_eq!(describe.num_calls(), 3);
    }

    #[tokio::test]
    async fn a_table_still_creating_after_a_minute_is_an_error_that_names_it() {
        let describe = mock!(Client::describe_table)
            .sequence()
            .output(|| described(TableStatus::Creating))
            .repeatedly()
            .build();
        let (result, slept) = create_views_table(&describe).await;
        let error = result.unwrap_err().0;
        assert!(
            error.starts_with("table views did not become active within 60 s"),
            "{error}"
        );
        // The minute it gives a table, as before the waiter (120 polls half a second apart), plus
        // the SDK's own short sleeps around each call, which this clock counts too.
        assert!(
            (TABLE_ACTIVE_WITHIN..TABLE_ACTIVE_WITHIN + Duration::from_secs(5)).contains(&slept),
            "{slept:?}"
        );
        assert!(describe.num_calls() > 1);
    }

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_customer() {
        let key = HashMap::from([
            ("customerId".to_owned(), AttributeValue::S("c-1".into())),
            (
                "createdAt".to_owned(),
                AttributeValue::S("2026-11-22T10:00:00.000Z".into()),
            ),
            ("orderKey".to_owned(), AttributeValue::S("A-1".into())),
        ]);
        let cursor = encode_cursor(&key).unwrap();
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{cursor}"
        );
        assert_eq!(decode_cursor(&cursor, "c-1").unwrap(), key);
        assert!(matches!(
            decode_cursor(&cursor, "c-2"),
            Err(PageError::BadCursor)
        ));
        for bad in ["", "!!!", "e30", &URL_SAFE_NO_PAD.encode(b"[1,2]")] {
            assert!(
                matches!(decode_cursor(bad, "c-1"), Err(PageError::BadCursor)),
                "{bad}"
            );
        }
    }
}
