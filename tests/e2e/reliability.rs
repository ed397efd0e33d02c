//! Trying hard to break the promise that an order is never lost, never doubled and never stuck:
//! many writers on one order at once, and many orders at once.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use e2e::{FLOW, World, eventually, unique_id};

/// A burst queues up on LocalStack, which finishes about four orders a second on two cores
/// (BENCHMARKS.md): 200 orders need minutes, not seconds.
const BURST: Duration = Duration::from_secs(420);
/// After the expected messages arrived, how long to keep listening for an unexpected extra one.
const QUIET: Duration = Duration::from_secs(5);

/// A `PaymentSucceeded` for `order_id` as the payment state machine puts it on the bus, in the
/// envelope EventBridge delivers to update-order.
fn payment_succeeded(order_id: &str, event_id: Uuid, payment_id: &str) -> Value {
    json!({
        "version": "0",
        "id": Uuid::new_v4().to_string(),
        "detail-type": "PaymentSucceeded",
        "source": "payment-service",
        "account": "000000000000",
        "time": Utc::now().to_rfc3339(),
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "metadata": {
                "eventId": event_id.to_string(),
                "eventType": "PaymentSucceeded",
                "eventVersion": 1,
                "occurredAt": Utc::now().to_rfc3339(),
                "correlationId": unique_id("corr"),
                "causationId": Uuid::new_v4().to_string(),
                "producer": "payment-state-machine",
            },
            "data": {
                "orderId": order_id,
                "amount": 25,
                "currency": "USD",
                "paymentId": payment_id,
            },
        },
    })
}

/// 50 payment results for one order handed to update-order at the same moment: 25 copies of one
/// event (one delivery repeated) and 25 events of their own (as if the payment had run 25 times).
/// The idempotency records stop the copies, the order's optimistic lock the others: exactly one
/// transition, one `OrderCompleted` stored and one on the bus. The order's own payment result,
/// which arrives through the flow meanwhile, is one more writer in the race.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_payment_results_for_one_order_at_once_make_one_transition() {
    let world = World::connect().await;
    let id = unique_id("e2e-race");
    let key = world.key(&id);
    let bus = world.bus_probe(&json!(key), &["OrderCompleted"]).await;
    let reply = world
        .post("/orders", &json!({"id": id, "amount": 25}).to_string())
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);

    let repeated = Uuid::new_v4();
    let deliveries: Vec<Value> = (0..50)
        .map(|n| {
            let event_id = if n % 2 == 0 { repeated } else { Uuid::new_v4() };
            payment_succeeded(&key, event_id, "pay-e2e-race")
        })
        .collect();
    let answers = join_all(
        deliveries
            .iter()
            .map(|event| world.invoke(&world.stack.update_order_function, event)),
    )
    .await;
    // A delivery that lost the race may be refused, to be retried by Lambda: only as "being
    // handled by another invocation", never for any other reason.
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for answer in &answers {
        let outcome = match answer {
            Ok(_) => "handled",
            Err(error) if error.contains("PaymentEventInProgress") => "in progress elsewhere",
            Err(_) => "failed",
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    println!("50 concurrent payment results for {key}: {outcomes:?}");
    assert!(!outcomes.contains_key("failed"), "{answers:#?}");
    assert!(outcomes.contains_key("handled"), "{answers:#?}");

    world.wait_for_status(&key, "COMPLETED", FLOW).await;
    let completed = bus.collect(1, FLOW, QUIET).await;
    bus.close().await;
    assert_eq!(
        completed.len(),
        1,
        "one OrderCompleted on the bus: {completed:#?}"
    );
    assert_eq!(
        world.stored_types(&key).await,
        ["OrderCreated", "OrderCompleted"],
        "one transition"
    );
}

/// The same order POSTed 50 times at once by its customer (a client retrying impatiently): every
/// answer is the same 202, and one `OrderCreated` is stored.
#[tokio::test(flavor = "multi_thread")]
async fn fifty_identical_posts_at_once_store_one_order() {
    let world = World::connect().await;
    let id = unique_id("e2e-posts");
    let key = world.key(&id);
    let body = json!({"id": id, "amount": 30}).to_string();
    let replies = join_all((0..50).map(|_| world.post("/orders", &body))).await;
    let statuses: BTreeMap<u16, usize> = replies.iter().fold(BTreeMap::new(), |mut counts, r| {
        *counts.entry(r.status).or_default() += 1;
        counts
    });
    assert_eq!(statuses, BTreeMap::from([(202, 50)]), "{replies:#?}");
    let answered: Vec<&Value> = replies.iter().map(|r| &r.body).collect();
    assert!(
        answered.iter().all(|body| **body == *answered[0]),
        "the same answer each time: {answered:#?}"
    );
    assert_eq!(answered[0]["id"], json!(key));
    world.wait_for_status(&key, "COMPLETED", FLOW).await;
    assert_eq!(
        world.stored_types(&key).await,
        ["OrderCreated", "OrderCompleted"]
    );
}

/// 200 orders POSTed at once: all accepted, and each ends with exactly its own two events, its
/// `OrderCompleted` on the bus once.
#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_orders_at_once_each_end_with_exactly_their_events() {
    let world = World::connect().await;
    let run = unique_id("e2e-200");
    // The orders' keys, in their customer's scope, all start with this.
    let prefix = world.key(format!("{run}-"));
    let bus = world
        .bus_probe_matching(json!({
            "detail-type": ["OrderCompleted", "OrderCancelled"],
            "detail": {"data": {"orderId": [{"prefix": prefix}]}}
        }))
        .await;
    let client_ids: Vec<String> = (0..200).map(|n| format!("{run}-{n:03}")).collect();
    let ids: Vec<String> = client_ids.iter().map(|id| world.key(id)).collect();
    let replies = join_all(client_ids.iter().enumerate().map(|(n, id)| {
        let body = json!({"id": id, "amount": 10 + n % 90}).to_string();
        let world = &world;
        async move { world.post("/orders", &body).await }
    }))
    .await;
    let refused: Vec<_> = replies.iter().filter(|r| r.status != 202).collect();
    assert!(refused.is_empty(), "all 200 accepted: {refused:#?}");

    let ends = bus.collect(ids.len(), BURST, QUIET).await;
    bus.close().await;
    let mut per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &ends {
        per_order
            .entry(
                event["detail"]["data"]["orderId"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned(),
            )
            .or_default()
            .push(event["detail-type"].as_str().unwrap_or("?").to_owned());
    }
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !per_order.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} orders did not end: {missing:?}",
        missing.len()
    );
    let doubled: Vec<_> = per_order
        .iter()
        .filter(|(_, ends)| ends.len() != 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "orders that ended more than once: {doubled:?}"
    );
    assert_eq!(per_order.len(), ids.len(), "no end of an order not placed");

    for id in &ids {
        let types = eventually(&format!("{id}'s two events"), FLOW, || async {
            let types = world.stored_types(id).await;
            (types.len() >= 2).then_some(types)
        })
        .await;
        assert_eq!(types, ["OrderCreated", "OrderCompleted"], "order {id}");
    }
}
