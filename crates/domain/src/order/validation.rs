//! Validation of a new order request: every violation is reported, by field.
//!
//! The body is read field by field from the raw JSON, rather than deserialized into a struct in
//! one go, so that one bad field does not hide the others and so that numbers are read from
//! their exact text (see `Money::from_json_literal`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use super::aggregate::NewOrder;
use super::events::{Channel, LineItem};
use super::id::{MAX_NUMERIC_ID, OrderId, is_identifier};
use crate::currency::Currency;
use crate::money::{Money, MoneyError};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest order amount, and largest item price.
pub const MAX_AMOUNT: Money = Money::from_cents(100_000_000);
pub const MAX_ITEMS: usize = 100;
pub const MAX_QUANTITY: u32 = 10_000;

/// One violation: which field (`amount`, `items[2].quantity`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What an identifier (order, customer or product id) may be, as error messages say it.
pub const IDENTIFIER_RULE: &str = "1-64 letters, digits, '_' or '-'";

/// Reads and validates the body of `POST /orders`.
pub fn parse_new_order(body: &[u8]) -> Result<NewOrder, Vec<FieldError>> {
    if body.len() > MAX_BODY_BYTES {
        return Err(vec![FieldError::new(
            "body",
            format!("must be at most {MAX_BODY_BYTES} bytes"),
        )]);
    }
    let mut errors = Vec::new();
    let fields = parse_object(body, "body").map_err(|error| vec![error])?;
    let mut order = ObjectReader::new(fields, "", &mut errors);

    let id = order.required("id", parse_order_id);
    let amount = order.required("amount", |raw| parse_amount(raw, ONE_CENT));
    let currency = order
        .optional("currency", parse_currency)
        .map(|currency| currency.unwrap_or(Currency::DEFAULT));
    let customer_id = order.optional("customerId", parse_identifier);
    let items = order
        .take("items")
        .map_or(Some(Vec::new()), |raw| parse_items(raw, order.errors));
    let channel = order.optional("channel", parse_channel);
    order.reject_unknown_fields();

    if let (Some(amount), Some(items)) = (amount, &items)
        && !items.is_empty()
    {
        match items_total(items) {
            Some(total) if total == amount => {}
            Some(total) => errors.push(FieldError::new(
                "items",
                format!("total {total} does not equal amount {amount}"),
            )),
            None => errors.push(FieldError::new("items", "total is too large")),
        }
    }

    match (id, amount, currency, customer_id, items, channel) {
        (Some(id), Some(amount), Some(currency), Some(customer_id), Some(items), Some(channel))
            if errors.is_empty() =>
        {
            Ok(NewOrder {
                id,
                amount,
                currency,
                customer_id,
                items,
                channel,
                placed_by: None,
            })
        }
        _ => Err(errors),
    }
}

const ONE_CENT: Money = Money::from_cents(1);

type Fields<'a> = BTreeMap<String, &'a RawValue>;

fn parse_object<'a>(json: &'a [u8], field: &str) -> Result<Fields<'a>, FieldError> {
    serde_json::from_slice::<Fields<'a>>(json).map_err(|error| {
        let message = if error.is_data() {
            "must be a JSON object".to_owned()
        } else {
            format!("is not valid JSON: {error}")
        };
        FieldError::new(field, message)
    })
}

/// Takes the fields of one JSON object one by one, recording each violation under the field's
/// full path (`items[0].price`).
struct ObjectReader<'a, 'e> {
    fields: Fields<'a>,
    prefix: String,
    errors: &'e mut Vec<FieldError>,
}

impl<'a, 'e> ObjectReader<'a, 'e> {
    fn new(fields: Fields<'a>, prefix: &str, errors: &'e mut Vec<FieldError>) -> Self {
        ObjectReader {
            fields,
            prefix: prefix.to_owned(),
            errors,
        }
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Takes a field's raw value; JSON `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<&'a RawValue> {
        self.fields.remove(key).filter(|raw| raw.get() != "null")
    }

    /// The parsed value, or `None` (with the violation recorded) if it is missing or invalid.
    fn required<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&RawValue) -> Result<T, String>,
    ) -> Option<T> {
        match self.take(key) {
            Some(raw) => self.check(key, parse(raw)),
            None => {
                let path = self.path(key);
                self.errors.push(FieldError::new(path, "is required"));
                None
            }
        }
    }

    /// `Some(None)` if absent, `Some(Some(value))` if valid, `None` if invalid (recorded).
    fn optional<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&RawValue) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.take(key) {
            Some(raw) => self.check(key, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                let path = self.path(key);
                self.errors.push(FieldError::new(path, message));
                None
            }
        }
    }

    /// Unknown fields are most likely typos (`ammount`): accepting them would silently drop data.
    fn reject_unknown_fields(self) {
        for key in self.fields.keys() {
            let path = if self.prefix.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.prefix)
            };
            self.errors
                .push(FieldError::new(path, "is not a known field"));
        }
    }
}

fn is_string(raw: &RawValue) -> bool {
    raw.get().starts_with('"')
}

fn parse_string(raw: &RawValue) -> Result<String, String> {
    if !is_string(raw) {
        return Err("must be a string".into());
    }
    serde_json::from_str(raw.get()).map_err(|e| e.to_string())
}

fn parse_identifier(raw: &RawValue) -> Result<String, String> {
    let text = parse_string(raw)?;
    if is_identifier(&text) {
        Ok(text)
    } else {
        Err(format!("must be {IDENTIFIER_RULE}"))
    }
}

fn parse_channel(raw: &RawValue) -> Result<Channel, String> {
    let text = parse_string(raw)?;
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|_| "must be one of web, mobile, api, store".to_owned())
}

fn parse_currency(raw: &RawValue) -> Result<Currency, String> {
    let code = parse_string(raw)?;
    Currency::parse(&code).map_err(|error| error.to_string())
}

fn parse_order_id(raw: &RawValue) -> Result<OrderId, String> {
    if is_string(raw) {
        return parse_identifier(raw).map(OrderId::Text);
    }
    match raw.get().parse::<u64>() {
        Ok(n) if (1..=MAX_NUMERIC_ID).contains(&n) => Ok(OrderId::Number(n)),
        _ => Err(format!(
            "must be a positive integer (at most {MAX_NUMERIC_ID}) or a string of {IDENTIFIER_RULE}"
        )),
    }
}

/// An amount between `min` and `MAX_AMOUNT`, with at most two decimals.
fn parse_amount(raw: &RawValue, min: Money) -> Result<Money, String> {
    let too_small = || {
        if min == ONE_CENT {
            "must be greater than 0".to_owned()
        } else {
            format!("must be at least {min}")
        }
    };
    let too_large = || format!("must be at most {}", MAX_AMOUNT.cents() / 100);
    if is_string(raw) {
        return Err(MoneyError::NotANumber.to_string());
    }
    let money = Money::from_json_literal(raw.get()).map_err(|error| match error {
        MoneyError::Negative => too_small(),
        MoneyError::TooLarge => too_large(),
        other => other.to_string(),
    })?;
    if money < min {
        return Err(too_small());
    }
    if money > MAX_AMOUNT {
        return Err(too_large());
    }
    Ok(money)
}

fn parse_quantity(raw: &RawValue) -> Result<u32, String> {
    match raw.get().parse::<u32>() {
        Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(n),
        _ => Err(format!("must be an integer from 1 to {MAX_QUANTITY}")),
    }
}

/// The items, or `None` if any of them is invalid (every violation recorded).
fn parse_items(raw: &RawValue, errors: &mut Vec<FieldError>) -> Option<Vec<LineItem>> {
    let Ok(elements) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
        errors.push(FieldError::new("items", "must be an array"));
        return None;
    };
    if elements.is_empty() {
        errors.push(FieldError::new(
            "items",
            "must hold at least one item when given",
        ));
        return None;
    }
    if elements.len() > MAX_ITEMS {
        errors.push(FieldError::new(
            "items",
            format!("must hold at most {MAX_ITEMS} items"),
        ));
        return None;
    }
    let mut items = Some(Vec::with_capacity(elements.len()));
    for (index, element) in elements.iter().enumerate() {
        let item = parse_item(&format!("items[{index}]"), element, errors);
        items = items.zip(item).map(|(mut items, item)| {
            items.push(item);
            items
        });
    }
    items
}

fn parse_item(path: &str, raw: &RawValue, errors: &mut Vec<FieldError>) -> Option<LineItem> {
    let fields = match parse_object(raw.get().as_bytes(), path) {
        Ok(fields) => fields,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    let mut item = ObjectReader::new(fields, path, errors);
    let product_id = item.required("productId", parse_identifier);
    let quantity = item.required("quantity", parse_quantity);
    let price = item.required("price", |raw| parse_amount(raw, Money::ZERO));
    item.reject_unknown_fields();
    Some(LineItem {
        product_id: product_id?,
        quantity: quantity?,
        price: price?,
    })
}

fn items_total(items: &[LineItem]) -> Option<Money> {
    items.iter().try_fold(Money::ZERO, |total, item| {
        total.checked_add(item.price.checked_mul(item.quantity)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: &str) -> Vec<(String, String)> {
        parse_new_order(body.as_bytes())
            .expect_err("expected the body to be rejected")
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    fn fields(body: &str) -> Vec<String> {
        errors(body).into_iter().map(|(field, _)| field).collect()
    }

    #[test]
    fn accepts_the_original_demo_request() {
        let order = parse_new_order(br#"{"id":101,"amount":100}"#).unwrap();
        assert_eq!(order.id, OrderId::Number(101));
        assert_eq!(order.amount, Money::from_cents(10_000));
        assert_eq!(order.currency, Currency::DEFAULT);
        assert_eq!(order.customer_id, None);
        assert!(order.items.is_empty());
    }

    #[test]
    fn accepts_a_full_order_whose_items_add_up() {
        let body = r#"{"id":"ord-1","amount":59.98,"currency":"EUR","customerId":"cust_456",
            "items":[{"productId":"PROD_001","quantity":2,"price":29.99}]}"#;
        let order = parse_new_order(body.as_bytes()).unwrap();
        assert_eq!(order.id, OrderId::Text("ord-1".into()));
        assert_eq!(order.currency.as_str(), "EUR");
        assert_eq!(order.customer_id.as_deref(), Some("cust_456"));
        assert_eq!(order.items.len(), 1);
        assert_eq!(order.items[0].price, Money::from_cents(2_999));
    }

    #[test]
    fn null_optional_fields_are_absent() {
        let order = parse_new_order(
            br#"{"id":1,"amount":1,"currency":null,"customerId":null,"items":null}"#,
        )
        .unwrap();
        assert_eq!(order.currency, Currency::DEFAULT);
        assert_eq!(order.customer_id, None);
    }

    #[test]
    fn reports_malformed_json_and_non_objects_on_the_body() {
        assert_eq!(fields("{\"id\":"), ["body"]);
        assert_eq!(fields(""), ["body"]);
        assert_eq!(fields("[1,2]"), ["body"]);
        assert_eq!(fields("\"order\""), ["body"]);
        assert!(
            errors("{")
                .first()
                .unwrap()
                .1
                .starts_with("is not valid JSON")
        );
        assert_eq!(errors("[]")[0].1, "must be a JSON object");
    }

    #[test]
    fn rejects_a_body_over_64_kib() {
        let body = format!(
            r#"{{"id":1,"amount":1,"customerId":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(fields(&body), ["body"]);
    }

    #[test]
    fn requires_id_and_amount() {
        assert_eq!(
            errors("{}"),
            [
                ("id".into(), "is required".into()),
                ("amount".into(), "is required".into())
            ]
        );
    }

    #[test]
    fn reports_every_violation_at_once() {
        let body = r#"{"id":0,"amount":"100","currency":"usd","customerId":"a b","colour":"red"}"#;
        assert_eq!(
            fields(body),
            ["id", "amount", "currency", "customerId", "colour"]
        );
    }

    #[test]
    fn ids_are_positive_safe_integers_or_short_identifiers() {
        for bad in [
            "0",
            "-1",
            "1.5",
            "1e3",
            "9007199254740992",
            "true",
            "[]",
            r#""""#,
            r#""a/b""#,
        ] {
            assert_eq!(
                fields(&format!(r#"{{"id":{bad},"amount":1}}"#)),
                ["id"],
                "{bad}"
            );
        }
        for good in ["1", "9007199254740991", r#""A-z_09""#] {
            assert!(parse_new_order(format!(r#"{{"id":{good},"amount":1}}"#).as_bytes()).is_ok());
        }
    }

    #[test]
    fn amounts_are_positive_with_two_decimals_up_to_a_million() {
        let message = |amount: &str| {
            errors(&format!(r#"{{"id":1,"amount":{amount}}}"#))[0]
                .1
                .clone()
        };
        assert_eq!(message("0"), "must be greater than 0");
        assert_eq!(message("-5"), "must be greater than 0");
        assert_eq!(message("0.001"), "must have at most 2 decimals");
        assert_eq!(message("1000000.01"), "must be at most 1000000");
        assert_eq!(message("1e300"), "must be at most 1000000");
        assert_eq!(message("\"10\""), "must be a number");
        assert_eq!(message("true"), "must be a number");
        assert!(parse_new_order(br#"{"id":1,"amount":1000000}"#).is_ok());
        assert!(parse_new_order(br#"{"id":1,"amount":0.01}"#).is_ok());
    }

    #[test]
    fn currency_must_be_iso_4217() {
        assert_eq!(
            errors(r#"{"id":1,"amount":1,"currency":"XYZ"}"#),
            [(
                "currency".into(),
                "must be an ISO 4217 currency code such as USD".into()
            )]
        );
        assert_eq!(
            errors(r#"{"id":1,"amount":1,"currency":978}"#)[0].1,
            "must be a string"
        );
    }

    #[test]
    fn items_are_checked_one_by_one_with_their_index() {
        let body = r#"{"id":1,"amount":10,"items":[
            {"productId":"p1","quantity":1,"price":10},
            {"productId":"","quantity":0,"price":-1,"size":"L"},
            "p3"]}"#;
        assert_eq!(
            fields(body),
            [
                "items[1].productId",
                "items[1].quantity",
                "items[1].price",
                "items[1].size",
                "items[2]"
            ]
        );
        assert_eq!(
            fields(r#"{"id":1,"amount":10,"items":[{}]}"#),
            ["items[0].productId", "items[0].quantity", "items[0].price"]
        );
    }

    #[test]
    fn items_must_add_up_to_the_amount() {
        let body =
            r#"{"id":1,"amount":100,"items":[{"productId":"p","quantity":3,"price":33.33}]}"#;
        assert_eq!(
            errors(body),
            [(
                "items".into(),
                "total 99.99 does not equal amount 100.00".into()
            )]
        );
    }

    #[test]
    fn items_must_be_a_non_empty_bounded_array() {
        assert_eq!(
            errors(r#"{"id":1,"amount":1,"items":{}}"#)[0].1,
            "must be an array"
        );
        assert_eq!(
            errors(r#"{"id":1,"amount":1,"items":[]}"#)[0].1,
            "must hold at least one item when given"
        );
        let many = vec![r#"{"productId":"p","quantity":1,"price":0.01}"#; MAX_ITEMS + 1].join(",");
        assert_eq!(
            errors(&format!(r#"{{"id":1,"amount":1.01,"items":[{many}]}}"#))[0].1,
            "must hold at most 100 items"
        );
    }

    #[test]
    fn the_channel_is_optional_and_one_of_four() {
        let order = parse_new_order(br#"{"id":1,"amount":1,"channel":"mobile"}"#).unwrap();
        assert_eq!(order.channel, Some(Channel::Mobile));
        assert_eq!(
            parse_new_order(br#"{"id":1,"amount":1}"#).unwrap().channel,
            None
        );
        assert_eq!(
            errors(r#"{"id":1,"amount":1,"channel":"fax"}"#),
            [(
                "channel".into(),
                "must be one of web, mobile, api, store".into()
            )]
        );
    }

    #[test]
    fn a_free_item_is_allowed() {
        let body = r#"{"id":1,"amount":5,"items":[{"productId":"p","quantity":1,"price":5},
            {"productId":"gift","quantity":1,"price":0}]}"#;
        assert_eq!(parse_new_order(body.as_bytes()).unwrap().items.len(), 2);
    }
}
