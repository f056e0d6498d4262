//! Reviews: recording a reviewer's verdict (or narrowing) and deciding the request once the
//! reviews are enough, each step in one transaction with its audit records.

use std::time::{Duration, SystemTime};

use super::{
    capability_detail, capability_record, ApprovalView, Narrowed, Workflow, WorkflowError,
};
use crate::{
    approval::{check_eligible, tally, Ineligible, Reviewer, Tally},
    audit::{AuditContext, AuditEvent, AuditKind},
    capability::Grant,
    domain::{
        narrowing, unix_millis, Approval, ApprovalState, AuthzRequest, CapabilityState,
        RequestChange, Requirement, Review, ReviewOutcome, ReviewVerdict,
    },
    telemetry::metrics::{CapabilityEvent, Resolution},
};

impl Workflow {
    /// Records `reviewer`'s verdict (with `narrowed` for a modify); decides the request when
    /// the reviews are enough. The review, and then the decision with its capability, are
    /// each recorded in the transaction that makes them.
    pub async fn review(
        &self,
        reviewer: &Reviewer,
        approval_id: &str,
        verdict: ReviewVerdict,
        reason: &str,
        narrowed: Option<Narrowed>,
        ctx: &AuditContext,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = self.now();
        let approval = self
            .store
            .get_approval(approval_id, unix_millis(now))
            .await?
            .ok_or_else(|| WorkflowError::NotFound(approval_id.to_string()))?;
        if approval.state != ApprovalState::Pending {
            return Err(WorkflowError::NotPending(approval.state.as_str()));
        }
        let (request, requirements) = self.parse(&approval)?;
        let prior: Vec<String> = self
            .store
            .reviews(approval_id)
            .await?
            .into_iter()
            .map(|r| r.reviewer_id)
            .collect();
        check_eligible(reviewer, &request, &requirements, &prior)?;
        let review = Review {
            approval_id: approval_id.to_string(),
            reviewer_id: reviewer.id.clone(),
            verdict,
            reason: reason.to_string(),
            groups: reviewer.groups.clone(),
            at: unix_millis(now),
        };
        let (change, changed) = match narrowed {
            Some(n) => {
                let change = self.change(&approval, &request, &n)?;
                let paths: Vec<String> = change.1;
                (Some(change.0), Some((n, paths)))
            }
            None => None.unzip(),
        };
        let events = self
            .auditor
            .events(|| vec![self.review_event(ctx, &approval, &review, changed.as_ref())]);
        let reviews = match self
            .store
            .add_review_narrowing(&review, change.as_ref(), &events)
            .await?
        {
            ReviewOutcome::Recorded(all) => all,
            ReviewOutcome::Duplicate => return Err(Ineligible::AlreadyReviewed.into()),
            ReviewOutcome::NotPending(state) => {
                return Err(WorkflowError::NotPending(state.as_str()))
            }
        };
        tracing::info!(approval.id = %approval_id, reviewer = %reviewer.id, verdict = verdict.as_str(), "review recorded");
        let (request, requirements) = match changed {
            Some((n, _)) => (n.request, n.requirements),
            None => (request, requirements),
        };
        self.settle(&approval, &request, &requirements, &reviews, ctx, now)
            .await?;
        self.changed(approval_id).await;
        self.view(approval_id, None).await.map(|mut v| {
            // The reviewer is not the requester: no capability in their answer.
            v.capability = None;
            v
        })
    }

    /// A reviewer's narrowing as a store change, checked again against the request as stored
    /// (so a narrowing built from a stale read cannot widen anything), with the changed paths.
    fn change(
        &self,
        approval: &Approval,
        request: &AuthzRequest,
        n: &Narrowed,
    ) -> Result<(RequestChange, Vec<String>), WorkflowError> {
        let changes = narrowing(
            "action.params",
            &request.action.params,
            &n.request.action.params,
        )?;
        let corrupt = |e: serde_json::Error| WorkflowError::Corrupt {
            id: approval.id.clone(),
            message: e.to_string(),
        };
        let change = RequestChange {
            request: serde_json::to_value(&n.request).map_err(corrupt)?,
            request_hash: n.request.binding_hash(),
            requirements: serde_json::to_value(&n.requirements).map_err(corrupt)?,
            previous_hash: approval.request_hash.clone(),
        };
        Ok((change, changes.into_iter().map(|c| c.path).collect()))
    }

    /// The review's event: `approval.modified` with the changed paths (not their values,
    /// which may be secrets), the narrowed request's hash and the requirements the policy gave
    /// it, for a modify; `approval.reviewed` otherwise.
    fn review_event(
        &self,
        ctx: &AuditContext,
        approval: &Approval,
        review: &Review,
        narrowed: Option<&(Narrowed, Vec<String>)>,
    ) -> AuditEvent {
        let kind = match narrowed {
            Some(_) => AuditKind::ApprovalModified,
            None => AuditKind::ApprovalReviewed,
        };
        let mut e = self.auditor.approval_event(kind, ctx, review.at, approval);
        e.effect = review.verdict.as_str().into();
        e.reasons = vec![review.reason.clone()];
        e.detail = serde_json::json!({
            "verdict": review.verdict.as_str(),
            "reason": review.reason,
            "reviewer_groups": review.groups,
        });
        if let (Some((n, paths)), Some(detail)) = (narrowed, e.detail.as_object_mut()) {
            // What the policy said about the narrowed request (no requirements: it would be
            // allowed as it is now).
            detail.insert("changes".into(), serde_json::json!(paths));
            detail.insert("requirements".into(), serde_json::json!(n.requirements));
            detail.insert(
                "request_hash".into(),
                serde_json::json!(n.request.binding_hash()),
            );
        }
        e
    }

    /// Decides the request if `reviews` are enough: denied, or approved with its capability
    /// inserted, each in one transaction with its records. Losing a race (another reviewer,
    /// the deadline) changes nothing.
    async fn settle(
        &self,
        approval: &Approval,
        request: &AuthzRequest,
        requirements: &[Requirement],
        reviews: &[Review],
        ctx: &AuditContext,
        now: SystemTime,
    ) -> Result<(), WorkflowError> {
        let counted: Vec<(Reviewer, ReviewVerdict)> = reviews
            .iter()
            .map(|r| {
                (
                    Reviewer {
                        id: r.reviewer_id.clone(),
                        kind: "user".into(),
                        groups: r.groups.clone(),
                        verified: true,
                    },
                    r.verdict,
                )
            })
            .collect();
        let at = unix_millis(now);
        match tally(requirements, &counted) {
            Tally::Denied { .. } => {
                let events = self.auditor.events(|| {
                    let mut e =
                        self.auditor
                            .approval_event(AuditKind::ApprovalDenied, ctx, at, approval);
                    e.effect = ApprovalState::Denied.as_str().into();
                    vec![e]
                });
                if self
                    .store
                    .transition(
                        &approval.id,
                        ApprovalState::Pending,
                        ApprovalState::Denied,
                        at,
                        &events,
                    )
                    .await?
                {
                    self.resolved(Resolution::Denied, approval.created_at, now);
                }
            }
            Tally::Approved => {
                let ttl = requirements
                    .iter()
                    .map(|r| r.capability_ttl)
                    .min()
                    .unwrap_or(Duration::from_secs(300));
                let grant = Grant {
                    id: approval.id.clone(),
                    ..Grant::for_request(
                        request,
                        Some(approval.id.clone()),
                        &approval.bundle_revision,
                        now,
                        ttl,
                    )
                };
                let cap = capability_record(&grant);
                let events = self.auditor.events(|| {
                    let mut approved =
                        self.auditor
                            .approval_event(AuditKind::ApprovalApproved, ctx, at, approval);
                    approved.effect = ApprovalState::Approved.as_str().into();
                    approved.capability_id.clone_from(&cap.id);
                    approved.detail = serde_json::json!({ "request_hash": cap.request_hash });
                    let mut issued = approved.clone();
                    issued.id = uuid::Uuid::now_v7().to_string();
                    issued.kind = AuditKind::CapabilityIssued;
                    issued.effect = CapabilityState::Issued.as_str().into();
                    issued.detail = capability_detail(&cap);
                    vec![approved, issued]
                });
                if self
                    .store
                    .approve_with_capability(&approval.id, &cap, at, &events)
                    .await?
                {
                    self.metrics.observe_capability(CapabilityEvent::Issued);
                    self.resolved(Resolution::Approved, approval.created_at, now);
                }
            }
            Tally::Pending { .. } => {}
        }
        Ok(())
    }
}
