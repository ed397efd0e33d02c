//! Who is calling: the OIDC ID token of `Authorization: Bearer`, checked in full on every order
//! route (signature against the issuer's published keys, issuer, audience, expiry, not-before,
//! `token_use`). On AWS with the stack's Cognito user pool, API Gateway's authorizer refuses bad
//! tokens before this function runs; this check is what holds everywhere else too: behind an
//! external issuer, and on the local stack, whose API Gateway runs no authorizer.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use lambda_http::http::HeaderValue;
use serde_json::{Map, Value};

use domain::order::is_identifier;

pub mod jwks;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// Whose tokens are accepted, and how they name the customer and the operators.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The exact `iss` of accepted tokens.
    pub issuer: String,
    /// The app client the tokens are for: their `aud`, or their `client_id` when they have none.
    pub audience: String,
    /// The claim whose value is the customer id (`sub` unless the deployment maps another).
    pub customer_id_claim: String,
    /// The claim listing the caller's groups (`cognito:groups` for Cognito).
    pub groups_claim: String,
    /// Members of this group may read every customer's orders.
    pub operator_group: String,
}

/// A caller whose token was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The customer the caller is: orders are placed as, and scoped to, this id.
    pub customer_id: String,
    /// The token's `sub`, recorded in each order the caller places.
    pub subject: String,
    /// May read every customer's orders.
    pub operator: bool,
}

impl Caller {
    /// Whether the caller may see the orders of `customer_id` (`None`: an order from before
    /// sign-in, which names no verified customer).
    pub fn may_read(&self, customer_id: Option<&str>) -> bool {
        self.operator || customer_id == Some(self.customer_id.as_str())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No valid token (401): the reason, as `WWW-Authenticate`'s `error_description` tells it.
    #[error("{reason}")]
    Unauthenticated { reason: String, token_given: bool },
    /// A valid token that names no customer this API can serve (403).
    #[error("{0}")]
    Forbidden(String),
    /// The issuer's keys could not be fetched (503, safe to retry).
    #[error("the token issuer's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

fn invalid(reason: impl Into<String>) -> AuthError {
    AuthError::Unauthenticated {
        reason: reason.into(),
        token_given: true,
    }
}

/// One of the issuer's signing keys, and the one algorithm tokens signed with it must name.
#[derive(Clone)]
pub struct VerificationKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

/// The algorithms of OIDC providers' ID tokens: Cognito signs with RS256, many others with
/// ES256. Never `none` or a shared-secret HMAC, which would let a client sign its own token.
pub const ACCEPTED_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// The issuer's published signing keys (its JWKS).
pub trait SigningKeys {
    /// The key with this id; keys are fetched again when an unknown id appears (the issuer
    /// rotated its keys), at most once a minute.
    fn key(
        &self,
        kid: &str,
    ) -> impl Future<Output = Result<Option<VerificationKey>, AuthError>> + Send;
}

impl<K: SigningKeys + Send + Sync> SigningKeys for std::sync::Arc<K> {
    fn key(
        &self,
        kid: &str,
    ) -> impl Future<Output = Result<Option<VerificationKey>, AuthError>> + Send {
        self.as_ref().key(kid)
    }
}

pub struct Authenticator<K> {
    settings: AuthSettings,
    keys: K,
}

impl<K: SigningKeys> Authenticator<K> {
    pub fn new(settings: AuthSettings, keys: K) -> Self {
        Authenticator { settings, keys }
    }

    /// The caller of a request with this `Authorization` header.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Caller, AuthError> {
        let token = bearer_token(authorization)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the bearer token is not a JWT"))?;
        if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
            return Err(invalid(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no signing key (kid)"))?;
        let key = self
            .keys
            .key(&kid)
            .await?
            .ok_or_else(|| invalid("the token was not signed by a key of the issuer"))?;
        if key.algorithm != header.alg {
            return Err(invalid("the token's algorithm is not its key's"));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        // Checked below: the audience is `aud`, or `client_id` for tokens without one.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|error| invalid(describe(error.kind())))?
            .claims;
        self.caller(&claims)
    }

    fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, AuthError> {
        let audience = self.settings.audience.as_str();
        let for_us = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
            None => claims.get("client_id").and_then(Value::as_str) == Some(audience),
            Some(_) => false,
        };
        if !for_us {
            return Err(invalid("the token is for another audience"));
        }
        // Cognito's access tokens carry no profile and are not meant for this API; its ID
        // tokens say `id`. Other issuers may not set the claim at all.
        if let Some(token_use) = claims.get("token_use")
            && token_use.as_str() != Some("id")
        {
            return Err(invalid("the token is not an ID token"));
        }
        let claim = |name: &str| claims.get(name).and_then(Value::as_str);
        let subject = claim("sub")
            .ok_or_else(|| invalid("the token's sub is not a string"))?
            .to_owned();
        let customer_id = match claim(&self.settings.customer_id_claim) {
            Some(id) if is_identifier(id) => id.to_owned(),
            _ => {
                return Err(AuthError::Forbidden(format!(
                    "the token's {} claim is not a customer id (1-64 letters, digits, '_' or '-')",
                    self.settings.customer_id_claim
                )));
            }
        };
        let operator = match claims.get(&self.settings.groups_claim) {
            Some(Value::Array(groups)) => groups
                .iter()
                .any(|group| group.as_str() == Some(&self.settings.operator_group)),
            Some(Value::String(groups)) => groups
                .split([' ', ','])
                .any(|group| group == self.settings.operator_group),
            _ => false,
        };
        Ok(Caller {
            customer_id,
            subject,
            operator,
        })
    }
}

fn bearer_token(authorization: Option<&HeaderValue>) -> Result<&str, AuthError> {
    let Some(value) = authorization else {
        return Err(AuthError::Unauthenticated {
            reason: "the request has no bearer token (Authorization: Bearer <token>)".into(),
            token_given: false,
        });
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(invalid("the Authorization header is not `Bearer <token>`")),
    }
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token was issued by another issuer".into(),
        ErrorKind::InvalidSignature => "the token's signature is invalid".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
        _ => "the token is malformed".into(),
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
