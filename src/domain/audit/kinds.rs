//! One constructor per event kind. Each says, in one place, what its kind records, so the
//! trail's contract (`docs/audit.md`) can be read off this file and no caller assembles an
//! event field by field.

use serde_json::{json, Value};

use super::{AuditContext, AuditEvent, AuditKind};
use crate::domain::{
    Approval, ApprovalState, AuthzRequest, Bound, Capability, CapabilityState, Decision,
    Requirement, Review, UnixMillis,
};

/// A request as the trail may hold it: masked, with the paths that were masked.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedInput {
    /// The request as JSON after masking.
    pub input: Value,
    /// The mask paths that matched.
    pub masked: Vec<String>,
}

/// What a reviewer's narrowing changed, as recorded: the changed paths (never their values,
/// which may be secrets), the narrowed request's binding hash and the requirements the policy
/// gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrowing<'a> {
    /// Changed parameter paths.
    pub paths: &'a [String],
    /// Requirements of the narrowed request (empty: it would be allowed as it is).
    pub requirements: &'a [Requirement],
    /// Binding hash of the narrowed request.
    pub request_hash: &'a str,
}

/// The capability a redemption presented, as far as it could be read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedeemedCapability<'a> {
    /// The capability id (`jti`).
    pub id: &'a str,
    /// The bundle revision that granted it.
    pub revision: &'a str,
    /// The approval it came from, when it came from one.
    pub approval: Option<&'a Approval>,
}

impl AuditEvent {
    /// An `Authorize` decision on `req`, with its (masked) input.
    pub fn decision(
        ctx: &AuditContext,
        decision: &Decision,
        req: &AuthzRequest,
        recorded: RecordedInput,
    ) -> Self {
        let v = &decision.verdict;
        Self {
            effect: v.effect.as_str().to_string(),
            reasons: v.reasons.clone(),
            decision_id: decision.id.clone(),
            bundle_revision: decision.revision.to_string(),
            input: recorded.input,
            detail: json!({
                "bundle_digest": &*decision.bundle_digest,
                "masked": recorded.masked,
                "risk": v.risk,
                "requirements": v.requirements,
                "obligations": v.obligations,
                "cached": decision.cached,
                "on_behalf_of": decision.on_behalf_of.as_str(),
            }),
            ..Self::about(
                AuditKind::Decision,
                ctx,
                UnixMillis::from_time(decision.decided_at),
                req,
            )
        }
    }

    /// This decision event, marked as a dry run's (`detail.dry_run`): decided and recorded,
    /// but nothing acted on it (no approval opened, no capability minted), so an auditor
    /// does not look for the approval a PENDING_APPROVAL would otherwise have opened.
    pub fn as_dry_run(mut self) -> Self {
        if let Some(detail) = self.detail.as_object_mut() {
            detail.insert("dry_run".into(), serde_json::Value::Bool(true));
        }
        self
    }

    /// This decision event, naming the approval it created.
    pub fn for_approval(self, approval_id: &str) -> Self {
        Self {
            approval_id: approval_id.to_string(),
            ..self
        }
    }

    /// This decision or approval event, naming the capability minted with it.
    pub fn with_capability(self, capability_id: &str) -> Self {
        Self {
            capability_id: capability_id.to_string(),
            ..self
        }
    }

    /// A PENDING_APPROVAL decision became the durable request `approval` at `at`.
    pub fn approval_requested(
        ctx: &AuditContext,
        approval: &Approval,
        at: UnixMillis,
        reasons: &[String],
        requirements: &[Requirement],
    ) -> Self {
        Self {
            effect: ApprovalState::Pending.as_str().into(),
            reasons: reasons.to_vec(),
            detail: json!({
                "requirements": requirements,
                "expires_at": approval.expires_at,
                "request_hash": approval.request_hash,
            }),
            ..Self::of_approval(AuditKind::ApprovalRequested, ctx, at, approval)
        }
    }

    /// A reviewer approved or denied `approval`.
    pub fn approval_reviewed(ctx: &AuditContext, approval: &Approval, review: &Review) -> Self {
        Self {
            effect: review.verdict.as_str().into(),
            reasons: vec![review.reason.clone()],
            detail: json!({
                "verdict": review.verdict.as_str(),
                "reason": review.reason,
                "reviewer_groups": review.groups,
            }),
            ..Self::of_approval(AuditKind::ApprovalReviewed, ctx, review.at, approval)
        }
    }

    /// A reviewer narrowed `approval`: the review, plus what the narrowing changed.
    pub fn approval_modified(
        ctx: &AuditContext,
        approval: &Approval,
        review: &Review,
        narrowing: &Narrowing<'_>,
    ) -> Self {
        Self {
            kind: AuditKind::ApprovalModified,
            detail: json!({
                "verdict": review.verdict.as_str(),
                "reason": review.reason,
                "reviewer_groups": review.groups,
                "changes": narrowing.paths,
                "requirements": narrowing.requirements,
                "request_hash": narrowing.request_hash,
            }),
            ..Self::approval_reviewed(ctx, approval, review)
        }
    }

    /// The reviews met every requirement of `approval`; `capability` was minted for `request`
    /// (the approved request, narrowed if a reviewer narrowed it).
    pub fn approval_approved(
        ctx: &AuditContext,
        approval: &Approval,
        at: UnixMillis,
        (request, capability): (&Bound<'_>, &Capability),
    ) -> Self {
        Self {
            effect: ApprovalState::Approved.as_str().into(),
            capability_id: capability.id.clone(),
            detail: json!({
                "request_hash": request.request_hash(),
                "binding": capability.request_hash,
            }),
            ..Self::of_approval(AuditKind::ApprovalApproved, ctx, at, approval)
        }
    }

    /// An eligible reviewer denied `approval`: it is over.
    pub fn approval_denied(ctx: &AuditContext, approval: &Approval, at: UnixMillis) -> Self {
        Self::approval_ended(
            AuditKind::ApprovalDenied,
            ApprovalState::Denied,
            ctx,
            approval,
            at,
        )
    }

    /// The requester withdrew `approval`.
    pub fn approval_cancelled(ctx: &AuditContext, approval: &Approval, at: UnixMillis) -> Self {
        let kind = AuditKind::ApprovalCancelled;
        Self::approval_ended(kind, ApprovalState::Cancelled, ctx, approval, at)
    }

    /// Nobody decided `approval` before its deadline; the service expired it, in the trace of
    /// the decision that asked.
    pub fn approval_expired(approval: &Approval, at: UnixMillis) -> Self {
        let ctx = AuditContext::service(approval.trace_parent.clone());
        let kind = AuditKind::ApprovalExpired;
        Self::approval_ended(kind, ApprovalState::Expired, &ctx, approval, at)
    }

    /// `capability` was minted for `request` with `with` (the decision that allowed, or the
    /// approval that approved): the same parties, ids and trace, the capability's facts
    /// (`request_hash` of the request, `binding` of request, bundle and approval, audience),
    /// never its token.
    pub fn capability_issued(
        with: &AuditEvent,
        (request, capability): (&Bound<'_>, &Capability),
    ) -> Self {
        // Field by field: `..with.clone()` copied the decision's input and detail only to drop
        // them. Every field is named, so a new one does not compile until it is placed.
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at: with.at,
            kind: AuditKind::CapabilityIssued,
            actor: with.actor.clone(),
            subject_id: with.subject_id.clone(),
            action: with.action.clone(),
            resource_type: with.resource_type.clone(),
            resource_id: with.resource_id.clone(),
            effect: CapabilityState::Issued.as_str().into(),
            reasons: Vec::new(),
            decision_id: with.decision_id.clone(),
            approval_id: with.approval_id.clone(),
            capability_id: capability.id.clone(),
            bundle_revision: with.bundle_revision.clone(),
            trace_id: with.trace_id.clone(),
            input: Value::Null,
            detail: json!({
                "request_hash": request.request_hash(),
                "binding": capability.request_hash,
                "audience": capability.audience,
                "issued_at": capability.issued_at,
                "expires_at": capability.expires_at,
            }),
        }
    }

    /// `capability` was used, once, for `req`.
    pub fn capability_redeemed(
        ctx: &AuditContext,
        req: &AuthzRequest,
        at: UnixMillis,
        capability: RedeemedCapability<'_>,
    ) -> Self {
        Self {
            effect: "redeemed".into(),
            ..Self::redemption(
                AuditKind::CapabilityRedeemed,
                ctx,
                req,
                at,
                Some(capability),
            )
        }
    }

    /// A redemption of `capability` (when its token could be read) for `req` was refused.
    pub fn capability_refused(
        ctx: &AuditContext,
        req: &AuthzRequest,
        at: UnixMillis,
        capability: Option<RedeemedCapability<'_>>,
        reason: &str,
    ) -> Self {
        Self {
            effect: "refused".into(),
            reasons: vec![reason.to_string()],
            ..Self::redemption(AuditKind::CapabilityRefused, ctx, req, at, capability)
        }
    }

    /// Bundle `revision` started deciding; `attempts` activations are coalesced into this one.
    pub fn bundle_activated(
        at: UnixMillis,
        revision: &str,
        digest: Option<&str>,
        attempts: u64,
    ) -> Self {
        Self {
            effect: "activated".into(),
            bundle_revision: revision.to_string(),
            detail: json!({ "bundle_digest": digest, "attempts": attempts }),
            ..Self::new(AuditKind::BundleActivated, at, super::SERVICE_ACTOR)
        }
    }

    /// A bundle failed to load, verify or compile with `error`; `revision` (with `digest`)
    /// keeps serving.
    pub fn bundle_rejected(
        at: UnixMillis,
        revision: &str,
        digest: Option<&str>,
        error: &str,
        attempts: u64,
    ) -> Self {
        Self {
            effect: "rejected".into(),
            reasons: vec![error.to_string()],
            bundle_revision: revision.to_string(),
            detail: json!({ "bundle_digest": digest, "error": error, "attempts": attempts }),
            ..Self::new(AuditKind::BundleRejected, at, super::SERVICE_ACTOR)
        }
    }

    /// `actor` let the bundle with `digest` serve once although older than the release floor
    /// (`floor_revision`, `floor_sequence`).
    pub fn bundle_rollback_allowed(
        at: UnixMillis,
        actor: &str,
        digest: &str,
        (floor_revision, floor_sequence): (&str, i64),
    ) -> Self {
        Self {
            effect: "rollback_allowed".into(),
            detail: json!({
                "bundle_digest": digest,
                "floor_revision": floor_revision,
                "floor_sequence": floor_sequence,
            }),
            ..Self::new(AuditKind::BundleRollbackAllowed, at, actor)
        }
    }

    /// An event of `kind` about `req` (subject, action, resource) by `ctx` at `at`.
    fn about(kind: AuditKind, ctx: &AuditContext, at: UnixMillis, req: &AuthzRequest) -> Self {
        Self {
            subject_id: req.subject.id.clone(),
            action: req.action.name.clone(),
            resource_type: req.resource.kind.clone(),
            resource_id: req.resource.id.clone(),
            trace_id: ctx.trace_id(),
            ..Self::new(kind, at, ctx.actor.clone())
        }
    }

    /// An event about a stored approval at `at`. The input is left out: the approval's
    /// decision record holds it, masked.
    fn of_approval(
        kind: AuditKind,
        ctx: &AuditContext,
        at: UnixMillis,
        approval: &Approval,
    ) -> Self {
        let resource = &approval.request["resource"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Self {
            subject_id: approval.subject_id.clone(),
            action: approval.action.clone(),
            resource_type: text(&resource["type"]),
            resource_id: text(&resource["id"]),
            decision_id: approval.decision_id.clone(),
            approval_id: approval.id.clone(),
            bundle_revision: approval.bundle_revision.clone(),
            trace_id: ctx.trace_id(),
            ..Self::new(kind, at, ctx.actor.clone())
        }
    }

    fn approval_ended(
        kind: AuditKind,
        state: ApprovalState,
        ctx: &AuditContext,
        approval: &Approval,
        at: UnixMillis,
    ) -> Self {
        Self {
            effect: state.as_str().into(),
            ..Self::of_approval(kind, ctx, at, approval)
        }
    }

    /// A redemption of `capability` for `req`: the request's parties and binding hash, but not
    /// its input (the policy's mask paths for it are not known here, so nothing of it that
    /// could be a secret is recorded).
    fn redemption(
        kind: AuditKind,
        ctx: &AuditContext,
        req: &AuthzRequest,
        at: UnixMillis,
        capability: Option<RedeemedCapability<'_>>,
    ) -> Self {
        let mut e = Self {
            detail: json!({ "request_hash": req.request_hash() }),
            ..Self::about(kind, ctx, at, req)
        };
        if let Some(c) = capability {
            e.capability_id = c.id.to_string();
            e.bundle_revision = c.revision.to_string();
            match c.approval {
                Some(a) => {
                    e.approval_id.clone_from(&a.id);
                    e.decision_id.clone_from(&a.decision_id);
                }
                // A capability for an ALLOW carries its decision's id.
                None => e.decision_id = c.id.to_string(),
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capability's record keeps every field of the event it comes with but its own: the
    /// same as copying that event whole and replacing them (the construction it replaced),
    /// with every field of `with` set to something distinct.
    #[test]
    fn a_capability_record_carries_its_decisions_fields_and_nothing_of_its_input() {
        let with = AuditEvent {
            id: "decision-event".into(),
            at: UnixMillis(1_234),
            kind: AuditKind::Decision,
            actor: "agent:a".into(),
            subject_id: "agent:s".into(),
            action: "data.export".into(),
            resource_type: "dataset".into(),
            resource_id: "users".into(),
            effect: "ALLOW".into(),
            reasons: vec!["allowed".into()],
            decision_id: "decision-1".into(),
            approval_id: "approval-1".into(),
            capability_id: String::new(),
            bundle_revision: "rev-7".into(),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            input: json!({"action": {"params": {"rows": 500}}}),
            detail: json!({"bundle_digest": "sha256:abc"}),
        };
        let request: AuthzRequest = serde_json::from_value(json!({
            "subject": {"id": "agent:s", "kind": "agent"},
            "action": {"name": "data.export", "params": {"rows": 500}},
            "resource": {"type": "dataset", "id": "users"},
        }))
        .unwrap();
        let capability = Capability {
            id: "cap-1".into(),
            approval_id: Some("approval-1".into()),
            request_hash: "binding".into(),
            state: CapabilityState::Issued,
            issued_at: UnixMillis(1_234),
            expires_at: UnixMillis(61_234),
            redeemed_at: None,
            audience: vec!["agent:executor".into()],
        };
        let bound = request.bound();
        let issued = AuditEvent::capability_issued(&with, (&bound, &capability));
        assert_ne!(issued.id, with.id);
        let expected = AuditEvent {
            id: issued.id.clone(),
            kind: AuditKind::CapabilityIssued,
            effect: "issued".into(),
            reasons: Vec::new(),
            capability_id: "cap-1".into(),
            input: Value::Null,
            detail: json!({
                "request_hash": request.request_hash(),
                "binding": "binding",
                "audience": ["agent:executor"],
                "issued_at": 1_234,
                "expires_at": 61_234,
            }),
            ..with.clone()
        };
        assert_eq!(issued, expected);
    }
}
