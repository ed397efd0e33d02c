use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::ports::{InfrastructureError, Snapshot, SnapshotStore};

use super::lock;

/// Snapshots in memory: the latest per aggregate.
#[derive(Clone, Debug, Default)]
pub struct InMemorySnapshotStore {
    snapshots: Arc<Mutex<HashMap<String, Snapshot>>>,
}

impl SnapshotStore for InMemorySnapshotStore {
    async fn latest(&self, aggregate_id: &str) -> Result<Option<Snapshot>, InfrastructureError> {
        Ok(lock(&self.snapshots).get(aggregate_id).cloned())
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), InfrastructureError> {
        let mut snapshots = lock(&self.snapshots);
        if snapshots
            .get(&snapshot.aggregate_id)
            .is_none_or(|held| held.version < snapshot.version)
        {
            snapshots.insert(snapshot.aggregate_id.clone(), snapshot.clone());
        }
        Ok(())
    }
}
