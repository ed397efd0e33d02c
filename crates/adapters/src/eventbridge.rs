//! The event bus on EventBridge.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use domain::RecordedEvent;
use domain::ports::{EventPublisher, InfrastructureError, PublishOutcome};

#[derive(Clone, Debug)]
pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        EventBridgePublisher {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    /// PutEvents takes at most 10 entries and 256 KiB per call.
    const MAX_BATCH_ENTRIES: usize = 10;
    const MAX_BATCH_BYTES: usize = 256 * 1024;

    /// As EventBridge counts it: source, detail-type, detail and bus name in UTF-8 bytes, plus
    /// 14 bytes for the time.
    fn entry_size(&self, event: &RecordedEvent) -> usize {
        event.source.len() + event.event_type.len() + event.detail.len() + self.bus_name.len() + 14
    }

    async fn publish(
        &self,
        events: &[RecordedEvent],
    ) -> Result<Vec<PublishOutcome>, InfrastructureError> {
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(&event.source)
                    .detail_type(&event.event_type)
                    .detail(&event.detail)
                    .time(DateTime::from_millis(event.occurred_at.timestamp_millis()))
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
        // Entries come back in request order; one without an event id was not published.
        let results = output.entries();
        Ok((0..events.len())
            .map(|i| match results.get(i) {
                Some(entry) if entry.event_id().is_some() && entry.error_code().is_none() => {
                    PublishOutcome::Published
                }
                Some(entry) => PublishOutcome::Failed {
                    code: entry.error_code().unwrap_or("Unknown").to_owned(),
                    message: entry.error_message().unwrap_or_default().to_owned(),
                },
                None => PublishOutcome::Failed {
                    code: "MissingResult".to_owned(),
                    message: "PutEvents returned fewer results than entries".to_owned(),
                },
            })
            .collect())
    }
}
