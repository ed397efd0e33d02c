//! The issuer's signing keys, fetched from its JWKS URL (Cognito's
//! `<issuer>/.well-known/jwks.json`, or the one the deployment names) and kept for the life of
//! the execution environment.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

use super::{AuthError, SigningKeys, VerificationKey};

/// How long one attempt to fetch the keys may take, and how many attempts a fetch makes: an
/// issuer that does not answer must not hold a request until the function (20 s) times out, even
/// when the request waited for the cold start's fetch to fail first, and one slow answer (a burst
/// of cold starts all fetching at once) must not refuse the requests that started them.
const FETCH_TIMEOUT: Duration = Duration::from_secs(4);
const FETCH_ATTEMPTS: u32 = 2;
const PAUSE_BEFORE_RETRY: Duration = Duration::from_millis(250);

/// The least time between two fetches, so that tokens naming made-up key ids cannot make every
/// request fetch the keys again.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

pub struct RemoteJwks {
    url: String,
    /// Built at the first fetch: loading the TLS roots is most of a cold start's extra work,
    /// and the prefetch does it beside the runtime's wait for the first request.
    http: OnceLock<reqwest::Client>,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, VerificationKey>,
    fetched_at: Option<Instant>,
}

impl RemoteJwks {
    pub fn new(url: String) -> Self {
        RemoteJwks {
            url,
            http: OnceLock::new(),
            cache: Mutex::default(),
        }
    }

    /// Fetches the keys now, so that the first request need not wait for all of it: started at
    /// cold start beside the runtime's wait for that request (the request then waits for this
    /// fetch to end, never starts a second). A failure is only logged: the next request that
    /// needs a key tries again.
    pub async fn prefetch(&self) {
        let mut cache = self.cache.lock().await;
        if cache.fetched_at.is_some() {
            return; // a request got here first and fetched them
        }
        if let Err(error) = self.refetch(&mut cache).await {
            tracing::warn!(%error, url = %self.url, "signing keys not fetched at start");
        }
    }

    async fn refetch(&self, cache: &mut Cache) -> Result<(), AuthError> {
        cache.fetched_at = Some(Instant::now());
        let mut attempt = 1;
        let set = loop {
            match self.fetch().await {
                Ok(set) => break set,
                Err(error) if attempt < FETCH_ATTEMPTS => {
                    tracing::warn!(%error, attempt, url = %self.url, "signing keys not fetched; trying again");
                    attempt += 1;
                    tokio::time::sleep(PAUSE_BEFORE_RETRY).await;
                }
                Err(error) => return Err(AuthError::KeysUnavailable(error.to_string())),
            }
        };
        cache.keys = verification_keys(&set);
        tracing::info!(url = %self.url, keys = cache.keys.len(), attempt, "signing keys fetched");
        Ok(())
    }

    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
                self.http.get_or_init(|| built)
            }
        };
        http.get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

impl SigningKeys for RemoteJwks {
    async fn key(&self, kid: &str) -> Result<Option<VerificationKey>, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(key) = cache.keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        let may_refetch = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= MIN_REFETCH_INTERVAL || cache.keys.is_empty());
        if !may_refetch {
            return Ok(None);
        }
        self.refetch(&mut cache).await?;
        Ok(cache.keys.get(kid).cloned())
    }
}

/// The signing keys of a JWKS that this API accepts, by key id. Keys for encryption, without an
/// id, or of another algorithm are left out.
pub fn verification_keys(set: &JwkSet) -> HashMap<String, VerificationKey> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            Some((kid, verification_key(jwk)?))
        })
        .collect()
}

fn verification_key(jwk: &Jwk) -> Option<VerificationKey> {
    if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    Some(VerificationKey {
        key: DecodingKey::from_jwk(jwk).ok()?,
        algorithm,
    })
}
