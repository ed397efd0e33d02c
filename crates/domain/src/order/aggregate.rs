//! The order aggregate: `handle(command) -> events`, `apply(event)`.

use serde::{Deserialize, Serialize};

use super::OrderId;
use super::events::{Channel, LineItem, OrderCancelled, OrderCompleted, OrderCreated, OrderEvent};
use crate::currency::Currency;
use crate::money::Money;

/// A validated request for a new order (see `validation`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub id: OrderId,
    pub amount: Money,
    pub currency: Currency,
    pub customer_id: Option<String>,
    pub items: Vec<LineItem>,
    pub channel: Option<Channel>,
    /// The subject of the token the order was placed with.
    pub placed_by: Option<String>,
}

impl NewOrder {
    /// The order as placed by a signed-in customer: scoped to them (`OrderId::scoped`), in their
    /// name, and saying whose token placed it.
    pub fn placed_by(self, customer_id: &str, subject: &str) -> NewOrder {
        NewOrder {
            id: OrderId::scoped(customer_id, &self.id),
            customer_id: Some(customer_id.to_owned()),
            placed_by: Some(subject.to_owned()),
            ..self
        }
    }
}

/// A new order is what its `OrderCreated` says.
impl From<NewOrder> for OrderCreated {
    fn from(new: NewOrder) -> Self {
        OrderCreated {
            order_id: new.id,
            amount: new.amount,
            currency: new.currency,
            customer_id: new.customer_id,
            items: new.items,
            channel: new.channel,
            placed_by: new.placed_by,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderCommand {
    Create(NewOrder),
    /// The payment went through.
    Complete {
        payment_id: String,
    },
    /// The payment was refused or could not be made.
    Cancel {
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    Completed,
    Cancelled,
}

impl OrderStatus {
    /// Completed and cancelled orders never change again.
    pub fn is_terminal(self) -> bool {
        !matches!(self, OrderStatus::Created)
    }

    /// The status after `event` happened: the one place the transitions are written down, for
    /// the aggregate and the read model alike.
    pub fn after(self, event: &OrderEvent) -> OrderStatus {
        match (self, event) {
            (OrderStatus::Created, OrderEvent::Completed(_)) => OrderStatus::Completed,
            (OrderStatus::Created, OrderEvent::Cancelled(_)) => OrderStatus::Cancelled,
            (status, _) => status,
        }
    }
}

/// Why a command was refused. Nothing was decided, so nothing is recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("order already exists")]
    AlreadyExists,
    #[error("order does not exist")]
    NotFound,
    #[error("order is {status:?} and can no longer change")]
    Closed { status: OrderStatus },
}

/// An order's state, folded from its events. Serializable: it is what a snapshot holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Number of events applied: the version of the last one.
    version: u64,
    placed: Option<PlacedOrder>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacedOrder {
    pub details: OrderCreated,
    pub status: OrderStatus,
}

impl Order {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a OrderEvent>) -> Self {
        let mut order = Order::default();
        for event in events {
            order.apply(event);
        }
        order
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn placed(&self) -> Option<&PlacedOrder> {
        self.placed.as_ref()
    }

    pub fn status(&self) -> Option<OrderStatus> {
        self.placed.as_ref().map(|placed| placed.status)
    }

    /// Decides what happens. Repeating the command that led to the current terminal state is
    /// accepted with no new event, so a redelivered payment result is harmless; the opposite
    /// command is refused.
    pub fn handle(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        match (command, &self.placed) {
            (OrderCommand::Create(new), None) => Ok(vec![OrderEvent::Created(new.into())]),
            (OrderCommand::Create(_), Some(_)) => Err(OrderError::AlreadyExists),
            (_, None) => Err(OrderError::NotFound),
            (OrderCommand::Complete { payment_id }, Some(placed)) => match placed.status {
                OrderStatus::Created => Ok(vec![OrderEvent::Completed(OrderCompleted {
                    order_id: placed.details.order_id.clone(),
                    amount: placed.details.amount,
                    currency: placed.details.currency,
                    payment_id,
                })]),
                OrderStatus::Completed => Ok(vec![]),
                status => Err(OrderError::Closed { status }),
            },
            (OrderCommand::Cancel { reason }, Some(placed)) => match placed.status {
                OrderStatus::Created => Ok(vec![OrderEvent::Cancelled(OrderCancelled {
                    order_id: placed.details.order_id.clone(),
                    amount: placed.details.amount,
                    currency: placed.details.currency,
                    reason,
                })]),
                OrderStatus::Cancelled => Ok(vec![]),
                status => Err(OrderError::Closed { status }),
            },
        }
    }

    /// Applies a recorded fact. Events are history, so this never fails: an event that makes no
    /// sense in the current state (which `handle` never produces) changes nothing but the version.
    pub fn apply(&mut self, event: &OrderEvent) {
        self.version += 1;
        match (event, &mut self.placed) {
            (OrderEvent::Created(created), None) => {
                self.placed = Some(PlacedOrder {
                    details: created.clone(),
                    status: OrderStatus::Created,
                });
            }
            (event, Some(placed)) => placed.status = placed.status.after(event),
            (_, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    //! Given/when/then: given past events, when a command is handled, then these events (or
    //! this error) follow.
    use super::*;

    fn new_order() -> NewOrder {
        NewOrder {
            id: OrderId::Number(101),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            customer_id: Some("c-1".into()),
            items: vec![],
            channel: Some(Channel::Web),
            placed_by: None,
        }
    }

    fn created() -> OrderEvent {
        OrderEvent::Created(new_order().into())
    }

    fn completed() -> OrderEvent {
        OrderEvent::Completed(OrderCompleted {
            order_id: OrderId::Number(101),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            payment_id: "pay-1".into(),
        })
    }

    fn cancelled() -> OrderEvent {
        OrderEvent::Cancelled(OrderCancelled {
            order_id: OrderId::Number(101),
            amount: Money::from_cents(10_000),
            currency: Currency::DEFAULT,
            reason: "amount over fraud threshold".into(),
        })
    }

    fn complete() -> OrderCommand {
        OrderCommand::Complete {
            payment_id: "pay-1".into(),
        }
    }

    fn cancel() -> OrderCommand {
        OrderCommand::Cancel {
            reason: "amount over fraud threshold".into(),
        }
    }

    struct Given(Order);

    fn given(events: &[OrderEvent]) -> Given {
        Given(Order::from_events(events))
    }

    impl Given {
        fn when(self, command: OrderCommand) -> Then {
            let result = self.0.handle(command);
            Then(self.0, result)
        }
    }

    struct Then(Order, Result<Vec<OrderEvent>, OrderError>);

    impl Then {
        /// Asserts the events, and that applying them yields `status`.
        fn then(self, expected: &[OrderEvent], status: OrderStatus) {
            let Then(mut order, result) = self;
            assert_eq!(result.as_deref(), Ok(expected));
            for event in expected {
                order.apply(event);
            }
            assert_eq!(order.status(), Some(status));
        }

        fn then_error(self, expected: OrderError) {
            assert_eq!(self.1, Err(expected));
        }
    }

    #[test]
    fn a_new_order_is_created() {
        given(&[])
            .when(OrderCommand::Create(new_order()))
            .then(&[created()], OrderStatus::Created);
    }

    #[test]
    fn an_order_cannot_be_created_twice() {
        given(&[created()])
            .when(OrderCommand::Create(new_order()))
            .then_error(OrderError::AlreadyExists);
    }

    #[test]
    fn a_created_order_completes_when_paid() {
        given(&[created()])
            .when(complete())
            .then(&[completed()], OrderStatus::Completed);
    }

    #[test]
    fn a_created_order_is_cancelled_when_payment_fails() {
        given(&[created()])
            .when(cancel())
            .then(&[cancelled()], OrderStatus::Cancelled);
    }

    #[test]
    fn completing_again_changes_nothing() {
        given(&[created(), completed()])
            .when(complete())
            .then(&[], OrderStatus::Completed);
    }

    #[test]
    fn cancelling_again_changes_nothing() {
        given(&[created(), cancelled()])
            .when(cancel())
            .then(&[], OrderStatus::Cancelled);
    }

    #[test]
    fn a_completed_order_cannot_be_cancelled() {
        given(&[created(), completed()])
            .when(cancel())
            .then_error(OrderError::Closed {
                status: OrderStatus::Completed,
            });
    }

    #[test]
    fn a_cancelled_order_cannot_be_completed() {
        given(&[created(), cancelled()])
            .when(complete())
            .then_error(OrderError::Closed {
                status: OrderStatus::Cancelled,
            });
    }

    #[test]
    fn a_missing_order_cannot_be_completed_or_cancelled() {
        given(&[]).when(complete()).then_error(OrderError::NotFound);
        given(&[]).when(cancel()).then_error(OrderError::NotFound);
    }

    #[test]
    fn a_terminal_order_cannot_be_created_again() {
        given(&[created(), completed()])
            .when(OrderCommand::Create(new_order()))
            .then_error(OrderError::AlreadyExists);
    }

    #[test]
    fn the_version_counts_every_applied_event() {
        let order = Order::from_events(&[created(), completed()]);
        assert_eq!(order.version(), 2);
        assert_eq!(Order::default().version(), 0);
    }

    #[test]
    fn apply_ignores_facts_that_do_not_fit_the_state() {
        // A terminal state never changes, even if history says otherwise.
        let order = Order::from_events(&[created(), completed(), cancelled()]);
        assert_eq!(order.status(), Some(OrderStatus::Completed));
        // A payment result before the order existed leaves no order.
        let order = Order::from_events(&[completed()]);
        assert_eq!(order.status(), None);
    }

    #[test]
    fn completion_carries_the_amount_for_downstream_consumers() {
        let events = Order::from_events(&[created()]).handle(complete()).unwrap();
        let OrderEvent::Completed(done) = &events[0] else {
            panic!("expected OrderCompleted, got {events:?}");
        };
        assert_eq!(done.amount, Money::from_cents(10_000));
        assert_eq!(done.currency, Currency::DEFAULT);
        assert_eq!(done.payment_id, "pay-1");
    }
}
