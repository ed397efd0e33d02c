//! Order identifiers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An order id. Clients name their orders with a positive integer (`{"id":101}`, as in the
/// original demo) or a string of 1-64 letters, digits, `_` or `-`; the API stores an order under
/// its customer's scope (`OrderId::scoped`), so that one customer's ids never collide with, reveal
/// or block another's. Orders stored before scoping keep the id their client gave, in the JSON
/// type it used. The event store keys an order by the text form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrderId {
    Number(u64),
    Text(String),
}

/// The largest integer id: JavaScript's `Number.MAX_SAFE_INTEGER`, so that no consumer of the
/// events (Step Functions, a browser, a Node.js service) ever rounds an order id.
pub const MAX_NUMERIC_ID: u64 = 9_007_199_254_740_991;

impl OrderId {
    /// The id of the order a customer names `client_id`: `"alice.101"`. The dot appears in
    /// neither part, so the pair can always be told apart again.
    pub fn scoped(customer_id: &str, client_id: &OrderId) -> OrderId {
        OrderId::Text(format!("{customer_id}{SCOPE_SEPARATOR}{client_id}"))
    }

    /// The key of the order's stream in the event store, and the `{id}` of `/orders/{id}`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// The key `/orders/{id}` names when `customer_id` asks: a scoped id as it is (whose it is,
    /// the caller's right to read it decides), a client's own id within the caller's scope.
    pub fn key_for(customer_id: &str, id: &str) -> String {
        if id.contains(SCOPE_SEPARATOR) {
            id.to_owned()
        } else {
            OrderId::scoped(customer_id, &OrderId::Text(id.to_owned())).key()
        }
    }

    /// Whether `text` could be the key of an order: a client's id, or a scoped one.
    pub fn is_valid_key(text: &str) -> bool {
        match text.split_once(SCOPE_SEPARATOR) {
            Some((customer, id)) => is_identifier(customer) && is_identifier(id),
            None => is_identifier(text),
        }
    }
}

/// Between the customer and the client's id in a scoped order id.
pub const SCOPE_SEPARATOR: char = '.';

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderId::Number(n) => write!(f, "{n}"),
            OrderId::Text(s) => f.write_str(s),
        }
    }
}

/// 1-64 characters of `[A-Za-z0-9_-]`: the shape of every identifier the API accepts (order,
/// customer and product ids). Safe in a URL path, a log line and a DynamoDB key as is.
pub fn is_identifier(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_text_form() {
        assert_eq!(OrderId::Number(101).key(), "101");
        assert_eq!(OrderId::Text("ord-7_A".into()).key(), "ord-7_A");
    }

    #[test]
    fn scoped_ids_name_the_customer_then_the_clients_id() {
        let id = OrderId::scoped("alice", &OrderId::Number(101));
        assert_eq!(id, OrderId::Text("alice.101".into()));
        assert!(OrderId::is_valid_key(&id.key()));
    }

    #[test]
    fn a_caller_names_their_own_orders_by_the_clients_id_and_any_order_by_its_scoped_id() {
        assert_eq!(OrderId::key_for("alice", "101"), "alice.101");
        assert_eq!(OrderId::key_for("alice", "bob.101"), "bob.101");
    }

    #[test]
    fn keys_have_at_most_one_scope() {
        assert!(OrderId::is_valid_key("101"));
        assert!(OrderId::is_valid_key("alice.ord-7"));
        for bad in ["alice.", ".101", "a.b.c", "alice..101", "a/b"] {
            assert!(!OrderId::is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn serializes_in_the_type_the_client_used() {
        assert_eq!(serde_json::to_string(&OrderId::Number(101)).unwrap(), "101");
        assert_eq!(
            serde_json::to_string(&OrderId::Text("101".into())).unwrap(),
            "\"101\""
        );
        assert_eq!(
            serde_json::from_str::<OrderId>("101").unwrap(),
            OrderId::Number(101)
        );
    }

    #[test]
    fn identifiers_are_short_and_url_safe() {
        assert!(is_identifier("a"));
        assert!(is_identifier(&"x".repeat(64)));
        assert!(!is_identifier(""));
        assert!(!is_identifier(&"x".repeat(65)));
        for bad in ["a b", "a/b", "é", "a.b", "a#b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
