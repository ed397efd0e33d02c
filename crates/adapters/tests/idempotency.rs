//! The idempotency runner over the in-memory store: once per key, results replayed, failures
//! released, abandoned claims taken over, expired records forgotten.

use std::cell::Cell;
use std::time::Duration;

use chrono::Utc;
use domain::idempotency::{IdempotencyError, IdempotencyStore, Idempotent, Once};
use testkit::fakes::InMemoryIdempotencyStore;

fn runner(store: &InMemoryIdempotencyStore, ttl: Duration) -> Idempotent<InMemoryIdempotencyStore> {
    Idempotent::new(store.clone(), ttl, Duration::from_secs(30))
}

#[tokio::test]
async fn work_runs_once_and_repeats_get_its_result() {
    let store = InMemoryIdempotencyStore::default();
    let once = runner(&store, Duration::from_secs(3600));
    let runs = Cell::new(0);
    let work = || async {
        runs.set(runs.get() + 1);
        Ok::<_, String>(format!("result-{}", runs.get()))
    };
    assert_eq!(
        once.run("k", work).await.unwrap(),
        Once::Done("result-1".to_owned())
    );
    assert_eq!(
        once.run("k", work).await.unwrap(),
        Once::Replayed("result-1".to_owned())
    );
    assert_eq!(runs.get(), 1);
    assert_eq!(store.result("k").as_deref(), Some("\"result-1\""));
}

#[tokio::test]
async fn failed_work_releases_its_claim() {
    let store = InMemoryIdempotencyStore::default();
    let once = runner(&store, Duration::from_secs(3600));
    let failed = once.run("k", || async { Err::<String, _>("boom") }).await;
    assert!(matches!(failed, Err(IdempotencyError::Work("boom"))));
    let retried = once
        .run("k", || async { Ok::<_, &str>("done".to_owned()) })
        .await;
    assert_eq!(retried.unwrap(), Once::Done("done".to_owned()));
}

#[tokio::test]
async fn a_live_claim_makes_others_wait() {
    let store = InMemoryIdempotencyStore::default();
    let now = Utc::now();
    let later = now + chrono::Duration::minutes(5);
    store.claim("k", now, later, later).await.unwrap();
    let blocked = runner(&store, Duration::from_secs(3600))
        .run("k", || async { Ok::<_, ()>(1) })
        .await;
    assert!(matches!(blocked, Err(IdempotencyError::InProgress(ref key)) if key == "k"));
}

#[tokio::test]
async fn an_expired_record_is_forgotten() {
    let store = InMemoryIdempotencyStore::default();
    let forgetful = runner(&store, Duration::ZERO);
    forgetful
        .run("k", || async { Ok::<_, ()>(1) })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        forgetful
            .run("k", || async { Ok::<_, ()>(2) })
            .await
            .unwrap(),
        Once::Done(2)
    );
}
