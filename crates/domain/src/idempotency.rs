//! Doing a piece of work once per key, whatever the retries and duplicate deliveries, with the
//! semantics of Powertools for AWS Lambda's idempotency utility:
//!
//! - a record per key: claimed `INPROGRESS` before the work, `COMPLETED` with the work's result
//!   after it, so a repeat gets the stored result instead of a second effect;
//! - records expire (a TTL), after which the key is new again;
//! - a claim whose worker died (an `INPROGRESS` record older than its own, short, expiry) may be
//!   taken over, so a crash never blocks the key for good;
//! - a failed piece of work releases its claim, so a retry can do it.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ports::InfrastructureError;

/// What a claim on a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is this caller's: do the work, then `complete` or `release`.
    Acquired,
    /// The work was done; here is its stored result (JSON).
    Completed(String),
    /// Someone else is doing the work right now.
    InProgress,
}

/// Where the records live.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` unless a live record holds it. `expires_at` ends the record's life (the TTL);
    /// `in_progress_until` is when an unfinished claim may be taken over.
    fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, InfrastructureError>> + Send;

    fn complete(
        &self,
        key: &str,
        result: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), InfrastructureError>> + Send;

    /// Drops this caller's unfinished claim.
    fn release(&self, key: &str) -> impl Future<Output = Result<(), InfrastructureError>> + Send;
}

/// The result of `Idempotent::run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Once<T> {
    /// The work ran now.
    Done(T),
    /// The work had run before; this is its stored result.
    Replayed(T),
}

impl<T> Once<T> {
    pub fn into_inner(self) -> T {
        match self {
            Once::Done(value) | Once::Replayed(value) => value,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// Another invocation is doing this work now: retry later.
    #[error("the work for {0} is in progress elsewhere")]
    InProgress(String),
    /// The records cannot be read or written, or hold an unreadable result.
    #[error(transparent)]
    Store(#[from] InfrastructureError),
    /// The work itself failed; its claim was released.
    #[error(transparent)]
    Work(E),
}

impl<E> IdempotencyError<E> {
    /// The error in the caller's terms, one function per case: the work's own failure; another
    /// invocation holding the key (retry later); records that cannot be read or written.
    pub fn into_caller_error<C>(
        self,
        work: impl FnOnce(E) -> C,
        in_progress: impl FnOnce(String) -> C,
        unavailable: impl FnOnce(InfrastructureError) -> C,
    ) -> C {
        match self {
            IdempotencyError::Work(error) => work(error),
            IdempotencyError::InProgress(key) => in_progress(key),
            IdempotencyError::Store(error) => unavailable(error),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Idempotent<S> {
    store: S,
    /// How long a completed record is kept.
    pub ttl: Duration,
    /// How long an unfinished claim holds the key: longer than the work can take.
    pub in_progress_timeout: Duration,
}

impl<S: IdempotencyStore> Idempotent<S> {
    pub fn new(store: S, ttl: Duration, in_progress_timeout: Duration) -> Self {
        Idempotent {
            store,
            ttl,
            in_progress_timeout,
        }
    }

    /// Runs `work` unless it already ran for `key`, in which case its stored result is returned.
    pub async fn run<T, E, F, Fut>(
        &self,
        key: &str,
        work: F,
    ) -> Result<Once<T>, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        match self
            .store
            .claim(key, now, expires_at, now + self.in_progress_timeout)
            .await?
        {
            Claim::Completed(stored) => {
                return serde_json::from_str(&stored)
                    .map(Once::Replayed)
                    .map_err(|error| {
                        // An unreadable record is the store's failure: the work must not run
                        // again over it.
                        IdempotencyError::Store(InfrastructureError(format!(
                            "stored result for {key} is unreadable: {error}"
                        )))
                    });
            }
            Claim::InProgress => return Err(IdempotencyError::InProgress(key.to_owned())),
            Claim::Acquired => {}
        }
        match work().await {
            Ok(value) => {
                // Results are plain data: serializing them cannot fail.
                let stored =
                    serde_json::to_string(&value).expect("idempotent results serialize to JSON");
                self.store.complete(key, &stored, expires_at).await?;
                Ok(Once::Done(value))
            }
            Err(error) => {
                // Best effort: if the release fails too, the claim lapses at its in-progress expiry.
                let _ = self.store.release(key).await;
                Err(IdempotencyError::Work(error))
            }
        }
    }
}
