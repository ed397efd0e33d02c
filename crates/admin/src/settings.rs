//! Where the stack is: table and bus names, region and endpoint, from the env file that
//! deploying the stack wrote (`.local/stack.env`), overridable one by one; and, for the
//! dead-letter commands only, its dead-letter queues and what consumes them.
//!
//! The end-to-end suite reads the same file through `StackEnv` and talks to the stack through
//! the same `Settings::aws`, so that it reaches the stack exactly as `eda-admin` does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use adapters::{DynamoDbEventStore, EventBridgePublisher};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use outbox_processor::Outbox;

use crate::AdminError;
use crate::dead_letters::{Consumers, DeadLetterQueue, Queue};

/// The env file as `scripts/lib/deploy_stack.py` writes it: `KEY=VALUE` lines.
#[derive(Clone, Debug)]
pub struct StackEnv {
    path: PathBuf,
    vars: HashMap<String, String>,
}

impl StackEnv {
    /// Reads the file; a line without `=` is ignored, and of a key given twice the last counts.
    pub fn read(path: &Path) -> std::io::Result<StackEnv> {
        let text = std::fs::read_to_string(path)?;
        let vars = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(StackEnv {
            path: path.to_owned(),
            vars,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub event_store_table: String,
    pub views_table: String,
    pub event_bus: String,
    pub region: Option<String>,
    /// LocalStack's URL; `None` for AWS.
    pub endpoint: Option<String>,
    // The rest only the dead-letter commands need, so an empty one is skipped, not refused.
    pub outbox_dead_letter_queue_url: String,
    pub projection_dead_letter_queue_url: String,
    pub payment_rule_dead_letter_queue_url: String,
    pub update_order_dead_letter_queue_url: String,
    pub notification_dead_letter_queue_url: String,
    pub update_order_function: String,
    pub notification_function: String,
    pub payment_state_machine_arn: String,
    // Only `replay --from-archive` needs these (the stack's outputs EventBusArn, EventArchiveArn).
    pub event_bus_arn: String,
    pub event_archive_arn: String,
    // And these only the trace: where each function and the bus log.
    pub catch_all_log_group: String,
    pub payment_workflow_log_group: String,
    /// Each function the env file names: (its service, its function name).
    pub functions: Vec<(String, String)>,
}

/// The services whose functions a trace reads the logs of, and the env file's name for each.
const FUNCTION_NAMES: [(&str, &str); 7] = [
    ("create-order", "CREATE_ORDER_FUNCTION_NAME"),
    ("outbox-processor", "OUTBOX_PROCESSOR_FUNCTION_NAME"),
    ("projection", "PROJECTION_FUNCTION_NAME"),
    ("payment", "PAYMENT_FUNCTION_NAME"),
    ("update-order", "UPDATE_ORDER_FUNCTION_NAME"),
    ("notification", "NOTIFICATION_FUNCTION_NAME"),
    ("recovery-sweep", "RECOVERY_SWEEP_FUNCTION_NAME"),
];

impl Settings {
    pub fn from_env_file(path: &Path) -> Result<Settings, AdminError> {
        let env = StackEnv::read(path)
            .map_err(|e| AdminError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        Ok(Settings::from_env(&env))
    }

    /// The settings the env file holds; what it lacks is left empty, for `check` to refuse.
    pub fn from_env(env: &StackEnv) -> Settings {
        let var = |name: &str| env.get(name).unwrap_or_default().to_owned();
        Settings {
            event_store_table: var("EVENT_STORE_TABLE_NAME"),
            views_table: var("ORDER_VIEWS_TABLE_NAME"),
            event_bus: var("EVENT_BUS_NAME"),
            region: env.get("AWS_REGION").map(str::to_owned),
            endpoint: env.get("AWS_ENDPOINT_URL").map(str::to_owned),
            outbox_dead_letter_queue_url: var("OUTBOX_DEAD_LETTER_QUEUE_URL"),
            projection_dead_letter_queue_url: var("PROJECTION_DEAD_LETTER_QUEUE_URL"),
            payment_rule_dead_letter_queue_url: var("PAYMENT_RULE_DEAD_LETTER_QUEUE_URL"),
            update_order_dead_letter_queue_url: var("UPDATE_ORDER_DEAD_LETTER_QUEUE_URL"),
            notification_dead_letter_queue_url: var("NOTIFICATION_DEAD_LETTER_QUEUE_URL"),
            update_order_function: var("UPDATE_ORDER_FUNCTION_NAME"),
            notification_function: var("NOTIFICATION_FUNCTION_NAME"),
            payment_state_machine_arn: var("PAYMENT_STATE_MACHINE_ARN"),
            event_bus_arn: var("EVENT_BUS_ARN"),
            event_archive_arn: var("EVENT_ARCHIVE_ARN"),
            catch_all_log_group: var("CATCH_ALL_LOG_GROUP_NAME"),
            payment_workflow_log_group: var("PAYMENT_WORKFLOW_LOG_GROUP"),
            functions: FUNCTION_NAMES
                .iter()
                .filter_map(|(service, name)| {
                    Some((service.to_string(), env.get(name)?.to_owned()))
                })
                .collect(),
        }
    }

    /// The queue, if the settings know its URL.
    pub fn dead_letter_queue(&self, queue: Queue) -> Option<DeadLetterQueue> {
        let url = match queue {
            Queue::Outbox => &self.outbox_dead_letter_queue_url,
            Queue::Projection => &self.projection_dead_letter_queue_url,
            Queue::PaymentRule => &self.payment_rule_dead_letter_queue_url,
            Queue::UpdateOrder => &self.update_order_dead_letter_queue_url,
            Queue::Notification => &self.notification_dead_letter_queue_url,
        };
        (!url.is_empty()).then(|| DeadLetterQueue {
            queue,
            url: url.clone(),
        })
    }

    /// What re-driven letters go back to: the consumers these settings name, reached through
    /// these clients.
    pub fn consumers<'a>(
        &'a self,
        lambda: &'a aws_sdk_lambda::Client,
        sfn: &'a aws_sdk_sfn::Client,
        dynamodb: &'a aws_sdk_dynamodb::Client,
        events: &'a DynamoDbEventStore,
        outbox: &'a Outbox<EventBridgePublisher, DynamoDbEventStore>,
    ) -> Consumers<'a> {
        Consumers {
            lambda,
            sfn,
            dynamodb,
            events,
            outbox,
            views_table: &self.views_table,
            update_order_function: &self.update_order_function,
            notification_function: &self.notification_function,
            payment_state_machine: &self.payment_state_machine_arn,
        }
    }

    pub fn check(&self) -> Result<(), AdminError> {
        for (name, value) in [
            ("event store table", &self.event_store_table),
            ("views table", &self.views_table),
            ("event bus", &self.event_bus),
        ] {
            if value.is_empty() {
                return Err(AdminError::Invalid(format!(
                    "no {name}: pass --env-file (default .local/stack.env) or the option"
                )));
            }
        }
        Ok(())
    }

    /// The SDK configuration: the environment's credentials, or LocalStack's test ones when the
    /// endpoint is LocalStack and none are set.
    pub async fn aws(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "localstack",
                ));
            }
        }
        loader.load().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The env file `text`, read back.
    fn env_of(text: &str) -> StackEnv {
        // One file per call: the tests run at the same time.
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let name = format!("stack-{}-{call}.env", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).unwrap();
        let env = StackEnv::read(&path);
        std::fs::remove_file(&path).unwrap();
        let env = env.unwrap();
        assert_eq!(env.path(), path);
        env
    }

    #[test]
    fn an_env_file_is_read_as_key_value_lines() {
        let env = env_of(
            "EVENT_BUS_NAME = bus\nnot a setting\nAPI=http://x/?a=b\nEVENT_BUS_NAME=later\n",
        );
        assert_eq!(
            env.get("API"),
            Some("http://x/?a=b"),
            "split at the first ="
        );
        assert_eq!(
            env.get("EVENT_BUS_NAME"),
            Some("later"),
            "the last one counts"
        );
        assert_eq!(env.get("not a setting"), None);
    }

    #[test]
    fn settings_leave_what_the_file_lacks_empty_for_check_to_refuse() {
        let settings = Settings::from_env(&env_of(
            "EVENT_STORE_TABLE_NAME=events\nAWS_REGION=eu-west-1\n",
        ));
        assert_eq!(settings.event_store_table, "events");
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            (settings.endpoint.as_deref(), settings.views_table.as_str()),
            (None, "")
        );
        assert!(settings.check().is_err());
    }

    #[test]
    fn the_archive_and_the_bus_arns_come_from_the_stack_outputs() {
        let settings = Settings::from_env(&env_of(
            "EVENT_BUS_ARN=arn:aws:events:r:1:event-bus/b\nEVENT_ARCHIVE_ARN=arn:aws:events:r:1:archive/b-events\n",
        ));
        assert_eq!(settings.event_bus_arn, "arn:aws:events:r:1:event-bus/b");
        assert_eq!(
            settings.event_archive_arn,
            "arn:aws:events:r:1:archive/b-events"
        );
    }

    #[test]
    fn a_missing_env_file_is_refused_by_name() {
        let error = Settings::from_env_file(Path::new("/nonexistent/stack.env")).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, AdminError::Invalid(_)), "{message}");
        assert!(
            message.starts_with("cannot read /nonexistent/stack.env: "),
            "{message}"
        );
    }
}
