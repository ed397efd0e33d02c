//! What the sweep counts, so that an alarm can fire when it had to act: every one of these
//! means something failed upstream and was healed here. Emitted on every run, zeros included, so
//! that a missing data point means the sweep did not run.

/// Events the outbox had not published, published by the sweep.
pub const EVENTS_REPUBLISHED: &str = "EventsRepublished";
/// Stuck orders whose latest event (an `OrderCreated`: the only state an order waits in) the
/// sweep published again, so that their payment starts.
pub const PAYMENTS_RESTARTED: &str = "PaymentsRestarted";
/// The one dimension: which service emitted it.
pub const SERVICE: &str = "recovery-sweep";

/// Emits one run's counts.
pub fn record(events_republished: usize, payments_restarted: usize) {
    metrics::counter!(EVENTS_REPUBLISHED, "service" => SERVICE)
        .increment(events_republished as u64);
    metrics::counter!(PAYMENTS_RESTARTED, "service" => SERVICE)
        .increment(payments_restarted as u64);
}
