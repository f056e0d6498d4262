//! Administration: what serves, and reloading the bundle. Admins only.

use std::path::PathBuf;

use super::{Role, ServiceError, Tollgate};
use crate::{domain::Caller, policy::LoadStatus};

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
}
