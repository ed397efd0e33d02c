//! Re-driving dead letters once the cause is fixed: each goes back to what it was meant for, in
//! the way its kind allows, and is deleted only when that succeeded, so that what fails again
//! stays parked for the next try. Every consumer is idempotent, so a letter re-driven twice (or
//! re-driven after the retries did get through after all) changes nothing the second time.

use adapters::{DynamoDbEventStore, EventBridgePublisher};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use outbox_processor::Outbox;
use serde_json::Value;

use super::letter::{Kind, about};
use super::{DeadLetter, DeadLetterQueue, Queue, delete, peek};
use crate::rebuild::{Target, rebuild_views};
use crate::{AdminError, Progress, pending};

/// What re-driven letters go back to. A name left empty (not in the settings) keeps the
/// letters meant for it.
pub struct Consumers<'a> {
    pub lambda: &'a aws_sdk_lambda::Client,
    pub sfn: &'a aws_sdk_sfn::Client,
    pub dynamodb: &'a aws_sdk_dynamodb::Client,
    pub events: &'a DynamoDbEventStore,
    pub outbox: &'a Outbox<EventBridgePublisher, DynamoDbEventStore>,
    /// The live views table, which the projection's letters are re-driven into.
    pub views_table: &'a str,
    pub update_order_function: &'a str,
    pub notification_function: &'a str,
    pub payment_state_machine: &'a str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedriveReport {
    pub found: usize,
    /// Re-driven and deleted.
    pub redriven: usize,
    /// Still in the queue: not re-drivable, re-driving failed, or not deleted. A dry run counts
    /// those that no re-drive could take (unreadable, in the wrong queue, no consumer known), so
    /// that it fails as the real one would.
    pub kept: usize,
}

/// What became of a letter.
#[derive(Clone)]
enum Disposition {
    /// Handed back (how); to be deleted.
    Redriven(String),
    /// Left in the queue, and why.
    Kept(String),
    /// A dry run's plan.
    Would(String),
}

/// Re-drives every letter in `queue`; with `dry_run`, says what it would do and does nothing.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    consumers: &Consumers<'_>,
    queue: &DeadLetterQueue,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<RedriveReport, AdminError> {
    let letters = peek(sqs, queue).await?;
    progress(format!("{}: {} dead letters", queue.queue, letters.len()));
    let mut report = RedriveReport {
        found: letters.len(),
        ..RedriveReport::default()
    };
    if letters.is_empty() {
        return Ok(report);
    }
    let outcomes = match queue.queue {
        Queue::Outbox => from_the_event_store(consumers, &letters, dry_run, progress).await?,
        Queue::Projection => into_the_views(consumers, &letters, dry_run, progress).await?,
        Queue::UpdateOrder | Queue::Notification | Queue::PaymentRule => {
            let mut outcomes = Vec::with_capacity(letters.len());
            for letter in &letters {
                outcomes.push(deliver(consumers, queue.queue, letter, dry_run).await);
            }
            outcomes
        }
    };
    let redriven: Vec<&DeadLetter> = letters
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, Disposition::Redriven(_)))
        .map(|(letter, _)| letter)
        .collect();
    let refused = delete(sqs, queue, &redriven).await?;
    for (letter, outcome) in letters.iter().zip(outcomes) {
        let line = match outcome {
            Disposition::Redriven(how) => match refused.get(&letter.message_id) {
                None => {
                    report.redriven += 1;
                    format!("{how}; deleted")
                }
                Some(reason) => {
                    report.kept += 1;
                    format!("{how}; kept, not deleted: {reason}")
                }
            },
            Disposition::Kept(why) => {
                report.kept += 1;
                format!("kept: {why}")
            }
            Disposition::Would(plan) => format!("would {plan}"),
        };
        progress(format!("  {} {} => {line}", letter.message_id, letter.kind));
    }
    progress(format!(
        "{}: found {}, re-driven {}, kept {}{}",
        queue.queue,
        report.found,
        report.redriven,
        report.kept,
        if dry_run { " (dry run)" } else { "" }
    ));
    Ok(report)
}

/// The outbox's letters point at stream records that are gone, but the event store still holds
/// every event and knows which are unpublished: publishing those, once, covers all the letters.
async fn from_the_event_store(
    consumers: &Consumers<'_>,
    letters: &[DeadLetter],
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<Vec<Disposition>, AdminError> {
    let Some(failures) = stream_failures(letters) else {
        return Ok(letters.iter().map(not_here).collect());
    };
    progress(format!(
        "  {failures} stream failures: {} every event still unpublished",
        if dry_run { "listing" } else { "publishing" }
    ));
    let report = pending::publish_pending(
        consumers.events,
        consumers.outbox,
        std::time::Duration::ZERO,
        dry_run,
        &mut |line| progress(format!("    {line}")),
    )
    .await?;
    let outcome = if dry_run {
        Disposition::Would("publish every unpublished event of the event store".into())
    } else if report.failed == 0 {
        Disposition::Redriven(format!(
            "published the {} events still unpublished",
            report.published
        ))
    } else {
        Disposition::Kept(format!(
            "{} unpublished events still failed to publish",
            report.failed
        ))
    };
    Ok(each_stream_failure(letters, outcome))
}

/// The projection's letters point at stream records that are gone; rebuilding the views in
/// place from the event store, once, writes what they missed and keeps what is newer.
async fn into_the_views(
    consumers: &Consumers<'_>,
    letters: &[DeadLetter],
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<Vec<Disposition>, AdminError> {
    let Some(failures) = stream_failures(letters) else {
        return Ok(letters.iter().map(not_here).collect());
    };
    let table = consumers.views_table;
    if dry_run {
        let plan = Disposition::Would(format!("rebuild the views in {table} in place"));
        return Ok(each_stream_failure(letters, plan));
    }
    progress(format!(
        "  {failures} stream failures: rebuilding the views in {table} in place"
    ));
    let target = Target::Existing(table.to_owned());
    let report = rebuild_views(consumers.dynamodb, consumers.events, &target, &mut |line| {
        progress(format!("    {line}"))
    })
    .await?;
    let outcome = if report.failed.is_empty() {
        Disposition::Redriven(format!(
            "rebuilt the views ({} written, {} already current)",
            report.written, report.kept
        ))
    } else {
        Disposition::Kept(format!(
            "{} orders' views could not be rebuilt",
            report.failed.len()
        ))
    };
    Ok(each_stream_failure(letters, outcome))
}

/// How many of the letters are stream failures, if any.
fn stream_failures(letters: &[DeadLetter]) -> Option<usize> {
    let count = letters
        .iter()
        .filter(|letter| matches!(letter.kind, Kind::StreamFailure(_)))
        .count();
    (count > 0).then_some(count)
}

/// A stream consumer's letters are all re-driven at once, from the event store: each stream
/// failure shares that one outcome; any other letter does not belong in the queue.
fn each_stream_failure(letters: &[DeadLetter], outcome: Disposition) -> Vec<Disposition> {
    letters
        .iter()
        .map(|letter| match letter.kind {
            Kind::StreamFailure(_) => outcome.clone(),
            _ => not_here(letter),
        })
        .collect()
}

/// A letter of a kind its queue's re-drive does not handle: for the unreadable, nothing could;
/// for the others, they should not be there, and a person should look.
fn not_here(letter: &DeadLetter) -> Disposition {
    match &letter.kind {
        Kind::Unreadable(_) => Disposition::Kept("cannot be re-driven".into()),
        other => Disposition::Kept(format!(
            "a {} is not re-driven from this queue",
            other.name()
        )),
    }
}

/// Hands one event back to the consumer its queue stands for.
async fn deliver(
    consumers: &Consumers<'_>,
    queue: Queue,
    letter: &DeadLetter,
    dry_run: bool,
) -> Disposition {
    let event = match (&letter.kind, queue) {
        (Kind::Undelivered(undelivered), _) => &undelivered.event,
        (Kind::AsyncFailure(failure), Queue::UpdateOrder | Queue::Notification) => {
            match &failure.event {
                Some(event) => event,
                None => return Disposition::Kept("no event in it to re-drive".into()),
            }
        }
        _ => return not_here(letter),
    };
    let consumer = match queue {
        Queue::UpdateOrder => consumers.update_order_function,
        Queue::Notification => consumers.notification_function,
        _ => consumers.payment_state_machine,
    };
    if consumer.is_empty() {
        return Disposition::Kept(format!("the settings do not say what consumes {queue}"));
    }
    if queue == Queue::PaymentRule {
        let name = execution_name(event, &letter.message_id);
        if dry_run {
            return Disposition::Would(format!("start execution {name} of {consumer}"));
        }
        start_execution(consumers.sfn, consumer, &name, event).await
    } else {
        if dry_run {
            return Disposition::Would(format!("invoke {consumer}"));
        }
        invoke(consumers.lambda, consumer, event).await
    }
}

/// The function, given the event again and waited for, as the bus would have invoked it.
async fn invoke(lambda: &aws_sdk_lambda::Client, function: &str, event: &Value) -> Disposition {
    let invoked = lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(event.to_string()))
        .send()
        .await;
    match invoked {
        Err(error) => Disposition::Kept(format!(
            "invoking {function} failed: {}",
            aws_sdk_lambda::error::DisplayErrorContext(error)
        )),
        Ok(output) => match output.function_error() {
            None => Disposition::Redriven(format!("invoked {function}")),
            Some(kind) => {
                let payload = output
                    .payload()
                    .map(|payload| String::from_utf8_lossy(payload.as_ref()).into_owned())
                    .unwrap_or_default();
                Disposition::Kept(format!("{function} failed again ({kind}): {payload}"))
            }
        },
    }
}

/// The state machine, started with the event as its input, as the rule would have started it.
/// The name makes a second re-drive of the same event a no-op rather than a second payment.
async fn start_execution(
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
    name: &str,
    event: &Value,
) -> Disposition {
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine)
        .name(name)
        .input(event.to_string())
        .send()
        .await;
    match started {
        Ok(_) => Disposition::Redriven(format!("started execution {name}")),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) =>
        {
            Disposition::Redriven(format!("execution {name} was already started"))
        }
        Err(error) => Disposition::Kept(format!(
            "starting execution {name} failed: {}",
            aws_sdk_sfn::error::DisplayErrorContext(error)
        )),
    }
}

/// The execution's name: the event's id when it makes a valid one, so that the same event
/// always gets the same name; else the letter's message id, which at least never changes.
pub fn execution_name(event: &Value, message_id: &str) -> String {
    match about(event).event_id {
        Some(id) if is_execution_name(&id) => id,
        _ => message_id.to_owned(),
    }
}

/// At most 80 characters, and only those Step Functions accepts everywhere (logging included):
/// ASCII letters, digits, `-` and `_`.
fn is_execution_name(name: &str) -> bool {
    (1..=80).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
