//! Stored histories, for tests that need an event store's contents without running the services
//! (or that need a history the repository would refuse to write).

use chrono::{DateTime, Duration, Utc};
use domain::order::{ORDER_SERVICE, Order, OrderCommand, OrderEvent, OrderId};
use domain::{Causation, Money, RecordedEvent};

use crate::builders::{causation, new_order};

/// `events` as the order repository records them for order `key`: each wrapped by `causation`
/// and numbered after the events before it, the first occurring at `first_at` and each next one
/// a second later.
pub fn recorded(
    key: &str,
    events: impl IntoIterator<Item = OrderEvent>,
    causation: &Causation,
    first_at: DateTime<Utc>,
) -> Vec<RecordedEvent> {
    let mut order = Order::default();
    events
        .into_iter()
        .zip(0..)
        .map(|(event, n)| {
            let envelope = causation.envelope(event, first_at + Duration::seconds(n));
            let recorded = RecordedEvent::new(key, order.version() + 1, ORDER_SERVICE, &envelope);
            order.apply(&envelope.data);
            recorded
        })
        .collect()
}

/// The events an event store holds for order `id` of `customer` (who placed it too), placed at
/// `placed_at` and, if `paid`, completed a second later: the events the aggregate decides for
/// those commands.
pub fn recorded_order(
    id: &str,
    customer: Option<&str>,
    paid: bool,
    placed_at: DateTime<Utc>,
) -> Vec<RecordedEvent> {
    let mut placed = new_order(OrderId::Text(id.into())).amount(Money::from_cents(1_000));
    if let Some(customer) = customer {
        placed = placed.customer(customer).placed_by(customer);
    }
    let mut commands = vec![OrderCommand::Create(placed.build())];
    if paid {
        commands.push(OrderCommand::Complete {
            payment_id: format!("pay-{id}"),
        });
    }
    let mut order = Order::default();
    let mut events = Vec::new();
    for command in commands {
        for event in order.handle(command).expect("a valid command") {
            order.apply(&event);
            events.push(event);
        }
    }
    recorded(id, events, &causation(&format!("corr-{id}")), placed_at)
}
