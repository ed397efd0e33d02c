//! The order API: `POST /orders` places an order, `GET /orders/{id}` reads it.

pub mod api;
pub mod auth;
pub mod service;
