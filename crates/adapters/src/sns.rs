//! Notifications on SNS.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use domain::ports::{InfrastructureError, Notification, Notifier};

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn text_attribute(value: &str) -> Result<MessageAttributeValue, InfrastructureError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(InfrastructureError::new)
}

impl Notifier for SnsNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, InfrastructureError> {
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message(&notification.body)
            .message_attributes("eventType", text_attribute(&notification.event_type)?)
            .message_attributes("orderId", text_attribute(&notification.order_id)?)
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
        Ok(output.message_id.unwrap_or_default())
    }
}
