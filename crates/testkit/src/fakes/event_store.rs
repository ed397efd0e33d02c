use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::ports::{AppendError, EventStore, InfrastructureError, PublicationLog};
use domain::{EventKey, RecordedEvent};

use super::lock;

/// Each stored event with the time it was marked published, if it was.
type StoredEvents = BTreeMap<EventKey, (RecordedEvent, Option<DateTime<Utc>>)>;

/// Events in memory, appended all or nothing under the same version check as the DynamoDB
/// store, with the outbox's publication marks.
#[derive(Clone, Debug, Default)]
pub struct InMemoryEventStore {
    events: Arc<Mutex<StoredEvents>>,
    failing: Arc<Mutex<bool>>,
}

impl InMemoryEventStore {
    /// Every stored event, ordered by aggregate and version.
    pub fn events(&self) -> Vec<RecordedEvent> {
        lock(&self.events)
            .values()
            .map(|(event, _)| event.clone())
            .collect()
    }

    pub fn published_at(&self, key: &EventKey) -> Option<DateTime<Utc>> {
        lock(&self.events).get(key).and_then(|(_, at)| *at)
    }

    /// While set, every call fails as if the table could not be reached.
    pub fn set_unavailable(&self, unavailable: bool) {
        *lock(&self.failing) = unavailable;
    }

    fn check_available(&self) -> Result<(), InfrastructureError> {
        if *lock(&self.failing) {
            Err(InfrastructureError("event store unavailable".into()))
        } else {
            Ok(())
        }
    }
}

impl EventStore for InMemoryEventStore {
    async fn append(&self, events: &[RecordedEvent]) -> Result<(), AppendError> {
        self.check_available()?;
        let mut stored = lock(&self.events);
        if let Some(taken) = events
            .iter()
            .find(|event| stored.contains_key(&event.key()))
        {
            return Err(AppendError::Conflict {
                aggregate_id: taken.aggregate_id.clone(),
                version: taken.version,
            });
        }
        for event in events {
            stored.insert(event.key(), (event.clone(), None));
        }
        Ok(())
    }

    async fn load(&self, aggregate_id: &str) -> Result<Vec<RecordedEvent>, InfrastructureError> {
        self.check_available()?;
        Ok(lock(&self.events)
            .values()
            .filter(|(event, _)| event.aggregate_id == aggregate_id)
            .map(|(event, _)| event.clone())
            .collect())
    }
}

impl PublicationLog for InMemoryEventStore {
    async fn published(&self, keys: &[EventKey]) -> Result<HashSet<EventKey>, InfrastructureError> {
        self.check_available()?;
        let stored = lock(&self.events);
        Ok(keys
            .iter()
            .filter(|key| stored.get(key).is_some_and(|(_, at)| at.is_some()))
            .cloned()
            .collect())
    }

    async fn mark_published(
        &self,
        key: &EventKey,
        at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        self.check_available()?;
        match lock(&self.events).get_mut(key) {
            Some((_, published_at)) => {
                published_at.get_or_insert(at);
                Ok(())
            }
            None => Err(InfrastructureError(format!("no event {key:?}"))),
        }
    }
}
