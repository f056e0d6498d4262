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

pub mod config;
pub mod keys;
pub mod mapping;
pub mod step_up;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};
use serde_json::{Map, Value};

use self::{
    config::{config_error, http_client, prepare, Issuer},
    keys::{KeySet, Lookup},
    mapping::{map_claims, time_claim, Checked},
};
pub use self::{
    config::{IssuerConfig, JwtConfig, JwtConfigError},
    keys::KeyFetchError,
    mapping::{ClaimsConfig, DelegationConfig},
    step_up::{check_authentication, check_step_up, StepUpPolicy, StepUpRefusal},
};
use crate::domain::{IdentityId, SubjectKind};

/// Longest token accepted, before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

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
    /// When the person last authenticated (OIDC `auth_time`), for step-up. Under delegation
    /// this, `acr` and `amr` describe the human's sign-in, not the agent's; agents never
    /// review, so step-up never rests on them.
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

#[cfg(test)]
mod tests;
