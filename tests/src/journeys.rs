//! An order's journey, as `eda-admin trace` puts it together.

use admin::trace::{self, Journey};

use crate::World;

impl World {
    /// The journey of the order stored as `order_key`, read as `eda-admin trace` reads it.
    pub async fn journey(&self, order_key: &str) -> Journey {
        let settings = self.admin_settings();
        let events =
            adapters::DynamoDbEventStore::new(self.dynamodb.clone(), &self.stack.event_store_table);
        let sources = trace::Sources {
            events: &events,
            logs: &self.logs,
            lambda: &self.lambda,
            payment_workflow_log_group: &settings.payment_workflow_log_group,
            catch_all_log_group: &settings.catch_all_log_group,
            functions: &settings.functions,
        };
        trace::trace(&sources, order_key)
            .await
            .unwrap_or_else(|e| panic!("trace order {order_key}: {e}"))
    }
}
