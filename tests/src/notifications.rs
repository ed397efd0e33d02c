//! The notification topic, watched as a subscriber of the real system would watch it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::World;
use crate::probe_queue::TopicSubscription;

impl World {
    /// Starts watching the notification topic for the messages about one order.
    pub async fn notification_probe(&self, order_key: &str) -> NotificationProbe {
        NotificationProbe::start(self, order_key).await
    }
}

/// A message as the notification topic sent it.
#[derive(Debug, Clone)]
pub struct SentNotification {
    pub subject: String,
    pub message: String,
    pub event_type: String,
    pub order_id: String,
}

/// A queue subscribed to the notification topic, filtered to one order by its `orderId`
/// message attribute, as a subscriber of the real system would do it.
pub struct NotificationProbe(TopicSubscription);

impl NotificationProbe {
    async fn start(world: &World, order_key: &str) -> NotificationProbe {
        let only_this_order = json!({"orderId": [order_key]});
        let topic = &world.stack.notification_topic;
        NotificationProbe(TopicSubscription::start(world, topic, Some(only_this_order)).await)
    }

    /// The messages that arrive, as `BusProbe::collect` counts them.
    pub async fn collect(
        &self,
        expected: usize,
        deadline: Duration,
        quiet: Duration,
    ) -> Vec<SentNotification> {
        let attribute = |envelope: &Value, name: &str| {
            envelope["MessageAttributes"][name]["Value"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        self.0
            .queue
            .collect(expected, deadline, quiet)
            .await
            .into_iter()
            .map(|envelope| SentNotification {
                subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                message: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                event_type: attribute(&envelope, "eventType"),
                order_id: attribute(&envelope, "orderId"),
            })
            .collect()
    }

    pub async fn close(self) {
        self.0.close().await;
    }
}
