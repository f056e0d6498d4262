//! Step-up: whether a verified token shows a fresh, strong authentication.
//!
//! An approval requirement with `step_up: true` counts only reviews made this way. The proof
//! is in the OIDC claims the identity provider signed: `auth_time` (when the person last
//! actually authenticated, not when the token was minted), and `acr` / `amr` (how). A token
//! refreshed for hours keeps its old `auth_time`, so a stolen or long-lived session does not
//! pass; a password-only login does not carry `mfa` or `hwk` in `amr`, so it does not pass.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::VerifiedToken;
use crate::domain::{AuthMethod, Authentication, UnixMillis};

/// What counts as a fresh strong authentication (`step_up:` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepUpPolicy {
    /// The authentication must be at most this old (default 5m).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// `acr` values that count as strong (default none: identity-provider specific, e.g.
    /// `phr`, `urn:mace:incommon:iap:silver`).
    pub acr_values: Vec<String>,
    /// `amr` values (RFC 8176) of which one must be present (default `mfa`, `hwk`).
    pub amr_values: Vec<String>,
    /// Clock skew allowed for an `auth_time` slightly in the future (default 30s).
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for StepUpPolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            acr_values: Vec::new(),
            amr_values: vec!["mfa".into(), "hwk".into()],
            leeway: Duration::from_secs(30),
        }
    }
}

/// Why a token is not a step-up authentication. The message says what is wrong; see
/// [`StepUpRefusal::remedy`] for what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepUpRefusal {
    /// The token has no `auth_time`, so its freshness is unknown.
    #[error("step-up required: the token has no auth_time")]
    NoAuthTime,
    /// The authentication happened longer ago than allowed.
    #[error(
        "step-up required: auth_time older than {} ({} ago)",
        humantime::format_duration(*max_age),
        humantime::format_duration(*age)
    )]
    Stale {
        /// How long ago it was (whole seconds).
        age: Duration,
        /// The limit.
        max_age: Duration,
    },
    /// `auth_time` is later than now (beyond the leeway): not believable.
    #[error("step-up required: auth_time is in the future")]
    InFuture,
    /// The caller did not present an identity-provider token at all (a static token or a
    /// certificate proves a workload, never a person's fresh authentication).
    #[error("step-up required: the review was not made with an identity-provider token")]
    NotAToken,
    /// Neither `acr` nor `amr` shows a strong method.
    #[error(
        "step-up required: acr/amr does not include {} (acr: {}, amr: {})",
        wanted.join(", "),
        acr.as_deref().unwrap_or("none"),
        if amr.is_empty() { "none".to_string() } else { amr.join(" ") }
    )]
    Weak {
        /// The acceptable values (acr values, then amr values).
        wanted: Vec<String>,
        /// The token's `acr`.
        acr: Option<String>,
        /// The token's `amr`.
        amr: Vec<String>,
    },
}

impl StepUpRefusal {
    /// What the reviewer should do, for the `PERMISSION_DENIED` message.
    pub fn remedy(&self) -> &'static str {
        match self {
            Self::NoAuthTime | Self::Stale { .. } | Self::InFuture | Self::NotAToken => {
                "sign in again (prompt=login, max_age) and retry with the new token"
            }
            Self::Weak { .. } => {
                "sign in again with multi-factor authentication (acr_values) and retry with the new token"
            }
        }
    }
}

/// Whether `token` proves a fresh strong authentication under `policy` at `now`.
pub fn check_step_up(
    token: &VerifiedToken,
    policy: &StepUpPolicy,
    now: SystemTime,
) -> Result<(), StepUpRefusal> {
    check_fresh(
        token.auth_time,
        token.acr.as_deref(),
        &token.amr,
        policy,
        now,
    )
}

/// Whether a caller's `authentication` is a fresh strong one under `policy` at `now`: only an
/// identity-provider token can be.
pub fn check_authentication(
    authentication: &Authentication,
    policy: &StepUpPolicy,
    now: SystemTime,
) -> Result<(), StepUpRefusal> {
    let Authentication {
        method,
        auth_time,
        acr,
        amr,
        development_step_up,
    } = authentication;
    if *development_step_up {
        return Ok(());
    }
    if !matches!(method, AuthMethod::Token { .. }) {
        return Err(StepUpRefusal::NotAToken);
    }
    let auth_time = auth_time.map(UnixMillis::to_time);
    check_fresh(auth_time, acr.as_deref(), amr, policy, now)
}

fn check_fresh(
    auth_time: Option<SystemTime>,
    acr: Option<&str>,
    amr: &[String],
    policy: &StepUpPolicy,
    now: SystemTime,
) -> Result<(), StepUpRefusal> {
    let StepUpPolicy {
        max_age,
        acr_values,
        amr_values,
        leeway,
    } = policy;
    let auth_time = auth_time.ok_or(StepUpRefusal::NoAuthTime)?;
    match now.duration_since(auth_time) {
        Ok(age) if age > *max_age => {
            return Err(StepUpRefusal::Stale {
                age: Duration::from_secs(age.as_secs()),
                max_age: *max_age,
            })
        }
        Ok(_) => {}
        Err(ahead) if ahead.duration() > *leeway => return Err(StepUpRefusal::InFuture),
        Err(_) => {}
    }
    let strong_acr = acr.is_some_and(|acr| acr_values.iter().any(|v| v == acr));
    let strong_amr = amr.iter().any(|m| amr_values.contains(m));
    let nothing_required = acr_values.is_empty() && amr_values.is_empty();
    if strong_acr || strong_amr || nothing_required {
        return Ok(());
    }
    Err(StepUpRefusal::Weak {
        wanted: acr_values.iter().chain(amr_values).cloned().collect(),
        acr: acr.map(str::to_string),
        amr: amr.to_vec(),
    })
}
