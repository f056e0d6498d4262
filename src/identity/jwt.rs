//! OIDC / JWT bearer tokens: for reviewers signing in through the company identity provider,
//! and for agents that cannot hold certificates.
//!
//! Several issuers may be configured. A token is matched to its issuer by its (not yet
//! verified) `iss`, then checked against that issuer only:
//!
//! - the header `alg` must be on the issuer's explicit allow-list, which holds asymmetric
//!   algorithms only: `none` and `HS*` are refused at config load, so neither an unsigned
//!   token nor one "signed" with the public key as an HMAC secret can pass;
//! - the key is chosen by `kid` from the issuer's JWKS (a file, a `jwks_uri`, or OIDC
//!   discovery), and its type (and `alg`, if the JWK pins one) must fit the token's `alg`;
//! - the signature, `iss`, `aud` (required), `exp` (required), `nbf` and `iat` are checked
//!   with a small leeway;
//! - the claims are mapped to a tollgate identity ([`mapping`]), with delegation (`act`).
//!
//! Keys are cached and refreshed on an unknown `kid`, rate-limited ([`keys`]). While an
//! issuer's keys cannot be loaded, its tokens are refused, and verification recovers by
//! itself once the keys can be fetched again.
//!
//! # Threat model
//!
//! Trusted: the configured issuers, their keys as served over https (or loopback), and the
//! claims they sign, including `act` and the groups. Not trusted: the token bytes (header,
//! `kid`, `alg`, claims before the signature is checked), the network between tollgate and the
//! identity provider when it is not TLS (refused), a discovery document naming another issuer
//! (refused), and the rate of tokens with unknown `kid`s (one fetch per interval). Out of
//! scope: revocation before `exp` (keep tokens short-lived), a compromised identity provider.

pub mod keys;
pub mod mapping;
pub mod step_up;

use std::{
    collections::HashMap,
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::{Duration, SystemTime},
};

use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};
use rustls_platform_verifier::BuilderVerifierExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use self::{
    keys::KeyFetchError,
    mapping::{ClaimsConfig, DelegationConfig},
    step_up::{check_authentication, check_step_up, StepUpPolicy, StepUpRefusal},
};
use self::{
    keys::{KeyCache, KeySet, KeySource, Lookup, RefreshPolicy},
    mapping::{map_claims, time_claim, Checked},
};
use crate::domain::{IdentityId, SubjectKind};

/// Longest token accepted, before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The algorithms an allow-list may name: asymmetric signatures only.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// `jwt:` in the config: the trusted issuers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Trusted issuers; a token from any other is refused.
    pub issuers: Vec<IssuerConfig>,
    /// Timeout of one discovery or JWKS request (default 5s).
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            http_timeout: Duration::from_secs(5),
        }
    }
}

/// One trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value (and, for discovery, the base URL).
    pub issuer: String,
    /// Accepted `aud` values; a token must name one of them.
    pub audiences: Vec<String>,
    /// A JWKS URL (https, or http on loopback). Without it and `jwks_file`, the keys are
    /// found by OIDC discovery from `issuer`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// A local JWKS file instead of fetching keys.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Accepted `alg` values, e.g. `[RS256, ES256, EdDSA]`; asymmetric only.
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30s, at most 5m).
    #[serde(default = "default_leeway", with = "humantime_serde")]
    pub leeway: Duration,
    /// Keys older than this are re-fetched (default 10m).
    #[serde(default = "default_refresh", with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Never fetch keys more often than this, whatever tokens arrive (default 30s).
    #[serde(default = "default_min_refresh", with = "humantime_serde")]
    pub min_refresh_interval: Duration,
    /// How claims map to an identity.
    #[serde(default)]
    pub claims: ClaimsConfig,
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

fn default_refresh() -> Duration {
    Duration::from_secs(600)
}

fn default_min_refresh() -> Duration {
    Duration::from_secs(30)
}

/// What a valid token proves: the caller's identity, how it authenticated, and whom it acts
/// for. Everything in it was signed by a trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The caller: the token's mapped id claim, or the `act` actor under delegation.
    pub id: IdentityId,
    /// The caller's kind.
    pub kind: SubjectKind,
    /// The caller's groups.
    pub groups: Vec<IdentityId>,
    /// The caller's accountable owner, when the issuer states one.
    pub owner: Option<IdentityId>,
    /// The issuer that signed it.
    pub issuer: String,
    /// When the person last authenticated (OIDC `auth_time`), for step-up.
    pub auth_time: Option<SystemTime>,
    /// Authentication context class (`acr`), for step-up.
    pub acr: Option<String>,
    /// Authentication methods (`amr`, RFC 8176), for step-up.
    pub amr: Vec<String>,
    /// The human the caller acts for, when the token proves delegation.
    pub acting_for: Option<IdentityId>,
    /// `exp`: the token is not accepted after this.
    pub expires_at: SystemTime,
}

/// Why the JWT configuration is unusable. The server does not start.
#[derive(Debug, thiserror::Error)]
#[error("invalid jwt config: {field}: {message}")]
pub struct JwtConfigError {
    /// The offending key, e.g. `jwt.issuers[0].algorithms`.
    pub field: String,
    /// Why.
    pub message: String,
}

/// Why a bearer token was refused. Every variant is `UNAUTHENTICATED`; the message is safe
/// to return to the caller (it names no key material).
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Larger than [`MAX_TOKEN_BYTES`].
    #[error("token longer than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not a JWS compact token, or an unknown `alg` such as `none`.
    #[error("malformed token")]
    Malformed(#[source] jsonwebtoken::errors::Error),
    /// `iss` is missing or names no configured issuer.
    #[error("untrusted issuer {issuer:?}")]
    UnknownIssuer {
        /// The unverified `iss`.
        issuer: String,
    },
    /// The header's `alg` is not on this issuer's allow-list.
    #[error("algorithm {alg} is not allowed for issuer {issuer}")]
    AlgorithmNotAllowed {
        /// The header's `alg`.
        alg: String,
        /// The issuer.
        issuer: String,
    },
    /// No key of the issuer has the token's `kid`, even after a refresh.
    #[error("unknown signing key {kid:?}")]
    UnknownKey {
        /// The header's `kid` (empty when absent).
        kid: String,
    },
    /// The key named by `kid` cannot verify this `alg` (e.g. an RSA key and `ES256`).
    #[error("signing key {kid:?} does not fit algorithm {alg}")]
    KeyMismatch {
        /// The header's `kid`.
        kid: String,
        /// The header's `alg`.
        alg: String,
    },
    /// The issuer's keys could not be loaded: every token of it is refused until they can.
    #[error("keys of issuer {issuer} are unavailable")]
    KeysUnavailable {
        /// The issuer.
        issuer: String,
        /// The last fetch error, if one was attempted.
        #[source]
        source: Option<Arc<KeyFetchError>>,
    },
    /// The signature does not verify.
    #[error("invalid signature")]
    BadSignature(#[source] jsonwebtoken::errors::Error),
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired(#[source] jsonwebtoken::errors::Error),
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid(#[source] jsonwebtoken::errors::Error),
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `aud` names none of the issuer's audiences.
    #[error("token audience is not accepted")]
    WrongAudience(#[source] jsonwebtoken::errors::Error),
    /// `iss` does not match the issuer whose key verified it.
    #[error("token issuer does not match")]
    WrongIssuer(#[source] jsonwebtoken::errors::Error),
    /// A required claim is absent.
    #[error("token lacks the {claim} claim")]
    MissingClaim {
        /// The claim.
        claim: String,
    },
    /// A claim has the wrong shape.
    #[error("token claim {claim}: {message}")]
    InvalidClaim {
        /// The claim.
        claim: String,
        /// What is wrong.
        message: String,
    },
    /// A claim that maps to an identity is not a valid one.
    #[error("token claim {claim} is not a valid identity")]
    InvalidIdentity {
        /// The claim.
        claim: String,
        /// Why.
        #[source]
        source: crate::domain::IdentityError,
    },
    /// Any other validation failure of the JWT library.
    #[error("invalid token")]
    Invalid(#[source] jsonwebtoken::errors::Error),
}

/// One configured issuer, ready to verify.
struct Issuer {
    config: IssuerConfig,
    algorithms: Vec<Algorithm>,
    keys: KeyCache,
}

/// Verifies bearer tokens against the configured issuers. Share it (`Arc`); `verify` takes
/// `&self`.
pub struct JwtVerifier {
    issuers: HashMap<String, Issuer>,
}

impl JwtVerifier {
    /// Validates the config and prepares each issuer; keys are fetched on first use.
    pub fn new(config: &JwtConfig) -> Result<Self, JwtConfigError> {
        let JwtConfig {
            issuers,
            http_timeout,
        } = config;
        let http = http_client(*http_timeout)?;
        let mut by_name = HashMap::new();
        for (i, issuer) in issuers.iter().enumerate() {
            let prepared = prepare(&format!("jwt.issuers[{i}]"), issuer, http.clone())?;
            if by_name.insert(issuer.issuer.clone(), prepared).is_some() {
                return Err(config_error(
                    format!("jwt.issuers[{i}].issuer"),
                    format!("{} is configured twice", issuer.issuer),
                ));
            }
        }
        Ok(Self { issuers: by_name })
    }

    /// Whether any issuer is configured (bearer JWTs are accepted at all).
    pub fn is_enabled(&self) -> bool {
        !self.issuers.is_empty()
    }

    /// Verifies `token` (without `Bearer `) and maps it to an identity.
    #[tracing::instrument(skip_all, err(level = tracing::Level::INFO))]
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLarge {
                max: MAX_TOKEN_BYTES,
            });
        }
        let header = jsonwebtoken::decode_header(token).map_err(JwtError::Malformed)?;
        let issuer = self.issuer_of(token)?;
        let alg = header.alg;
        if !issuer.algorithms.contains(&alg) {
            return Err(JwtError::AlgorithmNotAllowed {
                alg: format!("{alg:?}"),
                issuer: issuer.config.issuer.clone(),
            });
        }
        let kid = header.kid.as_deref();
        let keys = issuer
            .keys
            .keys_for(kid)
            .await
            .map_err(|source| JwtError::KeysUnavailable {
                issuer: issuer.config.issuer.clone(),
                source,
            })?;
        let claims = verify_signature(issuer, &keys, token, kid, alg)?;
        check_issued_at(&claims, issuer.config.leeway)?;
        let verified = map_claims(
            &issuer.config.claims,
            Checked {
                issuer: &issuer.config.issuer,
                claims: &claims,
            },
        )?;
        tracing::debug!(
            issuer = %verified.issuer,
            id = %verified.id,
            acting_for = ?verified.acting_for.as_ref().map(IdentityId::as_str),
            "bearer token verified"
        );
        Ok(verified)
    }

    /// How many key fetches an issuer has attempted; for tests and metrics.
    pub async fn key_fetches(&self, issuer: &str) -> Option<u64> {
        match self.issuers.get(issuer) {
            Some(i) => Some(i.keys.fetches().await),
            None => None,
        }
    }

    /// The issuer named by the token's unverified `iss`; the signature check that follows
    /// uses only that issuer's keys, and the library checks `iss` again.
    fn issuer_of(&self, token: &str) -> Result<&Issuer, JwtError> {
        let claims: Map<String, Value> =
            jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
                .map_err(JwtError::Malformed)?
                .claims;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.issuers
            .get(iss)
            .ok_or_else(|| JwtError::UnknownIssuer { issuer: iss.into() })
    }
}

/// Checks the signature with each fitting key (usually one, by `kid`) and the standard
/// claims, returning the claims.
fn verify_signature(
    issuer: &Issuer,
    keys: &KeySet,
    token: &str,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<Map<String, Value>, JwtError> {
    let candidates = match keys.lookup(kid, alg) {
        Lookup::Found(candidates) => candidates,
        Lookup::UnknownKid => {
            return Err(JwtError::UnknownKey {
                kid: kid.unwrap_or_default().into(),
            })
        }
        Lookup::Mismatch => {
            return Err(JwtError::KeyMismatch {
                kid: kid.unwrap_or_default().into(),
                alg: format!("{alg:?}"),
            })
        }
    };
    let mut validation = Validation::new(alg);
    validation.leeway = issuer.config.leeway.as_secs();
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer.config.issuer.as_str()]);
    validation.set_audience(&issuer.config.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let mut last = None;
    for key in candidates {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if *e.kind() == ErrorKind::InvalidSignature => last = Some(e),
            Err(e) => return Err(classify(e)),
        }
    }
    Err(last.map_or(JwtError::UnknownKey { kid: String::new() }, classify))
}

/// `iat` later than now (beyond the leeway) means a wrong clock or a forged timeline.
fn check_issued_at(claims: &Map<String, Value>, leeway: Duration) -> Result<(), JwtError> {
    if let Some(iat) = time_claim(claims, "iat")? {
        if iat > SystemTime::now() + leeway {
            return Err(JwtError::IssuedInFuture);
        }
    }
    Ok(())
}

fn classify(e: jsonwebtoken::errors::Error) -> JwtError {
    match e.kind() {
        ErrorKind::InvalidSignature => JwtError::BadSignature(e),
        ErrorKind::ExpiredSignature => JwtError::Expired(e),
        ErrorKind::ImmatureSignature => JwtError::NotYetValid(e),
        ErrorKind::InvalidAudience => JwtError::WrongAudience(e),
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer(e),
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim {
            claim: claim.clone(),
        },
        _ => JwtError::Invalid(e),
    }
}

fn prepare(
    field: &str,
    config: &IssuerConfig,
    http: reqwest::Client,
) -> Result<Issuer, JwtConfigError> {
    if config.issuer.trim().is_empty() {
        return Err(config_error(format!("{field}.issuer"), "is required"));
    }
    if config.audiences.is_empty() || config.audiences.iter().any(|a| a.trim().is_empty()) {
        return Err(config_error(
            format!("{field}.audiences"),
            "name at least one audience, none empty: a token for another service must not pass",
        ));
    }
    if config.leeway > Duration::from_secs(300) {
        return Err(config_error(format!("{field}.leeway"), "at most 5m"));
    }
    let algorithms = allowed_algorithms(&format!("{field}.algorithms"), &config.algorithms)?;
    let source = match (&config.jwks_file, &config.jwks_uri) {
        (Some(_), Some(_)) => {
            return Err(config_error(
                format!("{field}.jwks_uri"),
                "set at most one of jwks_uri, jwks_file",
            ))
        }
        (Some(path), None) => KeySource::File(path.clone()),
        (None, Some(uri)) => KeySource::Uri(
            keys::secure_url(uri)
                .map_err(|e| config_error(format!("{field}.jwks_uri"), e.to_string()))?,
        ),
        (None, None) => {
            let base = config.issuer.trim_end_matches('/');
            let url = format!("{base}/.well-known/openid-configuration");
            KeySource::Discovery(
                keys::secure_url(&url)
                    .map_err(|e| config_error(format!("{field}.issuer"), e.to_string()))?,
            )
        }
    };
    let policy = RefreshPolicy {
        refresh_interval: config.refresh_interval,
        min_refresh_interval: config.min_refresh_interval,
    };
    Ok(Issuer {
        algorithms,
        keys: KeyCache::new(config.issuer.clone(), source, policy, http),
        config: config.clone(),
    })
}

fn allowed_algorithms(field: &str, names: &[String]) -> Result<Vec<Algorithm>, JwtConfigError> {
    if names.is_empty() {
        return Err(config_error(
            field,
            "list the accepted algorithms, e.g. [RS256, ES256]",
        ));
    }
    names
        .iter()
        .map(|name| {
            let alg = Algorithm::from_str(name).map_err(|_| {
                config_error(field, format!("{name:?} is not a JWS signature algorithm"))
            })?;
            if ASYMMETRIC.contains(&alg) {
                Ok(alg)
            } else {
                Err(config_error(
                    field,
                    format!("{name} is symmetric: a public key could be used as its secret"),
                ))
            }
        })
        .collect()
}

/// The client for discovery and JWKS: rustls with ring and the platform's roots, timeouts,
/// no redirects (a key URL that moves is a configuration change, not something to follow).
fn http_client(timeout: Duration) -> Result<reqwest::Client, JwtConfigError> {
    let tls_error = |e: rustls::Error| config_error("jwt", format!("TLS client setup: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| config_error("jwt", format!("HTTP client setup: {}", error_chain(&e))))
}

fn config_error(field: impl Into<String>, message: impl Into<String>) -> JwtConfigError {
    JwtConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// An error and all its sources, `: `-separated, for logs.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests;
