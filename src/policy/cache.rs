//! The optional decision cache: a short-TTL memo of ALLOW and DENY verdicts keyed by the
//! full input and the bundle digest. PENDING_APPROVAL and failed evaluations are never
//! cached: each must create or retry real work.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use serde::{Deserialize, Serialize};

use crate::domain::{AuthzRequest, Effect, Verdict};

/// Decision cache settings; off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Whether to cache at all.
    pub enabled: bool,
    /// How long a verdict stays cached.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Most cached verdicts.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            ttl: Duration::from_secs(5),
            max_entries: 100_000,
        }
    }
}

/// Cached verdicts.
#[derive(Clone)]
pub struct DecisionCache {
    inner: Cache<(Arc<str>, String), Arc<Verdict>>,
}

impl DecisionCache {
    /// A cache per `config`, or `None` when disabled.
    pub fn new(config: &CacheConfig) -> Option<Self> {
        config.enabled.then(|| Self {
            inner: Cache::builder()
                .max_capacity(config.max_entries)
                .time_to_live(config.ttl)
                .build(),
        })
    }

    /// The key: bundle digest and the canonical JSON of the whole request (object keys are
    /// sorted, so equal requests give equal keys).
    pub fn key(digest: &str, req: &AuthzRequest) -> Option<(Arc<str>, String)> {
        serde_json::to_string(req)
            .ok()
            .map(|s| (Arc::from(digest), s))
    }

    /// A cached verdict.
    pub fn get(&self, key: &(Arc<str>, String)) -> Option<Arc<Verdict>> {
        self.inner.get(key)
    }

    /// Remembers `verdict` if it may be cached.
    pub fn put(&self, key: (Arc<str>, String), verdict: &Verdict) {
        if matches!(verdict.effect, Effect::Allow | Effect::Deny) {
            self.inner.insert(key, Arc::new(verdict.clone()));
        }
    }
}
