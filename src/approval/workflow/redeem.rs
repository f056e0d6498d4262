//! Redemption and expiry: the workflow steps that end a capability's or an approval's life,
//! each recorded with the change (a redemption, an expiry) or, for a refusal, through the group
//! commit before the refusal is answered.

use super::{millis_to_time, Redemption, Workflow, WorkflowError};
use crate::{
    audit::{AuditContext, AuditKind},
    capability::{CapabilityError, Grant},
    domain::{unix_millis, Approval, ApprovalState, AuthzRequest, RedeemOutcome},
    telemetry::metrics::{CapabilityEvent, Resolution},
};

impl Workflow {
    /// Verifies `token` for `req` and marks it used, once. The redemption is recorded in its
    /// compare-and-set's transaction; a refusal is recorded before it is answered.
    pub async fn redeem(
        &self,
        token: &str,
        req: &AuthzRequest,
        ctx: &AuditContext,
    ) -> Result<Redemption, WorkflowError> {
        let now = self.now();
        let grant = match self.key.verify(token, now) {
            Ok(g) => g,
            Err(e) => return self.refuse(ctx, req, e.to_string(), None, None).await,
        };
        if grant.subject != req.subject.id || grant.request_hash != req.binding_hash() {
            let reason = CapabilityError::WrongRequest.to_string();
            return self.refuse(ctx, req, reason, Some(&grant), None).await;
        }
        let mut approval = None;
        if let Some(aid) = &grant.approval_id {
            approval = self.store.get_approval(aid, unix_millis(now)).await?;
            if !approval
                .as_ref()
                .is_some_and(|a| a.state == ApprovalState::Approved)
            {
                let reason = "the approval is not in force".to_string();
                return self
                    .refuse(ctx, req, reason, Some(&grant), approval.as_ref())
                    .await;
            }
        }
        let at = unix_millis(now);
        let events = self.auditor.events(|| {
            let mut e = self.redeem_event(ctx, req, at, &grant, approval.as_ref());
            e.kind = AuditKind::CapabilityRedeemed;
            e.effect = "redeemed".into();
            vec![e]
        });
        let outcome = self
            .store
            .redeem_capability(&grant.id, &grant.request_hash, at, &events)
            .await?;
        let reason = match outcome {
            RedeemOutcome::Redeemed => {
                tracing::info!(capability.id = %grant.id, "capability redeemed");
                self.metrics.observe_capability(CapabilityEvent::Redeemed);
                return Ok(Redemption {
                    allowed: true,
                    reason: String::new(),
                    approval_id: grant.approval_id.clone(),
                    capability_id: grant.id.clone(),
                    trace_parent: trace_parent_of(approval.as_ref()),
                });
            }
            RedeemOutcome::AlreadyRedeemed => "capability already redeemed",
            RedeemOutcome::Expired => "capability expired",
            RedeemOutcome::Revoked => "capability revoked",
            RedeemOutcome::HashMismatch => "capability is bound to a different request",
            RedeemOutcome::NotFound => "capability unknown",
        };
        self.refuse(ctx, req, reason.into(), Some(&grant), approval.as_ref())
            .await
    }

    /// Records a refused redemption, then answers it.
    async fn refuse(
        &self,
        ctx: &AuditContext,
        req: &AuthzRequest,
        reason: String,
        grant: Option<&Grant>,
        approval: Option<&Approval>,
    ) -> Result<Redemption, WorkflowError> {
        let capability_id = grant.map(|g| g.id.clone()).unwrap_or_default();
        tracing::warn!(capability.id = %capability_id, reason = %reason, "capability redemption refused");
        if self.auditor.is_enabled() {
            let at = unix_millis(self.now());
            let mut e = match grant {
                Some(g) => self.redeem_event(ctx, req, at, g, approval),
                None => self
                    .auditor
                    .request_event(AuditKind::CapabilityRefused, ctx, at, req),
            };
            e.kind = AuditKind::CapabilityRefused;
            e.effect = "refused".into();
            e.reasons = vec![reason.clone()];
            self.auditor.record(e).await?;
        }
        self.metrics.observe_capability(CapabilityEvent::Refused);
        Ok(Redemption {
            allowed: false,
            reason,
            approval_id: grant.and_then(|g| g.approval_id.clone()),
            capability_id,
            trace_parent: trace_parent_of(approval),
        })
    }

    /// An event about redeeming `grant` for `req` (kind and effect set by the caller): the
    /// capability's id, never its token.
    fn redeem_event(
        &self,
        ctx: &AuditContext,
        req: &AuthzRequest,
        at: i64,
        grant: &Grant,
        approval: Option<&Approval>,
    ) -> crate::audit::AuditEvent {
        let mut e = self
            .auditor
            .request_event(AuditKind::CapabilityRedeemed, ctx, at, req);
        e.capability_id.clone_from(&grant.id);
        e.bundle_revision.clone_from(&grant.revision);
        match approval {
            Some(a) => {
                e.approval_id.clone_from(&a.id);
                e.decision_id.clone_from(&a.decision_id);
            }
            // A capability for an ALLOW carries its decision's id.
            None => e.decision_id.clone_from(&grant.id),
        }
        e
    }

    /// Expires everything past its deadline and wakes the waiters; returns how many. Each
    /// expiry is recorded in the sweep's transaction, in the trace of the decision that asked.
    pub async fn sweep(&self) -> Result<usize, WorkflowError> {
        let now = unix_millis(self.now());
        let auditor = self.auditor.clone();
        // The store hands each expired approval to `audit`; its creation time is kept for the
        // time-to-resolution histogram, so nothing is read again after the commit.
        let created = std::sync::Mutex::new(std::collections::HashMap::new());
        let audit = |a: &Approval| {
            if let Ok(mut created) = created.lock() {
                created.insert(a.id.clone(), a.created_at);
            }
            auditor.events(|| {
                let ctx = AuditContext::service(a.trace_parent.clone());
                let mut e = auditor.approval_event(AuditKind::ApprovalExpired, &ctx, now, a);
                e.effect = ApprovalState::Expired.as_str().into();
                vec![e]
            })
        };
        let ids = self.store.expire_due(now, &audit).await?;
        let created = created.into_inner().unwrap_or_else(|p| p.into_inner());
        for id in &ids {
            tracing::info!(approval.id = %id, "approval expired");
            if let Some(&at) = created.get(id) {
                self.resolved(Resolution::Expired, at, millis_to_time(now));
            }
            self.changed(id).await;
        }
        Ok(ids.len())
    }
}

/// The `traceparent` of the decision behind `approval` ("" without one), for span links.
fn trace_parent_of(approval: Option<&Approval>) -> String {
    approval.map(|a| a.trace_parent.clone()).unwrap_or_default()
}
