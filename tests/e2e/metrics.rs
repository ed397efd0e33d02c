//! The functions' metrics on the local stack: for a known set of orders, some completed and
//! some cancelled, the embedded metric format documents in the deployed functions' logs hold
//! the counts those orders make. Other suites place orders meanwhile, so every count here is
//! of the documents whose `orderId` property is one of this test's orders.
//!
//! The stream consumers (outbox-processor, projection) handle batches that mix orders, so their
//! documents name no order: for them the test checks only that they counted at least this
//! test's events, which is all that can be attributed honestly.

use std::collections::BTreeSet;

use adapters::metrics::{EVENT_TYPE_DIMENSION, ORDER_ID_PROPERTY, SERVICE_DIMENSION, names};
use chrono::Utc;
use e2e::{FLOW, World, eventually, unique_id};
use serde_json::json;
use testkit::metrics::{Document, Metric};

/// Orders of up to this amount are charged; above it the payment workflow refuses them.
const FRAUD_THRESHOLD: u64 = 500;
const AMOUNTS: [u64; 4] = [120, 480, 501, 900];

/// The metrics of `documents` that are about one of `orders`.
fn of_orders<'a>(
    documents: &'a [Document],
    orders: &'a BTreeSet<String>,
) -> impl Iterator<Item = &'a Metric> {
    documents
        .iter()
        .filter(|document| {
            document
                .property(ORDER_ID_PROPERTY)
                .is_some_and(|order| orders.contains(order))
        })
        .flat_map(|document| document.metrics.iter())
}

/// The sum of the values of metric `name` in `metrics` whose dimensions are `service` and
/// these.
fn total<'a>(
    metrics: impl Iterator<Item = &'a Metric>,
    name: &str,
    dimensions: &[(&str, &str)],
) -> f64 {
    metrics
        .filter(|metric| {
            metric.name == name
                && metric.dimensions.len() == dimensions.len() + 1
                && dimensions.iter().all(|(key, value)| {
                    metric.dimensions.get(*key).map(String::as_str) == Some(*value)
                })
        })
        .flat_map(|metric| metric.values.iter())
        .sum()
}

/// Every value of metric `name` in `metrics`.
fn values<'a>(metrics: impl Iterator<Item = &'a Metric>, name: &str) -> Vec<f64> {
    metrics
        .filter(|metric| metric.name == name)
        .flat_map(|metric| metric.values.iter().copied())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn given_orders_completed_and_cancelled_then_each_function_counts_them_in_its_log() {
    let world = World::connect().await;
    let since = Utc::now() - chrono::Duration::seconds(5);
    let customer = world.customer(&unique_id("metrics"));
    let mut orders = BTreeSet::new();
    let mut ends = Vec::new();
    let mut first_id = None;
    for amount in AMOUNTS {
        let id = unique_id(&format!("e2e-metrics-{amount}"));
        first_id.get_or_insert_with(|| id.clone());
        let body = json!({"id": id, "amount": amount, "customerId": customer.id});
        let reply = world.post_as(&customer, "/orders", &body.to_string()).await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        let key = customer.order_key(&id);
        let end = if amount <= FRAUD_THRESHOLD {
            "COMPLETED"
        } else {
            "CANCELLED"
        };
        ends.push((key.clone(), end));
        orders.insert(key);
    }
    let first_id = first_id.expect("orders placed");
    // A client's retry of the first order is answered alike but places nothing; the same id
    // with other contents is refused.
    let first = json!({"id": first_id, "amount": AMOUNTS[0], "customerId": customer.id});
    let retry = world
        .post_as(&customer, "/orders", &first.to_string())
        .await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    let other = json!({"id": first_id, "amount": AMOUNTS[0] + 1, "customerId": customer.id});
    let conflict = world
        .post_as(&customer, "/orders", &other.to_string())
        .await;
    assert_eq!(conflict.status, 409, "{:?}", conflict.body);
    for (key, end) in &ends {
        eventually(&format!("order {key} to be {end}"), FLOW, || async {
            world
                .order_view(key)
                .await
                .filter(|view| view["status"] == *end)
        })
        .await;
    }
    let completed = ends.iter().filter(|(_, end)| *end == "COMPLETED").count() as f64;
    let cancelled = ends.len() as f64 - completed;
    let placed = ends.len() as f64;
    let stack = &world.stack;

    // create-order: each order placed once, its retry not counted, the conflict refused.
    let create_order = eventually("create-order's documents", FLOW, || async {
        let documents = world
            .metric_documents(&stack.create_order_function, since)
            .await;
        let metrics = || of_orders(&documents, &orders);
        (total(metrics(), names::ORDERS_PLACED, &[]) >= placed
            && total(metrics(), names::ORDERS_REJECTED, &[]) >= 1.0)
            .then_some(documents)
    })
    .await;
    assert_eq!(
        total(of_orders(&create_order, &orders), names::ORDERS_PLACED, &[]),
        placed
    );
    assert_eq!(
        total(
            of_orders(&create_order, &orders),
            names::ORDERS_REJECTED,
            &[]
        ),
        1.0
    );

    // payment: the orders under the threshold charged, once each; the others never reach it.
    let payment = eventually("payment's documents", FLOW, || async {
        let documents = world.metric_documents(&stack.payment_function, since).await;
        (total(of_orders(&documents, &orders), names::PAYMENTS_CHARGED, &[]) >= completed)
            .then_some(documents)
    })
    .await;
    assert_eq!(
        total(of_orders(&payment, &orders), names::PAYMENTS_CHARGED, &[]),
        completed
    );

    // update-order: one payment result per order, the refusals counted, one latency per order.
    let update_order = eventually("update-order's documents", FLOW, || async {
        let documents = world
            .metric_documents(&stack.update_order_function, since)
            .await;
        let latencies = values(of_orders(&documents, &orders), names::ORDER_LATENCY);
        (latencies.len() >= ends.len()).then_some(documents)
    })
    .await;
    let update_metrics = || of_orders(&update_order, &orders);
    assert_eq!(
        total(
            update_metrics(),
            names::EVENTS_PROCESSED,
            &[(EVENT_TYPE_DIMENSION, "PaymentSucceeded")]
        ),
        completed
    );
    assert_eq!(
        total(
            update_metrics(),
            names::EVENTS_PROCESSED,
            &[(EVENT_TYPE_DIMENSION, "PaymentFailed")]
        ),
        cancelled
    );
    assert_eq!(
        total(update_metrics(), names::PAYMENTS_REFUSED, &[]),
        cancelled
    );
    let latencies = values(update_metrics(), names::ORDER_LATENCY);
    assert_eq!(
        latencies.len(),
        ends.len(),
        "one latency per order: {latencies:?}"
    );
    assert!(latencies.iter().all(|ms| *ms >= 0.0), "{latencies:?}");
    let latency = update_metrics()
        .find(|metric| metric.name == names::ORDER_LATENCY)
        .expect("a latency");
    assert_eq!(latency.unit.as_deref(), Some("Milliseconds"));
    assert_eq!(
        latency.dimensions.keys().collect::<Vec<_>>(),
        [SERVICE_DIMENSION],
        "the latency has the service dimension only"
    );

    // notification: one message per event of these orders, by event type.
    let sent = [
        ("OrderCreated", placed),
        ("PaymentSucceeded", completed),
        ("OrderCompleted", completed),
        ("PaymentFailed", cancelled),
        ("OrderCancelled", cancelled),
    ];
    let notification = eventually("notification's documents", FLOW, || async {
        let documents = world
            .metric_documents(&stack.notification_function, since)
            .await;
        let all_sent = sent.iter().all(|(event_type, expected)| {
            total(
                of_orders(&documents, &orders),
                names::NOTIFICATIONS_SENT,
                &[(EVENT_TYPE_DIMENSION, event_type)],
            ) >= *expected
        });
        all_sent.then_some(documents)
    })
    .await;
    for (event_type, expected) in sent {
        assert_eq!(
            total(
                of_orders(&notification, &orders),
                names::NOTIFICATIONS_SENT,
                &[(EVENT_TYPE_DIMENSION, event_type)]
            ),
            expected,
            "{event_type} messages"
        );
    }

    // The stream consumers: their batches mix orders, so at least this test's events.
    for function in [&stack.outbox_function, &stack.projection_function] {
        eventually(
            &format!("{function} to count this test's events"),
            FLOW,
            || async {
                let documents = world.metric_documents(function, since).await;
                let created = total(
                    documents
                        .iter()
                        .flat_map(|document| document.metrics.iter()),
                    names::EVENTS_PROCESSED,
                    &[(EVENT_TYPE_DIMENSION, "OrderCreated")],
                );
                (created >= placed).then_some(())
            },
        )
        .await;
    }

    // No document of any function has an order or a customer as a dimension.
    for function in [
        &stack.create_order_function,
        &stack.outbox_function,
        &stack.projection_function,
        &stack.payment_function,
        &stack.update_order_function,
        &stack.notification_function,
    ] {
        for document in world.metric_documents(function, since).await {
            for metric in &document.metrics {
                let dimensions: Vec<&str> = metric.dimensions.keys().map(String::as_str).collect();
                assert!(
                    dimensions == [SERVICE_DIMENSION]
                        || dimensions == [EVENT_TYPE_DIMENSION, SERVICE_DIMENSION],
                    "{function}: {} has dimensions {dimensions:?}",
                    metric.name
                );
            }
        }
    }
}
