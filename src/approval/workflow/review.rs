//! Reviews: recording a reviewer's verdict (or narrowing) and deciding the request once the
//! reviews are enough, each step in one transaction with its audit records.

use std::time::Duration;

use super::{ApprovalView, Narrowed, Workflow, WorkflowError};
use crate::{
    approval::{eligible_reviewer, tally, Ineligible, Standing, Tally},
    capability::Grant,
    domain::{
        narrowing, Approval, ApprovalState, AuditContext, AuditEvent, AuthzRequest, Caller,
        Narrowing, RequestChange, Requirement, Review, ReviewOutcome, ReviewVerdict, UnixMillis,
    },
    store::{ApprovalSnapshot, Settle, Settlement},
    telemetry::metrics::{CapabilityEvent, Resolution},
};

/// What a reviewer answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Approve, deny or modify.
    pub verdict: ReviewVerdict,
    /// Why, as the reviewer wrote it.
    pub reason: String,
    /// For a modify: the narrowed request, already checked against the policy.
    pub narrowed: Option<Narrowed>,
    /// The reviewer's role and step-up status; only step-up reviews count toward
    /// requirements that ask for it.
    pub standing: Standing,
}

impl Workflow {
    /// Records `caller`'s verdict on `approval_id` if the separation-of-duties rules let them
    /// review it; decides the request when the reviews are enough. The review, and then the
    /// decision with its capability, are each recorded in the transaction that makes them.
    /// The answer is the approval as a reviewer sees it (never with the capability).
    pub async fn review(
        &self,
        caller: &Caller,
        approval_id: &str,
        answer: Verdict,
        ctx: &AuditContext,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = self.now();
        let ApprovalSnapshot {
            approval, reviews, ..
        } = self.get_reviewed(approval_id).await?;
        if approval.state != ApprovalState::Pending {
            return Err(WorkflowError::NotPending(approval.state.as_str()));
        }
        let (request, requirements) = self.parse(&approval)?;
        let prior: Vec<String> = reviews.into_iter().map(|r| r.reviewer_id).collect();
        let Verdict {
            verdict,
            reason,
            narrowed,
            standing,
        } = answer;
        let reviewer = eligible_reviewer(caller, &request, &requirements, &prior, standing)?;
        let review = Review {
            approval_id: approval_id.to_string(),
            reviewer_id: reviewer.id().to_string(),
            verdict,
            reason,
            groups: reviewer.groups().to_vec(),
            at: now,
            stepped_up: reviewer.stepped_up(),
        };
        let change = narrowed
            .map(|n| self.change(&approval, &request, n))
            .transpose()?;
        let events = self.auditor.events(|| {
            vec![match &change {
                Some((c, n, paths)) => {
                    let narrowing = Narrowing {
                        paths,
                        requirements: &n.requirements,
                        request_hash: &c.request_hash,
                    };
                    AuditEvent::approval_modified(ctx, &approval, &review, &narrowing)
                }
                None => AuditEvent::approval_reviewed(ctx, &approval, &review),
            }]
        });
        let (request, requirements) = match &change {
            Some((_, n, _)) => (n.request.clone(), n.requirements.clone()),
            None => (request, requirements),
        };
        let settle = self.settle(&approval, request, requirements, ctx, now);
        let (outcome, settled) = self
            .approvals
            .review_and_settle(
                &review,
                change.as_ref().map(|(c, _, _)| c),
                &events,
                &settle,
            )
            .await?;
        let reviews = match outcome {
            ReviewOutcome::Recorded(reviews) => reviews,
            ReviewOutcome::Duplicate => return Err(Ineligible::AlreadyReviewed.into()),
            ReviewOutcome::NotPending(state) => {
                return Err(WorkflowError::NotPending(state.as_str()))
            }
        };
        tracing::info!(approval.id = %approval_id, reviewer = %review.reviewer_id, verdict = verdict.as_str(), "review recorded");
        match settled {
            Some(ApprovalState::Denied) => {
                self.resolved(Resolution::Denied, approval.created_at, now);
            }
            Some(ApprovalState::Approved) => {
                self.resolved(Resolution::Approved, approval.created_at, now);
                self.metrics.observe_capability(CapabilityEvent::Issued);
            }
            _ => {}
        }
        self.changed(approval_id).await;
        // The answer is what the review's transaction wrote (the approval as narrowed and
        // settled, every review read inside it): nothing to read again. The reviewer is not
        // the requester: no capability in their answer.
        let after = approval.reviewed(change.as_ref().map(|(c, _, _)| c), settled, now);
        let parsed = self.parse(&after)?;
        self.assemble(after, parsed, reviews, None)
    }

    /// A reviewer's narrowing as a store change, checked again against the request as stored
    /// (so a narrowing built from a stale read cannot widen anything), with the changed paths.
    fn change(
        &self,
        approval: &Approval,
        request: &AuthzRequest,
        n: Narrowed,
    ) -> Result<(RequestChange, Narrowed, Vec<String>), WorkflowError> {
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
            request_hash: n.request.request_hash(),
            requirements: serde_json::to_value(&n.requirements).map_err(corrupt)?,
            previous_hash: approval.request_hash.clone(),
        };
        let paths = changes.into_iter().map(|c| c.path).collect();
        Ok((change, n, paths))
    }

    /// The rule that decides the request once its reviews are enough, applied by the store
    /// in the review's own transaction: denied, or approved with its capability, each with
    /// its records. Losing a race (another reviewer, the deadline) changes nothing.
    fn settle(
        &self,
        approval: &Approval,
        request: AuthzRequest,
        requirements: Vec<Requirement>,
        ctx: &AuditContext,
        now: UnixMillis,
    ) -> Settle {
        let (auditor, approval, ctx) = (self.auditor.clone(), approval.clone(), ctx.clone());
        Settle::new(move |reviews| match tally(&requirements, reviews) {
            Tally::Denied { .. } => Some(Settlement::Deny {
                audit: auditor.events(|| vec![AuditEvent::approval_denied(&ctx, &approval, now)]),
            }),
            Tally::Approved => {
                let ttl = requirements
                    .iter()
                    .map(|r| r.capability_ttl)
                    .min()
                    .unwrap_or(Duration::from_secs(300));
                let bound = request.bound();
                let grant = Grant {
                    id: approval.id.clone(),
                    audience: approval.capability_audience.clone(),
                    ..Grant::for_request(
                        &bound,
                        Some(approval.id.clone()),
                        (&approval.bundle_revision, &approval.bundle_digest),
                        now.to_time(),
                        ttl,
                    )
                };
                let capability = grant.record();
                let audit = auditor.events(|| {
                    let approved =
                        AuditEvent::approval_approved(&ctx, &approval, now, (&bound, &capability));
                    let issued = AuditEvent::capability_issued(&approved, (&bound, &capability));
                    vec![approved, issued]
                });
                Some(Settlement::Approve { capability, audit })
            }
            Tally::Pending { .. } => None,
        })
    }
}
