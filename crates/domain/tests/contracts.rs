//! Events are contracts: the schemas in `events/schemas/` describe every event's EventBridge
//! detail, the samples in `events/samples/` are valid examples, and what the domain serializes
//! conforms to the schemas.

use std::path::{Path, PathBuf};

use chrono::Utc;
use domain::events::SystemEvent;
use domain::order::{Channel, LineItem, OrderCancelled, OrderCompleted, OrderEvent, OrderId};
use domain::payment::{PAYMENT_SERVICE, PaymentEvent, PaymentFailed, PaymentSucceeded};
use domain::{Currency, DomainEvent, Money};
use serde_json::Value;
use serde_json::value::RawValue;
use testkit::builders::{causation, new_order};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_valid(detail: &Value) {
    if let Err(errors) = event_contracts::validate_detail(detail) {
        panic!("detail does not match its schema: {errors:#?}\n{detail:#}");
    }
}

/// One of each event type (two of OrderCreated: with and without its optional fields).
fn every_event() -> Vec<SystemEvent> {
    let amount = Money::from_cents(5_998);
    let order_events = vec![
        new_order(OrderId::Number(101))
            .signed_in("customer-1", "customer-1")
            .created_event(),
        new_order(OrderId::Text("ord-7".into()))
            .signed_in("customer-1", "0b4f6a1e-9c2d-4e8f-b1a3-5d7c9e2f4a6b")
            .amount(amount)
            .currency(Currency::parse("EUR").unwrap())
            .item(LineItem {
                product_id: "PROD_001".into(),
                quantity: 2,
                price: Money::from_cents(2_999),
            })
            .channel(Channel::Mobile)
            .created_event(),
        OrderEvent::Completed(OrderCompleted {
            order_id: OrderId::Number(101),
            amount,
            currency: Currency::DEFAULT,
            payment_id: "pay-1".into(),
        }),
        OrderEvent::Cancelled(OrderCancelled {
            order_id: OrderId::Number(102),
            amount: Money::from_cents(60_000),
            currency: Currency::DEFAULT,
            reason: "amount over the fraud threshold".into(),
        }),
    ];
    let payment_events = vec![
        PaymentEvent::Succeeded(PaymentSucceeded {
            order_id: OrderId::Number(101),
            amount,
            currency: Currency::DEFAULT,
            payment_id: "pay-1".into(),
        }),
        PaymentEvent::Failed(PaymentFailed {
            order_id: OrderId::Text("ord-102".into()),
            amount: Money::from_cents(60_000),
            currency: Currency::DEFAULT,
            reason: "amount 600 is over the fraud threshold of 500".into(),
        }),
    ];
    order_events
        .into_iter()
        .map(SystemEvent::Order)
        .chain(payment_events.into_iter().map(SystemEvent::Payment))
        .collect()
}

#[test]
fn the_domains_events_conform_to_their_schemas() {
    let causation = causation("7d3c2a9e-4b1f-4e8d-a6c5-0f9e8d7c6b5a");
    for event in every_event() {
        let envelope = causation.envelope(event, Utc::now());
        assert_valid(&serde_json::to_value(&envelope).unwrap());
    }
}

#[test]
fn every_sample_is_a_valid_eventbridge_event_the_domain_reads_back_unchanged() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(events_dir().join("samples")).unwrap() {
        let path = entry.unwrap().path();
        let sample = read_json(&path);
        for field in [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
        ] {
            assert!(
                sample.get(field).is_some(),
                "{}: no {field}",
                path.display()
            );
        }
        let detail = &sample["detail"];
        assert_eq!(
            sample["detail-type"],
            detail["metadata"]["eventType"],
            "{}",
            path.display()
        );
        let source = match detail["metadata"]["eventType"].as_str() {
            Some("PaymentSucceeded" | "PaymentFailed") => PAYMENT_SERVICE,
            _ => domain::order::ORDER_SERVICE,
        };
        assert_eq!(sample["source"], source, "{}", path.display());
        assert_valid(detail);

        let data = RawValue::from_string(detail["data"].to_string()).unwrap();
        let event_type = detail["metadata"]["eventType"].as_str().unwrap();
        let version = detail["metadata"]["eventVersion"].as_u64().unwrap() as u32;
        let event = SystemEvent::decode(event_type, version, &data)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if version == event.event_version() {
            assert_eq!(
                serde_json::to_value(&event).unwrap(),
                detail["data"],
                "{}",
                path.display()
            );
        } else {
            // An older version: read as the current one, it keeps everything its own version
            // said (its own schema still accepts it). It does not become a valid current
            // version: an OrderCreated from before sign-in never gains a placedBy.
            let mut upcast = detail.clone();
            upcast["data"] = serde_json::to_value(&event).unwrap();
            assert_valid(&upcast);
        }
        seen.push(event.event_type());
    }
    seen.sort();
    seen.dedup();
    let mut expected: Vec<&str> = every_event().iter().map(|e| e.event_type()).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(seen, expected, "a sample of every event type");
}

#[test]
fn the_schemas_reject_what_breaks_the_contract() {
    let sample = read_json(&events_dir().join("samples/OrderCreated.json"));
    let valid = &sample["detail"];
    assert_eq!(
        valid["metadata"]["eventVersion"], 3,
        "the sample is of the current version"
    );
    // The sample's detail with the field at a JSON pointer replaced, or removed.
    let broken = |pointer: &str, value: Option<Value>| {
        let mut detail = valid.clone();
        let (parent, last) = pointer.rsplit_once('/').unwrap();
        let parent = detail.pointer_mut(parent).unwrap();
        match (value, parent) {
            (Some(value), Value::Object(fields)) => {
                fields.insert(last.to_owned(), value);
            }
            (Some(value), parent) => *parent.pointer_mut(&format!("/{last}")).unwrap() = value,
            (None, Value::Object(fields)) => {
                fields.remove(last);
            }
            (None, other) => panic!("cannot remove {last} from {other}"),
        }
        detail
    };
    let validator = event_contracts::validator("OrderCreated", 3).unwrap();
    for (what, detail) in [
        ("no eventId", broken("/metadata/eventId", None)),
        (
            "eventId not a UUID",
            broken("/metadata/eventId", Some("42".into())),
        ),
        (
            "wrong eventType",
            broken("/metadata/eventType", Some("OrderCompleted".into())),
        ),
        (
            "occurredAt not a time",
            broken("/metadata/occurredAt", Some("yesterday".into())),
        ),
        (
            "amount a string",
            broken("/data/amount", Some("59.98".into())),
        ),
        ("amount zero", broken("/data/amount", Some(0.into()))),
        (
            "id with a slash",
            broken("/data/orderId", Some("a/b".into())),
        ),
        ("no currency", broken("/data/currency", None)),
        ("no customer", broken("/data/customerId", None)),
        ("no placedBy", broken("/data/placedBy", None)),
        (
            "an id without the customer's scope",
            broken("/data/orderId", Some(101.into())),
        ),
        (
            "an unknown channel",
            broken("/data/channel", Some("fax".into())),
        ),
        (
            "replayedAt not a time",
            broken("/metadata/replayedAt", Some("later".into())),
        ),
        (
            "quantity zero",
            broken("/data/items/0/quantity", Some(0.into())),
        ),
    ] {
        assert!(
            !validator.is_valid(&detail),
            "schema accepts a detail with {what}"
        );
    }
    assert!(validator.is_valid(valid));
}

#[test]
fn a_version_1_order_created_reads_as_the_current_version() {
    let sample = read_json(&events_dir().join("samples/OrderCreated.v1.json"));
    assert_eq!(sample["detail"]["metadata"]["eventVersion"], 1);
    assert_valid(&sample["detail"]);
    let data = RawValue::from_string(sample["detail"]["data"].to_string()).unwrap();
    let OrderEvent::Created(created) = OrderEvent::decode("OrderCreated", 1, &data).unwrap() else {
        panic!("not an OrderCreated");
    };
    assert_eq!(
        created.currency,
        Currency::DEFAULT,
        "v1 without a currency meant US dollars"
    );
    assert_eq!(created.channel, None);
    assert_eq!(created.amount, Money::from_cents(10_000));
    assert_eq!(created.placed_by, None);
    assert_eq!(OrderEvent::Created(created).event_version(), 3);
}

#[test]
fn a_version_2_order_created_reads_as_the_current_version_without_who_placed_it() {
    let sample = read_json(&events_dir().join("samples/OrderCreated.v2.json"));
    assert_eq!(sample["detail"]["metadata"]["eventVersion"], 2);
    assert_valid(&sample["detail"]);
    let data = RawValue::from_string(sample["detail"]["data"].to_string()).unwrap();
    let OrderEvent::Created(created) = OrderEvent::decode("OrderCreated", 2, &data).unwrap() else {
        panic!("not an OrderCreated");
    };
    assert_eq!(
        created.order_id,
        OrderId::Number(101),
        "unscoped, as placed"
    );
    assert_eq!(created.customer_id.as_deref(), Some("customer-1"));
    assert_eq!(created.placed_by, None);
}
