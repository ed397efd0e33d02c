//! How long an event can come back to a consumer, and so how long the consumers' idempotency
//! records must live: a record that expires while a redelivery can still come lets that
//! redelivery act a second time.
//!
//! The longest way an event can take to a consumer, each leg at the most AWS allows (the
//! template's settings are within these; a unit test reads them from it):
//! 1. EventBridge retries delivering to a rule's target for up to 24 h (`RetryPolicy`
//!    `MaximumEventAgeInSeconds`, at most 86,400 s), then parks it in the rule's dead-letter queue;
//! 2. an asynchronous invocation that fails is retried by Lambda for up to 6 h more
//!    (`EventInvokeConfig` `MaximumEventAgeInSeconds`, at most 21,600 s), then parked in the
//!    function's failure destination;
//! 3. a parked event is re-driven by a person (`eda-admin dead-letters redrive`, which invokes
//!    the consumer synchronously, so no further retry window) while its queue keeps it: up to 14
//!    days (`MessageRetentionPeriod`, at most 1,209,600 s).
//!
//! A record is written when the event is first handled, which is never before the event was
//! first sent, so records that live for the sum of the three outlive every redelivery.
//! The recovery sweep replays only events that reached the bus within the same lifetime, for the
//! same reason.

use std::time::Duration;

/// EventBridge's longest retry of a delivery to a target.
pub const EVENTBRIDGE_RETRY_SECS: u64 = 24 * 60 * 60;
/// Lambda's longest retry of an asynchronous invocation.
pub const ASYNC_INVOCATION_RETRY_SECS: u64 = 6 * 60 * 60;
/// SQS's longest retention, so the longest a dead letter waits for its re-drive.
pub const DEAD_LETTER_RETENTION_SECS: u64 = 14 * 24 * 60 * 60;

/// How long an idempotency record lives: every redelivery window, end to end (15 days 6 hours).
pub const IDEMPOTENCY_LIFETIME: Duration = Duration::from_secs(
    EVENTBRIDGE_RETRY_SECS + ASYNC_INVOCATION_RETRY_SECS + DEAD_LETTER_RETENTION_SECS,
);

/// The timeout of the functions that claim idempotency records (payment, update-order,
/// notification: `Timeout` in the template).
pub const CONSUMER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an unfinished claim holds its key: as long as the invocation holding it can run, so
/// that the claim of an invocation that timed out has lapsed when Lambda tries again, and no
/// live invocation loses its claim to another.
pub const IN_PROGRESS_WINDOW: Duration = CONSUMER_TIMEOUT;

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::{Yaml, YamlLoader};

    /// The template's resources.
    fn resources() -> Yaml {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let text = std::fs::read_to_string(path).expect("read the template");
        let mut documents = YamlLoader::load_from_str(&text).expect("the template is YAML");
        documents.remove(0)["Resources"].clone()
    }

    fn seconds(value: &Yaml) -> u64 {
        match value {
            Yaml::Integer(n) => u64::try_from(*n).expect("a positive number"),
            other => panic!("not a number of seconds: {other:?}"),
        }
    }

    /// Every value of `key` under `node`, at any depth, with the name of the map holding it.
    fn find<'a>(node: &'a Yaml, parent: &str, key: &str, found: &mut Vec<(String, &'a Yaml)>) {
        match node {
            Yaml::Hash(map) => {
                for (name, value) in map {
                    let name = name.as_str().unwrap_or_default();
                    if name == key {
                        found.push((parent.to_owned(), value));
                    }
                    find(value, name, key, found);
                }
            }
            Yaml::Array(items) => items.iter().for_each(|item| find(item, parent, key, found)),
            _ => {}
        }
    }

    /// The longest of the template's settings of `key` held by a map named `parent` (any map
    /// when `None`); at least one must be there.
    fn longest(resources: &Yaml, parent: Option<&str>, key: &str) -> u64 {
        let mut found = Vec::new();
        find(resources, "", key, &mut found);
        found
            .into_iter()
            .filter(|(held_by, _)| parent.is_none_or(|parent| held_by == parent))
            .map(|(_, value)| seconds(value))
            .max()
            .unwrap_or_else(|| panic!("no {key} under {parent:?} in the template"))
    }

    #[test]
    fn idempotency_records_outlive_every_redelivery_the_template_allows() {
        let resources = resources();
        let bus = longest(&resources, Some("RetryPolicy"), "MaximumEventAgeInSeconds");
        let invocation = longest(
            &resources,
            Some("EventInvokeConfig"),
            "MaximumEventAgeInSeconds",
        );
        let retention = longest(&resources, None, "MessageRetentionPeriod");
        assert!(bus <= EVENTBRIDGE_RETRY_SECS, "a rule retries for {bus} s");
        assert!(
            invocation <= ASYNC_INVOCATION_RETRY_SECS,
            "an invocation is retried for {invocation} s"
        );
        assert!(
            retention <= DEAD_LETTER_RETENTION_SECS,
            "a queue keeps letters for {retention} s"
        );
        let longest_way = Duration::from_secs(bus + invocation + retention);
        assert!(
            IDEMPOTENCY_LIFETIME >= longest_way,
            "records live {IDEMPOTENCY_LIFETIME:?}, a redelivery can come after {longest_way:?}"
        );
    }

    #[test]
    fn a_claim_holds_exactly_as_long_as_each_consumer_can_run() {
        let resources = resources();
        for function in [
            "PaymentFunction",
            "UpdateOrderFunction",
            "NotificationFunction",
        ] {
            let timeout = seconds(&resources[function]["Properties"]["Timeout"]);
            assert_eq!(
                Duration::from_secs(timeout),
                IN_PROGRESS_WINDOW,
                "{function}'s timeout is its claims' window"
            );
        }
    }
}
