//! Faults on the local stack: the bus gone while orders come in, a function that dies or hangs
//! between an effect and its bookkeeping, records and events no consumer can read. Each test
//! breaks the shared stack for a while, so they take turns (`TURN`), and each puts back what it
//! broke even when it fails.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use admin::workflow_runs::Status;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::{Rule, Target};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::types::Environment;
use futures::FutureExt;
use futures::future::join_all;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use e2e::{World, eventually, unique_id};

static TURN: Mutex<()> = Mutex::const_new(());

/// Orders queued behind a fault need longer than one order's flow.
const RECOVERY: Duration = Duration::from_secs(300);
/// After the expected messages arrived, how long to keep listening for an unexpected extra one.
const QUIET: Duration = Duration::from_secs(5);
/// A dead-letter queue's alarm is evaluated every minute; its queue's metrics are a few seconds old.
const ALARM_RAISED: Duration = Duration::from_secs(180);

/// Runs `test`, then `restore`, whether `test` passed or panicked.
async fn restoring<T, R>(test: T, restore: R) -> T::Output
where
    T: Future,
    R: Future<Output = ()>,
{
    let outcome = AssertUnwindSafe(test).catch_unwind().await;
    restore.await;
    outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// POSTs `count` orders of 25 named `{run}-NNN`, all at once, as `e2e::DEFAULT_CUSTOMER`; every
/// one must be accepted. Returns their keys (in the customer's scope, as `run_keys` begins them).
async fn place_orders(world: &World, run: &str, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|n| format!("{run}-{n:03}")).collect();
    let replies = join_all(ids.iter().map(|id| {
        let body = json!({"id": id, "amount": 25}).to_string();
        async move { world.post("/orders", &body).await }
    }))
    .await;
    let refused: Vec<_> = replies.iter().filter(|r| r.status != 202).collect();
    assert!(refused.is_empty(), "all {count} accepted: {refused:#?}");
    ids.iter().map(|id| world.key(id)).collect()
}

/// How the keys of the orders `place_orders` places for `run` begin.
fn run_keys(world: &World, run: &str) -> String {
    world.key(format!("{run}-"))
}

/// Waits until the outbox has marked each order's `OrderCreated` as published.
async fn marked_published(world: &World, ids: &[String]) {
    for id in ids {
        eventually(
            &format!("{id}'s OrderCreated marked published"),
            RECOVERY,
            || async {
                let items = world.stored_events(id).await;
                items
                    .first()
                    .filter(|item| item.contains_key("publishedAt"))
                    .map(|_| ())
            },
        )
        .await;
    }
}

/// Each order ends COMPLETED with exactly its two events, its `OrderCompleted` once on the bus
/// (`ends`, as a probe collected them), and one charge.
async fn each_completed_once(world: &World, ids: &[String], ends: &[Value]) {
    let mut per_order: BTreeMap<&str, usize> = BTreeMap::new();
    for event in ends {
        *per_order
            .entry(event["detail"]["data"]["orderId"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    let wrong: Vec<_> = ids
        .iter()
        .filter(|id| per_order.get(id.as_str()) != Some(&1))
        .map(|id| (id, per_order.get(id.as_str()).copied().unwrap_or(0)))
        .collect();
    assert!(
        wrong.is_empty(),
        "orders whose OrderCompleted reached the bus other than once: {wrong:?}"
    );
    for id in ids {
        assert_eq!(
            world.stored_types(id).await,
            ["OrderCreated", "OrderCompleted"],
            "order {id}"
        );
        let charges = world.charges(id).await;
        assert_eq!(charges, 1, "one charge for {id}");
    }
}

/// The messages waiting in a queue (approximate, as SQS counts). An answer without the count is
/// a failure, never an empty queue.
async fn queued(world: &World, queue: &str) -> usize {
    let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    let answer = world
        .sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("queue attributes");
    answer
        .attributes()
        .and_then(|attributes| attributes.get(&name))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no message count for {queue}: {answer:?}"))
}

/// Takes a rule's targets off it (events matching it then go nowhere) and returns them, to be put
/// back with `attach_targets`.
async fn detach_targets(world: &World, rule: &str) -> Vec<Target> {
    let bus = &world.stack.event_bus;
    let targets = world
        .eventbridge
        .list_targets_by_rule()
        .rule(rule)
        .event_bus_name(bus)
        .send()
        .await
        .expect("list a rule's targets")
        .targets
        .unwrap_or_default();
    if !targets.is_empty() {
        world
            .eventbridge
            .remove_targets()
            .rule(rule)
            .event_bus_name(bus)
            .set_ids(Some(targets.iter().map(|t| t.id().to_owned()).collect()))
            .send()
            .await
            .expect("remove a rule's targets");
    }
    targets
}

async fn attach_targets(world: &World, rule: &str, targets: &[Target]) {
    if targets.is_empty() {
        return;
    }
    world
        .eventbridge
        .put_targets()
        .rule(rule)
        .event_bus_name(&world.stack.event_bus)
        .set_targets(Some(targets.to_vec()))
        .send()
        .await
        .expect("re-attach a rule's targets");
}

/// The bus's rules and their targets, to put back after deleting the bus.
struct SavedBus {
    rules: Vec<(Rule, Vec<Target>)>,
}

impl SavedBus {
    async fn delete(world: &World) -> SavedBus {
        let bus = &world.stack.event_bus;
        let eventbridge = &world.eventbridge;
        let rules = eventbridge
            .list_rules()
            .event_bus_name(bus)
            .send()
            .await
            .expect("list the bus's rules")
            .rules
            .unwrap_or_default();
        // The rules the stack itself puts on the bus: without them saved, restoring the bus
        // would leave every consumer cut off.
        let names: Vec<&str> = rules.iter().filter_map(|rule| rule.name()).collect();
        for rule in [
            "payment-service-filtering-orders",
            "order-service-filtering-payments",
            "notification-service",
        ] {
            assert!(
                names.contains(&rule),
                "{rule} among the bus's rules: {names:?}"
            );
        }
        let mut saved = Vec::new();
        for rule in rules {
            let name = rule.name().expect("a rule has a name").to_owned();
            let targets = detach_targets(world, &name).await;
            eventbridge
                .delete_rule()
                .name(&name)
                .event_bus_name(bus)
                .send()
                .await
                .expect("delete a rule");
            saved.push((rule, targets));
        }
        eventbridge
            .delete_event_bus()
            .name(bus)
            .send()
            .await
            .expect("delete the bus");
        println!("deleted bus {bus} and its {} rules", saved.len());
        SavedBus { rules: saved }
    }

    async fn restore(self, world: &World) {
        let bus = &world.stack.event_bus;
        let eventbridge = &world.eventbridge;
        eventbridge
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("re-create the bus");
        for (rule, targets) in &self.rules {
            let name = rule.name().expect("a rule has a name");
            eventbridge
                .put_rule()
                .name(name)
                .event_bus_name(bus)
                .set_event_pattern(rule.event_pattern().map(str::to_owned))
                .set_state(rule.state().cloned())
                .set_description(rule.description().map(str::to_owned))
                .send()
                .await
                .expect("re-create a rule");
            attach_targets(world, name, targets).await;
        }
        println!("re-created bus {bus} and its {} rules", self.rules.len());
    }
}

/// The outbox's own clients for the stack, as `eda-admin publish-pending` builds them.
async fn admin_outbox(
    world: &World,
) -> (
    adapters::DynamoDbEventStore,
    outbox_processor::Outbox<adapters::EventBridgePublisher, adapters::DynamoDbEventStore>,
) {
    let settings = world.admin_settings();
    let aws = settings.aws().await;
    let events = adapters::DynamoDbEventStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        &settings.event_store_table,
    );
    let publisher = adapters::EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&aws),
        &settings.event_bus,
    );
    (
        events.clone(),
        outbox_processor::Outbox::new(publisher, events),
    )
}

/// A probe for the ends (`OrderCompleted`, `OrderCancelled`) of the orders `place_orders` placed
/// for `run`.
async fn ends_probe(world: &World, run: &str) -> e2e::BusProbe {
    world
        .bus_probe_matching(json!({
            "detail-type": ["OrderCompleted", "OrderCancelled"],
            "detail": {"data": {"orderId": [{"prefix": run_keys(world, run)}]}}
        }))
        .await
}

/// Polls the order views table (not the API, which answers from the event store while a view
/// is behind) until the order's view has `status`.
async fn wait_for_view(world: &World, key: &str, status: &str, timeout: Duration) {
    eventually(
        &format!("the view of order {key} to be {status}"),
        timeout,
        || async {
            let view = world.order_view(key).await?;
            (view["status"] == status).then_some(())
        },
    )
    .await;
}

/// The bus cannot be reached while orders come in (the EventBridge endpoint of the outbox and of
/// the recovery sweep points at a closed port): every order is accepted and stored; the outbox's
/// mapping tries each batch 6 times (the first and `MaximumRetryAttempts: 5` more), then parks it
/// in the dead-letter queue, until the letters hold every record; `eda-admin publish-pending
/// --dry-run` lists the backlog. Once the bus is back, nobody acts: the recovery sweep's next
/// runs publish the backlog, and every order completes, once. The parked letters then point at
/// events already published, and re-driving them finds nothing left to do.
#[tokio::test(flavor = "multi_thread")]
async fn orders_placed_while_the_bus_is_unreachable_are_published_by_the_sweep_once_it_is_back() {
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    let run = unique_id("e2e-nobus");
    let (events, outbox) = admin_outbox(&world).await;
    let outbox_function = world.stack.outbox_function.clone();
    let sweep_function = world.stack.recovery_sweep_function.clone();
    assert!(
        parked(&world, admin::dead_letters::Queue::Outbox)
            .await
            .is_empty(),
        "the outbox's dead-letter queue is empty to start with"
    );

    // Port 9 (discard) is closed here: connections are refused at once.
    let unreachable = |function| {
        set_variable(
            &world,
            function,
            "AWS_ENDPOINT_URL_EVENTBRIDGE",
            Some("http://127.0.0.1:9"),
        )
    };
    let reachable = |function| set_variable(&world, function, "AWS_ENDPOINT_URL_EVENTBRIDGE", None);
    unreachable(&outbox_function).await;
    unreachable(&sweep_function).await;
    // Listening for the ends before the bus is back, so that none is missed.
    let bus = ends_probe(&world, &run).await;
    let (ids, backlog, letters, back_at) = restoring(
        async {
            let ids = place_orders(&world, &run, 10).await;
            // Nothing can be published, so every record ends in a letter, each once.
            let letters = eventually(
                "the outbox to park every record it cannot publish",
                RECOVERY,
                || async {
                    let letters = stream_failures(&world, admin::dead_letters::Queue::Outbox).await;
                    let records: u64 = letters.iter().filter_map(|l| l.batch_size).sum();
                    (records >= ids.len() as u64).then_some(letters)
                },
            )
            .await;
            let records: u64 = letters.iter().filter_map(|l| l.batch_size).sum();
            assert_eq!(
                records,
                ids.len() as u64,
                "each record parked once: {letters:#?}"
            );
            let tries: Vec<Option<u64>> = letters.iter().map(|l| l.invocations).collect();
            assert!(
                tries.iter().all(|t| *t == Some(6)),
                "each batch tried 6 times before it was parked: {letters:#?}"
            );
            let mut lines = Vec::new();
            let backlog = admin::pending::publish_pending(
                &events,
                &outbox,
                Duration::ZERO,
                true,
                &mut |line| lines.push(line),
            )
            .await
            .expect("list the backlog");
            let unlisted: Vec<_> = ids
                .iter()
                .filter(|id| {
                    !lines
                        .iter()
                        .any(|line| line.contains(&format!("order {id} ")))
                })
                .collect();
            assert!(
                unlisted.is_empty(),
                "not in the backlog: {unlisted:?}\n{lines:#?}"
            );
            assert_eq!(backlog.published, 0, "a dry run publishes nothing");
            // The sweep cannot publish them either: its run fails, and says so where a failed
            // run goes (not retried: the next run is the retry).
            eventually(
                "a failed recovery sweep run recorded in its failure queue",
                RECOVERY,
                || async {
                    let failed = queued(&world, &world.stack.recovery_sweep_failure_queue).await;
                    (failed > 0).then_some(())
                },
            )
            .await;
            let back_at = chrono::Utc::now();
            (ids, backlog, letters, back_at)
        },
        async {
            reachable(&outbox_function).await;
            reachable(&sweep_function).await;
            let failures = &world.stack.recovery_sweep_failure_queue;
            let _ = world.sqs.purge_queue().queue_url(failures).send().await;
        },
    )
    .await;

    // Nobody runs anything now: the sweep must find the backlog and publish it.
    let (ends, healed) = ended_with_no_one_acting(bus, &ids, "published the backlog").await;
    each_completed_once(&world, &ids, &ends).await;
    let runs = world
        .wait_for_log_where(
            &sweep_function,
            back_at,
            "a run that republished events",
            RECOVERY,
            |fields| {
                fields["message"] == "recovery sweep done"
                    && fields["events_republished"].as_u64() > Some(0)
            },
        )
        .await;
    let republished: u64 = runs
        .iter()
        .filter_map(|line| line["fields"]["events_republished"].as_u64())
        .sum();

    // The parked batches point at events now published: re-driving them finds nothing left.
    let redriven = redrive(&world, admin::dead_letters::Queue::Outbox).await;
    assert_eq!(
        (redriven.redriven, redriven.kept),
        (letters.len(), 0),
        "{redriven:?}"
    );
    assert_eq!(
        queued(&world, &world.stack.outbox_dead_letter_queue).await,
        0
    );
    println!(
        "bus unreachable: {} orders accepted, {} events in the backlog, {} batches (of {:?} \
         records) parked after 6 tries each; once the bus was back the recovery sweep \
         republished {republished} events with no one acting, and {} orders completed once \
         {:.1} s later; the letters re-driven found nothing left; 0 lost",
        ids.len(),
        backlog.found,
        letters.len(),
        letters
            .iter()
            .filter_map(|l| l.batch_size)
            .collect::<Vec<_>>(),
        ends.len(),
        healed.as_secs_f64()
    );
}

/// The bus deleted while orders come in. EventBridge answers PutEvents for a bus that does not
/// exist with success and drops the events (AWS does, and LocalStack imitates it), so neither the
/// outbox nor publish-pending can see the loss: the events are marked published. They are still
/// in the event store, and replaying the time window once the bus is back catches every consumer
/// up; each order completes once.
#[tokio::test(flavor = "multi_thread")]
async fn orders_placed_while_the_bus_is_deleted_are_recovered_by_a_replay() {
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    let run = unique_id("e2e-busgone");
    let (events, _) = admin_outbox(&world).await;
    let from = chrono::Utc::now();
    let saved = SavedBus::delete(&world).await;
    let ids = restoring(
        async {
            let ids = place_orders(&world, &run, 5).await;
            marked_published(&world, &ids).await;
            ids
        },
        saved.restore(&world),
    )
    .await;
    let dropped = join_all(ids.iter().map(|id| world.stored_types(id))).await;
    assert!(
        dropped.iter().all(|types| types == &["OrderCreated"]),
        "the events went nowhere: no order moved on {dropped:?}"
    );

    let bus = ends_probe(&world, &run).await;
    let publisher = adapters::EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&world.admin_settings().aws().await),
        &world.stack.event_bus,
    );
    let replayed = admin::replay::replay(
        &events,
        &publisher,
        &admin::replay::Selection::Between(from, chrono::Utc::now()),
        false,
        &mut |_| {},
    )
    .await
    .expect("replay the window");
    assert!(replayed.failed.is_empty(), "{replayed:?}");
    let ends = bus.collect(ids.len(), RECOVERY, QUIET).await;
    bus.close().await;
    each_completed_once(&world, &ids, &ends).await;
    println!(
        "bus deleted: {} orders accepted, their events dropped by the missing bus, {} events \
         replayed, {} completed once, 0 lost",
        ids.len(),
        replayed.published,
        ends.len()
    );
}

/// `eda-admin dead-letters redrive --queue <queue>`, as the command runs it.
async fn redrive(
    world: &World,
    queue: admin::dead_letters::Queue,
) -> admin::dead_letters::RedriveReport {
    let settings = world.admin_settings();
    let (events, outbox) = admin_outbox(world).await;
    let consumers = admin::dead_letters::Consumers {
        lambda: &world.lambda,
        sfn: &world.sfn,
        dynamodb: &world.dynamodb,
        events: &events,
        outbox: &outbox,
        views_table: &settings.views_table,
        update_order_function: &settings.update_order_function,
        notification_function: &settings.notification_function,
        payment_state_machine: &settings.payment_state_machine_arn,
    };
    let queue = settings
        .dead_letter_queue(queue)
        .expect("the stack has this dead-letter queue");
    admin::dead_letters::redrive(&world.sqs, &consumers, &queue, false, &mut |line| {
        println!("{line}")
    })
    .await
    .expect("re-drive the dead letters")
}

/// Sets (or with `None` removes) one environment variable of a deployed function and waits until
/// the change is live.
async fn set_variable(world: &World, function: &str, name: &str, value: Option<&str>) {
    let config = world
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("read the function's configuration");
    let mut variables = config
        .environment()
        .and_then(|environment| environment.variables())
        .cloned()
        .unwrap_or_default();
    match value {
        Some(value) => variables.insert(name.to_owned(), value.to_owned()),
        None => variables.remove(name),
    };
    world
        .lambda
        .update_function_configuration()
        .function_name(function)
        .environment(
            Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .send()
        .await
        .expect("update the function's configuration");
    // GetFunction's LastUpdateStatus: Successful once the change is live, Failed if it never
    // will be; the waiter asks at once, then a second or more apart.
    world
        .lambda
        .wait_until_function_updated_v2()
        .function_name(function)
        .wait(Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{function}'s configuration did not become live within 60 s: {}",
                DisplayErrorContext(e)
            )
        });
}

/// Where a fault is injected: the stream consumer, right after its effect and before Lambda
/// hears that the batch succeeded.
#[derive(Clone, Copy, Debug)]
enum Victim {
    /// After PutEvents returned, before the events are marked published.
    Outbox,
    /// After an order view is written.
    Projection,
}

/// A stream consumer dies (or hangs past its timeout) right after its first effect. Lambda
/// retries the batch (shown: for the outbox, more payment executions than orders, since each
/// event published again starts one; for the projection, a batch it reports the views already
/// held), and the effect is single all the same: the outbox's events go out again and the
/// consumers' de-duplication absorbs them (each order charged once, completed once, its
/// `OrderCompleted` on the bus once); the projection finds the views already hold the events.
/// Every order's view ends `COMPLETED`.
async fn fault_after_effect_loses_nothing(victim: Victim, kind: &str) {
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    assert!(
        world.stack.endpoint.is_some(),
        "the fault's marker file is on this machine: the host-mode local stack only"
    );
    let run = unique_id(&format!("e2e-{kind}"));
    let marker = std::env::temp_dir().join(format!("{run}.fault"));
    let function = match victim {
        Victim::Outbox => world.stack.outbox_function.clone(),
        Victim::Projection => world.stack.projection_function.clone(),
    };
    let fault = format!("{kind}:{}", marker.display());
    let armed_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    set_variable(&world, &function, adapters::fault::VARIABLE, Some(&fault)).await;
    let bus = ends_probe(&world, &run).await;
    let (ids, ends) = restoring(
        async {
            let ids = place_orders(&world, &run, 5).await;
            let ends = bus.collect(ids.len(), RECOVERY, QUIET).await;
            // The views, which the projection keeps: the API would show a COMPLETED order
            // from the event store even if the projection had lost a write.
            for id in &ids {
                wait_for_view(&world, id, "COMPLETED", RECOVERY).await;
            }
            (ids, ends)
        },
        set_variable(&world, &function, adapters::fault::VARIABLE, None),
    )
    .await;
    bus.close().await;
    assert!(marker.exists(), "the {kind} fault fired");
    let _ = std::fs::remove_file(&marker);
    each_completed_once(&world, &ids, &ends).await;
    let mut executions = 0;
    for id in &ids {
        executions += world.payment_executions(&json!(id)).await.len();
    }
    match victim {
        // Each OrderCreated published again starts one more workflow (which charges nothing).
        Victim::Outbox => assert!(
            executions > ids.len(),
            "the batch was delivered again: {executions} payment executions for {} orders",
            ids.len()
        ),
        // Nothing else makes the projection meet an event its view already holds.
        Victim::Projection => {
            world
                .wait_for_log_where(
                    &function,
                    armed_at,
                    "a batch whose views already held an event (the batch delivered again)",
                    RECOVERY,
                    |fields| {
                        fields["message"] == "projection batch applied"
                            && fields["unchanged"].as_u64() > Some(0)
                    },
                )
                .await;
        }
    }
    println!(
        "{victim:?} {kind} after its effect: {} orders, {} payment executions (a re-published \
         OrderCreated starts another, which charges nothing), {} completed once, views COMPLETED",
        ids.len(),
        executions,
        ends.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outbox_that_crashes_after_publishing_loses_and_doubles_nothing() {
    fault_after_effect_loses_nothing(Victim::Outbox, "crash").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outbox_that_hangs_after_publishing_loses_and_doubles_nothing() {
    fault_after_effect_loses_nothing(Victim::Outbox, "hang").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_projection_that_crashes_after_writing_a_view_loses_nothing() {
    fault_after_effect_loses_nothing(Victim::Projection, "crash").await;
}

/// The letters parked in one of the stack's dead-letter queues, left in it.
async fn parked(
    world: &World,
    queue: admin::dead_letters::Queue,
) -> Vec<admin::dead_letters::Kind> {
    let queue = world
        .admin_settings()
        .dead_letter_queue(queue)
        .expect("the stack has this dead-letter queue");
    admin::dead_letters::list(&world.sqs, &queue, &mut |_| {})
        .await
        .expect("list the dead letters")
        .into_iter()
        .map(|letter| letter.kind)
        .collect()
}

/// The stream batches parked in a stream consumer's dead-letter queue; any other kind of letter
/// there is a failure.
async fn stream_failures(
    world: &World,
    queue: admin::dead_letters::Queue,
) -> Vec<admin::dead_letters::StreamFailure> {
    parked(world, queue)
        .await
        .into_iter()
        .map(|letter| match letter {
            admin::dead_letters::Kind::StreamFailure(failure) => failure,
            other => panic!("{queue}: not a stream batch: {other:?}"),
        })
        .collect()
}

/// A `PaymentSucceeded` as the payment state machine puts it on the bus, at schema `version`,
/// with `data` (for `order_id`, well formed, when `None`).
async fn put_payment_succeeded(
    world: &World,
    order_id: &str,
    version: u32,
    data: Option<Value>,
) -> String {
    let event_id = uuid::Uuid::new_v4().to_string();
    let detail = json!({
        "metadata": {
            "eventId": event_id,
            "eventType": "PaymentSucceeded",
            "eventVersion": version,
            "occurredAt": chrono::Utc::now().to_rfc3339(),
            "correlationId": unique_id("corr"),
            "causationId": uuid::Uuid::new_v4().to_string(),
            "producer": "payment-state-machine",
        },
        "data": data.unwrap_or_else(|| json!({
            "orderId": order_id, "amount": 25, "currency": "USD", "paymentId": unique_id("pay"),
        })),
    });
    world
        .put_on_bus("payment-service", "PaymentSucceeded", &detail)
        .await;
    event_id
}

/// Records and events no consumer can read, and one that arrives before its order exists:
/// - a stored event whose id is not a UUID: the outbox and the projection report it failed, the
///   stream mappings retry it (5 times, with backoff) and park the batch in their dead-letter
///   queues; the orders stored after it are published and projected meanwhile;
/// - a `PaymentSucceeded` at an unknown schema version: update-order fails on it, Lambda retries
///   the asynchronous invocation twice and parks it (notification sends a generic message for
///   versions it does not know, by design);
/// - a `PaymentSucceeded` whose data is malformed: update-order and notification both park it;
/// - a `PaymentSucceeded` for an order not placed yet: update-order parks it the same way.
///
/// Then the fixes and re-drives: the stored event is repaired (rewritten as a readable
/// `OrderCreated`) and the outbox's and projection's letters re-driven: that order now completes
/// (published by the re-drive, or by the recovery sweep if its run came first: either way once).
/// The early payment's order is placed, completes on its own, and re-driving its letter changes
/// nothing (the order is already completed). The unknown version and the malformed event stay
/// parked: re-driving them fails again, and they are kept.
///
/// And someone is told: update-order's dead-letter queue's alarm, set to `OK` while the queue is
/// empty, turns to `ALARM` once letters wait in it, and says so on the alarm topic.
#[tokio::test(flavor = "multi_thread")]
async fn poison_records_and_events_are_parked_without_blocking_the_rest() {
    use admin::dead_letters::{Kind, Queue};
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    let run = unique_id("e2e-poison");
    for queue in Queue::ALL {
        assert!(
            parked(&world, queue).await.is_empty(),
            "{queue} is empty to start with"
        );
    }
    let dlq_alarm = world
        .alarm_on_queue(&world.stack.update_order_dead_letter_queue)
        .await;
    let alarms = world.alarm_probe().await;
    world
        .set_alarm_state(
            &dlq_alarm,
            StateValue::Ok,
            "the e2e suite: the queue is empty",
        )
        .await;
    let alarm_reset_at = chrono::Utc::now();
    let poisoned_at = std::time::Instant::now();

    // In the scope of the customer whose order it is rewritten as below.
    let poison = world.key(format!("{run}-unreadable"));
    world
        .dynamodb
        .put_item()
        .table_name(&world.stack.event_store_table)
        .item("aggregateId", AttributeValue::S(poison.clone()))
        .item("version", AttributeValue::N("1".into()))
        .item("source", AttributeValue::S("order-service".into()))
        .item("eventId", AttributeValue::S("not-a-uuid".into()))
        .item("eventType", AttributeValue::S("OrderCreated".into()))
        .item(
            "occurredAt",
            AttributeValue::S(chrono::Utc::now().to_rfc3339()),
        )
        .item("detail", AttributeValue::S("{}".into()))
        .send()
        .await
        .expect("store an unreadable event");
    // Whatever happens, an unreadable event must not stay in the store (every later
    // publish-pending and rebuild would trip on it), nor letters in the queues.
    restoring(
        async {
            let unknown_version = format!("{run}-v99");
            put_payment_succeeded(&world, &unknown_version, 99, None).await;
            let malformed = format!("{run}-malformed");
            let garbage = json!({"orderId": malformed, "amount": "a lot"});
            put_payment_succeeded(&world, &malformed, 1, Some(garbage)).await;
            let early_id = format!("{run}-early");
            let early = world.key(&early_id);
            put_payment_succeeded(&world, &early, 1, None).await;

            // Behind the poison: an order placed right after it goes through, undelayed but for the
            // stream's retries of the poison.
            let ids = place_orders(&world, &format!("{run}-behind"), 3).await;
            let bus = ends_probe(&world, &format!("{run}-behind")).await;
            let ends = bus.collect(ids.len(), RECOVERY, QUIET).await;
            bus.close().await;
            each_completed_once(&world, &ids, &ends).await;
            let behind = poisoned_at.elapsed();

            let expected = [
                (Queue::Outbox, 1),
                (Queue::Projection, 1),
                (Queue::UpdateOrder, 3),
                (Queue::Notification, 1),
            ];
            for (queue, count) in expected {
                let letters = eventually(&format!("{count} letters in {queue}"), RECOVERY, || async {
                    let letters = parked(&world, queue).await;
                    (letters.len() >= count).then_some(letters)
                })
                .await;
                for letter in &letters {
                    println!("{queue}: {letter}");
                }
                assert_eq!(letters.len(), count, "{queue}: {letters:#?}");
                let kind_ok = letters.iter().all(|letter| match queue {
                    Queue::Outbox | Queue::Projection => matches!(letter, Kind::StreamFailure(_)),
                    _ => matches!(letter, Kind::AsyncFailure(_)),
                });
                assert!(kind_ok, "{queue}: {letters:#?}");
            }
            let all_parked = poisoned_at.elapsed();
            assert!(parked(&world, Queue::PaymentRule).await.is_empty());

            // The fixes. The unreadable event is rewritten as the OrderCreated it should have been.
            let template = world.stored_events(&ids[0]).await.remove(0);
            let mut detail: Value = serde_json::from_str(template["detail"].as_s().unwrap()).unwrap();
            let event_id = uuid::Uuid::new_v4().to_string();
            detail["metadata"]["eventId"] = json!(event_id);
            detail["data"]["orderId"] = json!(poison);
            let mut repaired = template.clone();
            repaired.remove("publishedAt");
            repaired.insert("aggregateId".into(), AttributeValue::S(poison.clone()));
            repaired.insert("eventId".into(), AttributeValue::S(event_id));
            repaired.insert("detail".into(), AttributeValue::S(detail.to_string()));
            world
                .dynamodb
                .put_item()
                .table_name(&world.stack.event_store_table)
                .set_item(Some(repaired))
                .send()
                .await
                .expect("repair the stored event");
            // The early payment's order is placed now, and completes through its own payment.
            let bus = world
                .bus_probe_matching(json!({
                    "detail-type": ["OrderCompleted", "OrderCancelled"],
                    "detail": {"data": {"orderId": [poison.clone(), early.clone()]}}
                }))
                .await;
            let reply = world
                .post("/orders", &json!({"id": early_id, "amount": 25}).to_string())
                .await;
            assert_eq!(reply.status, 202, "{:?}", reply.body);
            world.wait_for_status(&early, "COMPLETED", RECOVERY).await;

            let projection = redrive(&world, Queue::Projection).await;
            let outbox = redrive(&world, Queue::Outbox).await;
            let update_order = redrive(&world, Queue::UpdateOrder).await;
            let notification = redrive(&world, Queue::Notification).await;
            assert_eq!(
                (projection.redriven, projection.kept),
                (1, 0),
                "{projection:?}"
            );
            assert_eq!((outbox.redriven, outbox.kept), (1, 0), "{outbox:?}");
            assert_eq!(
                (update_order.redriven, update_order.kept),
                (1, 2),
                "the early payment re-driven, the unknown version and the malformed one kept: \
                 {update_order:?}"
            );
            assert_eq!(
                (notification.redriven, notification.kept),
                (0, 1),
                "{notification:?}"
            );
            world.wait_for_status(&poison, "COMPLETED", RECOVERY).await;
            wait_for_view(&world, &poison, "COMPLETED", RECOVERY).await;
            let ends = bus.collect(2, RECOVERY, QUIET).await;
            bus.close().await;
            let mut ended: Vec<&str> = ends
                .iter()
                .filter_map(|event| event["detail"]["data"]["orderId"].as_str())
                .collect();
            ended.sort();
            let mut once = [poison.as_str(), early.as_str()];
            once.sort();
            assert_eq!(
                ended, once,
                "the early order and the repaired one end once each; the early payment's re-drive \
                 changes nothing"
            );
            for id in [&poison, &early] {
                assert_eq!(
                    world.stored_types(id).await,
                    ["OrderCreated", "OrderCompleted"],
                    "order {id}"
                );
            }

            // What stays parked is what no fix here can take: the unknown version and the malformed event.
            for (queue, left) in [
                (Queue::UpdateOrder, vec![&unknown_version, &malformed]),
                (Queue::Notification, vec![&malformed]),
            ] {
                let letters = parked(&world, queue).await;
                let mut about: Vec<_> = letters
                    .iter()
                    .filter_map(|letter| match letter {
                        Kind::AsyncFailure(failure) => failure.about.order_id.as_ref(),
                        _ => None,
                    })
                    .collect();
                about.sort();
                let mut left = left;
                left.sort();
                assert_eq!(about, left, "{queue}: {letters:#?}");
            }
            // The letters raised the queue's alarm, which told the alarm topic (CloudWatch
            // evaluates it every minute, from queue metrics reported every 10 s locally).
            let raised = alarms
                .wait_for(&dlq_alarm, "ALARM", alarm_reset_at, ALARM_RAISED)
                .await
                .unwrap_or_else(|| {
                    panic!(
                        "{dlq_alarm} told the alarm topic it turned to ALARM within {ALARM_RAISED:?}"
                    )
                });
            println!("{dlq_alarm}: {raised:?}");
            let raised_after = (raised.changed_at - alarm_reset_at).num_seconds();
            // The command an operator runs says so too: exit 2 while letters are kept.
            let (code, output) = eda_admin(&world, &["dead-letters", "redrive", "--queue", "all"]);
            assert_eq!(code, Some(2), "eda-admin dead-letters redrive --queue all: {output}");
            assert!(
                output.contains("all queues: found 3, re-driven 0, kept 3"),
                "{output}"
            );
            println!(
                "poison: 4 inputs; 3 orders behind them completed after {:.1} s; 6 letters parked \
                 after {:.1} s (outbox 1, projection 1, update-order 3, notification 1); re-driven after \
                 the fixes: 3, kept: 3 (the unknown version and the malformed event); 0 lost; \
                 update-order's dead-letter alarm raised {raised_after} s after the poison",
                behind.as_secs_f64(),
                all_parked.as_secs_f64()
            );
        },
        async {
            alarms.close().await;
            clean_up_poison(&world, &poison).await;
        },
    )
    .await;
}

/// Runs the operations command `eda-admin` against the stack, as an operator would: its exit
/// code and what it printed.
fn eda_admin(world: &World, args: &[&str]) -> (Option<i32>, String) {
    let output = e2e::eda_admin()
        .arg("--env-file")
        .arg(&world.stack.env_file)
        .args(args)
        .output()
        .expect("run eda-admin");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}

/// Deletes the event `{key}/1` if it is still the unreadable one the poison test stored, and
/// empties the dead-letter queues.
async fn clean_up_poison(world: &World, key: &str) {
    let deleted = world
        .dynamodb
        .delete_item()
        .table_name(&world.stack.event_store_table)
        .key("aggregateId", AttributeValue::S(key.to_owned()))
        .key("version", AttributeValue::N("1".into()))
        .condition_expression("eventId = :unreadable")
        .expression_attribute_values(":unreadable", AttributeValue::S("not-a-uuid".into()))
        .send()
        .await;
    if deleted.is_ok() {
        println!("removed the unreadable event {key}/1 the test left");
    }
    let settings = world.admin_settings();
    for queue in admin::dead_letters::Queue::ALL {
        if let Some(queue) = settings.dead_letter_queue(queue) {
            let _ = world.sqs.purge_queue().queue_url(queue.url).send().await;
        }
    }
}

/// Orders whose payment never started (the payment rule's target removed while they were placed:
/// LocalStack does not honour a disabled rule): they stay `CREATED`, their `OrderCreated`
/// published to a rule that passed it to no one. Once the target is back, nobody acts: the
/// recovery sweep finds each order that has not ended nor moved for its threshold, replays its
/// latest event, and each completes once, charged once.
#[tokio::test(flavor = "multi_thread")]
async fn stuck_orders_are_recovered_by_the_sweep_replaying_their_latest_event() {
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    let run = unique_id("e2e-stuck");
    let rule = "payment-service-filtering-orders";
    let targets = detach_targets(&world, rule).await;
    assert!(!targets.is_empty(), "the payment rule has its target");
    let reattach = attach_targets(&world, rule, &targets);
    let bus = ends_probe(&world, &run).await;
    let (ids, back_at) = restoring(
        async {
            let ids = place_orders(&world, &run, 3).await;
            marked_published(&world, &ids).await;
            // Published, and nothing started: the flow's own time passes without a payment.
            tokio::time::sleep(QUIET).await;
            for id in &ids {
                assert_eq!(
                    world.stored_types(id).await,
                    ["OrderCreated"],
                    "{id} is stuck"
                );
                assert!(
                    world.payment_executions(&json!(id)).await.is_empty(),
                    "{id}: no payment started"
                );
            }
            (ids, chrono::Utc::now())
        },
        reattach,
    )
    .await;

    // Nobody runs anything now: the sweep must find the stuck orders and replay them.
    let (ends, healed) =
        ended_with_no_one_acting(bus, &ids, "restarted each stuck order's payment").await;
    each_completed_once(&world, &ids, &ends).await;
    replayed_by_the_sweep(&world, &ids, back_at).await;
    println!(
        "stuck: {} orders without their payment; the recovery sweep replayed their OrderCreated \
         with no one acting, and {} completed once, {:.1} s after the payment rule was back",
        ids.len(),
        ends.len(),
        healed.as_secs_f64()
    );
}

/// Collects each order's end from `bus` while nobody acts (the recovery sweep must do `what` on
/// its own), and how long that took; every order must end within `RECOVERY`.
async fn ended_with_no_one_acting(
    bus: e2e::BusProbe,
    ids: &[String],
    what: &str,
) -> (Vec<Value>, Duration) {
    let started = std::time::Instant::now();
    let ends = bus.collect(ids.len(), RECOVERY, QUIET).await;
    bus.close().await;
    assert_eq!(
        ends.len(),
        ids.len(),
        "the recovery sweep, on its own, {what}, and each order ended within {RECOVERY:?}: {} of \
         {} did: {ends:#?}",
        ends.len(),
        ids.len()
    );
    (ends, started.elapsed())
}

/// Each order's `OrderCreated` was replayed by the recovery sweep since `since` (its log line
/// names the order).
async fn replayed_by_the_sweep(
    world: &World,
    ids: &[String],
    since: chrono::DateTime<chrono::Utc>,
) {
    for id in ids {
        world
            .wait_for_log_where(
                &world.stack.recovery_sweep_function,
                since,
                &format!("the replay of {id}'s OrderCreated"),
                RECOVERY,
                |fields| {
                    fields["step"] == "replay-stuck"
                        && fields["message"].as_str().is_some_and(|m| {
                            m.contains(&format!(" order {id} event 1 OrderCreated"))
                        })
                },
            )
            .await;
    }
}

/// The payment function throttled (its reserved concurrency 0) for longer than a payment run
/// retries it: each run ends failed as `PaymentNotMadeInTime` and publishes nothing, so the order
/// is not cancelled but stays `CREATED`. Once the function takes invocations again, nobody acts:
/// the recovery sweep replays each order's `OrderCreated`, a new run charges it, and each
/// completes once, charged once. An Express run lasts at most 5 minutes; this is the path that
/// outlasts it.
#[tokio::test(flavor = "multi_thread")]
async fn orders_whose_payment_outlasts_a_run_are_left_open_and_completed_by_the_sweep() {
    let _turn = TURN.lock().await;
    let world = World::connect().await;
    let run = unique_id("e2e-throttled");
    let function = world.stack.payment_function.clone();
    let reserved = world
        .lambda
        .get_function_concurrency()
        .function_name(&function)
        .send()
        .await
        .expect("read the payment function's concurrency")
        .reserved_concurrent_executions;
    let set_reserved = |value: Option<i32>| {
        let (world, function) = (&world, &function);
        async move {
            match value {
                Some(value) => {
                    world
                        .lambda
                        .put_function_concurrency()
                        .function_name(function)
                        .reserved_concurrent_executions(value)
                        .send()
                        .await
                        .expect("reserve the payment function's concurrency");
                }
                None => {
                    world
                        .lambda
                        .delete_function_concurrency()
                        .function_name(function)
                        .send()
                        .await
                        .expect("lift the payment function's reservation");
                }
            }
        }
    };
    set_reserved(Some(0)).await;
    let placed_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let bus = ends_probe(&world, &run).await;
    let ids = restoring(
        async {
            let ids = place_orders(&world, &run, 2).await;
            for id in &ids {
                let failed = eventually(
                    &format!("{id}'s payment run to give up"),
                    RECOVERY,
                    || async {
                        world.payment_runs().await.into_iter().find(|run| {
                            run.order_id() == &json!(id) && run.status == Status::Failed
                        })
                    },
                )
                .await;
                let ended = failed.events.last().expect("the run's events");
                assert_eq!(
                    (ended.kind.as_str(), &ended.details["error"]),
                    ("ExecutionFailed", &json!("PaymentNotMadeInTime")),
                    "{id}'s run left the order to the sweep: {:?}",
                    ended.details
                );
                assert_eq!(
                    world.stored_types(id).await,
                    ["OrderCreated"],
                    "{id} is open, not cancelled"
                );
            }
            ids
        },
        set_reserved(reserved),
    )
    .await;

    // Nobody runs anything now: the sweep must find the open orders and replay them.
    let (ends, healed) =
        ended_with_no_one_acting(bus, &ids, "restarted each open order's payment").await;
    each_completed_once(&world, &ids, &ends).await;
    replayed_by_the_sweep(&world, &ids, placed_at).await;
    println!(
        "throttled: {} orders whose payment runs gave up stayed open; the recovery sweep replayed \
         them with no one acting, and each completed once, {:.1} s after the function was back",
        ids.len(),
        healed.as_secs_f64()
    );
}
