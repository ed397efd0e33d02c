//! An event's detail as the bus or the store delivers it, decoded as an order event and as a
//! payment event: an error for anything malformed or of an unknown version, never a panic.
#![no_main]

use domain::decode::decode_detail;
use domain::order::OrderEvent;
use domain::payment::PaymentEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|detail: &[u8]| {
    let Ok(detail) = std::str::from_utf8(detail) else {
        return;
    };
    if let Ok(envelope) = decode_detail(detail, OrderEvent::decode) {
        // What was read can be written again.
        serde_json::to_string(&envelope).expect("a decoded order event serializes");
    }
    if let Ok(envelope) = decode_detail(detail, PaymentEvent::decode) {
        serde_json::to_string(&envelope).expect("a decoded payment event serializes");
    }
});
