//! The query side and the operations commands, end to end: customers' order lists, the read
//! model rebuilt from the event store, replays, versioned events, and each consumer given the
//! same event twice.

use std::collections::BTreeMap;
use std::time::Duration;

use adapters::{DynamoDbEventStore, DynamoDbOrderViews, EventBridgePublisher};
use admin::rebuild::{Target, rebuild_views};
use admin::replay::{Selection, replay};
use aws_sdk_dynamodb::types::AttributeValue;
use domain::order::OrderViews;
use e2e::{FLOW, World, eventually, unique_id};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_secs(5);

/// Places an order (as `e2e::DEFAULT_CUSTOMER`) and waits until the views show it paid: its key
/// and its view.
async fn completed_order(world: &World, body: Value) -> (String, Value) {
    let key = world.key(body["id"].as_str().expect("string id"));
    let reply = world.post("/orders", &body.to_string()).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let view = view_with_status(world, &key, "COMPLETED").await;
    (key, view)
}

/// Polls the order views table (not the API, which answers from the event store while a view
/// is behind) until the order's view has `status`, and returns it.
async fn view_with_status(world: &World, key: &str, status: &str) -> Value {
    eventually(
        &format!("the view of order {key} to be {status}"),
        FLOW,
        || async {
            world
                .order_view(key)
                .await
                .filter(|view| view["status"] == status)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_orders_are_listed_newest_first_a_page_at_a_time() {
    let world = World::connect().await;
    // A customer of this run's own, whose list holds this run's orders only; they read it.
    let customer = world.customer(&unique_id("cust"));
    let mut ids = Vec::new();
    for n in 1..=3 {
        let id = unique_id(&format!("e2e-list-{n}"));
        let key = customer.order_key(&id);
        let body = json!({"id": id, "amount": n, "customerId": customer.id});
        let reply = world.post_as(&customer, "/orders", &body.to_string()).await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        world.wait_for_order(&key, FLOW).await;
        ids.push(key);
    }
    let path = format!("/customers/{}/orders", customer.id);
    let first = eventually("all three orders in the customer's list", FLOW, || async {
        let reply = world.get_as(&customer, &format!("{path}?limit=2")).await;
        (reply.status == 200 && reply.body["nextCursor"].is_string()).then_some(reply)
    })
    .await;
    let listed = |reply: &e2e::Reply| -> Vec<String> {
        reply.body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        listed(&first),
        [ids[2].clone(), ids[1].clone()],
        "newest first"
    );
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = world
        .get_as(&customer, &format!("{path}?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(listed(&second), [ids[0].clone()]);
    assert!(second.body.get("nextCursor").is_none());

    let bad = world
        .get_as(&customer, &format!("{path}?cursor=not-a-cursor"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_fields(), ["cursor"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_views_rebuilt_from_scratch_equal_the_live_ones() {
    let world = World::connect().await;
    for n in 1..=3 {
        completed_order(
            &world,
            json!({"id": unique_id(&format!("e2e-rebuild-{n}")), "amount": n}),
        )
        .await;
    }
    let settings = world.admin_settings();
    let events = DynamoDbEventStore::new(world.dynamodb.clone(), &settings.event_store_table);
    let fresh = unique_id("e2e-rebuilt-views");
    let mut lines = Vec::new();
    let report = rebuild_views(
        &world.dynamodb,
        &events,
        &Target::Fresh(fresh.clone()),
        &mut |line| lines.push(line),
    )
    .await
    .expect("rebuild");
    println!("{}", lines.join("\n"));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.written >= 3);

    let rebuilt = DynamoDbOrderViews::new(world.dynamodb.clone(), &fresh)
        .all()
        .await
        .unwrap();
    let live = DynamoDbOrderViews::new(world.dynamodb.clone(), &world.stack.order_views_table);
    // Orders still moving (other tests run meanwhile) may differ by the events in flight; every
    // order that had ended when the store was read must be the same, field for field.
    let mut compared = 0;
    for view in rebuilt.iter().filter(|v| v.status.is_terminal()) {
        let key = view.id.key();
        let live_view = eventually(
            &format!("the live view of {key} to catch up"),
            FLOW,
            || async {
                live.get(&key)
                    .await
                    .unwrap()
                    .filter(|live| live.version >= view.version)
            },
        )
        .await;
        assert_eq!(&live_view, view, "order {key}");
        compared += 1;
    }
    assert!(compared >= 3, "compared {compared} views");
    world
        .dynamodb
        .delete_table()
        .table_name(&fresh)
        .send()
        .await
        .expect("drop the rebuilt table");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_order_is_handled_without_a_second_state_change_or_notification() {
    let world = World::connect().await;
    let id = unique_id("e2e-replay");
    let key = world.key(&id);
    let notifications = world.notification_probe(&key).await;
    completed_order(&world, json!({"id": id, "amount": 12})).await;
    // The first time round: one message per event (which also shows the probe hears them).
    let first_time = notifications.collect(3, FLOW, QUIET).await;
    assert_eq!(first_time.len(), 3, "{first_time:#?}");
    let stored = world.stored_events(&key).await;
    let stored_ids: Vec<Value> = stored
        .iter()
        .map(|item| json!(item["eventId"].as_s().unwrap()))
        .collect();
    let bus = world.bus_probe(&json!(key), &[]).await;
    let replayed_at = chrono::Utc::now() - chrono::Duration::seconds(1);

    let settings = world.admin_settings();
    let events = DynamoDbEventStore::new(world.dynamodb.clone(), &settings.event_store_table);
    let publisher = EventBridgePublisher::new(world.eventbridge.clone(), &settings.event_bus);
    let report = replay(
        &events,
        &publisher,
        &Selection::Order(key.clone()),
        false,
        &mut |line| println!("{line}"),
    )
    .await
    .expect("replay");
    assert_eq!((report.selected, report.published), (2, 2), "{report:?}");

    // Proof that the consumers got the replay, before the checks that it changed nothing:
    // notification saw both events again and sent nothing; the replayed OrderCreated ran the
    // payment workflow again, whose PaymentSucceeded (the same charge) reached update-order,
    // which found the order already completed.
    for event_id in &stored_ids {
        let skipped = [("event_id", event_id.clone()), ("sent_now", json!(false))];
        world
            .wait_for_log(
                &world.stack.notification_function,
                replayed_at,
                &skipped,
                FLOW,
            )
            .await;
    }
    let handled = world
        .wait_for_log(
            &world.stack.update_order_function,
            replayed_at,
            &[
                ("order_id", json!(key)),
                ("message", json!("payment result handled")),
            ],
            FLOW,
        )
        .await;
    assert!(
        handled
            .iter()
            .all(|line| line["fields"]["outcome"] == "Ok(AlreadyApplied)"),
        "{handled:#?}"
    );

    let seen = bus.collect(2, FLOW, QUIET).await;
    let sent = notifications.collect(0, QUIET * 2, QUIET).await;
    bus.close().await;
    notifications.close().await;
    let replayed: Vec<&Value> = seen
        .iter()
        .filter(|e| e["detail"]["metadata"]["replayedAt"].is_string())
        .collect();
    let mut types: Vec<&str> = replayed
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["OrderCompleted", "OrderCreated"],
        "both events replayed, marked: {seen:#?}"
    );
    for event in &replayed {
        if let Err(errors) = event_contracts::validate_detail(&event["detail"]) {
            panic!("a replayed event breaks its schema: {errors:#?}");
        }
    }
    assert!(sent.is_empty(), "no second notification: {sent:#?}");
    assert_eq!(
        world.stored_events(&key).await.len(),
        stored.len(),
        "no second state change"
    );
    let view = world.order_view(&key).await.expect("the order's view");
    assert_eq!(
        (view["status"].as_str(), view["version"].as_u64()),
        (Some("COMPLETED"), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_order_created_in_the_store_is_read_as_the_current_version_by_everyone() {
    let world = World::connect().await;
    // As an earlier release stored it: before sign-in, under the id its client gave, unscoped.
    let id = unique_id("e2e-v1");
    let event_id = uuid::Uuid::new_v4().to_string();
    let occurred_at = "2026-06-01T09:00:00.000Z";
    // As an earlier release stored it: OrderCreated version 1, without a currency.
    let detail = json!({
        "metadata": {
            "eventId": event_id, "eventType": "OrderCreated", "eventVersion": 1,
            "occurredAt": occurred_at, "correlationId": format!("corr-{id}"),
            "causationId": "legacy-request", "producer": "create-order"
        },
        "data": {"orderId": id, "amount": 100}
    });
    let bus = world.bus_probe(&json!(id), &["OrderCreated"]).await;
    let notifications = world.notification_probe(&id).await;
    world
        .dynamodb
        .put_item()
        .table_name(&world.stack.event_store_table)
        .item("aggregateId", AttributeValue::S(id.clone()))
        .item("version", AttributeValue::N("1".into()))
        .item("source", AttributeValue::S("order-service".into()))
        .item("eventId", AttributeValue::S(event_id.clone()))
        .item("eventType", AttributeValue::S("OrderCreated".into()))
        .item("occurredAt", AttributeValue::S(occurred_at.into()))
        .item("detail", AttributeValue::S(detail.to_string()))
        .send()
        .await
        .expect("store a version 1 event");

    // The outbox publishes it as stored; the payment service, update-order and the projection
    // read it as the current version (US dollars), and the order completes in its view.
    let view = view_with_status(&world, &id, "COMPLETED").await;
    assert_eq!(view["currency"], "USD");
    assert_eq!(view["amount"], json!(100));
    assert_eq!(view["events"][0]["eventVersion"], 1, "listed as stored");
    assert_eq!(view["events"][0]["eventId"], json!(event_id));

    let published = bus.collect(1, FLOW, QUIET).await;
    bus.close().await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["detail"]["metadata"]["eventVersion"], 1);
    event_contracts::validate_detail(&published[0]["detail"])
        .expect("valid against the version 1 schema");

    let sent = notifications.collect(3, FLOW, QUIET).await;
    notifications.close().await;
    let created = sent
        .iter()
        .find(|m| m.event_type == "OrderCreated")
        .expect("OrderCreated notified");
    assert_eq!(created.subject, format!("Order {id} received: 100.00 USD"));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_consumer_given_the_same_event_twice_has_one_effect() {
    let world = World::connect().await;
    let id = unique_id("e2e-twice");
    let (key, before) = completed_order(&world, json!({"id": id, "amount": 9})).await;
    let bus = world.bus_probe(&json!(key), &[]).await;
    bus.collect(0, QUIET, QUIET).await;

    // outbox-processor: the order's OrderCreated record delivered again. Its own report of the
    // invocation says it found the event already published.
    let batch = world
        .stream_batch_of(&key, 1, "900000000000000000001")
        .await;
    let (answer, log) = world
        .invoke_logged(&world.stack.outbox_function, &batch)
        .await;
    let answer = answer.expect("outbox");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(
        batch_report(
            &log,
            "outbox batch relayed",
            &["received", "published", "already_published"]
        ),
        [1, 0, 1],
        "{log:#?}"
    );

    // projection: the same record again (its view is COMPLETED, read above); it reports the
    // view already held it.
    let (answer, log) = world
        .invoke_logged(&world.stack.projection_function, &batch)
        .await;
    let answer = answer.expect("projection");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(
        batch_report(
            &log,
            "projection batch applied",
            &["received", "applied", "unchanged"]
        ),
        [1, 0, 1],
        "{log:#?}"
    );
    let after = world.order_view(&key).await.expect("the order's view");
    assert_eq!(after, before, "the view did not change");

    // payment: the same charge twice.
    let created = &world.stored_events(&key).await[0];
    let detail: Value = serde_json::from_str(created["detail"].as_s().unwrap()).unwrap();
    let charge = json!({
        "order": detail["data"],
        "orderEventVersion": detail["metadata"]["eventVersion"],
        "correlationId": detail["metadata"]["correlationId"],
        "causationId": detail["metadata"]["eventId"],
    });
    let first = world
        .invoke(&world.stack.payment_function, &charge)
        .await
        .expect("payment");
    let second = world
        .invoke(&world.stack.payment_function, &charge)
        .await
        .expect("payment again");
    assert_eq!(first, second, "the same payment");
    assert_eq!(
        first["paymentId"], after["paymentId"],
        "the one the order was completed with"
    );
    let charges = world.charges(&key).await;
    assert_eq!(charges, 1, "one charge on record");

    // update-order and notification: see the order_flow suite (the same PaymentSucceeded
    // published again changes nothing and is not notified again).
    let extra = bus.collect(0, QUIET, QUIET).await;
    bus.close().await;
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for event in &extra {
        *types
            .entry(event["detail-type"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    assert!(extra.is_empty(), "nothing published again: {types:?}");
    assert_eq!(world.stored_events(&key).await.len(), 2);
}

/// The counts a stream consumer logged about one batch (its line `message`), in `fields` order.
fn batch_report(log: &[Value], message: &str, fields: &[&str]) -> Vec<u64> {
    let line = log
        .iter()
        .find(|line| line["fields"]["message"] == message)
        .unwrap_or_else(|| panic!("no \"{message}\" line in {log:#?}"));
    fields
        .iter()
        .map(|field| {
            line["fields"][*field]
                .as_u64()
                .unwrap_or_else(|| panic!("{field} in {line}"))
        })
        .collect()
}
