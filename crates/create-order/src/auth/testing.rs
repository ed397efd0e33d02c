//! A test issuer: a fresh ES256 key, the keys it publishes, and tokens it signs.

use std::collections::HashMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};

use super::{AuthError, AuthSettings, Authenticator, SigningKeys, VerificationKey};

pub const ISSUER: &str = "https://issuer.example.com/pool";
pub const AUDIENCE: &str = "orders-app";
pub const KID: &str = "key-1";

pub struct TestIssuer {
    signing: EncodingKey,
    pub verification: VerificationKey,
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestIssuer {
    /// An issuer with a key of its own: another `TestIssuer`'s tokens are foreign to it.
    pub fn new() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("an EC key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("the key just made");
        // An uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        TestIssuer {
            signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
            verification: VerificationKey {
                key: DecodingKey::from_ec_components(
                    &URL_SAFE_NO_PAD.encode(x),
                    &URL_SAFE_NO_PAD.encode(y),
                )
                .expect("a P-256 public key"),
                algorithm: Algorithm::ES256,
            },
        }
    }

    /// The claims of a valid ID token of `customer`, valid for an hour.
    pub fn claims(customer: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": ISSUER,
            "sub": customer,
            "aud": AUDIENCE,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
            "cognito:username": customer,
        })
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(claims, KID)
    }

    pub fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("a signed token")
    }

    /// A valid token of `customer`.
    pub fn token(&self, customer: &str) -> String {
        self.sign(&Self::claims(customer))
    }

    /// A valid token of an operator who is also `customer`.
    pub fn operator_token(&self, customer: &str) -> String {
        let mut claims = Self::claims(customer);
        claims["cognito:groups"] = json!(["operators"]);
        self.sign(&claims)
    }

    pub fn keys(&self) -> StaticKeys {
        StaticKeys(HashMap::from([(KID.to_owned(), self.verification.clone())]))
    }

    pub fn authenticator(&self) -> Authenticator<StaticKeys> {
        Authenticator::new(settings(), self.keys())
    }
}

pub fn settings() -> AuthSettings {
    AuthSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        customer_id_claim: "sub".into(),
        groups_claim: "cognito:groups".into(),
        operator_group: "operators".into(),
    }
}

/// Keys known up front, as a JWKS that never changes.
#[derive(Clone)]
pub struct StaticKeys(pub HashMap<String, VerificationKey>);

impl SigningKeys for StaticKeys {
    async fn key(&self, kid: &str) -> Result<Option<VerificationKey>, AuthError> {
        Ok(self.0.get(kid).cloned())
    }
}
