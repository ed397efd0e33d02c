//! The order API end to end: HTTP in, the event store, the outbox, and the bus.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{DEFAULT_CUSTOMER, World, eventually, unique_id, unique_number};
use serde_json::{Value, json};

/// Stream -> outbox -> bus -> rule -> queue takes about a second on LocalStack; leave room for a
/// cold start of each function on a loaded machine.
const DELIVERY: Duration = Duration::from_secs(60);
/// After the first event arrives, how long to keep listening for an unexpected second one.
const QUIET: Duration = Duration::from_secs(5);

fn attribute<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => s,
        other => panic!("attribute {name}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_in_the_original_demos_shape_is_accepted_as_created_and_read_back_as_placed() {
    let world = World::connect().await;
    // The original demo's request, with a numeric id of this run's own, so that what is read
    // back cannot be an earlier run's order. It is stored in its customer's scope.
    let id = unique_number();
    let customer = world.customer(DEFAULT_CUSTOMER);
    let key = customer.order_key(id);
    let reply = world
        .post_as(
            &customer,
            "/orders",
            &json!({"id": id, "amount": 100}).to_string(),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["id"], json!(key));
    assert_eq!(reply.body["status"], "CREATED");
    assert_eq!(
        reply.header("location"),
        Some(format!("/orders/{key}").as_str())
    );

    // The projection writes the order's view: eventually consistent, so wait for it.
    let order = world.wait_for_order(&key, DELIVERY).await;
    assert_eq!(order["id"], json!(key));
    assert_eq!(order["customerId"], json!(customer.id));
    assert_eq!(order["amount"], json!(100));
    assert_eq!(order["currency"], "USD");
    assert!(order["createdAt"].is_string());
    assert_eq!(order["events"][0]["eventType"], "OrderCreated", "{order:#}");
    // Placed, and perhaps paid already (100 is under the fraud threshold): nothing else.
    let state = (order["version"].as_u64(), order["status"].as_str());
    assert!(
        matches!(
            state,
            (Some(1), Some("CREATED")) | (Some(2), Some("COMPLETED"))
        ),
        "{order:#}"
    );

    // Its customer reads it back by the id they gave, as the original demo's `GET /orders/101`.
    let read = world.get_as(&customer, &format!("/orders/{id}")).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["id"], json!(key));
    assert_eq!(read.body["amount"], json!(100));
}

#[tokio::test(flavor = "multi_thread")]
async fn order_created_reaches_the_bus_once_in_the_envelope_with_the_callers_correlation_id() {
    let world = World::connect().await;
    let id = unique_id("e2e-bus");
    let customer = world.customer("cust-1");
    let key = customer.order_key(&id);
    let correlation = unique_id("corr");
    let probe = world.bus_probe(&json!(key), &["OrderCreated"]).await;

    // The body may name its customer, when that is who signed in.
    let body = json!({"id": id, "amount": 59.98, "customerId": customer.id,
        "items": [{"productId": "PROD_001", "quantity": 2, "price": 29.99}]})
    .to_string();
    let (authorization, token) = customer.authorization();
    let reply = world
        .request(
            "POST",
            "/orders",
            Some(&body),
            &[("X-Correlation-Id", &correlation), (authorization, &token)],
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["correlationId"], json!(correlation));

    let events = probe.collect(1, DELIVERY, QUIET).await;
    probe.close().await;
    assert_eq!(events.len(), 1, "exactly one event on the bus: {events:#?}");
    let event = &events[0];
    assert_eq!(event["source"], "order-service");
    assert_eq!(event["detail-type"], "OrderCreated");
    let detail = &event["detail"];
    if let Err(errors) = event_contracts::validate_detail(detail) {
        panic!("OrderCreated on the bus breaks its schema: {errors:#?}\n{detail:#}");
    }
    assert_eq!(detail["metadata"]["correlationId"], json!(correlation));
    assert_eq!(detail["metadata"]["producer"], "create-order");
    assert_eq!(detail["metadata"]["eventVersion"], 3);
    // Scoped to its customer, and saying whose token placed it.
    assert_eq!(
        detail["data"],
        json!({"orderId": key, "amount": 59.98, "currency": "USD", "customerId": customer.id,
            "items": [{"productId": "PROD_001", "quantity": 2, "price": 29.99}],
            "placedBy": e2e::token_claims(&customer.token)["sub"]})
    );

    // The stored event is the published one, and the outbox marked it published.
    let stored = eventually("the event to be marked published", DELIVERY, || async {
        let items = world.stored_events(&key).await;
        items
            .first()
            .filter(|item| item.contains_key("publishedAt"))
            .cloned()
    })
    .await;
    assert_eq!(
        attribute(&stored, "eventId"),
        detail["metadata"]["eventId"].as_str().unwrap()
    );
    let stored_detail: Value = serde_json::from_str(attribute(&stored, "detail")).unwrap();
    assert_eq!(&stored_detail, detail);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catch_all_log_group_holds_every_event() {
    let world = World::connect().await;
    let id = unique_id("e2e-log");
    let key = world.key(&id);
    assert_eq!(
        world
            .post("/orders", &json!({"id": id, "amount": 1}).to_string())
            .await
            .status,
        202
    );
    let event_id = eventually("the event to be stored", DELIVERY, || async {
        world
            .stored_events(&key)
            .await
            .first()
            .map(|item| attribute(item, "eventId").to_owned())
    })
    .await;

    let logged = world.logged_event(&event_id, DELIVERY).await;
    assert_eq!(logged["detail-type"], "OrderCreated");
    assert_eq!(logged["detail"]["data"]["orderId"], json!(key));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_400_naming_each_field_and_writes_nothing() {
    let world = World::connect().await;
    let customer = world.customer(DEFAULT_CUSTOMER);
    let id = unique_id("e2e-bad");
    let key = customer.order_key(&id);
    let cases: [(String, &[&str]); 4] = [
        (format!(r#"{{"id":"{id}","amount":"#), &["body"]),
        (json!({"id": id, "amount": 0, "currency": "usd"}).to_string(), &["amount", "currency"]),
        (json!({"id": id, "amount": 10.001}).to_string(), &["amount"]),
        (
            json!({"id": id, "amount": 10, "items": [{"productId": "p", "quantity": 0, "price": 10}]}).to_string(),
            &["items[0].quantity"],
        ),
    ];
    for (body, fields) in &cases {
        let reply = world.post_as(&customer, "/orders", body).await;
        assert_eq!(reply.status, 400, "{body} -> {:?}", reply.body);
        assert_eq!(reply.body["error"], "validation_failed");
        assert_eq!(&reply.error_fields(), fields, "{body}");
    }
    let oversized = json!({"id": id, "amount": 1, "customerId": "x".repeat(70_000)}).to_string();
    let reply = world.post_as(&customer, "/orders", &oversized).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["body"]);

    assert!(
        world.stored_events(&key).await.is_empty(),
        "nothing was written for {key}"
    );
    assert_eq!(world.get(&format!("/orders/{key}")).await.status, 404);
    assert_eq!(
        world
            .get_as(&customer, &format!("/orders/{id}"))
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_post_gives_the_same_answer_and_one_event() {
    let world = World::connect().await;
    let id = unique_id("e2e-again");
    let key = world.key(&id);
    let probe = world.bus_probe(&json!(key), &["OrderCreated"]).await;
    let body = json!({"id": id, "amount": 25}).to_string();

    let first = world.post("/orders", &body).await;
    let again = world.post("/order", &body).await;
    assert_eq!(first.status, 202);
    assert_eq!(again.status, 202);
    assert_eq!(first.body["id"], json!(key));
    assert_eq!(
        again.body, first.body,
        "the same answer, correlation id included"
    );

    let conflict = world
        .post("/orders", &json!({"id": id, "amount": 26}).to_string())
        .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["error"], "conflict");

    let events = probe.collect(1, DELIVERY, QUIET).await;
    probe.close().await;
    assert_eq!(events.len(), 1, "one OrderCreated on the bus: {events:#?}");
    let created_in_store = world
        .stored_events(&key)
        .await
        .iter()
        .filter(|item| attribute(item, "eventType") == "OrderCreated")
        .count();
    assert_eq!(created_in_store, 1, "one OrderCreated in the store");

    let order = world.wait_for_order(&key, DELIVERY).await;
    assert_eq!(order["amount"], json!(25));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_methods_and_orders_get_json_errors() {
    let world = World::connect().await;
    let reply = world.get("/nowhere").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"], "not_found");

    let reply = world.get("/orders").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));

    let (authorization, token) = world.operator().authorization();
    let reply = world
        .request("DELETE", "/orders/101", None, &[(authorization, &token)])
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body["error"], "method_not_allowed");

    let reply = world
        .get(&format!("/orders/{}", world.key(unique_id("e2e-missing"))))
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"], "not_found");
}
