//! Every metric the functions emit, by its CloudWatch name: emit only through these constants.
//!
//! Each is in the namespace of the template's `MetricsNamespace` parameter and has the dimension
//! `service` (the function's service name). Counts per event type also have `eventType`. No
//! dimension ever names an order or a customer: an order's id is a property of the document
//! (`orderId`), which Logs Insights can filter on, not a dimension.

use metrics::Unit;

/// Unit `Count`; dimensions `service`, `eventType`. Events a consumer handled to the end, a
/// duplicate it skipped included (the stream consumers count stored events, update-order and
/// notification the bus's deliveries).
pub const EVENTS_PROCESSED: &str = "EventsProcessed";

/// Unit `Count`; dimensions `service`, `eventType`. Events a consumer gave back to be retried
/// (a stream record reported as failed, a bus delivery answered with an error).
pub const EVENTS_FAILED: &str = "EventsFailed";

/// Unit `Count`; dimensions `service`, `eventType`. Events handled before, which changed
/// nothing this time: already on the bus (outbox-processor), already in the view (projection),
/// a delivery whose idempotency record answered (update-order, notification), an order charged
/// before (payment, eventType `OrderCreated`).
pub const DUPLICATES_SKIPPED: &str = "DuplicatesSkipped";

/// Unit `Count`; dimension `service` (create-order). Orders stored now; a client's retry of an
/// order stored before is answered the same but not counted again.
pub const ORDERS_PLACED: &str = "OrdersPlaced";

/// Unit `Count`; dimension `service` (create-order). Orders refused with a 4xx answer: invalid
/// (400), for another customer (403), or an id taken by other contents (409).
pub const ORDERS_REJECTED: &str = "OrdersRejected";

/// Unit `Count`; dimension `service` (outbox-processor). Bus entries the bus accepted.
pub const BUS_ENTRIES_PUBLISHED: &str = "BusEntriesPublished";

/// Unit `Count`; dimension `service` (outbox-processor). Bus entries not published, each one
/// rejected by the bus or in a call that failed as a whole; their records are retried.
pub const BUS_ENTRIES_FAILED: &str = "BusEntriesFailed";

/// Unit `Count`; dimension `service` (payment). Orders charged now (a repeat is counted in
/// `DuplicatesSkipped`).
pub const PAYMENTS_CHARGED: &str = "PaymentsCharged";

/// Unit `Count`; dimension `service` (update-order). Orders cancelled because their payment was
/// refused. The refusal itself is decided in the payment state machine (over the fraud
/// threshold, or the provider down past every retry), where no function of ours runs; the
/// function that records its effect counts it, once per order.
pub const PAYMENTS_REFUSED: &str = "PaymentsRefused";

/// Unit `Count`; dimensions `service`, `eventType` (notification). Messages sent to the
/// notification topic, per event type.
pub const NOTIFICATIONS_SENT: &str = "NotificationsSent";

/// Unit `Milliseconds`; dimension `service` (update-order). The business latency: from an
/// order's `OrderCreated` (`occurredAt`) to its end (`OrderCompleted` or `OrderCancelled`), one
/// value per order that ends. Emitted as values, so CloudWatch computes percentiles (p99).
pub const ORDER_LATENCY: &str = "OrderLatency";

/// Unit `Count`; dimension `service` (recovery-sweep). Events the outbox had not published,
/// published by the sweep: each one a fault upstream that was healed. Emitted on every run,
/// zeros included, so that a missing data point means the sweep did not run.
pub const EVENTS_REPUBLISHED: &str = "EventsRepublished";

/// Unit `Count`; dimension `service` (recovery-sweep). Stuck orders whose latest event the sweep
/// published again, so that their payment starts. Emitted on every run, zeros included.
pub const PAYMENTS_RESTARTED: &str = "PaymentsRestarted";

/// Every metric with its unit, described to the recorder once at start.
pub(super) const UNITS: [(&str, Unit); 13] = [
    (EVENTS_PROCESSED, Unit::Count),
    (EVENTS_FAILED, Unit::Count),
    (DUPLICATES_SKIPPED, Unit::Count),
    (ORDERS_PLACED, Unit::Count),
    (ORDERS_REJECTED, Unit::Count),
    (BUS_ENTRIES_PUBLISHED, Unit::Count),
    (BUS_ENTRIES_FAILED, Unit::Count),
    (PAYMENTS_CHARGED, Unit::Count),
    (PAYMENTS_REFUSED, Unit::Count),
    (NOTIFICATIONS_SENT, Unit::Count),
    (ORDER_LATENCY, Unit::Milliseconds),
    (EVENTS_REPUBLISHED, Unit::Count),
    (PAYMENTS_RESTARTED, Unit::Count),
];
