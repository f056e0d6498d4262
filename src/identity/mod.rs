//! Who is calling. The subject of a decision is the verified caller, never just what the
//! request body claims.
//!
//! Two modes today: `static_tokens` (bearer token -> identity, tokens stored as SHA-256 so
//! the config holds no secret) and `insecure` (development only: the body is trusted, and
//! the server says so loudly at start-up). mTLS and signed tokens plug in here later.

pub mod canonical;
pub mod jwt;
pub mod kind;
pub mod limits;
pub mod tls;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How callers are identified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Trust the request body. Development only; refused on non-loopback addresses.
    #[default]
    Insecure,
    /// `authorization: Bearer <token>` looked up in the configured token list.
    StaticTokens,
}

/// A configured identity and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenIdentity {
    /// SHA-256 of the bearer token, hex (`printf %s "$TOKEN" | sha256sum`).
    #[serde(default)]
    pub token_sha256: String,
    /// The token itself; convenient for development, prefer `token_sha256`.
    #[serde(default)]
    pub token: String,
    /// Identity, e.g. `agent:billing-exporter` or `user:bob@example.com`.
    pub id: String,
    /// `agent`, `service`, `pipeline` or `user`.
    pub kind: String,
    /// Group memberships.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Accountable owner.
    #[serde(default)]
    pub owner: String,
    /// A trusted gateway (e.g. an agent runtime or Envoy) that may ask about other subjects.
    #[serde(default)]
    pub assert_subjects: bool,
}

/// Identity settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How callers are identified.
    pub mode: AuthMode,
    /// Identities for `static_tokens`.
    pub tokens: Vec<TokenIdentity>,
    /// Members of this group may reload bundles (default `tollgate-admins`).
    pub admin_group: Option<String>,
    /// Members of this group (and admins) may read the audit trail (default
    /// `tollgate-auditors`): the trail holds every request, so it is not for every caller.
    pub auditor_group: Option<String>,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Verified identity; empty in insecure mode.
    pub id: String,
    /// Verified kind.
    pub kind: String,
    /// Verified groups.
    pub groups: Vec<String>,
    /// Verified owner.
    pub owner: String,
    /// Whether the request body's subject is trusted as is.
    pub asserts_subjects: bool,
    /// False in insecure mode.
    pub verified: bool,
}

impl Caller {
    /// The insecure-mode caller: unverified, trusted.
    pub fn insecure() -> Self {
        Self {
            id: String::new(),
            kind: String::new(),
            groups: Vec::new(),
            owner: String::new(),
            asserts_subjects: true,
            verified: false,
        }
    }
}

/// Why a caller was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("missing bearer token")]
    Missing,
    /// The credentials match no identity.
    #[error("unknown bearer token")]
    Unknown,
    /// The configuration is unusable.
    #[error("invalid auth config: {0}")]
    Config(String),
}

/// Maps credentials to callers.
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AuthMode,
    by_digest: HashMap<[u8; 32], Caller>,
    admin_group: String,
    auditor_group: String,
}

impl Authenticator {
    /// Builds the lookup table; rejects malformed or duplicate token digests.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthError> {
        let mut by_digest = HashMap::new();
        for t in &config.tokens {
            let digest: [u8; 32] = match (t.token.is_empty(), t.token_sha256.is_empty()) {
                (false, true) => Sha256::digest(t.token.as_bytes()).into(),
                (true, false) => hex::decode(&t.token_sha256)
                    .ok()
                    .and_then(|d| d.try_into().ok())
                    .ok_or_else(|| {
                        AuthError::Config(format!("{}: token_sha256 must be 64 hex digits", t.id))
                    })?,
                _ => {
                    return Err(AuthError::Config(format!(
                        "{}: set exactly one of token, token_sha256",
                        t.id
                    )))
                }
            };
            let caller = Caller {
                id: t.id.clone(),
                kind: t.kind.clone(),
                groups: t.groups.clone(),
                owner: t.owner.clone(),
                asserts_subjects: t.assert_subjects,
                verified: true,
            };
            if by_digest.insert(digest, caller).is_some() {
                return Err(AuthError::Config(format!("{}: duplicate token", t.id)));
            }
        }
        if config.mode == AuthMode::StaticTokens && by_digest.is_empty() {
            return Err(AuthError::Config(
                "static_tokens mode needs at least one token".into(),
            ));
        }
        Ok(Self {
            mode: config.mode,
            by_digest,
            admin_group: config
                .admin_group
                .clone()
                .unwrap_or_else(|| "tollgate-admins".into()),
            auditor_group: config
                .auditor_group
                .clone()
                .unwrap_or_else(|| "tollgate-auditors".into()),
        })
    }

    /// The configured mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Identifies the caller from the `authorization` header value, if any.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        // Insecure mode still honours a known token, so development reviewers can be real,
        // verified people; without one the caller is the unverified insecure caller.
        if self.mode == AuthMode::Insecure && authorization.is_none() {
            return Ok(Caller::insecure());
        }
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        // Looking up the digest, not the token, keeps comparison time independent of how
        // much of a guessed token is right.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_digest
            .get(&digest)
            .cloned()
            .ok_or(AuthError::Unknown)
    }

    /// Whether `caller` may administer bundles.
    pub fn is_admin(&self, caller: &Caller) -> bool {
        !caller.verified || caller.groups.contains(&self.admin_group)
    }

    /// Whether `caller` may read the audit trail: auditors and admins (and, in insecure
    /// mode, the unauthenticated caller).
    pub fn is_auditor(&self, caller: &Caller) -> bool {
        self.is_admin(caller) || caller.groups.contains(&self.auditor_group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            mode: AuthMode::StaticTokens,
            tokens: vec![TokenIdentity {
                token_sha256: String::new(),
                token: "s3cret".into(),
                id: "agent:a".into(),
                kind: "agent".into(),
                groups: vec!["tollgate-admins".into()],
                owner: "team:x".into(),
                assert_subjects: false,
            }],
            admin_group: None,
            auditor_group: None,
        }
    }

    #[test]
    fn tokens_identify_callers() {
        let auth = Authenticator::new(&config()).unwrap();
        let c = auth.authenticate(Some("Bearer s3cret")).unwrap();
        assert_eq!(c.id, "agent:a");
        assert!(c.verified && auth.is_admin(&c));
        assert_eq!(
            auth.authenticate(Some("Bearer nope")),
            Err(AuthError::Unknown)
        );
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(auth.authenticate(Some("s3cret")), Err(AuthError::Missing));
    }

    #[test]
    fn digests_work_and_bad_ones_are_refused() {
        let mut cfg = config();
        cfg.tokens[0].token.clear();
        cfg.tokens[0].token_sha256 = hex::encode(Sha256::digest(b"s3cret"));
        let auth = Authenticator::new(&cfg).unwrap();
        assert!(auth.authenticate(Some("Bearer s3cret")).is_ok());
        cfg.tokens[0].token_sha256 = "abc".into();
        assert!(Authenticator::new(&cfg).is_err());
    }
}
