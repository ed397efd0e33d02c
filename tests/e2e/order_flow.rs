//! The whole reference flow: order -> payment state machine -> update-order -> notification,
//! as the original demo's README checks it, and more.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use e2e::{Customer, DEFAULT_CUSTOMER, FLOW, World, eventually, unique_id, unique_number};
use serde_json::{Value, json};

/// After the expected messages arrived, how long to keep listening for an unexpected extra one.
const QUIET: Duration = Duration::from_secs(5);

fn event_types(events: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts
            .entry(event["detail-type"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn by_type<'a>(events: &'a [Value], event_type: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["detail-type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} among {events:#?}"))
}

fn once_each(types: &[&str]) -> BTreeMap<String, usize> {
    types.iter().map(|t| (t.to_string(), 1)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_demo_orders_complete_and_cancel_and_their_payments_run_to_the_end() {
    let world = World::connect().await;
    // The original demo's orders 101 and 102, with numeric ids of this run's own: 101 itself is
    // placed by local-up.sh, and an earlier run's orders would pass without this run's flow.
    let (paid, refused) = (unique_number(), unique_number());
    let at_threshold = unique_id("e2e-500");
    // Each is stored in its customer's scope: its key is theirs, whatever id the body gave.
    let orders = [
        (
            world.key(paid),
            json!({"id": paid, "amount": 100}).to_string(),
            "COMPLETED",
        ),
        (
            world.key(refused),
            json!({"id": refused, "amount": 600}).to_string(),
            "CANCELLED",
        ),
        (
            world.key(&at_threshold),
            json!({"id": at_threshold, "amount": 500}).to_string(),
            "COMPLETED",
        ),
    ];
    for (key, body, _) in &orders {
        let reply = world.post("/order", body).await;
        assert_eq!(reply.status, 202, "{body} -> {:?}", reply.body);
        assert_eq!(reply.body["id"], json!(key));
    }
    for (key, _, status) in &orders {
        let (order, _) = world.wait_for_status(key, status, FLOW).await;
        assert_eq!(order["version"], 2, "created, then {status}: {order}");
        let executions = eventually("the payment execution to finish", FLOW, || async {
            let statuses = world.payment_executions(&json!(key)).await;
            (!statuses.is_empty() && statuses.iter().all(|s| s != "RUNNING")).then_some(statuses)
        })
        .await;
        assert!(
            executions.iter().all(|s| s == "SUCCEEDED"),
            "executions of order {key}: {executions:?}"
        );
    }
}

/// Follows one order, placed by `customer`, through the system and checks every event it
/// causes: on the bus once each, valid against its schema, correlated, each caused by the one
/// before, logged by the catch-all rule, and notified exactly once. Returns the events and the
/// notifications.
async fn follow(
    world: &World,
    customer: &Customer,
    body: Value,
    expected_status: &str,
    expected_types: &[&str],
) -> (Vec<Value>, Vec<e2e::SentNotification>) {
    let key = customer.order_key(body["id"].as_str().expect("string id"));
    let correlation = unique_id("corr");
    let bus = world.bus_probe(&json!(key), &[]).await;
    let notifications = world.notification_probe(&key).await;

    let (authorization, token) = customer.authorization();
    let reply = world
        .request(
            "POST",
            "/orders",
            Some(&body.to_string()),
            &[("X-Correlation-Id", &correlation), (authorization, &token)],
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["id"], json!(key));
    world.wait_for_status(&key, expected_status, FLOW).await;

    let events = bus.collect(expected_types.len(), FLOW, QUIET).await;
    let sent = notifications
        .collect(expected_types.len(), FLOW, QUIET)
        .await;
    bus.close().await;
    notifications.close().await;

    assert_eq!(
        event_types(&events),
        once_each(expected_types),
        "events on the bus: {events:#?}"
    );
    for event in &events {
        if let Err(errors) = event_contracts::validate_detail(&event["detail"]) {
            panic!(
                "{} breaks its schema: {errors:#?}\n{:#}",
                event["detail-type"], event["detail"]
            );
        }
        assert_eq!(
            event["detail"]["metadata"]["correlationId"],
            json!(correlation),
            "{event:#}"
        );
    }
    // Each event is caused by the one before it.
    for pair in expected_types.windows(2) {
        let (cause, effect) = (by_type(&events, pair[0]), by_type(&events, pair[1]));
        assert_eq!(
            effect["detail"]["metadata"]["causationId"], cause["detail"]["metadata"]["eventId"],
            "{} should be caused by {}",
            pair[1], pair[0]
        );
    }
    let mut notified: BTreeMap<String, usize> = BTreeMap::new();
    for message in &sent {
        assert_eq!(message.order_id, key);
        *notified.entry(message.event_type.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        notified,
        once_each(expected_types),
        "notifications: {sent:#?}"
    );

    for event in &events {
        let event_id = event["detail"]["metadata"]["eventId"].as_str().unwrap();
        let logged = world.logged_event(event_id, FLOW).await;
        assert_eq!(logged["detail"], event["detail"]);
    }
    (events, sent)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_order_flows_through_every_service_once_with_one_correlation_id() {
    let world = World::connect().await;
    let id = unique_id("e2e-paid");
    let key = world.key(&id);
    let (events, sent) = follow(
        &world,
        &world.customer(DEFAULT_CUSTOMER),
        json!({"id": id, "amount": 100}),
        "COMPLETED",
        &["OrderCreated", "PaymentSucceeded", "OrderCompleted"],
    )
    .await;

    let paid = by_type(&events, "PaymentSucceeded");
    assert_eq!(paid["source"], "payment-service");
    let payment_id = paid["detail"]["data"]["paymentId"].as_str().unwrap();
    assert!(payment_id.starts_with("pay-"), "{paid:#}");
    let completed = by_type(&events, "OrderCompleted");
    assert_eq!(completed["source"], "order-service");
    assert_eq!(completed["detail"]["data"]["paymentId"], payment_id);
    let subject = |event_type: &str| {
        sent.iter()
            .find(|m| m.event_type == event_type)
            .map(|m| m.subject.clone())
            .unwrap()
    };
    assert_eq!(
        subject("OrderCompleted"),
        format!("Order {key} completed: 100.00 USD")
    );
    assert_eq!(
        subject("PaymentSucceeded"),
        format!("Payment for order {key} succeeded")
    );

    // Its journey, as `eda-admin trace` shows it: each step under the one that caused it.
    let journey = world.journey(&key).await;
    println!("{}", journey.tree());
    let created = step(&journey, "create-order", "OrderCreated v3 stored");
    under(&journey, "published OrderCreated to the bus", created);
    let execution = step(&journey, "payment workflow", "succeeded");
    assert_eq!(execution.caused_by.as_deref(), Some(created.id.as_str()));
    under(&journey, "state Charge", execution);
    let paid = step(
        &journey,
        "payment workflow",
        "PaymentSucceeded v1 published",
    );
    assert_eq!(paid.caused_by.as_deref(), Some(execution.id.as_str()));
    under(&journey, "OrderCompleted v1 stored", paid);
    // The functions' lines, each invocation under the event it handled (its span's eventId).
    under(&journey, "order charged", created);
    under(&journey, "payment result handled", paid);
    under(&journey, "notification handled", paid);
    step(&journey, "projection", "view written");
    assert!(journey.mermaid().contains("->>"), "{}", journey.mermaid());
}

/// The step of `journey` that ran at `place` and whose description contains `what`.
fn step<'a>(journey: &'a admin::trace::Journey, place: &str, what: &str) -> &'a admin::trace::Step {
    journey
        .steps
        .iter()
        .find(|step| step.place == place && step.what.contains(what))
        .unwrap_or_else(|| panic!("a step at {place} that {what}:\n{}", journey.tree()))
}

/// Checks that a step whose description contains `what` was caused by `cause`.
fn under(journey: &admin::trace::Journey, what: &str, cause: &admin::trace::Step) {
    let found = journey
        .steps
        .iter()
        .any(|step| step.what.contains(what) && step.caused_by.as_deref() == Some(&cause.id));
    assert!(
        found,
        "a step that {what} under {:?}:\n{}",
        cause.what,
        journey.tree()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_over_the_fraud_threshold_is_cancelled_with_the_reason() {
    let world = World::connect().await;
    let id = unique_id("e2e-fraud");
    let key = world.key(&id);
    let (events, sent) = follow(
        &world,
        &world.customer(DEFAULT_CUSTOMER),
        json!({"id": id, "amount": 600}),
        "CANCELLED",
        &["OrderCreated", "PaymentFailed", "OrderCancelled"],
    )
    .await;

    let reason = "amount 600 is over the fraud threshold of 500";
    assert_eq!(
        by_type(&events, "PaymentFailed")["detail"]["data"]["reason"],
        reason
    );
    assert_eq!(
        by_type(&events, "OrderCancelled")["detail"]["data"]["reason"],
        reason
    );
    let message = sent
        .iter()
        .find(|m| m.event_type == "OrderCancelled")
        .unwrap();
    assert_eq!(message.subject, format!("Order {key} cancelled"));
    assert!(message.message.contains(reason), "{}", message.message);

    let journey = world.journey(&key).await;
    println!("{}", journey.tree());
    let created = step(&journey, "create-order", "OrderCreated v3 stored");
    let execution = step(&journey, "payment workflow", "succeeded");
    assert_eq!(execution.caused_by.as_deref(), Some(created.id.as_str()));
    under(&journey, "state RefuseAsFraud", execution);
    let refused = step(&journey, "payment workflow", "PaymentFailed v1 published");
    assert_eq!(refused.caused_by.as_deref(), Some(execution.id.as_str()));
    under(&journey, "OrderCancelled v1 stored", refused);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_provider_outage_ends_in_a_cancelled_order_with_the_reason_never_a_stuck_one() {
    let world = World::connect().await;
    let customer = world.stack.simulated_outage_customer.clone().expect(
        "the stack simulates no payment outage (template parameter SimulatedOutageCustomer)",
    );
    // The customer signs in, and the body names them too.
    let customer = world.customer(&customer);
    let id = unique_id("e2e-outage");
    let key = customer.order_key(&id);
    let (events, _) = follow(
        &world,
        &customer,
        json!({"id": id, "amount": 20, "customerId": customer.id}),
        "CANCELLED",
        &["OrderCreated", "PaymentFailed", "OrderCancelled"],
    )
    .await;

    assert_eq!(
        by_type(&events, "PaymentFailed")["detail"]["data"]["reason"],
        "payment could not be made: PaymentProviderUnavailable"
    );
    let executions = world.payment_executions(&json!(key)).await;
    assert_eq!(
        executions,
        ["SUCCEEDED"],
        "the workflow handled the error and ended normally"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicated_payment_result_changes_nothing_and_is_not_notified_again() {
    let world = World::connect().await;
    let id = unique_id("e2e-dup");
    let key = world.key(&id);
    let (events, _) = follow(
        &world,
        &world.customer(DEFAULT_CUSTOMER),
        json!({"id": id, "amount": 42}),
        "COMPLETED",
        &["OrderCreated", "PaymentSucceeded", "OrderCompleted"],
    )
    .await;

    // The same PaymentSucceeded again, as an at-least-once delivery would repeat it.
    let bus = world.bus_probe(&json!(key), &[]).await;
    let notifications = world.notification_probe(&key).await;
    let paid = by_type(&events, "PaymentSucceeded");
    let event_id = paid["detail"]["metadata"]["eventId"].clone();
    let sent_at = Utc::now() - chrono::Duration::seconds(1);
    world
        .put_on_bus("payment-service", "PaymentSucceeded", &paid["detail"])
        .await;

    // First the proof that both consumers got the duplicate and knew it (what follows would
    // pass just as well if it had never arrived), then that it changed nothing.
    let stack = &world.stack;
    let handled = [
        ("event_id", event_id.clone()),
        ("handled_before", json!(true)),
    ];
    world
        .wait_for_log(&stack.update_order_function, sent_at, &handled, FLOW)
        .await;
    let skipped = [("event_id", event_id), ("sent_now", json!(false))];
    world
        .wait_for_log(&stack.notification_function, sent_at, &skipped, FLOW)
        .await;
    let again = bus.collect(1, FLOW, QUIET).await;
    let sent = notifications.collect(0, QUIET, QUIET).await;
    bus.close().await;
    notifications.close().await;
    assert_eq!(
        event_types(&again),
        once_each(&["PaymentSucceeded"]),
        "only the duplicate itself: {again:#?}"
    );
    assert!(sent.is_empty(), "no second notification: {sent:#?}");
    assert_eq!(
        world.stored_events(&key).await.len(),
        2,
        "no second transition"
    );
    // Neither in the view (the projection) nor as the API shows the order.
    let view = world.order_view(&key).await.expect("the order's view");
    assert_eq!(
        (view["status"].as_str(), view["version"].as_u64()),
        (Some("COMPLETED"), Some(2))
    );
    let order = world.get(&format!("/orders/{key}")).await;
    assert_eq!(
        (
            order.body["status"].as_str(),
            order.body["version"].as_u64()
        ),
        (Some("COMPLETED"), Some(2))
    );
}

/// Twenty orders, one after the other: each followed from its POST to COMPLETED. Prints the
/// latency distribution and where the time goes (no assertion on time: the machines are
/// shared); asserts that none is lost.
#[tokio::test(flavor = "multi_thread")]
async fn twenty_orders_one_after_another_all_complete() {
    let world = World::connect().await;
    let run = unique_id("e2e-seq");
    let mut results = Vec::new();
    for n in 1..=20 {
        results.push(place_and_follow(&world, format!("{run}-{n:02}"), n).await);
    }
    report(&world, "20 orders one after another", results).await;
}

/// The same twenty orders all at once: a burst, to see what queues up.
#[tokio::test(flavor = "multi_thread")]
async fn twenty_orders_at_once_all_complete() {
    let world = World::connect().await;
    let run = unique_id("e2e-burst");
    let orders = (1..=20).map(|n| place_and_follow(&world, format!("{run}-{n:02}"), n));
    report(
        &world,
        "20 orders at once",
        futures::future::join_all(orders).await,
    )
    .await;
}

/// Places an order and waits for it to complete: its key, when it was posted, and how long it
/// took.
async fn place_and_follow(world: &World, id: String, n: u32) -> (String, DateTime<Utc>, Duration) {
    let key = world.key(&id);
    let posted = Utc::now();
    let reply = world
        .post("/orders", &json!({"id": id, "amount": 10 + n}).to_string())
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let (_, latency) = world.wait_for_status(&key, "COMPLETED", FLOW * 2).await;
    (key, posted, latency)
}

async fn report(world: &World, what: &str, mut results: Vec<(String, DateTime<Utc>, Duration)>) {
    assert_eq!(results.len(), 20);
    let executions = world.payment_execution_times().await;
    let mut hops: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, posted, _) in &results {
        let timeline = timeline(world, id, &executions).await;
        let mut record = |hop, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
            if let (Some(from), Some(to)) = (from, to) {
                hops.entry(hop)
                    .or_default()
                    .push((to - from).num_milliseconds());
            }
        };
        record(
            "1 API: POST to OrderCreated stored",
            Some(*posted),
            timeline.created,
        );
        record(
            "2 stream + outbox: stored to published",
            timeline.created,
            timeline.created_published,
        );
        record(
            "3 bus to payment workflow started",
            timeline.created_published,
            timeline.execution_started,
        );
        record(
            "4 payment workflow",
            timeline.execution_started,
            timeline.execution_stopped,
        );
        record(
            "5 bus + update-order: to OrderCompleted stored",
            timeline.execution_stopped,
            timeline.completed,
        );
    }
    results.sort_by_key(|(_, _, latency)| *latency);
    println!(
        "POST -> COMPLETED, {what}: median {} ms, worst {} ms, best {} ms (GET polled every 250 ms)",
        results[9].2.as_millis(),
        results[19].2.as_millis(),
        results[0].2.as_millis()
    );
    for (hop, mut times) in hops {
        times.sort();
        println!(
            "  {hop:<50} median {:>6} ms, worst {:>6} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}

/// When each step of one order's flow happened, from the event store and the workflow.
struct Timeline {
    created: Option<DateTime<Utc>>,
    created_published: Option<DateTime<Utc>>,
    execution_started: Option<DateTime<Utc>>,
    execution_stopped: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
}

async fn timeline(
    world: &World,
    id: &str,
    executions: &BTreeMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)>,
) -> Timeline {
    let items = world.stored_events(id).await;
    let time = |version: usize, attribute: &str| {
        items
            .get(version - 1)
            .and_then(|item| item.get(attribute))
            .and_then(|value| value.as_s().ok())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
    };
    let execution = executions.get(id);
    Timeline {
        created: time(1, "occurredAt"),
        created_published: time(1, "publishedAt"),
        execution_started: execution.map(|e| e.0),
        execution_stopped: execution.and_then(|e| e.1),
        completed: time(2, "occurredAt"),
    }
}
