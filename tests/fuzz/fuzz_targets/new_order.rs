//! The body of `POST /orders`, whatever it holds: refused with field errors or read as an order
//! that keeps the API's promises, never a panic.
#![no_main]

use domain::order::{MAX_BODY_BYTES, parse_new_order};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match parse_new_order(body) {
        Ok(order) => {
            assert!(body.len() <= MAX_BODY_BYTES);
            assert!(order.amount.cents() > 0, "amount must be positive");
            if !order.items.is_empty() {
                let total = order
                    .items
                    .iter()
                    .map(|item| item.price.cents() * i64::from(item.quantity))
                    .sum::<i64>();
                assert_eq!(total, order.amount.cents(), "items add up to the amount");
            }
        }
        Err(errors) => assert!(!errors.is_empty(), "a refusal names at least one field"),
    }
});
