//! The dead-letter queues: where the stack parks what it gave up on after bounded retries (a
//! batch of stream records, an asynchronous invocation, a rule's delivery), so that a poison
//! message neither blocks the rest nor is lost. Listing shows what is parked without taking it
//! out; re-driving hands each letter back to what it was meant for, once the cause is fixed.

mod letter;
mod redrive;

use std::collections::HashMap;
use std::fmt;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
};
use domain::ports::InfrastructureError;

pub use letter::{About, AsyncFailure, Kind, StreamFailure, Undelivered, about, read};
pub use redrive::{Consumers, RedriveReport, execution_name, redrive};

use crate::{AdminError, Progress};

/// The stack's dead-letter queues, named after what feeds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// The outbox's stream batches (the outbox processor gave up publishing them).
    Outbox,
    /// The projection's stream batches (it gave up writing the views).
    Projection,
    /// OrderCreated events the rule could not deliver to the payment state machine.
    PaymentRule,
    /// Payment results update-order failed on, or that could not be delivered to it.
    UpdateOrder,
    /// Events the notification function failed on, or that could not be delivered to it.
    Notification,
}

impl Queue {
    pub const ALL: [Queue; 5] = [
        Queue::Outbox,
        Queue::Projection,
        Queue::PaymentRule,
        Queue::UpdateOrder,
        Queue::Notification,
    ];

    /// As the command line names it.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Projection => "projection",
            Queue::PaymentRule => "payment-rule",
            Queue::UpdateOrder => "update-order",
            Queue::Notification => "notification",
        }
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One of the deployed stack's dead-letter queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetterQueue {
    pub queue: Queue,
    pub url: String,
}

/// A message parked in a dead-letter queue.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    /// From the latest receive: deleting the letter takes it.
    pub receipt_handle: String,
    pub kind: Kind,
}

/// How long a listing hides the letters it has seen, so that the next receive returns others.
/// Short, because a listing that dies midway leaves them hidden until then.
const HIDDEN_WHILE_LISTING: i32 = 10;

/// Lists the letters in `queue` and leaves them there, available at once.
pub async fn list(
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadLetterQueue,
    progress: Progress<'_>,
) -> Result<Vec<DeadLetter>, AdminError> {
    let letters = peek(sqs, queue).await?;
    progress(format!("{}: {} dead letters", queue.queue, letters.len()));
    for letter in &letters {
        progress(format!("  {} {}", letter.message_id, letter.kind));
    }
    Ok(letters)
}

/// Every letter of the queue. SQS has no way to look without receiving, so each is received,
/// hidden briefly so that the next receive returns others, and made visible again at the end.
async fn peek(
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadLetterQueue,
) -> Result<Vec<DeadLetter>, AdminError> {
    let mut letters: Vec<DeadLetter> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .visibility_timeout(HIDDEN_WHILE_LISTING)
            // A second's long poll: a short poll samples only some servers and can miss some.
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
        let mut anything_new = false;
        for message in received.messages.unwrap_or_default() {
            let (Some(message_id), Some(receipt_handle)) =
                (message.message_id, message.receipt_handle)
            else {
                continue;
            };
            // Seen before (the listing outlasted the hiding): only the newest handle is good.
            if let Some(&at) = seen.get(&message_id) {
                letters[at].receipt_handle = receipt_handle;
                continue;
            }
            anything_new = true;
            let attributes: HashMap<String, String> = message
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, value)| value.string_value.map(|text| (name, text)))
                .collect();
            let kind = read(message.body.as_deref().unwrap_or_default(), &attributes);
            seen.insert(message_id.clone(), letters.len());
            letters.push(DeadLetter {
                message_id,
                receipt_handle,
                kind,
            });
        }
        if !anything_new {
            break;
        }
    }
    for chunk in letters.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(at, letter)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(at.to_string())
                    .receipt_handle(&letter.receipt_handle)
                    .visibility_timeout(0)
                    .build()
                    .map_err(InfrastructureError::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A letter this misses is visible again anyway once its short hiding is over.
        sqs.change_message_visibility_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
    }
    Ok(letters)
}

/// Deletes the letters; those SQS refused to delete, by message id, with its reason.
async fn delete(
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadLetterQueue,
    letters: &[&DeadLetter],
) -> Result<HashMap<String, String>, AdminError> {
    let mut refused = HashMap::new();
    for chunk in letters.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(at, letter)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(at.to_string())
                    .receipt_handle(&letter.receipt_handle)
                    .build()
                    .map_err(InfrastructureError::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = sqs
            .delete_message_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
        for failed in output.failed {
            if let Some(letter) = failed.id.parse::<usize>().ok().and_then(|at| chunk.get(at)) {
                let reason = failed.message.unwrap_or(failed.code);
                refused.insert(letter.message_id.clone(), reason);
            }
        }
    }
    Ok(refused)
}
