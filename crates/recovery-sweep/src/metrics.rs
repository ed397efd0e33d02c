//! What the sweep counts, so that an alarm can fire when it had to act: every one of these
//! means something failed upstream and was healed here.

use adapters::metrics::{add, names};

/// Emits one run's counts, zeros included (`names::EVENTS_REPUBLISHED`, `PAYMENTS_RESTARTED`).
pub fn record(events_republished: usize, payments_restarted: usize) {
    add(names::EVENTS_REPUBLISHED, events_republished as u64);
    add(names::PAYMENTS_RESTARTED, payments_restarted as u64);
}
