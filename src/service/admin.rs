//! Administration: what serves, reloading the bundle, and the outbox's failing deliveries.
//! Admins only.

use std::path::PathBuf;

use super::{Role, ServiceError, Tollgate};
use crate::{
    domain::{Caller, DeliveryStats},
    policy::LoadStatus,
};

/// Most failing deliveries one look at the outbox returns.
pub const MAX_RECENT_FAILURES: u32 = 200;

/// The serving bundle and how the latest reload went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleStatus {
    /// The load status.
    pub status: LoadStatus,
    /// Where bundles are read from.
    pub source: PathBuf,
}

impl Tollgate {
    /// What serves now.
    pub fn bundle_status(&self, caller: &Caller) -> Result<BundleStatus, ServiceError> {
        self.require(caller, Role::Admin)?;
        Ok(self.status())
    }

    /// Reads, verifies and compiles the bundle source again, off the async workers, and
    /// swaps it in only if every step passed; a refused reload leaves the serving bundle.
    pub async fn reload(&self, caller: &Caller) -> Result<BundleStatus, ServiceError> {
        self.require(caller, Role::Admin)?;
        let policies = self.inner.decider.policies().clone();
        tokio::task::spawn_blocking(move || policies.reload())
            .await
            .map_err(ServiceError::ReloadTask)??;
        Ok(self.status())
    }

    fn status(&self) -> BundleStatus {
        let policies = self.inner.decider.policies();
        BundleStatus {
            status: policies.status(),
            source: policies.source().to_path_buf(),
        }
    }

    /// The outbox's deliveries per state and the `recent` newest failing or dead ones (at
    /// most [`MAX_RECENT_FAILURES`]), with their last error and next attempt: a delivery's
    /// error can name any channel and any request, so admins only.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        recent: u32,
    ) -> Result<DeliveryStats, ServiceError> {
        self.require(caller, Role::Admin)?;
        self.inner
            .outbox
            .delivery_stats(recent.min(MAX_RECENT_FAILURES))
            .await
            .map_err(ServiceError::OutboxRead)
    }
}
