//! Where the stack is: table and bus names, region and endpoint, from the env file that
//! deploying the stack wrote (`.local/stack.env`), overridable one by one; and, for the
//! dead-letter commands only, its dead-letter queues and what consumes them.

use std::collections::HashMap;
use std::path::Path;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::AdminError;
use crate::dead_letters::{DeadLetterQueue, Queue};

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
}

impl Settings {
    /// Reads `KEY=VALUE` lines as `scripts/lib/deploy_stack.py` writes them.
    pub fn from_env_file(path: &Path) -> Result<Settings, AdminError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AdminError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let var = |name: &str| vars.get(name).map(|v| v.to_string()).unwrap_or_default();
        Ok(Settings {
            event_store_table: var("EVENT_STORE_TABLE_NAME"),
            views_table: var("ORDER_VIEWS_TABLE_NAME"),
            event_bus: var("EVENT_BUS_NAME"),
            region: vars.get("AWS_REGION").map(|v| v.to_string()),
            endpoint: vars.get("AWS_ENDPOINT_URL").map(|v| v.to_string()),
            outbox_dead_letter_queue_url: var("OUTBOX_DEAD_LETTER_QUEUE_URL"),
            projection_dead_letter_queue_url: var("PROJECTION_DEAD_LETTER_QUEUE_URL"),
            payment_rule_dead_letter_queue_url: var("PAYMENT_RULE_DEAD_LETTER_QUEUE_URL"),
            update_order_dead_letter_queue_url: var("UPDATE_ORDER_DEAD_LETTER_QUEUE_URL"),
            notification_dead_letter_queue_url: var("NOTIFICATION_DEAD_LETTER_QUEUE_URL"),
            update_order_function: var("UPDATE_ORDER_FUNCTION_NAME"),
            notification_function: var("NOTIFICATION_FUNCTION_NAME"),
            payment_state_machine_arn: var("PAYMENT_STATE_MACHINE_ARN"),
        })
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
