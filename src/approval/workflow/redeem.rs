//! Redemption and expiry: the workflow steps that end a capability's or an approval's life,
//! each recorded with the change (a redemption, an expiry) or, for a refusal, through the group
//! commit before the refusal is answered.

use futures::future::BoxFuture;

use super::{Redemption, Workflow, WorkflowError};
use crate::{
    capability::{CapabilityError, Grant},
    domain::{
        Approval, ApprovalState, AuditContext, AuditEvent, AuthzRequest, RedeemOutcome,
        RedeemRefusal, RedeemedCapability,
    },
    telemetry::metrics::{CapabilityEvent, Resolution},
};

/// What the caller of [`Workflow::redeem`] decides about a presented capability.
pub struct RedeemChecks<'a> {
    /// Whether the caller is in the capability's audience.
    pub in_audience: &'a (dyn Fn(&[String]) -> bool + Sync),
    /// The serving policy's decision on the presented request: `Err(reasons)` when it denies.
    pub redecide: &'a (dyn Fn(AuthzRequest) -> BoxFuture<'a, Result<(), String>> + Sync),
}

impl Workflow {
    /// Verifies `token` for `req` (its identities in canonical form) and marks it used, once:
    /// - a caller `checks.in_audience` refuses is refused with [`WorkflowError::NotAudience`],
    ///   consuming nothing;
    /// - the token must bind exactly `req` as decided by the bundle and approval it names;
    /// - its approval (if any) must still be approved;
    /// - the serving policy decides `req` again (`checks.redecide`): if it now denies (a
    ///   revoked rule, a new deny), the redemption is refused with its reasons.
    ///
    /// The redemption is recorded in its compare-and-set's transaction; a refusal is recorded
    /// before it is answered.
    pub async fn redeem(
        &self,
        token: &str,
        req: &AuthzRequest,
        ctx: &AuditContext,
        checks: RedeemChecks<'_>,
    ) -> Result<Redemption, WorkflowError> {
        let RedeemChecks {
            in_audience,
            redecide,
        } = checks;
        let now = self.now();
        let grant = match self.key.verify(token, now.to_time()) {
            Ok(g) => g,
            Err(e) => {
                let refusal = match e {
                    CapabilityError::Expired => RedeemRefusal::Expired,
                    CapabilityError::WrongRequest => RedeemRefusal::RequestMismatch,
                    _ => RedeemRefusal::Invalid,
                };
                return self
                    .refuse(ctx, req, (refusal, e.to_string()), None, None)
                    .await;
            }
        };
        if !in_audience(&grant.audience) {
            // Answered as an error, not a refusal; the kind only labels the record.
            let reason = (
                RedeemRefusal::Invalid,
                WorkflowError::NotAudience.to_string(),
            );
            self.refuse(ctx, req, reason, Some(&grant), None).await?;
            return Err(WorkflowError::NotAudience);
        }
        if !grant.binds(req) {
            let reason = (
                RedeemRefusal::RequestMismatch,
                CapabilityError::WrongRequest.to_string(),
            );
            return self.refuse(ctx, req, reason, Some(&grant), None).await;
        }
        let mut approval = None;
        if let Some(aid) = &grant.approval_id {
            approval = self.approvals.get_approval(aid, now).await?;
            if !approval
                .as_ref()
                .is_some_and(|a| a.state == ApprovalState::Approved)
            {
                let reason = (
                    RedeemRefusal::ApprovalNotInForce,
                    "the approval is not in force".to_string(),
                );
                return self
                    .refuse(ctx, req, reason, Some(&grant), approval.as_ref())
                    .await;
            }
        }
        if let Err(reasons) = redecide(req.clone()).await {
            let reason = (
                RedeemRefusal::PolicyDenies,
                format!("the serving policy no longer allows this request: {reasons}"),
            );
            return self
                .refuse(ctx, req, reason, Some(&grant), approval.as_ref())
                .await;
        }
        let events = self.auditor.events(|| {
            let presented = presented(&grant, approval.as_ref());
            vec![AuditEvent::capability_redeemed(ctx, req, now, presented)]
        });
        let outcome = self
            .capabilities
            .redeem_capability(&grant.id, &grant.request_hash, now, &events)
            .await?;
        let Some((kind, text)) = refusal_of(outcome) else {
            tracing::info!(capability.id = %grant.id, "capability redeemed");
            self.metrics.observe_capability(CapabilityEvent::Redeemed);
            return Ok(Redemption {
                allowed: true,
                reason: String::new(),
                refusal: None,
                approval_id: grant.approval_id.clone(),
                capability_id: grant.id.clone(),
                trace_parent: trace_parent_of(approval.as_ref()),
            });
        };
        let reason = (kind, text.to_string());
        self.refuse(ctx, req, reason, Some(&grant), approval.as_ref())
            .await
    }

    /// Records a refused redemption, then answers it with its kind and text.
    async fn refuse(
        &self,
        ctx: &AuditContext,
        req: &AuthzRequest,
        (refusal, reason): (RedeemRefusal, String),
        grant: Option<&Grant>,
        approval: Option<&Approval>,
    ) -> Result<Redemption, WorkflowError> {
        let capability_id = grant.map(|g| g.id.clone()).unwrap_or_default();
        tracing::warn!(capability.id = %capability_id, reason = %reason, "capability redemption refused");
        if self.auditor.is_enabled() {
            let presented = grant.map(|g| presented(g, approval));
            let event = AuditEvent::capability_refused(ctx, req, self.now(), presented, &reason);
            self.auditor.record(event).await?;
        }
        self.metrics.observe_capability(CapabilityEvent::Refused);
        Ok(Redemption {
            allowed: false,
            reason,
            refusal: Some(refusal),
            approval_id: grant.and_then(|g| g.approval_id.clone()),
            capability_id,
            trace_parent: trace_parent_of(approval),
        })
    }

    /// Expires everything past its deadline and wakes the waiters; returns how many. Each
    /// expiry is recorded in the sweep's transaction, in the trace of the decision that asked.
    pub async fn sweep(&self) -> Result<usize, WorkflowError> {
        let now = self.now();
        let auditor = self.auditor.clone();
        // The store hands each expired approval to `audit`; its creation time is kept for the
        // time-to-resolution histogram, so nothing is read again after the commit.
        let created = std::sync::Mutex::new(std::collections::HashMap::new());
        let audit = |a: &Approval| {
            if let Ok(mut created) = created.lock() {
                created.insert(a.id.clone(), a.created_at);
            }
            auditor.events(|| vec![AuditEvent::approval_expired(a, now)])
        };
        let ids = self.approvals.expire_due(now, &audit).await?;
        let created = created.into_inner().unwrap_or_else(|p| p.into_inner());
        for id in &ids {
            tracing::info!(approval.id = %id, "approval expired");
            if let Some(&at) = created.get(id) {
                self.resolved(Resolution::Expired, at, now);
            }
            self.changed(id).await;
        }
        Ok(ids.len())
    }
}

/// The refusal a stored capability's outcome is, with its text; `None` for `Redeemed`.
fn refusal_of(outcome: RedeemOutcome) -> Option<(RedeemRefusal, &'static str)> {
    Some(match outcome {
        RedeemOutcome::Redeemed => return None,
        RedeemOutcome::AlreadyRedeemed => (
            RedeemRefusal::AlreadyRedeemed,
            "capability already redeemed",
        ),
        RedeemOutcome::Expired => (RedeemRefusal::Expired, "capability expired"),
        RedeemOutcome::Revoked => (RedeemRefusal::Revoked, "capability revoked"),
        RedeemOutcome::HashMismatch => (
            RedeemRefusal::RequestMismatch,
            "capability is bound to a different request",
        ),
        RedeemOutcome::NotFound => (RedeemRefusal::NotFound, "capability unknown"),
    })
}

/// The capability a redemption presented, for its record.
fn presented<'a>(grant: &'a Grant, approval: Option<&'a Approval>) -> RedeemedCapability<'a> {
    RedeemedCapability {
        id: &grant.id,
        revision: &grant.revision,
        approval,
    }
}

/// The `traceparent` of the decision behind `approval` ("" without one), for span links.
fn trace_parent_of(approval: Option<&Approval>) -> String {
    approval.map(|a| a.trace_parent.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_refusal_has_its_kind_and_only_redeemed_has_none() {
        use RedeemOutcome as O;
        use RedeemRefusal as R;
        assert_eq!(refusal_of(O::Redeemed), None);
        let kinds = [
            (O::AlreadyRedeemed, R::AlreadyRedeemed),
            (O::Expired, R::Expired),
            (O::Revoked, R::Revoked),
            (O::HashMismatch, R::RequestMismatch),
            (O::NotFound, R::NotFound),
        ];
        for (outcome, kind) in kinds {
            assert_eq!(
                refusal_of(outcome).map(|(k, _)| k),
                Some(kind),
                "{outcome:?}"
            );
        }
    }
}
