//! Any request to the order API (method, path, correlation header, body), signed in or not,
//! handled against in-memory adapters: always an answer with a JSON body (or the API document),
//! a 5xx never.
#![no_main]

use std::sync::LazyLock;

use create_order::api::handle;
use create_order::auth::testing::TestIssuer;
use create_order::service::OrderService;
use lambda_http::http::{Method, Request, StatusCode};
use lambda_http::{Body, RequestExt};
use libfuzzer_sys::fuzz_target;
use testkit::fakes::{InMemoryEventStore, InMemoryOrderViews};

/// One issuer for every input: making a signing key per input would be most of the work.
static ISSUER: LazyLock<TestIssuer> = LazyLock::new(TestIssuer::new);

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

fuzz_target!(|data: &[u8]| {
    // [method, its high bit: no token][path length][path][header length][header][body]
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    let (path, rest) = take(rest);
    let (header, body) = take(rest);
    let path = format!("/{}", String::from_utf8_lossy(path));
    let mut request =
        Request::builder().method(METHODS[usize::from(method) % METHODS.len()].clone());
    if !header.is_empty() {
        request = request.header("x-correlation-id", header);
    }
    let issuer = &*ISSUER;
    if method & 0x80 == 0 {
        request = request.header("authorization", format!("Bearer {}", issuer.token("fuzz")));
    }
    let Ok(request) = request
        .uri("https://api.example.com/prod/fuzz")
        .body(Body::from(body.to_vec()))
    else {
        return; // not a request HTTP can carry (a header value with a newline, say)
    };
    let request = lambda_http::Request::from(request).with_raw_http_path(&path);
    let service = OrderService::new(InMemoryEventStore::default(), InMemoryOrderViews::default());
    let response = futures::executor::block_on(handle(&service, &issuer.authenticator(), request));
    assert!(
        response.status() < StatusCode::INTERNAL_SERVER_ERROR,
        "{path}: {response:?}"
    );
    if let Body::Text(text) = response.body()
        && response.headers()["content-type"] == "application/json"
    {
        serde_json::from_str::<serde_json::Value>(text).expect("a JSON body");
    }
});

/// A length byte, then that many bytes (as many as there are).
fn take(data: &[u8]) -> (&[u8], &[u8]) {
    match data.split_first() {
        Some((&len, rest)) => rest.split_at(usize::from(len).min(rest.len())),
        None => (&[], &[]),
    }
}
