use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::RecordedEvent;
use domain::ports::{EventPublisher, InfrastructureError, PublishOutcome};
use uuid::Uuid;

use super::lock;

/// A bus that keeps what it is given. Entries can be made to fail one by one, or whole calls.
#[derive(Clone, Debug, Default)]
pub struct InMemoryBus {
    state: Arc<Mutex<BusState>>,
}

#[derive(Debug, Default)]
struct BusState {
    published: Vec<RecordedEvent>,
    batch_sizes: Vec<usize>,
    /// Event id -> how many more attempts to reject.
    rejections: HashMap<Uuid, usize>,
    failing_calls: usize,
}

impl InMemoryBus {
    /// Everything published, in order, duplicates included.
    pub fn published(&self) -> Vec<RecordedEvent> {
        lock(&self.state).published.clone()
    }

    /// The number of entries of each publish call that reached the bus.
    pub fn batch_sizes(&self) -> Vec<usize> {
        lock(&self.state).batch_sizes.clone()
    }

    /// Rejects the entry of this event in the next `times` calls that include it.
    pub fn reject(&self, event_id: Uuid, times: usize) {
        lock(&self.state).rejections.insert(event_id, times);
    }

    /// Fails the next `calls` publish calls as a whole.
    pub fn fail_calls(&self, calls: usize) {
        lock(&self.state).failing_calls = calls;
    }
}

impl EventPublisher for InMemoryBus {
    const MAX_BATCH_ENTRIES: usize = 10;
    const MAX_BATCH_BYTES: usize = 256 * 1024;

    fn entry_size(&self, event: &RecordedEvent) -> usize {
        event.source.len() + event.event_type.len() + event.detail.len() + 14
    }

    async fn publish(
        &self,
        events: &[RecordedEvent],
    ) -> Result<Vec<PublishOutcome>, InfrastructureError> {
        let mut state = lock(&self.state);
        assert!(
            events.len() <= Self::MAX_BATCH_ENTRIES,
            "batch of {} entries",
            events.len()
        );
        let bytes: usize = events.iter().map(|e| self.entry_size(e)).sum();
        assert!(bytes <= Self::MAX_BATCH_BYTES, "batch of {bytes} bytes");
        state.batch_sizes.push(events.len());
        if state.failing_calls > 0 {
            state.failing_calls -= 1;
            return Err(InfrastructureError("bus unavailable".into()));
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            match state.rejections.get_mut(&event.event_id) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    outcomes.push(PublishOutcome::Failed {
                        code: "InternalFailure".into(),
                        message: "rejected by the test".into(),
                    });
                }
                _ => {
                    state.published.push(event.clone());
                    outcomes.push(PublishOutcome::Published);
                }
            }
        }
        Ok(outcomes)
    }
}
