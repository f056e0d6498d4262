//! Whether the store can commit, watched so the service fails fast and says so.
//!
//! A probe (one tiny write, so a read-only or full disk counts as down) runs every second, and
//! at once when a commit fails; while the store is down it runs four times a second, and the
//! first success brings the service back by itself. gRPC health and `/healthz` report
//! NOT_SERVING with the reason while it is down, the group commit refuses at once instead of
//! queueing callers behind a dead database, and the outage is logged and counted when it
//! begins and ends.

use std::{sync::Arc, time::Duration};

use tokio::sync::{watch, Notify};

use super::{Liveness, StoreError};
use crate::telemetry::{ErrorChain, Metrics};

/// The store's availability as last probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// The last probe committed.
    Up,
    /// The last probe failed.
    Down {
        /// Why, with its causes.
        reason: String,
    },
}

/// Shared view of the store's health. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreHealth {
    state: Arc<watch::Sender<Availability>>,
    wake: Arc<Notify>,
}

impl Default for StoreHealth {
    fn default() -> Self {
        Self {
            state: Arc::new(watch::channel(Availability::Up).0),
            wake: Arc::default(),
        }
    }
}

/// How often the probe runs while the store is up, and while it is down.
const PROBE_UP: Duration = Duration::from_secs(1);
const PROBE_DOWN: Duration = Duration::from_millis(250);

impl StoreHealth {
    /// The last probe's answer.
    pub fn availability(&self) -> Availability {
        self.state.borrow().clone()
    }

    /// Why the store is down, or `None` while it is up.
    pub fn down_reason(&self) -> Option<String> {
        match &*self.state.borrow() {
            Availability::Up => None,
            Availability::Down { reason } => Some(reason.clone()),
        }
    }

    /// Follows the availability (health reporting).
    pub fn subscribe(&self) -> watch::Receiver<Availability> {
        self.state.subscribe()
    }

    /// A commit failed: probe now rather than at the next tick.
    pub fn suspect(&self) {
        self.wake.notify_one();
    }

    /// Probes `store` until `shutdown`, publishing each change, logging and counting outages.
    pub async fn run(
        self,
        store: Arc<dyn Liveness>,
        metrics: Metrics,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut down_since: Option<tokio::time::Instant> = None;
        metrics.set_store_up(true);
        loop {
            let every = if down_since.is_some() {
                PROBE_DOWN
            } else {
                PROBE_UP
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
                () = self.wake.notified() => {}
            }
            match (store.probe().await, down_since) {
                (Ok(()), None) => {}
                (Ok(()), Some(since)) => {
                    let outage = since.elapsed();
                    down_since = None;
                    metrics.set_store_up(true);
                    metrics.observe_store_outage(outage);
                    self.state.send_replace(Availability::Up);
                    tracing::warn!(
                        store.outage_ms = outage.as_millis() as u64,
                        "store available again; serving resumes"
                    );
                }
                (Err(e), since) => {
                    let reason = probe_failure(&e);
                    if since.is_none() {
                        down_since = Some(tokio::time::Instant::now());
                        metrics.set_store_up(false);
                        tracing::error!(error = %ErrorChain(&e), "store unavailable: calls that need it answer UNAVAILABLE and health is NOT_SERVING until it returns");
                    }
                    self.state.send_if_modified(|s| {
                        let next = Availability::Down { reason };
                        let changed = *s != next;
                        *s = next;
                        changed
                    });
                }
            }
        }
    }
}

fn probe_failure(e: &StoreError) -> String {
    format!("store unavailable: {}", ErrorChain(e))
}
