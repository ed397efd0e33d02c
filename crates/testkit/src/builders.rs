//! The values tests keep building, with defaults, so that a test names only what it is about.

use domain::order::{Channel, LineItem, NewOrder, OrderCreated, OrderEvent, OrderId};
use domain::{Causation, Currency, Money};

/// What create-order stamps on what it stores for a request: in the conversation
/// `correlation_id`, caused by request `req-1`.
pub fn causation(correlation_id: &str) -> Causation {
    caused(correlation_id, "req-1", "create-order")
}

/// What `producer` stamps on what it records because of `causation_id`, in the conversation
/// `correlation_id`.
pub fn caused(correlation_id: &str, causation_id: &str, producer: &str) -> Causation {
    Causation {
        correlation_id: correlation_id.to_owned(),
        causation_id: causation_id.to_owned(),
        producer: producer.to_owned(),
    }
}

/// Order `id` as a test places it: 100.00 in the default currency, with no customer, items,
/// channel or token subject until a setter gives it one.
pub fn new_order(id: OrderId) -> NewOrderBuilder {
    NewOrderBuilder(NewOrder {
        id,
        amount: Money::from_cents(10_000),
        currency: Currency::DEFAULT,
        customer_id: None,
        items: vec![],
        channel: None,
        placed_by: None,
    })
}

/// A [`NewOrder`] in the making, and through the domain's own conversion the `OrderCreated` that
/// records it: a test's order and its event cannot say different things.
#[derive(Clone, Debug)]
#[must_use]
pub struct NewOrderBuilder(NewOrder);

impl NewOrderBuilder {
    pub fn amount(mut self, amount: Money) -> Self {
        self.0.amount = amount;
        self
    }

    pub fn currency(mut self, currency: Currency) -> Self {
        self.0.currency = currency;
        self
    }

    /// The customer the order names, its id left as it is.
    pub fn customer(mut self, customer_id: &str) -> Self {
        self.0.customer_id = Some(customer_id.to_owned());
        self
    }

    /// The subject of the token the order was placed with.
    pub fn placed_by(mut self, subject: &str) -> Self {
        self.0.placed_by = Some(subject.to_owned());
        self
    }

    /// As signed-in customer `customer_id` places it, with a token of `subject`: scoped to them
    /// ([`NewOrder::placed_by`]).
    pub fn signed_in(self, customer_id: &str, subject: &str) -> Self {
        NewOrderBuilder(self.0.placed_by(customer_id, subject))
    }

    pub fn item(mut self, item: LineItem) -> Self {
        self.0.items.push(item);
        self
    }

    pub fn channel(mut self, channel: Channel) -> Self {
        self.0.channel = Some(channel);
        self
    }

    pub fn build(self) -> NewOrder {
        self.0
    }

    /// The `OrderCreated` that creating this order records.
    pub fn created(self) -> OrderCreated {
        self.0.into()
    }

    /// The same, as an order event.
    pub fn created_event(self) -> OrderEvent {
        OrderEvent::Created(self.created())
    }
}
