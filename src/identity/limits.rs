//! Per-identity rate limits and the pending-approvals quota, so one caller cannot flood the
//! reviewers or starve another caller.
//!
//! Each verified identity has its own GCRA bucket (`governor`) per limited call: `Authorize`
//! and `Approve`. A bucket holds `calls` tokens and refills them all over `per`, so a caller
//! may burst up to `calls` and then sustain `calls / per`. A refusal says when the next call
//! would pass ([`LimitError::retry_after`]), for a `RESOURCE_EXHAUSTED` with retry info.
//!
//! Buckets are keyed by the [canonical identity](crate::domain::IdentityId), so
//! `Agent:Bot` and `agent:bot` share one. They live in a bounded LRU cache: a bucket idle
//! for `per` is full again and indistinguishable from a new one, so it is dropped; beyond
//! `max_identities` live buckets the least recently used is dropped. LRU (not moka's default
//! TinyLFU admission) matters here: with admission, a flood of identities could keep a new
//! identity's bucket from ever being stored, and that identity would never be limited.
//!
//! # Threat model
//!
//! Trusted: the identity handed in, which the caller's credentials proved (limits run after
//! authentication, so an unauthenticated flood is the transport's business). Not trusted:
//! the caller's rate and the number of distinct identities it can present. An attacker who
//! controls more than `max_identities` verified identities can evict buckets and regain a
//! burst; that bounds memory, not the attacker, and is why the default is large.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    clock::{Clock, MonotonicClock},
    middleware::NoOpMiddleware,
    state::{InMemoryState, NotKeyed},
    Quota, RateLimiter,
};
use moka::{policy::EvictionPolicy, sync::Cache};
use serde::{Deserialize, Serialize};

use crate::domain::IdentityId;

/// One rate: at most `calls` calls in a burst, all refilled over `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Burst size, and the number of calls allowed per `per` on average.
    pub calls: NonZeroU32,
    /// The time in which a full burst refills (e.g. `1m`).
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

/// `limits:` in the config. Every key has a default that lets real agents work at machine
/// speed while keeping one runaway caller from drowning the reviewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// `Authorize` calls per identity (default 10 000 per second: a pipeline, or a gateway
    /// such as Envoy asking for every request it fronts, calls before every
    /// action, so this only stops a runaway loop from starving everyone else).
    pub authorize: Rate,
    /// `Approve` calls per identity (default 60 per minute).
    pub approve: Rate,
    /// Pending approval requests one subject may have open at once (default 100), so one
    /// agent cannot flood the reviewers.
    pub max_pending_per_subject: u32,
    /// Identities whose buckets are kept in memory (default 100 000).
    pub max_identities: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            authorize: Rate {
                calls: NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
                per: Duration::from_secs(1),
            },
            approve: Rate {
                calls: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
                per: Duration::from_secs(60),
            },
            max_pending_per_subject: 100,
            max_identities: 100_000,
        }
    }
}

/// A call that has its own per-identity bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitedCall {
    /// `Authorize`: one decision request.
    Authorize,
    /// `Approve`: one review (approve, deny or modify).
    Approve,
}

impl std::fmt::Display for LimitedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Authorize => "Authorize",
            Self::Approve => "Approve",
        })
    }
}

/// Why a call was refused: every variant is a `RESOURCE_EXHAUSTED`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The identity's bucket for this call is empty.
    #[error("rate limit exceeded for {call} by {identity}: retry after {}ms", retry_after.as_millis())]
    RateLimited {
        /// The limited call.
        call: LimitedCall,
        /// The canonical identity.
        identity: String,
        /// When the next call would pass.
        retry_after: Duration,
    },
    /// The subject already has as many pending approvals as it may.
    #[error("{subject} already has {pending} pending approval requests (limit {limit})")]
    TooManyPending {
        /// The canonical subject.
        subject: String,
        /// Its open approval requests.
        pending: u64,
        /// The configured limit.
        limit: u32,
    },
    /// The configuration cannot be turned into a limit.
    #[error("invalid limits config: {field}: {message}")]
    Config {
        /// The offending key.
        field: &'static str,
        /// Why.
        message: String,
    },
}

impl LimitError {
    /// How long the caller should wait; `None` for a quota, which frees up only when a
    /// reviewer answers or a request expires.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::TooManyPending { .. } | Self::Config { .. } => None,
        }
    }
}

type Bucket<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The per-identity buckets of one limited call.
struct Buckets<C: Clock> {
    quota: Quota,
    cache: Cache<IdentityId, Arc<Bucket<C>>>,
}

/// Per-identity limits for `Authorize` and `Approve`, and the pending quota. Cheap to share
/// (`Arc` it); every method takes `&self`.
pub struct RateLimits<C: Clock = MonotonicClock> {
    clock: C,
    authorize: Buckets<C>,
    approve: Buckets<C>,
    max_pending_per_subject: u32,
}

impl RateLimits<MonotonicClock> {
    /// Limits on the real monotonic clock.
    pub fn new(config: &LimitsConfig) -> Result<Self, LimitError> {
        Self::with_clock(config, MonotonicClock)
    }
}

impl<C> RateLimits<C>
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    /// Limits on `clock` (tests use governor's `FakeRelativeClock`).
    pub fn with_clock(config: &LimitsConfig, clock: C) -> Result<Self, LimitError> {
        let LimitsConfig {
            authorize,
            approve,
            max_pending_per_subject,
            max_identities,
        } = config;
        if *max_identities == 0 {
            return Err(LimitError::Config {
                field: "limits.max_identities",
                message: "must be at least 1".into(),
            });
        }
        Ok(Self {
            authorize: Buckets::new("limits.authorize", *authorize, *max_identities)?,
            approve: Buckets::new("limits.approve", *approve, *max_identities)?,
            clock,
            max_pending_per_subject: *max_pending_per_subject,
        })
    }

    /// Takes one token from `identity`'s bucket for `call`, or says when to retry.
    pub fn check(&self, call: LimitedCall, identity: &IdentityId) -> Result<(), LimitError> {
        let buckets = match call {
            LimitedCall::Authorize => &self.authorize,
            LimitedCall::Approve => &self.approve,
        };
        let bucket = buckets.cache.get_with_by_ref(identity, || {
            Arc::new(RateLimiter::direct_with_clock(
                buckets.quota,
                self.clock.clone(),
            ))
        });
        bucket.check().map_err(|not_until| {
            let retry_after = not_until.wait_time_from(self.clock.now());
            tracing::info!(
                identity = %identity,
                call = %call,
                retry_after_ms = retry_after.as_millis(),
                "rate limited"
            );
            LimitError::RateLimited {
                call,
                identity: identity.to_string(),
                retry_after,
            }
        })
    }

    /// Whether `subject`, which has `pending` open approval requests (counted by the store),
    /// may open another one.
    pub fn check_pending(&self, subject: &IdentityId, pending: u64) -> Result<(), LimitError> {
        if pending < u64::from(self.max_pending_per_subject) {
            return Ok(());
        }
        tracing::info!(
            subject = %subject,
            pending,
            limit = self.max_pending_per_subject,
            "pending approvals quota reached"
        );
        Err(LimitError::TooManyPending {
            subject: subject.to_string(),
            pending,
            limit: self.max_pending_per_subject,
        })
    }

    /// Identities with a live bucket for `call` (after pending evictions run); for metrics
    /// and tests of the memory bound.
    pub fn tracked(&self, call: LimitedCall) -> u64 {
        let buckets = match call {
            LimitedCall::Authorize => &self.authorize,
            LimitedCall::Approve => &self.approve,
        };
        buckets.cache.run_pending_tasks();
        buckets.cache.entry_count()
    }
}

impl<C> Buckets<C>
where
    C: Clock + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    fn new(field: &'static str, rate: Rate, max_identities: u64) -> Result<Self, LimitError> {
        let Rate { calls, per } = rate;
        let quota = Quota::with_period(per / calls.get())
            .ok_or_else(|| LimitError::Config {
                field,
                message: format!("{calls} calls per {per:?} is faster than one per nanosecond"),
            })?
            .allow_burst(calls);
        let cache = Cache::builder()
            .max_capacity(max_identities)
            .eviction_policy(EvictionPolicy::lru())
            // Idle this long, a bucket has refilled: dropping it forgets nothing.
            .time_to_idle(per)
            .build();
        Ok(Self { quota, cache })
    }
}

#[cfg(test)]
mod tests;
