//! What a dead letter holds, read from its body (and, for an undelivered event, its message
//! attributes). Three mechanisms park messages in the stack's queues, each in its own shape; a
//! letter is whatever is in the queue, so reading one never fails: a field that is missing or of
//! the wrong type is simply not shown, and a body that is none of the three is `Unreadable`.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

/// What a dead letter is, by the mechanism that parked it.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A stream event source mapping gave up on a batch of stream records. The letter points at
    /// a range of records, not at the records themselves, which have left the stream by now:
    /// re-driving means going back to the table the stream came from.
    StreamFailure(StreamFailure),
    /// An asynchronous invocation that failed on every retry; the event it was given is inside.
    AsyncFailure(AsyncFailure),
    /// An event a bus rule could not deliver to its target: the letter is the event itself.
    Undelivered(Undelivered),
    /// None of the above, and why.
    Unreadable(String),
}

/// The `DDBStreamBatchInfo` of a stream event source mapping's failure record. Its
/// `requestContext` can be missing (LocalStack writes none when records grew too old).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFailure {
    pub condition: Option<String>,
    pub function_arn: Option<String>,
    pub invocations: Option<u64>,
    pub shard_id: Option<String>,
    pub first_sequence_number: Option<String>,
    pub last_sequence_number: Option<String>,
    pub batch_size: Option<u64>,
    pub stream_arn: Option<String>,
}

/// Lambda's record of an asynchronous invocation that failed.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncFailure {
    pub condition: Option<String>,
    pub function_arn: Option<String>,
    pub invocations: Option<u64>,
    pub request_id: Option<String>,
    /// The event the function was given (`requestPayload`); re-driving gives it again.
    pub event: Option<Value>,
    pub about: About,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
}

/// An event a rule could not deliver, with the reasons EventBridge attached as attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Undelivered {
    pub event: Value,
    pub about: About,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub rule_arn: Option<String>,
    pub target_arn: Option<String>,
}

/// What an event is about, as far as it can be read: its envelope may be anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct About {
    pub detail_type: Option<String>,
    pub event_id: Option<String>,
    pub order_id: Option<String>,
}

/// Reads a dead letter's body; `attributes` are its SQS message attributes (name to value).
pub fn read(body: &str, attributes: &HashMap<String, String>) -> Kind {
    let value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(error) => return Kind::Unreadable(format!("not JSON: {error}")),
    };
    if !value.is_object() {
        return Kind::Unreadable("JSON, but not an object".into());
    }
    if let Some(batch) = value.get("DDBStreamBatchInfo") {
        return Kind::StreamFailure(StreamFailure {
            condition: text(&value, "/requestContext/condition"),
            function_arn: text(&value, "/requestContext/functionArn"),
            invocations: number(&value, "/requestContext/approximateInvokeCount"),
            shard_id: text(batch, "/shardId"),
            first_sequence_number: text(batch, "/startSequenceNumber"),
            last_sequence_number: text(batch, "/endSequenceNumber"),
            batch_size: number(batch, "/batchSize"),
            stream_arn: text(batch, "/streamArn"),
        });
    }
    if value.get("requestContext").is_some() {
        let event = value.get("requestPayload").cloned();
        return Kind::AsyncFailure(AsyncFailure {
            condition: text(&value, "/requestContext/condition"),
            function_arn: text(&value, "/requestContext/functionArn"),
            invocations: number(&value, "/requestContext/approximateInvokeCount"),
            request_id: text(&value, "/requestContext/requestId"),
            about: event.as_ref().map(about).unwrap_or_default(),
            event,
            error_type: text(&value, "/responsePayload/errorType"),
            error_message: text(&value, "/responsePayload/errorMessage"),
        });
    }
    if value.get("detail-type").is_some() || value.get("detail").is_some() {
        let attribute = |name: &str| attributes.get(name).cloned();
        return Kind::Undelivered(Undelivered {
            about: about(&value),
            event: value,
            error_code: attribute("ERROR_CODE"),
            error_message: attribute("ERROR_MESSAGE"),
            rule_arn: attribute("RULE_ARN"),
            target_arn: attribute("TARGET_ARN"),
        });
    }
    Kind::Unreadable("a JSON object that is no failure record and no event".into())
}

/// What an EventBridge event is about: its detail-type, and the envelope's event and order ids.
pub fn about(event: &Value) -> About {
    About {
        detail_type: text(event, "/detail-type"),
        event_id: text(event, "/detail/metadata/eventId"),
        order_id: text(event, "/detail/data/orderId"),
    }
}

/// A string, or a number shown as one (order ids have been both).
fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn number(value: &Value, pointer: &str) -> Option<u64> {
    let found = value.pointer(pointer)?;
    found
        .as_u64()
        .or_else(|| found.as_str().and_then(|text| text.parse().ok()))
}

/// Shown in place of what a letter does not say.
const UNKNOWN: &str = "?";

fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or(UNKNOWN)
}

impl Kind {
    /// The kind, as a line starts with it.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::StreamFailure(_) => "stream failure",
            Kind::AsyncFailure(_) => "async failure",
            Kind::Undelivered(_) => "undelivered event",
            Kind::Unreadable(_) => "unreadable",
        }
    }
}

/// One line: the kind, then what the letter is about.
impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name())?;
        match self {
            Kind::StreamFailure(failure) => {
                write!(
                    f,
                    "{}, shard {}, records {}..{}",
                    or_unknown(&failure.condition),
                    or_unknown(&failure.shard_id),
                    or_unknown(&failure.first_sequence_number),
                    or_unknown(&failure.last_sequence_number),
                )?;
                match failure.batch_size {
                    Some(size) => write!(f, " ({size} records)"),
                    None => Ok(()),
                }
            }
            Kind::AsyncFailure(failure) => {
                write!(f, "{}", or_unknown(&failure.condition))?;
                if let Some(invocations) = failure.invocations {
                    write!(f, " after {invocations} invocations")?;
                }
                match &failure.event {
                    Some(_) => write!(f, ", {}", failure.about)?,
                    None => write!(f, ", no event in it")?,
                }
                write!(
                    f,
                    ": {}: {}",
                    or_unknown(&failure.error_type),
                    or_unknown(&failure.error_message)
                )
            }
            Kind::Undelivered(undelivered) => {
                write!(f, "{}", undelivered.about)?;
                write!(f, ": {}", or_unknown(&undelivered.error_code))?;
                match &undelivered.error_message {
                    Some(message) => write!(f, " ({message})"),
                    None => Ok(()),
                }
            }
            Kind::Unreadable(why) => write!(f, "{why}"),
        }
    }
}

impl fmt::Display for About {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} event {} order {}",
            or_unknown(&self.detail_type),
            or_unknown(&self.event_id),
            or_unknown(&self.order_id)
        )
    }
}
