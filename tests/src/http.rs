//! The stack's API over HTTP, as a client calls it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Customer, DEFAULT_CUSTOMER, World, eventually};

/// An HTTP response with its JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `field`s named by an error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl World {
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.try_request(method, path, body, headers)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// The request, or why no answer came (refused connection, timeout, a body that is not
    /// JSON): for callers that count failures instead of stopping at the first.
    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let url = format!("{}{path}", self.stack.api);
        let mut request = self
            .http
            .request(method.parse().expect("HTTP method"), &url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{method} {url} -> {status}: reading the body: {e}"))?;
        let body = serde_json::from_str(&text)
            .map_err(|e| format!("{method} {path} -> {status}: body is not JSON ({e}): {text}"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Places an order as the customer the body names in `customerId`, or as
    /// `DEFAULT_CUSTOMER`.
    pub async fn post(&self, path: &str, body: &str) -> Reply {
        let named = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|body| body["customerId"].as_str().map(str::to_owned));
        let customer = self.customer(named.as_deref().unwrap_or(DEFAULT_CUSTOMER));
        self.post_as(&customer, path, body).await
    }

    pub async fn post_as(&self, customer: &Customer, path: &str, body: &str) -> Reply {
        let (name, value) = customer.authorization();
        self.request("POST", path, Some(body), &[(name, &value)])
            .await
    }

    /// A GET as an operator, who may read every order.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(&self.operator(), path).await
    }

    pub async fn get_as(&self, customer: &Customer, path: &str) -> Reply {
        let (name, value) = customer.authorization();
        self.request("GET", path, None, &[(name, &value)]).await
    }

    /// Polls `GET /orders/{key}` until the order has `status`; returns it and how long that took.
    pub async fn wait_for_status(
        &self,
        key: &str,
        status: &str,
        timeout: Duration,
    ) -> (Value, Duration) {
        let start = Instant::now();
        let order = eventually(&format!("order {key} to be {status}"), timeout, || async {
            let reply = self.get(&format!("/orders/{key}")).await;
            (reply.status == 200 && reply.body["status"] == status).then_some(reply.body)
        })
        .await;
        (order, start.elapsed())
    }
}
