//! An issuer's signing keys: where they come from (a JWKS file, a `jwks_uri`, or OIDC
//! discovery), which token algorithms each may verify, and the cache that refreshes them.
//!
//! The cache is read lock-free on every verification. It refreshes when the keys are older
//! than `refresh_interval` or a token names a `kid` it does not hold (key rotation), but never
//! more often than `min_refresh_interval`, so a flood of tokens with made-up `kid`s costs the
//! identity provider one request per interval. A failed refresh keeps the last good keys;
//! with no good keys at all, every token is refused (fail closed) until a later refresh works.

use std::{
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use arc_swap::ArcSwapOption;
use jsonwebtoken::{
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse},
    Algorithm, DecodingKey,
};
use tokio::sync::Mutex;

/// Largest discovery document or JWKS accepted, so a hostile endpoint cannot exhaust memory.
pub(super) const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Why an issuer's keys could not be loaded. Kept as the source of
/// [`super::JwtError::KeysUnavailable`] while no good keys are held.
#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    /// The JWKS file could not be read.
    #[error("cannot read JWKS file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP request failed (connection, timeout, TLS).
    #[error("request to {url} failed")]
    Request {
        /// The URL.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-success status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("{url} sent more than {max} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        max: usize,
    },
    /// The discovery document or JWKS is not the JSON expected.
    #[error("invalid {what}")]
    Json {
        /// `discovery document` or `JWKS`.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Discovery answered for another issuer (OpenID Connect Discovery §4.3).
    #[error("discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// A URL that would carry keys in the clear over the network.
    #[error("{url} is not https (plain http is accepted only on loopback)")]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The JWKS holds no key usable for signature verification.
    #[error("the JWKS holds no usable signing key")]
    NoUsableKeys,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub(super) enum KeySource {
    /// A local JWKS file, re-read on refresh.
    File(PathBuf),
    /// A JWKS URL.
    Uri(reqwest::Url),
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery(reqwest::Url),
}

/// What kind of public key a JWK holds; decides which `alg`s it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// One verification key.
#[derive(Clone)]
pub(super) struct Key {
    kid: Option<String>,
    /// The JWK's own `alg`, when it pins one.
    alg: Option<Algorithm>,
    kind: KeyKind,
    pub(super) decoding: DecodingKey,
}

impl Key {
    /// Whether this key may verify a token signed with `alg`: the key type must fit the
    /// algorithm family (so an RSA key never verifies HS256 or ES256), and a JWK that pins
    /// an `alg` verifies only that one.
    pub(super) fn accepts(&self, alg: Algorithm) -> bool {
        let family_fits = match self.kind {
            KeyKind::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            KeyKind::P256 => alg == Algorithm::ES256,
            KeyKind::P384 => alg == Algorithm::ES384,
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
        };
        family_fits && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// An issuer's keys as last loaded.
pub(super) struct KeySet {
    keys: Vec<Key>,
    loaded_at: Instant,
}

/// The keys a token may be checked against.
pub(super) enum Lookup<'a> {
    /// Keys of the right `kid` (or, without a `kid`, every key) that accept the algorithm.
    Found(Vec<&'a Key>),
    /// No key has this `kid`.
    UnknownKid,
    /// Keys with this `kid` (or any key, without one) exist, but none accepts the algorithm.
    Mismatch,
}

impl KeySet {
    /// Parses a JWKS, keeping the keys usable for signatures and skipping (with a warning)
    /// the rest: symmetric (`oct`) keys, encryption keys, curves we do not verify.
    pub(super) fn parse(issuer: &str, body: &[u8]) -> Result<Self, KeyFetchError> {
        #[derive(serde::Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let jwks: Jwks = serde_json::from_slice(body).map_err(|source| KeyFetchError::Json {
            what: "JWKS",
            source,
        })?;
        let keys: Vec<Key> = jwks
            .keys
            .into_iter()
            .filter_map(|value| match key_from_jwk(value) {
                Ok(key) => Some(key),
                Err(reason) => {
                    tracing::warn!(issuer, reason, "JWKS key skipped");
                    None
                }
            })
            .collect();
        if keys.is_empty() {
            return Err(KeyFetchError::NoUsableKeys);
        }
        Ok(Self {
            keys,
            loaded_at: Instant::now(),
        })
    }

    fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    pub(super) fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        let named: Vec<&Key> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None => self.keys.iter().collect(),
        };
        if named.is_empty() {
            return Lookup::UnknownKid;
        }
        let fitting: Vec<&Key> = named.into_iter().filter(|k| k.accepts(alg)).collect();
        if fitting.is_empty() {
            Lookup::Mismatch
        } else {
            Lookup::Found(fitting)
        }
    }
}

fn key_from_jwk(value: serde_json::Value) -> Result<Key, &'static str> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|_| "not a JWK")?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err("use is not sig");
    }
    if matches!(&jwk.common.key_operations, Some(ops) if !ops.contains(&KeyOperations::Verify)) {
        return Err("key_ops does not include verify");
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return Err("unsupported elliptic curve"),
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are never trusted"),
        _ => return Err("unsupported key type"),
    };
    let alg = match jwk.common.key_algorithm {
        Some(ka) => {
            Some(Algorithm::from_str(&ka.to_string()).map_err(|_| "alg is not a JWS algorithm")?)
        }
        None => None,
    };
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "malformed key material")?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        kind,
        decoding,
    })
}

/// Refresh timing for one issuer.
#[derive(Debug, Clone, Copy)]
pub(super) struct RefreshPolicy {
    /// Keys older than this are re-fetched on the next verification.
    pub(super) refresh_interval: Duration,
    /// No two fetches closer than this, whatever the reason.
    pub(super) min_refresh_interval: Duration,
}

/// The last fetch attempt and its failure, behind the single-flight lock.
#[derive(Default)]
struct Attempts {
    last: Option<Instant>,
    last_error: Option<Arc<KeyFetchError>>,
    fetches: u64,
}

/// One issuer's keys, cached and refreshed.
pub(super) struct KeyCache {
    issuer: String,
    source: KeySource,
    policy: RefreshPolicy,
    http: reqwest::Client,
    current: ArcSwapOption<KeySet>,
    attempts: Mutex<Attempts>,
}

impl KeyCache {
    pub(super) fn new(
        issuer: String,
        source: KeySource,
        policy: RefreshPolicy,
        http: reqwest::Client,
    ) -> Self {
        Self {
            issuer,
            source,
            policy,
            http,
            current: ArcSwapOption::empty(),
            attempts: Mutex::new(Attempts::default()),
        }
    }

    /// The keys to check a token with `kid` against: the cached set, refreshed first when it
    /// is stale or lacks `kid` and the rate limit allows. `Err` carries the last fetch error
    /// when no keys were ever loaded.
    pub(super) async fn keys_for(
        &self,
        kid: Option<&str>,
    ) -> Result<Arc<KeySet>, Option<Arc<KeyFetchError>>> {
        let held = self.current.load_full();
        let mut attempts = match held {
            Some(keys) if !self.wants_refresh(Some(&keys), kid) => return Ok(keys),
            // Merely stale keys that hold this `kid`: while another verification refreshes,
            // use them rather than wait for the identity provider.
            Some(keys) if kid.is_none_or(|kid| keys.has_kid(kid)) => {
                match self.attempts.try_lock() {
                    Ok(attempts) => attempts,
                    Err(_) => return Ok(keys),
                }
            }
            _ => self.attempts.lock().await,
        };
        // Another verification may have refreshed while this one waited for the lock.
        let held = self.current.load_full();
        let due = attempts
            .last
            .is_none_or(|t| t.elapsed() >= self.policy.min_refresh_interval);
        if self.wants_refresh(held.as_deref(), kid) && due {
            attempts.last = Some(Instant::now());
            attempts.fetches += 1;
            match self.fetch().await {
                Ok(keys) => {
                    tracing::info!(issuer = %self.issuer, keys = keys.keys.len(), "issuer keys loaded");
                    self.current.store(Some(Arc::new(keys)));
                    attempts.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(
                        issuer = %self.issuer,
                        error = %crate::telemetry::ErrorChain(&e),
                        keeping_old_keys = held.is_some(),
                        "issuer keys could not be refreshed"
                    );
                    attempts.last_error = Some(Arc::new(e));
                }
            }
        }
        self.current
            .load_full()
            .ok_or_else(|| attempts.last_error.clone())
    }

    /// How many fetches were attempted (for tests and metrics).
    pub(super) async fn fetches(&self) -> u64 {
        self.attempts.lock().await.fetches
    }

    fn wants_refresh(&self, held: Option<&KeySet>, kid: Option<&str>) -> bool {
        match held {
            None => true,
            Some(keys) => {
                keys.loaded_at.elapsed() >= self.policy.refresh_interval
                    || kid.is_some_and(|kid| !keys.has_kid(kid))
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        let jwks_url = match &self.source {
            KeySource::File(path) => {
                let body = tokio::fs::read(path)
                    .await
                    .map_err(|source| KeyFetchError::Read {
                        path: path.clone(),
                        source,
                    })?;
                return KeySet::parse(&self.issuer, &body);
            }
            KeySource::Uri(url) => url.clone(),
            KeySource::Discovery(url) => self.discover(url).await?,
        };
        let body = get_limited(&self.http, &jwks_url).await?;
        KeySet::parse(&self.issuer, &body)
    }

    /// Reads the discovery document and returns its `jwks_uri`, after checking that it is
    /// about this issuer and that the URI is safe to fetch.
    async fn discover(&self, url: &reqwest::Url) -> Result<reqwest::Url, KeyFetchError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let body = get_limited(&self.http, url).await?;
        let doc: Discovery =
            serde_json::from_slice(&body).map_err(|source| KeyFetchError::Json {
                what: "discovery document",
                source,
            })?;
        if doc.issuer != self.issuer {
            return Err(KeyFetchError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: doc.issuer,
            });
        }
        secure_url(&doc.jwks_uri)
    }
}

/// Parses `raw` and refuses plain http except to loopback: keys fetched in the clear could be
/// replaced by anyone on the path.
pub(super) fn secure_url(raw: &str) -> Result<reqwest::Url, KeyFetchError> {
    let insecure = || KeyFetchError::InsecureUrl { url: raw.into() };
    let url = reqwest::Url::parse(raw).map_err(|_| insecure())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(insecure()),
    }
}

/// GET `url`, at most [`MAX_DOCUMENT_BYTES`], success statuses only.
async fn get_limited(http: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, KeyFetchError> {
    let request_error = |source| KeyFetchError::Request {
        url: url.to_string(),
        source,
    };
    let mut response = http
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(request_error)?;
    if !response.status().is_success() {
        return Err(KeyFetchError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(KeyFetchError::TooLarge {
                url: url.to_string(),
                max: MAX_DOCUMENT_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
