//! The `Authorizer` service: validate, call the domain, convert.

use std::{sync::Arc, time::Duration};

use tonic::{Request, Response, Status};

use super::{convert, pb, status};
use crate::{
    approval::Workflow,
    audit::AuditContext,
    domain::{Effect, InvalidField},
    identity::{Authenticator, Caller},
    service::{DecideError, Decided, Decider},
};

/// Most items in one `BatchAuthorize`.
pub const MAX_BATCH: usize = 128;

/// Serves `tollgate.v1.Authorizer`.
#[derive(Clone)]
pub struct AuthorizerService {
    decider: Decider,
    auth: Arc<Authenticator>,
    workflow: Workflow,
    allow_capability_ttl: Duration,
}

impl AuthorizerService {
    /// A service deciding with `decider`, identifying callers with `auth`, turning PENDING
    /// answers into approvals (and ALLOW obligations into capabilities) with `workflow`.
    pub fn new(
        decider: Decider,
        auth: Arc<Authenticator>,
        workflow: Workflow,
        allow_capability_ttl: Duration,
    ) -> Self {
        Self {
            decider,
            auth,
            workflow,
            allow_capability_ttl,
        }
    }

    /// The wire answer, after making what the decision promises durable: a PENDING answer
    /// names a stored approval, an ALLOW with a `capability` obligation carries its token.
    /// If that fails the call fails: never a PENDING without an approval to wait on. Every
    /// decision is recorded in the audit trail before it is answered; if it cannot be, the
    /// call fails (fail closed: never an unrecorded ALLOW).
    async fn answer(
        &self,
        (decision, req): Decided,
        ctx: &AuditContext,
    ) -> Result<pb::AuthorizeResponse, Status> {
        let mut wire = convert::response(&decision);
        match decision.verdict.effect {
            Effect::PendingApproval => {
                let approval = self
                    .workflow
                    .request_approval(&decision, &req, ctx)
                    .await
                    .map_err(|e| status::workflow(&e))?;
                wire.approval_id = approval.id;
            }
            Effect::Allow if wants_capability(&decision.verdict.obligations) => {
                let (token, _) = self
                    .workflow
                    .capability_for_allow(&decision, &req, self.allow_capability_ttl, ctx)
                    .await
                    .map_err(|e| status::workflow(&e))?;
                wire.capability = token;
            }
            _ => {
                let auditor = self.workflow.auditor();
                if auditor.is_enabled() {
                    auditor
                        .record(auditor.decision(ctx, &decision, &req))
                        .await
                        .map_err(|e| status::audit(&e))?;
                }
            }
        }
        Ok(wire)
    }
}

fn wants_capability(obligations: &[serde_json::Map<String, serde_json::Value>]) -> bool {
    obligations
        .iter()
        .any(|o| o.get("type").and_then(|t| t.as_str()) == Some("capability"))
}

/// The verified caller of a gRPC request.
pub fn caller<T>(auth: &Authenticator, req: &Request<T>) -> Result<Caller, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    auth.authenticate(header).map_err(|e| status::auth(&e))
}

/// Who the audit trail names for a gRPC request: the verified caller, in the trace of the
/// W3C `traceparent` metadata the call carried (if any).
pub fn audit_context<T>(caller: &Caller, req: &Request<T>) -> AuditContext {
    let trace_parent = req
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    AuditContext::new(caller.id.clone(), trace_parent)
}

#[tonic::async_trait]
impl pb::authorizer_server::Authorizer for AuthorizerService {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let caller = caller(&self.auth, &request)?;
        let ctx = audit_context(&caller, &request);
        let req = convert::request(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let decided = self
            .decider
            .decide(&caller, req)
            .map_err(|e| status::decide(&e))?;
        Ok(Response::new(self.answer(decided, &ctx).await?))
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let caller = caller(&self.auth, &request)?;
        let ctx = audit_context(&caller, &request);
        let items = request.into_inner().requests;
        if items.is_empty() {
            return Err(status::invalid(&InvalidField::new("requests", "is empty")));
        }
        if items.len() > MAX_BATCH {
            return Err(status::invalid(&InvalidField::new(
                "requests",
                format!("at most {MAX_BATCH} items"),
            )));
        }
        let reqs = items.into_iter().map(convert::request).collect();
        let (revision, results) = self
            .decider
            .decide_batch(&caller, reqs)
            .map_err(|e| status::decide(&e))?;
        // Items are answered concurrently, so their audit records share group commits.
        let ctx = &ctx;
        let results =
            futures::future::join_all(results.into_iter().enumerate().map(|(i, r)| async move {
                let outcome = match r {
                    Ok(decided) => match self.answer(decided, ctx).await {
                        Ok(wire) => pb::batch_item::Outcome::Decision(wire),
                        Err(s) => pb::batch_item::Outcome::Error(pb::ItemError {
                            code: s.code() as i32,
                            field: format!("requests[{i}]"),
                            message: s.message().to_string(),
                        }),
                    },
                    Err(e) => pb::batch_item::Outcome::Error(item_error(i, &e)),
                };
                pb::BatchItem {
                    outcome: Some(outcome),
                }
            }))
            .await;
        Ok(Response::new(pb::BatchAuthorizeResponse {
            results,
            bundle_revision: revision.to_string(),
        }))
    }
}

fn item_error(index: usize, e: &DecideError) -> pb::ItemError {
    let prefix = format!("requests[{index}]");
    let field = match e {
        DecideError::Invalid(f) => format!("{prefix}.{}", f.field),
        DecideError::SubjectMismatch { field, .. } => format!("{prefix}.{field}"),
        DecideError::NoBundle => prefix,
    };
    let (code, message) = status::item_code(e);
    pb::ItemError {
        code,
        field,
        message,
    }
}
