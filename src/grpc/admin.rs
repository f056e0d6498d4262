//! The `PolicyAdmin` service: bundle status and reload.

use std::{sync::Arc, time::SystemTime};

use tonic::{Request, Response, Status};

use super::{authorizer::caller, pb, status};
use crate::{
    identity::Authenticator,
    policy::{LoadStatus, ActivePolicy},
};

/// Serves `tollgate.v1.PolicyAdmin`.
#[derive(Clone)]
pub struct AdminService {
    policies: Arc<ActivePolicy>,
    auth: Arc<Authenticator>,
}

impl AdminService {
    /// Administers `policies`; callers must be in the admin group.
    pub fn new(policies: Arc<ActivePolicy>, auth: Arc<Authenticator>) -> Self {
        Self { policies, auth }
    }

    fn check_admin<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let caller = caller(&self.auth, req)?;
        if self.auth.is_admin(&caller) {
            Ok(())
        } else {
            Err(Status::permission_denied(
                "caller is not in the admin group",
            ))
        }
    }

    fn status(&self) -> pb::BundleStatus {
        to_proto(&self.policies.status(), self.policies.source())
    }
}

fn ts(t: Option<SystemTime>) -> Option<prost_types::Timestamp> {
    t.map(prost_types::Timestamp::from)
}

fn to_proto(s: &LoadStatus, source: &std::path::Path) -> pb::BundleStatus {
    pb::BundleStatus {
        active_revision: s.active_revision.as_deref().unwrap_or_default().to_string(),
        active_digest: s.active_digest.clone().unwrap_or_default(),
        activated_at: ts(s.activated_at),
        source: source.display().to_string(),
        last_result: match &s.last_result {
            None => String::new(),
            Some(Ok(())) => "ok".into(),
            Some(Err(e)) => e.clone(),
        },
        last_attempt_at: ts(s.last_attempt_at),
        activations: s.activations,
        rejections: s.rejections,
        engine: s
            .engine
            .as_ref()
            .map(|e| e.as_str().to_string())
            .unwrap_or_default(),
        engine_reason: s
            .engine
            .as_ref()
            .and_then(|e| e.vm_refusal())
            .unwrap_or_default()
            .to_string(),
    }
}

#[tonic::async_trait]
impl pb::policy_admin_server::PolicyAdmin for AdminService {
    async fn get_bundle_status(
        &self,
        request: Request<pb::GetBundleStatusRequest>,
    ) -> Result<Response<pb::BundleStatus>, Status> {
        self.check_admin(&request)?;
        Ok(Response::new(self.status()))
    }

    async fn reload_bundle(
        &self,
        request: Request<pb::ReloadBundleRequest>,
    ) -> Result<Response<pb::BundleStatus>, Status> {
        self.check_admin(&request)?;
        let policies = self.policies.clone();
        let result = tokio::task::spawn_blocking(move || policies.reload())
            .await
            .map_err(|_| Status::internal("reload task failed"))?;
        match result {
            Ok(_) => Ok(Response::new(self.status())),
            Err(e) => Err(status::load(&e)),
        }
    }
}
