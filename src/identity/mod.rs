//! Who is calling. The subject of a decision is the verified caller, never just what the
//! request body claims.
//!
//! Credentials, in the order they are tried:
//! - `authorization: Bearer <token>`: a static token from the config (stored as SHA-256, so
//!   the config holds no secret), else, when issuers are configured, a signed JWT / OIDC token
//!   verified by [`jwt`] (several issuers, delegation, the facts step-up needs);
//! - a client certificate on a TLS port (mTLS), mapped by `tls.peers` patterns from its
//!   SPIFFE ID or subject CN ([`tls`]); a bearer token on the same call takes precedence
//!   (a person's token through a workload's connection), a certificate that maps to nobody
//!   refuses the call;
//! - in `insecure` mode only (development, loopback only, announced at start-up and on
//!   `/healthz`), no credentials at all: the request body is trusted.
//!
//! Every identity that comes out is in canonical form (`crate::domain::IdentityId`), and
//! the config's identities are checked and canonicalised at load, so later comparisons are
//! comparisons of identities. [`limits`] keeps one identity from starving another.

pub mod jwt;
pub mod limits;
pub mod tls;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    canonical_id, AuthMethod, Authentication, Caller, Principal, SubjectKind, UnixMillis,
};

/// How callers are identified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Trust the request body when no credentials come. Development only; refused on
    /// non-loopback addresses.
    #[default]
    Insecure,
    /// Every caller presents verified credentials (static tokens, signed tokens).
    /// `static_tokens` is the old spelling.
    #[serde(alias = "static_tokens")]
    Verified,
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
    pub kind: SubjectKind,
    /// Group memberships.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Accountable owner.
    #[serde(default)]
    pub owner: String,
    /// A trusted gateway (e.g. an agent runtime or Envoy) that may ask about other subjects.
    #[serde(default)]
    pub assert_subjects: bool,
    /// Development only: reviews made with this token count as a fresh strong
    /// authentication (step-up), so a walkthrough can approve what needs MFA. Refused unless
    /// both ports listen on loopback.
    #[serde(default)]
    pub step_up: bool,
}

/// Identity settings (`auth:`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How callers are identified.
    pub mode: AuthMode,
    /// Static bearer tokens (development, service accounts).
    pub tokens: Vec<TokenIdentity>,
    /// Trusted OIDC / JWT issuers.
    pub jwt: jwt::JwtConfig,
    /// What counts as a fresh strong authentication for `step_up: true` requirements.
    pub step_up: jwt::StepUpPolicy,
    /// Members of this group may reload bundles (default `tollgate-admins`).
    pub admin_group: Option<String>,
    /// Members of this group (and admins) may read the audit trail (default
    /// `tollgate-auditors`): the trail holds every request, so it is not for every caller.
    pub auditor_group: Option<String>,
}

/// Why a caller was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("missing bearer token")]
    Missing,
    /// The credentials match no identity.
    #[error("unknown bearer token")]
    Unknown,
    /// A signed token did not verify.
    #[error("bearer token refused: {0}")]
    Token(#[source] jwt::JwtError),
    /// The client certificate maps to no identity.
    #[error("client certificate refused: {0}")]
    Certificate(#[source] tls::PeerIdentityError),
    /// The configuration is unusable.
    #[error("invalid auth config: {0}")]
    Config(String),
}

/// Maps credentials to callers. Cheap to share (`Arc` it).
pub struct Authenticator {
    mode: AuthMode,
    by_digest: HashMap<[u8; 32], Principal>,
    jwt: jwt::JwtVerifier,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .field("static_tokens", &self.by_digest.len())
            .field("jwt", &self.jwt.is_enabled())
            .finish()
    }
}

/// What a call presented to prove who it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// What the connection's client certificate maps to (TLS ports only).
    pub certificate: Option<&'a Result<tls::CertIdentity, tls::PeerIdentityError>>,
}

impl Authenticator {
    /// Builds the lookup tables; rejects malformed, duplicate or non-canonicalisable
    /// identities and token digests, and a verified mode with no way to verify anyone
    /// (`certificates`: client certificates are mapped to identities, `tls.peers`).
    pub fn new(config: &AuthConfig, certificates: bool) -> Result<Self, AuthError> {
        let mut by_digest = HashMap::new();
        for (i, t) in config.tokens.iter().enumerate() {
            let principal = static_principal(i, t)?;
            let digest = token_digest(i, t)?;
            if by_digest.insert(digest, principal).is_some() {
                return Err(AuthError::Config(format!("{}: duplicate token", t.id)));
            }
        }
        let jwt =
            jwt::JwtVerifier::new(&config.jwt).map_err(|e| AuthError::Config(e.to_string()))?;
        if config.mode == AuthMode::Verified
            && by_digest.is_empty()
            && !jwt.is_enabled()
            && !certificates
        {
            return Err(AuthError::Config(
                "verified mode needs a static token, a JWT issuer or tls.peers to verify callers"
                    .into(),
            ));
        }
        Ok(Self {
            mode: config.mode,
            by_digest,
            jwt,
        })
    }

    /// The configured mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The configured static identities, by id: what the console's development sign-in form
    /// offers (never their tokens).
    pub fn static_principals(&self) -> Vec<Principal> {
        let mut all: Vec<Principal> = self.by_digest.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.dedup_by(|a, b| a.id == b.id);
        all
    }

    /// Identifies the caller from what the call presented.
    pub async fn authenticate(&self, credentials: Credentials<'_>) -> Result<Caller, AuthError> {
        let Credentials {
            authorization,
            certificate,
        } = credentials;
        // A certificate that was presented but maps to nobody refuses the call, whatever else
        // came with it; none at all leaves the decision to the other credentials.
        let certificate = match certificate {
            Some(Ok(id)) => Some(id),
            Some(Err(tls::PeerIdentityError::NoCertificate)) | None => None,
            Some(Err(e)) => return Err(AuthError::Certificate(e.clone())),
        };
        if authorization.is_none() {
            if let Some(id) = certificate {
                return Ok(Caller::Verified(certificate_principal(id)));
            }
        }
        // Insecure mode still honours known credentials, so development reviewers can be
        // real, verified people; without any the caller is the unverified insecure caller.
        if self.mode == AuthMode::Insecure && authorization.is_none() {
            return Ok(Caller::Unauthenticated);
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
        if let Some(p) = self.by_digest.get(&digest) {
            return Ok(Caller::Verified(p.clone()));
        }
        if self.jwt.is_enabled() && token.split('.').count() == 3 {
            let verified = self.jwt.verify(token).await.map_err(AuthError::Token)?;
            return Ok(Caller::Verified(token_principal(verified)));
        }
        Err(AuthError::Unknown)
    }
}

/// The principal a static token stands for, its identities canonicalised.
fn static_principal(i: usize, t: &TokenIdentity) -> Result<Principal, AuthError> {
    let canonical = |field: &str, raw: &str| {
        canonical_id(raw)
            .map_err(|e| AuthError::Config(format!("auth.tokens[{i}].{field}: {raw:?} {e}")))
    };
    Ok(Principal {
        id: canonical("id", &t.id)?,
        kind: t.kind,
        groups: t
            .groups
            .iter()
            .map(|g| canonical("groups", g))
            .collect::<Result<_, _>>()?,
        owner: if t.owner.is_empty() {
            String::new()
        } else {
            canonical("owner", &t.owner)?
        },
        asserts_subjects: t.assert_subjects,
        acting_for: None,
        authentication: Authentication {
            development_step_up: t.step_up,
            ..Authentication::default()
        },
    })
}

fn token_digest(i: usize, t: &TokenIdentity) -> Result<[u8; 32], AuthError> {
    match (t.token.is_empty(), t.token_sha256.is_empty()) {
        (false, true) => Ok(Sha256::digest(t.token.as_bytes()).into()),
        (true, false) => hex::decode(&t.token_sha256)
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "auth.tokens[{i}] ({}): token_sha256 must be 64 hex digits",
                    t.id
                ))
            }),
        _ => Err(AuthError::Config(format!(
            "auth.tokens[{i}] ({}): set exactly one of token, token_sha256",
            t.id
        ))),
    }
}

/// The principal a client certificate proves (the configured pattern it matched).
fn certificate_principal(c: &tls::CertIdentity) -> Principal {
    Principal {
        id: c.id.to_string(),
        kind: c.kind,
        groups: c.groups.iter().map(ToString::to_string).collect(),
        owner: c
            .owner
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        asserts_subjects: c.asserts_subjects,
        acting_for: None,
        authentication: Authentication {
            method: AuthMethod::Certificate,
            ..Authentication::default()
        },
    }
}

/// The principal a verified token proves.
fn token_principal(t: jwt::VerifiedToken) -> Principal {
    let jwt::VerifiedToken {
        id,
        kind,
        groups,
        owner,
        issuer,
        auth_time,
        acr,
        amr,
        acting_for,
        expires_at: _,
    } = t;
    Principal {
        id: id.into(),
        kind,
        groups: groups.into_iter().map(String::from).collect(),
        owner: owner.map(String::from).unwrap_or_default(),
        asserts_subjects: false,
        acting_for: acting_for.map(String::from),
        authentication: Authentication {
            method: AuthMethod::Token { issuer },
            auth_time: auth_time.map(UnixMillis::from_time),
            acr,
            amr,
            development_step_up: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig {
            mode: AuthMode::Verified,
            tokens: vec![TokenIdentity {
                token_sha256: String::new(),
                token: "s3cret".into(),
                id: "Agent:A".into(),
                kind: SubjectKind::Agent,
                groups: vec!["Tollgate-Admins".into()],
                owner: "team:x".into(),
                assert_subjects: false,
                step_up: false,
            }],
            ..AuthConfig::default()
        }
    }

    fn bearer(token: &str) -> Credentials<'_> {
        Credentials {
            authorization: Some(token),
            certificate: None,
        }
    }

    #[tokio::test]
    async fn tokens_identify_callers_in_canonical_form() {
        let auth = Authenticator::new(&config(), false).unwrap();
        let c = auth.authenticate(bearer("Bearer s3cret")).await.unwrap();
        assert_eq!(c.actor(), "agent:a");
        assert_eq!(c.principal().unwrap().groups, ["tollgate-admins"]);
        let refused = |r: Result<Caller, AuthError>| r.unwrap_err().to_string();
        assert_eq!(
            refused(auth.authenticate(bearer("Bearer nope")).await),
            "unknown bearer token"
        );
        assert_eq!(
            refused(auth.authenticate(Credentials::default()).await),
            "missing bearer token"
        );
        assert_eq!(
            refused(auth.authenticate(bearer("s3cret")).await),
            "missing bearer token"
        );
    }

    #[tokio::test]
    async fn digests_work_and_bad_ones_are_refused() {
        let mut cfg = config();
        cfg.tokens[0].token.clear();
        cfg.tokens[0].token_sha256 = hex::encode(Sha256::digest(b"s3cret"));
        let auth = Authenticator::new(&cfg, false).unwrap();
        assert!(auth.authenticate(bearer("Bearer s3cret")).await.is_ok());
        cfg.tokens[0].token_sha256 = "abc".into();
        assert!(Authenticator::new(&cfg, false).is_err());
    }

    #[test]
    fn identities_the_requests_would_refuse_are_refused_at_load() {
        for bad in [
            "user:ali\u{200B}ce",
            "\u{200B}\u{200C}",
            "user:a lice",
            "user:\u{202E}x",
        ] {
            let mut cfg = config();
            cfg.tokens[0].id = bad.into();
            let err = Authenticator::new(&cfg, false).unwrap_err().to_string();
            assert!(err.contains("auth.tokens[0].id"), "{bad:?}: {err}");
        }
        let mut cfg = config();
        cfg.tokens[0].groups = vec!["sre\u{200D}".into()];
        assert!(Authenticator::new(&cfg, false).is_err());
    }

    #[test]
    fn verified_mode_needs_a_way_to_verify() {
        let cfg = AuthConfig {
            mode: AuthMode::Verified,
            ..AuthConfig::default()
        };
        assert!(Authenticator::new(&cfg, false).is_err());
        let yaml: AuthConfig = yaml_serde::from_str("mode: static_tokens").unwrap();
        assert_eq!(yaml.mode, AuthMode::Verified);
    }
}
