//! From a verified token's claims to a tollgate identity: which claim is the id and with
//! what prefix, the kind, the groups, the owner, and delegation.
//!
//! Delegation follows RFC 8693 §4.1: in a token with an `act` claim, the token's subject is
//! the party the token is *about* (the human) and `act` names the party *acting* for it (the
//! agent that presents the token). So the caller is the actor, and the subject becomes
//! `acting_for`. Reading it the other way round would let an agent holding an exchanged
//! token act, and review, as the human. `may_act` only says who *may* act and is not
//! evidence that delegation happened, so it is not used. Agents whose identity provider
//! cannot do token exchange may instead carry a configured claim on their own token that
//! names the human (`acting_for_claim`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{JwtError, VerifiedToken};
use crate::domain::{IdentityId, SubjectKind};

/// At most this many groups per token: more is a misconfigured mapping or an attack.
pub const MAX_GROUPS: usize = 256;

/// How an issuer's claims become an identity (`claims:` under an issuer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    /// The claim holding the identity (default `sub`; `email` is common for people).
    pub id: String,
    /// Put in front of the id unless already there (default `user:`).
    pub id_prefix: String,
    /// The kind of every identity from this issuer (default `user`)...
    pub kind: SubjectKind,
    /// ...unless this claim is set, whose value must then be a kind; missing or unknown
    /// refuses the token.
    pub kind_claim: Option<String>,
    /// The claim holding groups, a string or an array of strings (default `groups`; none
    /// when unset). A dotted path (`realm_access.roles`) reaches into objects.
    pub groups: Option<String>,
    /// Put in front of each group unless already there (default none).
    pub group_prefix: String,
    /// The claim naming the accountable owner (default none).
    pub owner: Option<String>,
    /// Delegation: who the presenting agent acts for.
    pub delegation: DelegationConfig,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        Self {
            id: "sub".into(),
            id_prefix: "user:".into(),
            kind: SubjectKind::User,
            kind_claim: None,
            groups: Some("groups".into()),
            group_prefix: String::new(),
            owner: None,
            delegation: DelegationConfig::default(),
        }
    }
}

/// Delegation settings (`claims.delegation:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DelegationConfig {
    /// Honour RFC 8693 `act` (default true): the actor is the caller, the token's subject
    /// is who it acts for. When false, a token carrying `act` is refused.
    pub act: bool,
    /// The kind of an `act` actor (default `agent`), unless `act` carries the kind claim.
    pub actor_kind: SubjectKind,
    /// Put in front of the actor's `sub` unless already there (default `agent:`).
    pub actor_prefix: String,
    /// A claim on the caller's own token that names the human it acts for (a string, or an
    /// object with `sub`), for identity providers without token exchange (default none).
    pub acting_for_claim: Option<String>,
    /// Put in front of the human's id from `acting_for_claim` unless already there (default
    /// `user:`).
    pub acting_for_prefix: String,
}

impl Default for DelegationConfig {
    fn default() -> Self {
        Self {
            act: true,
            actor_kind: SubjectKind::Agent,
            actor_prefix: "agent:".into(),
            acting_for_claim: None,
            acting_for_prefix: "user:".into(),
        }
    }
}

/// The claims of a token whose signature, issuer, audience and times were checked.
pub(super) struct Checked<'a> {
    pub(super) issuer: &'a str,
    pub(super) claims: &'a Map<String, Value>,
}

/// Maps checked claims to the verified token, refusing (fail closed) anything it cannot map.
pub(super) fn map_claims(
    config: &ClaimsConfig,
    token: Checked<'_>,
) -> Result<VerifiedToken, JwtError> {
    let claims = token.claims;
    let subject = principal(config, claims, &config.id_prefix, config.kind, true)?;
    if claims.contains_key("act") && !config.delegation.act {
        // Ignoring `act` would take the agent presenting the token for the human it names.
        return Err(claim_error(
            "act",
            "delegated tokens are not accepted from this issuer",
        ));
    }
    let act = claims
        .get("act")
        .map(|v| {
            v.as_object()
                .ok_or_else(|| claim_error("act", "must be an object"))
        })
        .transpose()?;
    let (caller, acting_for) = match act {
        Some(actor) => {
            let d = &config.delegation;
            let actor = principal(config, actor, &d.actor_prefix, d.actor_kind, false)
                .map_err(|e| nest("act", e))?;
            (actor, Some(subject.id))
        }
        None => {
            let acting_for = config
                .delegation
                .acting_for_claim
                .as_deref()
                .and_then(|name| claim(claims, name).map(|v| (name, v)))
                .map(|(name, v)| human(name, &config.delegation.acting_for_prefix, v))
                .transpose()?;
            (subject, acting_for)
        }
    };
    Ok(VerifiedToken {
        id: caller.id,
        kind: caller.kind,
        groups: caller.groups,
        owner: caller.owner,
        issuer: token.issuer.to_string(),
        auth_time: time_claim(claims, "auth_time")?,
        acr: string_claim(claims, "acr")?,
        amr: strings(claims, "amr", "")?,
        acting_for,
        expires_at: time_claim(claims, "exp")?.unwrap_or(UNIX_EPOCH),
    })
}

struct Principal {
    id: IdentityId,
    kind: SubjectKind,
    groups: Vec<IdentityId>,
    owner: Option<IdentityId>,
}

/// One party from an object of claims: the token itself (`top_level`) or its `act`. An actor
/// gets only the groups and owner its own `act` object states, never the human's.
fn principal(
    config: &ClaimsConfig,
    claims: &Map<String, Value>,
    prefix: &str,
    default_kind: SubjectKind,
    top_level: bool,
) -> Result<Principal, JwtError> {
    // Inside `act`, RFC 8693 identifies the actor by `sub`; the configured id claim applies
    // when the actor object carries it.
    let id_claim = if top_level || claims.contains_key(&config.id) {
        config.id.as_str()
    } else {
        "sub"
    };
    let raw = string_claim(claims, id_claim)?.ok_or_else(|| JwtError::MissingClaim {
        claim: id_claim.to_string(),
    })?;
    let id = identity(id_claim, &prefixed(prefix, &raw))?;
    let kind = match config.kind_claim.as_deref() {
        Some(name) => match string_claim(claims, name)? {
            Some(v) => SubjectKind::parse(&v).ok_or_else(|| {
                claim_error(name, format!("must be one of {}", SubjectKind::spellings()))
            })?,
            None if top_level => {
                return Err(JwtError::MissingClaim {
                    claim: name.to_string(),
                })
            }
            None => default_kind,
        },
        None => default_kind,
    };
    let groups = match config.groups.as_deref() {
        Some(name) => strings(claims, name, &config.group_prefix)?
            .iter()
            .map(|g| identity(name, g))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let owner = match config.owner.as_deref() {
        Some(name) => string_claim(claims, name)?
            .map(|o| identity(name, &o))
            .transpose()?,
        None => None,
    };
    Ok(Principal {
        id,
        kind,
        groups,
        owner,
    })
}

/// The human named by an `acting_for_claim`: a string id, or an object with `sub`.
fn human(name: &str, prefix: &str, value: &Value) -> Result<IdentityId, JwtError> {
    let raw = match value {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| claim_error(name, "object must have a string sub"))?,
        _ => return Err(claim_error(name, "must be a string or an object with sub")),
    };
    identity(name, &prefixed(prefix, raw))
}

/// A claim by exact name, or by dotted path into objects (exact names win: namespaced
/// claims such as `https://example.com/groups` contain dots).
pub(super) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, JwtError> {
    match claim(claims, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(claim_error(name, "must be a string")),
    }
}

/// A string-or-array-of-strings claim, each value prefixed.
fn strings(claims: &Map<String, Value>, name: &str, prefix: &str) -> Result<Vec<String>, JwtError> {
    let values: Vec<&Value> = match claim(claims, name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
    };
    if values.len() > MAX_GROUPS {
        return Err(claim_error(name, format!("more than {MAX_GROUPS} values")));
    }
    values
        .into_iter()
        .map(|v| {
            v.as_str()
                .map(|s| prefixed(prefix, s))
                .ok_or_else(|| claim_error(name, "must be a string or an array of strings"))
        })
        .collect()
}

/// A NumericDate claim (seconds since the epoch).
pub(super) fn time_claim(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<SystemTime>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e11)
            .map(|s| Some(UNIX_EPOCH + Duration::from_secs_f64(s)))
            .ok_or_else(|| claim_error(name, "must be a time in seconds since 1970")),
        Some(_) => Err(claim_error(name, "must be a number")),
    }
}

fn prefixed(prefix: &str, value: &str) -> String {
    if value.starts_with(prefix) {
        value.to_string()
    } else {
        format!("{prefix}{value}")
    }
}

fn identity(claim: &str, raw: &str) -> Result<IdentityId, JwtError> {
    IdentityId::parse(raw).map_err(|source| JwtError::InvalidIdentity {
        claim: claim.to_string(),
        source,
    })
}

fn claim_error(claim: &str, message: impl Into<String>) -> JwtError {
    JwtError::InvalidClaim {
        claim: claim.to_string(),
        message: message.into(),
    }
}

/// Names a claim inside `act` as `act.<claim>` so the error says where it was.
fn nest(outer: &str, e: JwtError) -> JwtError {
    match e {
        JwtError::MissingClaim { claim } => JwtError::MissingClaim {
            claim: format!("{outer}.{claim}"),
        },
        JwtError::InvalidClaim { claim, message } => JwtError::InvalidClaim {
            claim: format!("{outer}.{claim}"),
            message,
        },
        JwtError::InvalidIdentity { claim, source } => JwtError::InvalidIdentity {
            claim: format!("{outer}.{claim}"),
            source,
        },
        other => other,
    }
}
