//! The `Approvals` service: validate, call the domain, convert.

use std::{pin::Pin, sync::Arc};

use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};

use super::{authorizer::identify, convert, pb, status, trace};
use crate::{
    approval::ApprovalView,
    domain::{ApprovalFilter, ApprovalState, InvalidField, Page, RedeemRefusal, ReviewVerdict},
    identity::Authenticator,
    service::{check_review_text, ApprovalQuery, ReviewRequest, Tollgate},
};

/// Serves `tollgate.v1.Approvals`.
#[derive(Clone)]
pub struct ApprovalsService {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
}

impl ApprovalsService {
    /// Answers with `tollgate`, identifying callers with `auth`.
    pub fn new(tollgate: Tollgate, auth: Arc<Authenticator>) -> Self {
        Self { tollgate, auth }
    }
}

/// The domain review a wire request asks for; the error names the field.
pub fn review(req: pb::ApproveRequest) -> Result<ReviewRequest, InvalidField> {
    check_review_text(&req.approval_id, &req.reason)?;
    let verdict = match req.verdict() {
        pb::Verdict::Approve => ReviewVerdict::Approve,
        pb::Verdict::Deny => ReviewVerdict::Deny,
        pb::Verdict::Modify => ReviewVerdict::Modify,
        pb::Verdict::Unspecified => {
            return Err(InvalidField::new(
                "verdict",
                "must be VERDICT_APPROVE, VERDICT_DENY or VERDICT_MODIFY",
            ))
        }
    };
    let pb::ApproveRequest {
        approval_id,
        verdict: _,
        reason,
        params,
    } = req;
    let params = match params {
        Some(p) if verdict == ReviewVerdict::Modify => Some(convert::structure(Some(p), "params")?),
        _ => None,
    };
    Ok(ReviewRequest {
        approval_id,
        verdict,
        reason,
        params,
    })
}

/// The domain listing a wire request asks for; the error names the field.
pub fn listing(req: pb::ListApprovalsRequest) -> Result<ApprovalQuery, InvalidField> {
    let state = state_filter(req.state());
    let pb::ListApprovalsRequest {
        state: _,
        subject_id,
        action,
        reviewer_id,
        page_size,
        page_token,
    } = req;
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    if page_size > Page::MAX_LIMIT {
        let message = format!("at most {}", Page::MAX_LIMIT);
        return Err(InvalidField::new("page_size", message));
    }
    Ok(ApprovalQuery {
        filter: ApprovalFilter {
            state,
            subject_id: non_empty(subject_id),
            action: non_empty(action),
            reviewer_id: non_empty(reviewer_id),
            text: None,
        },
        page: Page {
            limit: if page_size == 0 {
                Page::DEFAULT_LIMIT
            } else {
                page_size
            },
            after_id: non_empty(page_token),
        },
    })
}

fn state_filter(s: pb::ApprovalState) -> Option<ApprovalState> {
    match s {
        pb::ApprovalState::Unspecified => None,
        pb::ApprovalState::Pending => Some(ApprovalState::Pending),
        pb::ApprovalState::Approved => Some(ApprovalState::Approved),
        pb::ApprovalState::Denied => Some(ApprovalState::Denied),
        pb::ApprovalState::Expired => Some(ApprovalState::Expired),
        pb::ApprovalState::Cancelled => Some(ApprovalState::Cancelled),
    }
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

/// The wire form of an approval as its reader may see it.
pub fn to_proto(v: &ApprovalView) -> pb::Approval {
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
                reviewed_at: Some(convert::timestamp(r.at)),
            })
            .collect(),
        bundle_revision: a.bundle_revision.clone(),
        created_at: Some(convert::timestamp(a.created_at)),
        expires_at: Some(convert::timestamp(a.expires_at)),
        capability: v
            .capability
            .as_ref()
            .map(|c| c.token.clone())
            .unwrap_or_default(),
        capability_expires_at: v
            .capability
            .as_ref()
            .map(|c| prost_types::Timestamp::from(c.expires_at)),
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

/// The request a redemption presents; the error names the field.
pub fn redemption(
    capability: &str,
    wire: Option<pb::AuthorizeRequest>,
) -> Result<crate::domain::AuthzRequest, InvalidField> {
    if capability.trim().is_empty() {
        return Err(InvalidField::new("capability", "is required"));
    }
    let wire = wire.ok_or_else(|| InvalidField::new("request", "is required"))?;
    convert::request(wire).map_err(|f| f.within("request"))
}

/// A redemption's refusal on the wire (UNSPECIFIED when it was allowed).
pub fn refusal(r: Option<RedeemRefusal>) -> pb::RedeemRefusal {
    use pb::RedeemRefusal as P;
    match r {
        None => P::Unspecified,
        Some(RedeemRefusal::Invalid) => P::Invalid,
        Some(RedeemRefusal::NotFound) => P::NotFound,
        Some(RedeemRefusal::AlreadyRedeemed) => P::AlreadyRedeemed,
        Some(RedeemRefusal::Expired) => P::Expired,
        Some(RedeemRefusal::Revoked) => P::Revoked,
        Some(RedeemRefusal::RequestMismatch) => P::RequestMismatch,
        Some(RedeemRefusal::ApprovalNotInForce) => P::ApprovalNotInForce,
        Some(RedeemRefusal::PolicyDenies) => P::PolicyDenies,
    }
}

type WaitStream = Pin<Box<dyn Stream<Item = Result<pb::Approval, Status>> + Send>>;

impl ApprovalsService {
    async fn approve_in(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<pb::Approval, Status> {
        let (caller, call) = identify(&self.auth, &request).await?;
        let review = review(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let view = self
            .tollgate
            .review(&caller, review, &call)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(to_proto(&view))
    }

    async fn get_approval_in(
        &self,
        request: Request<pb::GetApprovalRequest>,
    ) -> Result<pb::Approval, Status> {
        let (caller, _) = identify(&self.auth, &request).await?;
        let id = request.into_inner().approval_id;
        let view = self
            .tollgate
            .get(&caller, &id)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(to_proto(&view))
    }

    async fn list_approvals_in(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Result<pb::ListApprovalsResponse, Status> {
        let (caller, _) = identify(&self.auth, &request).await?;
        let query = listing(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let listed = self
            .tollgate
            .list(&caller, query)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(pb::ListApprovalsResponse {
            approvals: listed.approvals.iter().map(to_proto).collect(),
            next_page_token: listed.next.unwrap_or_default(),
        })
    }

    async fn cancel_approval_in(
        &self,
        request: Request<pb::CancelApprovalRequest>,
    ) -> Result<pb::Approval, Status> {
        let (caller, call) = identify(&self.auth, &request).await?;
        let id = request.into_inner().approval_id;
        let view = self
            .tollgate
            .cancel(&caller, &id, &call)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(to_proto(&view))
    }

    async fn wait_for_decision_in(
        &self,
        request: Request<pb::WaitForDecisionRequest>,
    ) -> Result<WaitStream, Status> {
        let (caller, _) = identify(&self.auth, &request).await?;
        let id = request.into_inner().approval_id;
        let stream = self
            .tollgate
            .watch(&caller, &id)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(Box::pin(stream.map(|item| {
            item.map(|v| to_proto(&v)).map_err(|e| status::service(&e))
        })))
    }

    async fn redeem_capability_in(
        &self,
        request: Request<pb::RedeemCapabilityRequest>,
    ) -> Result<pb::RedeemCapabilityResponse, Status> {
        let (caller, call) = identify(&self.auth, &request).await?;
        let pb::RedeemCapabilityRequest {
            capability,
            request: wire,
        } = request.into_inner();
        let presented = redemption(&capability, wire).map_err(|f| status::invalid(&f))?;
        let r = self
            .tollgate
            .redeem(&caller, &capability, presented, &call)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(pb::RedeemCapabilityResponse {
            allowed: r.allowed,
            refusal: refusal(r.refusal) as i32,
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
        trace::in_span(span, self.approve_in(request)).await
    }

    async fn get_approval(
        &self,
        request: Request<pb::GetApprovalRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/GetApproval", request.metadata());
        trace::in_span(span, self.get_approval_in(request)).await
    }

    async fn list_approvals(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Result<Response<pb::ListApprovalsResponse>, Status> {
        // A listing spans many approvals, so its span names none of them.
        let span = trace::server_span("tollgate.v1.Approvals/ListApprovals", request.metadata());
        trace::in_span(span, self.list_approvals_in(request)).await
    }

    async fn cancel_approval(
        &self,
        request: Request<pb::CancelApprovalRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/CancelApproval", request.metadata());
        trace::in_span(span, self.cancel_approval_in(request)).await
    }

    type WaitForDecisionStream = WaitStream;

    async fn wait_for_decision(
        &self,
        request: Request<pb::WaitForDecisionRequest>,
    ) -> Result<Response<WaitStream>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/WaitForDecision", request.metadata());
        trace::in_span(span, self.wait_for_decision_in(request)).await
    }

    async fn redeem_capability(
        &self,
        request: Request<pb::RedeemCapabilityRequest>,
    ) -> Result<Response<pb::RedeemCapabilityResponse>, Status> {
        let span = trace::server_span("tollgate.v1.Approvals/RedeemCapability", request.metadata());
        trace::in_span(span, self.redeem_capability_in(request)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_wire_value_and_allowed_is_unspecified() {
        use pb::RedeemRefusal as P;
        use RedeemRefusal as D;
        let table = [
            (D::Invalid, P::Invalid),
            (D::NotFound, P::NotFound),
            (D::AlreadyRedeemed, P::AlreadyRedeemed),
            (D::Expired, P::Expired),
            (D::Revoked, P::Revoked),
            (D::RequestMismatch, P::RequestMismatch),
            (D::ApprovalNotInForce, P::ApprovalNotInForce),
            (D::PolicyDenies, P::PolicyDenies),
        ];
        for (domain, wire) in table {
            assert_eq!(refusal(Some(domain)), wire, "{domain:?}");
        }
        assert_eq!(refusal(None), P::Unspecified);
        let distinct: std::collections::HashSet<_> = table.iter().map(|(_, w)| *w).collect();
        assert_eq!(distinct.len(), table.len());
    }
}
