//! The deployed stack's coordinates, from the env file that deploying it wrote, read as
//! `eda-admin` reads it.

use std::path::PathBuf;

use admin::{Settings, StackEnv};

/// The deployed stack, from the env file that deploying it wrote.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The env file it was read from (what `eda-admin --env-file` takes).
    pub env_file: PathBuf,
    /// What `eda-admin` takes from the same file; also how the suite's clients reach the stack.
    pub settings: Settings,
    pub stack_name: String,
    pub api: String,
    pub region: String,
    /// LocalStack's URL; `None` for AWS.
    pub endpoint: Option<String>,
    pub event_store_table: String,
    pub event_bus: String,
    pub catch_all_log_group: String,
    pub notification_topic: String,
    pub alarm_topic: String,
    pub order_views_table: String,
    pub payments_table: String,
    pub create_order_function: String,
    pub outbox_function: String,
    pub projection_function: String,
    pub payment_function: String,
    pub update_order_function: String,
    pub notification_function: String,
    /// The scheduled recovery sweep.
    pub recovery_sweep_function: String,
    /// Where a failed sweep run is recorded.
    pub recovery_sweep_failure_queue: String,
    /// How long the sweep lets an event or an order wait before it steps in.
    pub recovery_stuck_after: std::time::Duration,
    pub outbox_dead_letter_queue: String,
    pub projection_dead_letter_queue: String,
    pub payment_rule_dead_letter_queue: String,
    pub update_order_dead_letter_queue: String,
    pub notification_dead_letter_queue: String,
    /// Orders of this customer fail payment, when the stack simulates a provider outage.
    pub simulated_outage_customer: Option<String>,
}

impl Stack {
    /// Reads `.local/stack.env`, or the file named in `STACK_ENV`; panics without it, or when a
    /// name the suite needs is missing from it.
    pub fn load() -> Stack {
        let path = std::env::var_os("STACK_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/stack.env"))
            });
        let env = StackEnv::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): bring the stack up first with scripts/local-up.sh",
                path.display()
            )
        });
        let var = |name: &str| {
            env.get(name)
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{} has no {name}", path.display()))
        };
        Stack {
            env_file: path.clone(),
            settings: Settings::from_env(&env),
            stack_name: var("STACK_NAME"),
            api: var("API").trim_end_matches('/').to_owned(),
            region: var("AWS_REGION"),
            endpoint: env.get("AWS_ENDPOINT_URL").map(str::to_owned),
            event_store_table: var("EVENT_STORE_TABLE_NAME"),
            event_bus: var("EVENT_BUS_NAME"),
            catch_all_log_group: var("CATCH_ALL_LOG_GROUP_NAME"),
            notification_topic: var("NOTIFICATION_TOPIC_ARN"),
            alarm_topic: var("ALARM_TOPIC_ARN"),
            order_views_table: var("ORDER_VIEWS_TABLE_NAME"),
            payments_table: var("PAYMENTS_TABLE_NAME"),
            create_order_function: var("CREATE_ORDER_FUNCTION_NAME"),
            outbox_function: var("OUTBOX_PROCESSOR_FUNCTION_NAME"),
            projection_function: var("PROJECTION_FUNCTION_NAME"),
            payment_function: var("PAYMENT_FUNCTION_NAME"),
            update_order_function: var("UPDATE_ORDER_FUNCTION_NAME"),
            notification_function: var("NOTIFICATION_FUNCTION_NAME"),
            recovery_sweep_function: var("RECOVERY_SWEEP_FUNCTION_NAME"),
            recovery_sweep_failure_queue: var("RECOVERY_SWEEP_FAILURE_QUEUE_URL"),
            recovery_stuck_after: std::time::Duration::from_secs(
                var("RECOVERY_STUCK_AFTER_SECONDS")
                    .parse()
                    .unwrap_or_else(|e| {
                        panic!("{}: RECOVERY_STUCK_AFTER_SECONDS ({e})", path.display())
                    }),
            ),
            outbox_dead_letter_queue: var("OUTBOX_DEAD_LETTER_QUEUE_URL"),
            projection_dead_letter_queue: var("PROJECTION_DEAD_LETTER_QUEUE_URL"),
            payment_rule_dead_letter_queue: var("PAYMENT_RULE_DEAD_LETTER_QUEUE_URL"),
            update_order_dead_letter_queue: var("UPDATE_ORDER_DEAD_LETTER_QUEUE_URL"),
            notification_dead_letter_queue: var("NOTIFICATION_DEAD_LETTER_QUEUE_URL"),
            simulated_outage_customer: env.get("SIMULATED_OUTAGE_CUSTOMER").map(str::to_owned),
        }
    }
}
