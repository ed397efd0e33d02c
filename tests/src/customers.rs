//! Signed-in customers and operators: their tokens, from `scripts/token.sh`.

use serde_json::Value;

use crate::{Stack, World};

/// Who `World::post` places orders as when the body names no customer.
pub const DEFAULT_CUSTOMER: &str = "e2e-customer";

/// The operator `World::get` reads as: operators read every customer's orders.
pub const OPERATOR: &str = "e2e-operator";

/// A signed-in customer of the stack: their token, from `scripts/token.sh`.
#[derive(Clone, Debug)]
pub struct Customer {
    /// The customer id the API knows them by: the token's `sub` (on the local stack the name
    /// they were given; on AWS a UUID Cognito made).
    pub id: String,
    pub token: String,
}

impl Customer {
    /// The key of the order this customer placed with `client_id` (`alice.101`).
    pub fn order_key(&self, client_id: impl std::fmt::Display) -> String {
        domain::order::OrderId::key_for(&self.id, &client_id.to_string())
    }

    /// The `Authorization` header of their requests.
    pub fn authorization(&self) -> (&'static str, String) {
        ("authorization", format!("Bearer {}", self.token))
    }
}

/// Runs `scripts/token.sh` with `args` and returns the token it prints.
pub fn token(stack: &Stack, args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/token.sh");
    let mut command = std::process::Command::new("bash");
    command.arg(script);
    if stack.endpoint.is_none() {
        command.args([
            "--aws",
            "--stack-name",
            &stack.stack_name,
            "--region",
            &stack.region,
        ]);
    }
    let output = command
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(output.status.success(), "{script} {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("a token is ASCII")
        .trim()
        .to_owned()
}

/// The claims of a token, read without checking it (the API checks it).
pub fn token_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("a JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("a JWT payload is JSON")
}

impl World {
    /// The customer `name`, signed in once per test.
    pub fn customer(&self, name: &str) -> Customer {
        self.signed_in(name, false)
    }

    /// An operator, who may read every customer's orders.
    pub fn operator(&self) -> Customer {
        self.signed_in(OPERATOR, true)
    }

    fn signed_in(&self, name: &str, operator: bool) -> Customer {
        let key = (name.to_owned(), operator);
        if let Some(customer) = self.customers.lock().unwrap().get(&key) {
            return customer.clone();
        }
        let args: &[&str] = if operator {
            &["--operator", name]
        } else {
            &[name]
        };
        let token = token(&self.stack, args);
        let id = token_claims(&token)["sub"]
            .as_str()
            .expect("a token has a sub")
            .to_owned();
        let customer = Customer { id, token };
        self.customers.lock().unwrap().insert(key, customer.clone());
        customer
    }

    /// The key of an order `DEFAULT_CUSTOMER` placed with `client_id`.
    pub fn key(&self, client_id: impl std::fmt::Display) -> String {
        self.customer(DEFAULT_CUSTOMER).order_key(client_id)
    }
}
