//! The `PolicyAdmin` service: bundle status and reload.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{authorizer::identify, convert, pb, status};
use crate::{
    identity::Authenticator,
    service::{BundleStatus, Tollgate},
};

/// Serves `tollgate.v1.PolicyAdmin`.
#[derive(Clone)]
pub struct AdminService {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
}

impl AdminService {
    /// Answers with `tollgate`, identifying callers with `auth`.
    pub fn new(tollgate: Tollgate, auth: Arc<Authenticator>) -> Self {
        Self { tollgate, auth }
    }
}

fn to_proto(b: &BundleStatus) -> pb::BundleStatus {
    let s = &b.status;
    pb::BundleStatus {
        active_revision: s.active_revision.as_deref().unwrap_or_default().to_string(),
        active_digest: s.active_digest.clone().unwrap_or_default(),
        activated_at: s.activated_at.map(convert::system_time),
        source: b.source.display().to_string(),
        last_result: match &s.last_result {
            None => String::new(),
            Some(Ok(())) => "ok".into(),
            Some(Err(e)) => e.clone(),
        },
        last_attempt_at: s.last_attempt_at.map(convert::system_time),
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
        let (caller, _) = identify(&self.auth, &request).await?;
        let status = self
            .tollgate
            .bundle_status(&caller)
            .map_err(|e| status::service(&e))?;
        Ok(Response::new(to_proto(&status)))
    }

    async fn reload_bundle(
        &self,
        request: Request<pb::ReloadBundleRequest>,
    ) -> Result<Response<pb::BundleStatus>, Status> {
        let (caller, _) = identify(&self.auth, &request).await?;
        let status = self
            .tollgate
            .reload(&caller)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(Response::new(to_proto(&status)))
    }
}
