//! Reviewer notifications: Slack, Microsoft Teams and generic webhooks, through a durable
//! outbox.
//!
//! # Guarantees
//!
//! - **Written with its event.** The audit append writes a notification row for every event
//!   that notifies ([`crate::domain::NotifyKind::of`]) in the same transaction as the audit
//!   record (`store/notify_ops.rs`): a committed approval event always has its notification,
//!   a rolled-back one never does. Nothing on the decision path sends anything or waits for
//!   a channel; the worker here does it afterwards.
//! - **Once per channel, across replicas and restarts.** Routing an event to its channels is
//!   idempotent ([`crate::store::OutboxStore::route`]); each delivery is then leased to one
//!   worker by a compare-and-set, and settled only by the lease holder. A worker that dies
//!   mid-send leaves a lease that runs out, and the delivery is tried again: delivery is at
//!   least once, and in practice once (the lease outlives any attempt); webhook receivers
//!   deduplicate on `webhook-id`, which is stable across attempts.
//! - **Retried with backoff.** A failed attempt is retried after an exponentially growing,
//!   jittered delay (`Retry-After` honoured); a permanent refusal or `max_attempts` failures
//!   make it dead. Failures and dead deliveries are counted in metrics
//!   (`tollgate_notify_deliveries_total`, `tollgate_notify_outbox`), logged with their cause,
//!   and shown in the console.
//! - **In order per message.** A channel gets an approval's notifications in order: the
//!   request's Slack message is posted before any edit of it ([`slack`]).
//!
//! Layout: [`config`] (`notify:`), [`route`] (which channels, whom to mention), [`message`]
//! (what every channel shows), [`slack`], [`teams`], [`webhook`] (rendering and sending),
//! `worker.rs` (the loop).

pub mod config;
pub mod message;
pub mod route;
pub mod slack;
pub mod teams;
pub mod webhook;
mod worker;

use std::time::Duration;

pub use config::{NotifyConfig, NotifyConfigError};
pub use worker::{Notifier, NotifierParts};

/// Why one attempt to send a notification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Whether another attempt may succeed (network, 5xx, 429) or not (4xx, a refused
    /// channel).
    pub retryable: bool,
    /// What failed, safe to log and show (never a token or a URL secret).
    pub message: String,
    /// The receiver's `Retry-After`, if it gave one.
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure worth retrying.
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A refusal no retry can change.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Success for 2xx; 408, 429 and 5xx are retried (after `Retry-After` when given), other
    /// statuses are permanent.
    pub fn check_status(
        what: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
    ) -> Result<(), Self> {
        if status.is_success() {
            return Ok(());
        }
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = format!("{what}: HTTP {status}");
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(Self {
                retry_after,
                ..Self::retry(message)
            })
        } else {
            Err(Self::permanent(message))
        }
    }
}

/// The client every channel sends with: rustls with the platform's roots, timeouts, no
/// redirects (a webhook that moves is a configuration change).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, NotifyConfigError> {
    let tls_error = |e: rustls::Error| NotifyConfigError {
        field: "notify".into(),
        message: format!("TLS client setup: {e}"),
    };
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
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
        .map_err(|e| NotifyConfigError {
            field: "notify".into(),
            message: format!("HTTP client setup: {}", crate::telemetry::ErrorChain(&e)),
        })
}

/// The delay before retry number `attempt` (1 for the first retry): a random time in the upper
/// half of `initial * 2^(attempt-1)`, capped at `max` ("equal jitter": never zero, never in
/// lockstep with other replicas), and never less than the receiver's `Retry-After`.
pub fn backoff(
    retry: &config::RetryConfig,
    attempt: u32,
    retry_after: Option<Duration>,
    random: u64,
) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let ceiling = retry
        .initial
        .saturating_mul(1u32 << exp)
        .min(retry.max)
        .as_millis()
        .max(2) as u64;
    let half = ceiling / 2;
    let jittered = Duration::from_millis(half + random % (ceiling - half + 1));
    retry_after.map_or(jittered, |r| jittered.max(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_caps() {
        let r = config::RetryConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 10,
        };
        for random in [0, 1, 499, 500, u64::MAX] {
            let first = backoff(&r, 1, None, random);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let fourth = backoff(&r, 4, None, random);
            assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8));
            let late = backoff(&r, 40, None, random);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
        assert_ne!(backoff(&r, 3, None, 0), backoff(&r, 3, None, 1234));
        assert_eq!(
            backoff(&r, 1, Some(Duration::from_secs(30)), 0),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn statuses_are_retried_or_not() {
        let h = reqwest::header::HeaderMap::new();
        assert!(SendError::check_status("x", reqwest::StatusCode::OK, &h).is_ok());
        let e = SendError::check_status("x", reqwest::StatusCode::BAD_GATEWAY, &h).unwrap_err();
        assert!(e.retryable);
        let e = SendError::check_status("x", reqwest::StatusCode::NOT_FOUND, &h).unwrap_err();
        assert!(!e.retryable);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        let e =
            SendError::check_status("x", reqwest::StatusCode::TOO_MANY_REQUESTS, &h).unwrap_err();
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    }
}
