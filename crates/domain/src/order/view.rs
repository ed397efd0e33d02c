//! The order view: the query side's copy of an order, kept by the `projection` function from
//! the event store's stream and read by `GET /orders/{id}`.
//!
//! Events reach the projection at least once and, on retries, again: applying is idempotent
//! (an event the view already holds changes nothing) and ordered (an event that skips one is
//! refused, to be retried once the missing one is in).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::{Channel, LineItem, OrderEvent};
use super::{OrderId, OrderStatus};
use crate::currency::Currency;
use crate::envelope::{EventEnvelope, rfc3339_millis};
use crate::money::Money;
use crate::ports::InfrastructureError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub amount: Money,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<LineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    pub status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub updated_at: DateTime<Utc>,
    /// The version of the last event applied.
    pub version: u64,
    /// Every event of the order, oldest first.
    pub events: Vec<ViewEvent>,
}

/// One event of the order, as the view lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewEvent {
    pub version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The version the event was stored in (older ones are read as the current version).
    pub event_version: u32,
    #[serde(with = "rfc3339_millis")]
    pub occurred_at: DateTime<Utc>,
}

/// What applying one event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projected {
    Changed(Box<OrderView>),
    /// The view already holds this event: a duplicate or a redelivery.
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// An earlier event has not been applied yet: retry, never skip.
    #[error("event {got} arrived before event {expected}")]
    Gap { expected: u64, got: u64 },
    #[error("the first event of an order must be OrderCreated, not {event_type}")]
    NotCreatedFirst { event_type: String },
}

impl OrderView {
    /// Applies the `version`-th event of an order to its view (`None` before the first).
    pub fn project(
        view: Option<&OrderView>,
        version: u64,
        event: &EventEnvelope<OrderEvent>,
    ) -> Result<Projected, ProjectionError> {
        let held = view.map_or(0, |v| v.version);
        if version <= held {
            return Ok(Projected::Unchanged);
        }
        if version != held + 1 {
            return Err(ProjectionError::Gap {
                expected: held + 1,
                got: version,
            });
        }
        let listed = ViewEvent {
            version,
            event_id: event.metadata.event_id,
            event_type: event.metadata.event_type.clone(),
            event_version: event.metadata.event_version,
            occurred_at: event.metadata.occurred_at,
        };
        let mut next = match (view, &event.data) {
            (None, OrderEvent::Created(created)) => OrderView {
                id: created.order_id.clone(),
                customer_id: created.customer_id.clone(),
                amount: created.amount,
                currency: created.currency,
                items: created.items.clone(),
                channel: created.channel,
                status: OrderStatus::Created,
                payment_id: None,
                cancellation_reason: None,
                created_at: event.metadata.occurred_at,
                updated_at: event.metadata.occurred_at,
                version: 0,
                events: Vec::new(),
            },
            (None, _) => {
                return Err(ProjectionError::NotCreatedFirst {
                    event_type: event.metadata.event_type.clone(),
                });
            }
            (Some(view), event_data) => {
                let mut next = view.clone();
                let status = next.status.after(event_data);
                if status != next.status {
                    match event_data {
                        OrderEvent::Completed(done) => {
                            next.payment_id = Some(done.payment_id.clone())
                        }
                        OrderEvent::Cancelled(cancelled) => {
                            next.cancellation_reason = Some(cancelled.reason.clone())
                        }
                        OrderEvent::Created(_) => {}
                    }
                    next.status = status;
                }
                next
            }
        };
        next.version = version;
        next.updated_at = event.metadata.occurred_at;
        next.events.push(listed);
        Ok(Projected::Changed(Box::new(next)))
    }

    /// The view of an order from all its events, oldest first; `None` if there are none.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (u64, &'a EventEnvelope<OrderEvent>)>,
    ) -> Result<Option<OrderView>, ProjectionError> {
        let mut view: Option<OrderView> = None;
        for (version, event) in events {
            if let Projected::Changed(next) = OrderView::project(view.as_ref(), version, event)? {
                view = Some(*next);
            }
        }
        Ok(view)
    }
}

/// One page of a list, and where the next one starts (absent on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque: hand it back to get the next page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewWriteError {
    /// The stored view is not at the expected version: another writer moved it.
    #[error("the view changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("the cursor is not one this API gave out")]
    BadCursor,
    #[error(transparent)]
    Infrastructure(#[from] InfrastructureError),
}

/// The order views (the query side's read models), and the list of each customer's orders.
pub trait OrderViews: Send + Sync {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<OrderView>, InfrastructureError>> + Send;

    /// Stores `view` if the stored one is still at `expected_version` (0: none is stored).
    fn put(
        &self,
        view: &OrderView,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), ViewWriteError>> + Send;

    /// A customer's orders, newest first, `limit` at a time.
    fn by_customer(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<OrderView>, PageError>> + Send;
}
