//! The domain's ports in memory: the same traits as the AWS adapters, no AWS. Each fake is a
//! cheap handle (clones share their state), so a test keeps one to look into while the code
//! under test owns another.

use std::sync::{Mutex, MutexGuard};

mod bus;
mod event_store;
mod idempotency;
mod notifier;
mod order_views;
mod payment_ledger;
mod snapshots;

pub use bus::InMemoryBus;
pub use event_store::InMemoryEventStore;
pub use idempotency::InMemoryIdempotencyStore;
pub use notifier::InMemoryNotifier;
pub use order_views::InMemoryOrderViews;
pub use payment_ledger::InMemoryPaymentLedger;
pub use snapshots::InMemorySnapshotStore;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock already failed; keep the data usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
