//! The `Approvals` service: reviews, waits and redemptions over the approval workflow.

use std::{pin::Pin, sync::Arc, time::SystemTime};

use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::{wrappers::ReceiverStream, Stream};
use tonic::{Request, Response, Status};
use tracing::{Instrument as _, Span};

use super::{
    authorizer::{audit_context, caller},
    convert, pb, status, trace,
};
use crate::{
    approval::{ApprovalView, Narrowed, Reviewer, Workflow},
    domain::{ApprovalState, Effect, InvalidField, ReviewVerdict},
    identity::{Authenticator, Caller},
    service::Decider,
    store::{ApprovalFilter, Page},
};

/// Serves `tollgate.v1.Approvals`.
#[derive(Clone)]
pub struct ApprovalsService {
    workflow: Workflow,
    auth: Arc<Authenticator>,
    decider: Decider,
}

impl ApprovalsService {
    /// Answers over `workflow`, identifying callers with `auth`; narrowed requests are
    /// re-evaluated with `decider`.
    pub fn new(workflow: Workflow, auth: Arc<Authenticator>, decider: Decider) -> Self {
        Self {
            workflow,
            auth,
            decider,
        }
    }

    /// Builds a reviewer's narrowing and asks the policy about it: a DENY refuses it, a
    /// PENDING gives its requirements, an ALLOW needs no more approvals.
    async fn narrowed(
        &self,
        approval_id: &str,
        params: Option<prost_types::Struct>,
    ) -> Result<Narrowed, Status> {
        let Some(params) = params else {
            return Err(status::invalid(&InvalidField::new(
                "params",
                "is required for VERDICT_MODIFY",
            )));
        };
        let params = convert::structure(Some(params), "params").map_err(|f| status::invalid(&f))?;
        let request = self
            .workflow
            .narrow(approval_id, params)
            .await
            .map_err(|e| status::workflow(&e))?;
        // The stored request's subject is already the verified requester.
        let (decision, request) = self
            .decider
            .decide(&Caller::insecure(), request)
            .await
            .map_err(|e| status::decide(&e))?;
        let requirements = match decision.verdict.effect {
            Effect::Deny => {
                return Err(Status::failed_precondition(format!(
                    "the narrowed request is denied by policy: {}",
                    decision.verdict.reasons.join("; ")
                )))
            }
            Effect::PendingApproval => decision.verdict.requirements,
            Effect::Allow => Vec::new(),
        };
        Ok(Narrowed {
            request,
            requirements,
        })
    }
}

fn required(field: &str, value: &str) -> Result<(), Status> {
    if value.trim().is_empty() {
        return Err(status::invalid(&InvalidField::new(field, "is required")));
    }
    Ok(())
}

/// Who sees the capability: the verified caller, or anyone in insecure mode.
fn viewer(caller: &Caller) -> Option<&str> {
    caller.verified.then_some(caller.id.as_str())
}

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    let t =
        SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    Some(prost_types::Timestamp::from(t))
}

fn state(s: ApprovalState) -> pb::ApprovalState {
    match s {
        ApprovalState::Pending => pb::ApprovalState::Pending,
        ApprovalState::Approved => pb::ApprovalState::Approved,
        ApprovalState::Denied => pb::ApprovalState::Denied,
        ApprovalState::Expired => pb::ApprovalState::Expired,
        ApprovalState::Cancelled => pb::ApprovalState::Cancelled,
    }
}

fn to_proto(v: &ApprovalView) -> pb::Approval {
    let a = &v.approval;
    pb::Approval {
        id: a.id.clone(),
        decision_id: a.decision_id.clone(),
        state: state(a.state) as i32,
        request: Some(convert::to_request(&v.request)),
        requirements: v.requirements.iter().map(convert::requirement).collect(),
        reviews: v
            .reviews
            .iter()
            .map(|r| pb::Review {
                reviewer_id: r.reviewer_id.clone(),
                verdict: match r.verdict {
                    ReviewVerdict::Deny => pb::Verdict::Deny,
                    ReviewVerdict::Approve => pb::Verdict::Approve,
                    ReviewVerdict::Modify => pb::Verdict::Modify,
                } as i32,
                reason: r.reason.clone(),
                reviewed_at: ts(r.at),
            })
            .collect(),
        bundle_revision: a.bundle_revision.clone(),
        created_at: ts(a.created_at),
        expires_at: ts(a.expires_at),
        capability: v
            .capability
            .as_ref()
            .map(|(t, _)| t.clone())
            .unwrap_or_default(),
        capability_expires_at: v
            .capability
            .as_ref()
            .map(|(_, e)| prost_types::Timestamp::from(*e)),
        original_request: v.original_request.as_ref().map(convert::to_request),
        changes: v
            .changes
            .iter()
            .map(|c| pb::ParamChange {
                path: c.path.clone(),
                before: Some(convert::to_value(&c.before)),
                after: Some(convert::to_value(&c.after)),
            })
            .collect(),
    }
}

type WaitStream = Pin<Box<dyn Stream<Item = Result<pb::Approval, Status>> + Send>>;

impl ApprovalsService {
    async fn approve_in(
        &self,
        request: Request<pb::ApproveRequest>,
        span: &Span,
    ) -> Result<pb::Approval, Status> {
        let caller = caller(&self.auth, &request)?;
        let ctx = audit_context(&caller, request.metadata(), span);
        let req = request.into_inner();
        required("approval_id", &req.approval_id)?;
        required("reason", &req.reason)?;
        if req.reason.len() > 2048 {
            return Err(status::invalid(&InvalidField::new(
                "reason",
                "longer than 2048 bytes",
            )));
        }
        let (verdict, narrowed) = match req.verdict() {
            pb::Verdict::Approve => (ReviewVerdict::Approve, None),
            pb::Verdict::Deny => (ReviewVerdict::Deny, None),
            pb::Verdict::Modify => (
                ReviewVerdict::Modify,
                Some(self.narrowed(&req.approval_id, req.params.clone()).await?),
            ),
            pb::Verdict::Unspecified => {
                return Err(status::invalid(&InvalidField::new(
                    "verdict",
                    "must be VERDICT_APPROVE, VERDICT_DENY or VERDICT_MODIFY",
                )))
            }
        };
        let reviewer = Reviewer {
            id: caller.id.clone(),
            kind: caller.kind.clone(),
            groups: caller.groups.clone(),
            verified: caller.verified,
        };
        let view = self
            .workflow
            .review(
                &reviewer,
                &req.approval_id,
                verdict,
                &req.reason,
                narrowed,
                &ctx,
            )
            .await
            .map_err(|e| status::workflow(&e))?;
        trace::record_approval(span, &view);
        Ok(to_proto(&view))
    }

    async fn get_approval_in(
        &self,
        request: Request<pb::GetApprovalRequest>,
        span: &Span,
    ) -> Result<pb::Approval, Status> {
        let caller = caller(&self.auth, &request)?;
        let id = request.into_inner().approval_id;
        required("approval_id", &id)?;
        let view = self
            .workflow
            .view(&id, viewer(&caller))
            .await
            .map_err(|e| status::workflow(&e))?;
        trace::record_approval(span, &view);
        Ok(to_proto(&view))
    }

    /// A listing spans many approvals, so its span names none of them.
    async fn list_approvals_in(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Result<pb::ListApprovalsResponse, Status> {
        let caller = caller(&self.auth, &request)?;
        let req = request.into_inner();
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let state = match req.state() {
            pb::ApprovalState::Unspecified => None,
            pb::ApprovalState::Pending => Some(ApprovalState::Pending),
            pb::ApprovalState::Approved => Some(ApprovalState::Approved),
            pb::ApprovalState::Denied => Some(ApprovalState::Denied),
            pb::ApprovalState::Expired => Some(ApprovalState::Expired),
            pb::ApprovalState::Cancelled => Some(ApprovalState::Cancelled),
        };
        if req.page_size > 500 {
            return Err(status::invalid(&InvalidField::new(
                "page_size",
                "at most 500",
            )));
        }
        let filter = ApprovalFilter {
            state,
            subject_id: non_empty(req.subject_id),
            action: non_empty(req.action),
            reviewer_id: non_empty(req.reviewer_id),
        };
        let page = Page {
            limit: if req.page_size == 0 {
                50
            } else {
                req.page_size
            },
            after_id: non_empty(req.page_token),
        };
        let listed = self
            .workflow
            .list(&filter, &page)
            .await
            .map_err(|e| status::workflow(&e))?;
        let mut approvals = Vec::with_capacity(listed.items.len());
        for a in listed.items {
            let view = self
                .workflow
                .view(&a.id, viewer(&caller))
                .await
                .map_err(|e| status::workflow(&e))?;
            approvals.push(to_proto(&view));
        }
        Ok(pb::ListApprovalsResponse {
            approvals,
            next_page_token: listed.next.unwrap_or_default(),
        })
    }

    async fn cancel_approval_in(
        &self,
        request: Request<pb::CancelApprovalRequest>,
        span: &Span,
    ) -> Result<pb::Approval, Status> {
        let caller = caller(&self.auth, &request)?;
        let ctx = audit_context(&caller, request.metadata(), span);
        let id = request.into_inner().approval_id;
        required("approval_id", &id)?;
        let view = self
            .workflow
            .cancel(viewer(&caller), &id, &ctx)
            .await
            .map_err(|e| status::workflow(&e))?;
        trace::record_approval(span, &view);
        Ok(to_proto(&view))
    }

    async fn wait_for_decision_in(
        &self,
        request: Request<pb::WaitForDecisionRequest>,
        span: &Span,
    ) -> Result<WaitStream, Status> {
        let caller = caller(&self.auth, &request)?;
        let id = request.into_inner().approval_id;
        required("approval_id", &id)?;
        let viewer = viewer(&caller).map(str::to_string);
        // Subscribe before the first read, so no change between the two is missed.
        let mut changes = self.workflow.subscribe();
        let first = self
            .workflow
            .view(&id, viewer.as_deref())
            .await
            .map_err(|e| status::workflow(&e))?;
        trace::record_approval(span, &first);
        let (tx, rx) = mpsc::channel(8);
        let workflow = self.workflow.clone();
        // The call's span lasts as long as the stream: the wait is the call.
        let waiting = async move {
            let mut view = first;
            loop {
                let terminal = view.approval.state.is_terminal();
                let reviews = view.reviews.len();
                if tx.send(Ok(to_proto(&view))).await.is_err() || terminal {
                    return;
                }
                let deadline = crate::approval::workflow::deadline(&view.approval);
                // Wait for a change to this approval, its deadline, or the client leaving.
                loop {
                    tokio::select! {
                        changed = changes.recv() => match changed {
                            Ok(changed) if changed != id => continue,
                            Ok(_) | Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => return,
                        },
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = tx.closed() => return,
                    }
                    match workflow.view(&id, viewer.as_deref()).await {
                        Ok(next)
                            if next.approval.state != view.approval.state
                                || next.reviews.len() != reviews =>
                        {
                            view = next;
                            break;
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            let _ = tx.send(Err(status::workflow(&e))).await;
                            return;
                        }
                    }
                }
            }
        };
        tokio::spawn(waiting.instrument(span.clone()));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn redeem_capability_in(
        &self,
        request: Request<pb::RedeemCapabilityRequest>,
        span: &Span,
    ) -> Result<pb::RedeemCapabilityResponse, Status> {
        let caller = caller(&self.auth, &request)?;
        let ctx = audit_context(&caller, request.metadata(), span);
        let req = request.into_inner();
        required("capability", &req.capability)?;
        let Some(wire) = req.request else {
            return Err(status::invalid(&InvalidField::new(
                "request",
                "is required",
            )));
        };
        let presented =
            convert::request(wire).map_err(|f| status::invalid(&f.within("request")))?;
        let r = self
            .workflow
            .redeem(&req.capability, &presented, &ctx)
            .await
            .map_err(|e| status::workflow(&e))?;
        trace::record_redemption(span, &r);
        Ok(pb::RedeemCapabilityResponse {
            allowed: r.allowed,
            reason: r.reason,
            approval_id: r.approval_id.unwrap_or_default(),
            capability_id: r.capability_id,
        })
    }
}

#[tonic::async_trait]
impl pb::approvals_server::Approvals for ApprovalsService {
    async fn approve(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/Approve", request.metadata());
        trace::in_span(span.clone(), self.approve_in(request, &span)).await
    }

    async fn get_approval(
        &self,
        request: Request<pb::GetApprovalRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/GetApproval", request.metadata());
        trace::in_span(span.clone(), self.get_approval_in(request, &span)).await
    }

    async fn list_approvals(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Result<Response<pb::ListApprovalsResponse>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/ListApprovals", request.metadata());
        trace::in_span(span, self.list_approvals_in(request)).await
    }

    async fn cancel_approval(
        &self,
        request: Request<pb::CancelApprovalRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/CancelApproval", request.metadata());
        trace::in_span(span.clone(), self.cancel_approval_in(request, &span)).await
    }

    type WaitForDecisionStream = WaitStream;

    async fn wait_for_decision(
        &self,
        request: Request<pb::WaitForDecisionRequest>,
    ) -> Result<Response<WaitStream>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/WaitForDecision", request.metadata());
        trace::in_span(span.clone(), self.wait_for_decision_in(request, &span)).await
    }

    async fn redeem_capability(
        &self,
        request: Request<pb::RedeemCapabilityRequest>,
    ) -> Result<Response<pb::RedeemCapabilityResponse>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/RedeemCapability", request.metadata());
        trace::in_span(span.clone(), self.redeem_capability_in(request, &span)).await
    }
}
