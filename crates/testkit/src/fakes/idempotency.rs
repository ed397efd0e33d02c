use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::idempotency::{Claim, IdempotencyStore};
use domain::ports::InfrastructureError;

use super::lock;

/// Idempotency records in memory, with the same claim rules as the DynamoDB store.
#[derive(Clone, Debug, Default)]
pub struct InMemoryIdempotencyStore {
    records: Arc<Mutex<HashMap<String, IdempotencyRecord>>>,
}

#[derive(Clone, Debug)]
struct IdempotencyRecord {
    result: Option<String>,
    expires_at: DateTime<Utc>,
    in_progress_until: DateTime<Utc>,
}

impl InMemoryIdempotencyStore {
    /// The stored result of `key`, if its work completed.
    pub fn result(&self, key: &str) -> Option<String> {
        lock(&self.records).get(key).and_then(|r| r.result.clone())
    }

    pub fn keys(&self) -> Vec<String> {
        lock(&self.records).keys().cloned().collect()
    }
}

impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<Claim, InfrastructureError> {
        let mut records = lock(&self.records);
        if let Some(record) = records.get(key).filter(|r| r.expires_at >= now) {
            match &record.result {
                Some(result) => return Ok(Claim::Completed(result.clone())),
                None if record.in_progress_until >= now => return Ok(Claim::InProgress),
                None => {} // abandoned: take it over
            }
        }
        records.insert(
            key.to_owned(),
            IdempotencyRecord {
                result: None,
                expires_at,
                in_progress_until,
            },
        );
        Ok(Claim::Acquired)
    }

    async fn complete(
        &self,
        key: &str,
        result: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), InfrastructureError> {
        let mut records = lock(&self.records);
        let record = records
            .get_mut(key)
            .ok_or_else(|| InfrastructureError(format!("no claim on {key}")))?;
        record.result = Some(result.to_owned());
        record.expires_at = expires_at;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), InfrastructureError> {
        let mut records = lock(&self.records);
        if records.get(key).is_some_and(|r| r.result.is_none()) {
            records.remove(key);
        }
        Ok(())
    }
}
