//! The JWT configuration: trusted issuers, their algorithms, key sources and timing, checked
//! once at start-up and turned into ready-to-verify [`Issuer`]s.

use std::{path::PathBuf, str::FromStr, time::Duration};

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

use super::{
    keys::{self, KeyCache, KeySource, RefreshPolicy},
    ClaimsConfig,
};
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

/// Why the JWT configuration is unusable. The server does not start.
#[derive(Debug, thiserror::Error)]
#[error("invalid jwt config: {field}: {message}")]
pub struct JwtConfigError {
    /// The offending key, e.g. `jwt.issuers[0].algorithms`.
    pub field: String,
    /// Why.
    pub message: String,
}

/// One configured issuer, ready to verify.
pub(super) struct Issuer {
    pub(super) config: IssuerConfig,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) keys: KeyCache,
}

pub(super) fn prepare(
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
pub(super) fn http_client(timeout: Duration) -> Result<reqwest::Client, JwtConfigError> {
    crate::outbound::client(timeout)
        .map_err(|e| config_error("jwt", crate::telemetry::ErrorChain(&e).to_string()))
}

pub(super) fn config_error(field: impl Into<String>, message: impl Into<String>) -> JwtConfigError {
    JwtConfigError {
        field: field.into(),
        message: message.into(),
    }
}
