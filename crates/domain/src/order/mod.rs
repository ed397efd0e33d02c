//! Orders: the aggregate, its commands and events, and the validation of new orders.

mod aggregate;
mod events;
mod id;
pub mod repository;
mod validation;
mod view;

pub use aggregate::{NewOrder, Order, OrderCommand, OrderError, OrderStatus, PlacedOrder};
pub use events::{
    Channel, LineItem, ORDER_CREATED_VERSION, ORDER_SERVICE, OrderCancelled, OrderCompleted,
    OrderCreated, OrderEvent,
};
pub use id::{MAX_NUMERIC_ID, OrderId, SCOPE_SEPARATOR, is_identifier};
pub use validation::{FieldError, IDENTIFIER_RULE, MAX_BODY_BYTES, parse_new_order};
pub use view::{
    OrderView, OrderViews, Page, PageError, Projected, ProjectionError, ViewEvent, ViewWriteError,
};
