//! The `Authorizer` service: validate, call the domain, convert.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tonic::{metadata::MetadataMap, Request, Response, Status};
use tracing::{Instrument as _, Span};

use super::{convert, pb, status, trace};
use crate::{
    approval::Workflow,
    audit::AuditContext,
    domain::{Effect, InvalidField},
    identity::{Authenticator, Caller},
    service::{DecideError, Decided, Decider},
    telemetry::{self, Metrics},
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
    metrics: Metrics,
}

impl AuthorizerService {
    /// A service deciding with `decider`, identifying callers with `auth`, turning PENDING
    /// answers into approvals (and ALLOW obligations into capabilities) with `workflow`,
    /// counting decisions and their latency in `metrics`.
    pub fn new(
        decider: Decider,
        auth: Arc<Authenticator>,
        workflow: Workflow,
        allow_capability_ttl: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            decider,
            auth,
            workflow,
            allow_capability_ttl,
            metrics,
        }
    }

    /// One `Authorize` call, inside its span.
    async fn authorize_one(
        &self,
        request: Request<pb::AuthorizeRequest>,
        span: &Span,
    ) -> Result<pb::AuthorizeResponse, Status> {
        let caller = caller(&self.auth, &request)?;
        let (metadata, _, message) = request.into_parts();
        let req = convert::request(message).map_err(|f| status::invalid(&f))?;
        let decided = self
            .decider
            .decide(&caller, req)
            .await
            .map_err(|e| status::decide(&e))?;
        self.answer(decided, &caller, span, &metadata).await
    }

    /// The wire answer, after making what the decision promises durable: a PENDING answer
    /// names a stored approval, an ALLOW with a `capability` obligation carries its token.
    /// If that fails the call fails: never a PENDING without an approval to wait on. Every
    /// decision is recorded in the audit trail before it is answered; if it cannot be, the
    /// call fails (fail closed: never an unrecorded ALLOW). `span` is the decision's; the
    /// approval and the audit records keep its trace context so later events link back to it.
    async fn answer(
        &self,
        (decision, req): Decided,
        caller: &Caller,
        span: &Span,
        metadata: &MetadataMap,
    ) -> Result<pb::AuthorizeResponse, Status> {
        trace::record_decision(span, &decision, &req);
        let ctx = audit_context(caller, metadata, span);
        let mut wire = convert::response(&decision);
        match decision.verdict.effect {
            Effect::PendingApproval => {
                let approval = self
                    .workflow
                    .request_approval(&decision, &req, &ctx)
                    .await
                    .map_err(|e| status::workflow(&e))?;
                span.record("tollgate.approval.id", approval.id.as_str());
                wire.approval_id = approval.id;
            }
            Effect::Allow if wants_capability(&decision.verdict.obligations) => {
                let (token, _) = self
                    .workflow
                    .capability_for_allow(&decision, &req, self.allow_capability_ttl, &ctx)
                    .await
                    .map_err(|e| status::workflow(&e))?;
                wire.capability = token;
            }
            _ => self
                .workflow
                .record_decision(&decision, &req, &ctx)
                .await
                .map_err(|e| status::workflow(&e))?,
        }
        let evaluation = (!decision.cached).then_some(decision.eval_duration);
        self.metrics
            .observe_decision(decision.verdict.effect, &req.action.name, evaluation);
        Ok(wire)
    }

    /// One batch item, decided by `bundle`'s revision inside its own span.
    async fn batch_item(
        &self,
        index: usize,
        item: pb::AuthorizeRequest,
        bundle: &Arc<crate::policy::CompiledBundle>,
        caller: &Caller,
        metadata: &MetadataMap,
    ) -> pb::batch_item::Outcome {
        let span = trace::decision_span(index);
        let decided = match span.in_scope(|| convert::request(item)) {
            Ok(r) => {
                self.decider
                    .decide_on(bundle, caller, r)
                    .instrument(span.clone())
                    .await
            }
            Err(f) => Err(DecideError::from(f)),
        };
        let decided = match decided {
            Ok(decided) => decided,
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                return pb::batch_item::Outcome::Error(item_error(index, &e));
            }
        };
        let answered = self
            .answer(decided, caller, &span, metadata)
            .instrument(span.clone())
            .await;
        trace::record_result(&span, &answered);
        match answered {
            Ok(wire) => pb::batch_item::Outcome::Decision(wire),
            Err(s) => pb::batch_item::Outcome::Error(pb::ItemError {
                code: s.code() as i32,
                field: format!("requests[{index}]"),
                message: s.message().to_string(),
            }),
        }
    }

    /// One `BatchAuthorize` call, inside its span.
    async fn batch(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<pb::BatchAuthorizeResponse, Status> {
        let caller = caller(&self.auth, &request)?;
        let (metadata, _, message) = request.into_parts();
        let items = message.requests;
        if items.is_empty() {
            return Err(status::invalid(&InvalidField::new("requests", "is empty")));
        }
        if items.len() > MAX_BATCH {
            return Err(status::invalid(&InvalidField::new(
                "requests",
                format!("at most {MAX_BATCH} items"),
            )));
        }
        // One snapshot, so one revision answers every item.
        let bundle = self.decider.snapshot().map_err(|e| status::decide(&e))?;
        // Items are answered concurrently, so their audit records share group commits.
        let (bundle, caller, metadata) = (&bundle, &caller, &metadata);
        let results =
            futures::future::join_all(items.into_iter().enumerate().map(|(i, item)| async move {
                pb::BatchItem {
                    outcome: Some(self.batch_item(i, item, bundle, caller, metadata).await),
                }
            }))
            .await;
        Ok(pb::BatchAuthorizeResponse {
            results,
            bundle_revision: bundle.revision.to_string(),
        })
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

/// The audit actor of a call nobody authenticated (insecure development mode): the trail
/// says so rather than naming whoever the body claims to be.
pub const UNAUTHENTICATED_ACTOR: &str = "unauthenticated";

/// Who the audit trail names for a gRPC call: the verified caller, in the trace of the call's
/// span (or of the caller's own `traceparent` when tracing is off).
pub fn audit_context(caller: &Caller, metadata: &MetadataMap, span: &Span) -> AuditContext {
    let inbound = trace::inbound_traceparent(metadata);
    let actor = if caller.id.is_empty() {
        UNAUTHENTICATED_ACTOR
    } else {
        caller.id.as_str()
    };
    AuditContext::new(actor, telemetry::trace::traceparent(span, &inbound))
}

#[tonic::async_trait]
impl pb::authorizer_server::Authorizer for AuthorizerService {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let started = Instant::now();
        let span = trace::server_span("tollgate.v1.Authorizer/Authorize", request.metadata());
        let result = self
            .authorize_one(request, &span)
            .instrument(span.clone())
            .await;
        trace::record_result(&span, &result);
        self.metrics.observe_authorize(started.elapsed());
        result.map(Response::new)
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let span = trace::server_span("tollgate.v1.Authorizer/BatchAuthorize", request.metadata());
        let result = self.batch(request).instrument(span.clone()).await;
        trace::record_result(&span, &result);
        result.map(Response::new)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unauthenticated_caller_is_named_so_in_the_trail() {
        let none = Span::none();
        let ctx = audit_context(&Caller::insecure(), &MetadataMap::new(), &none);
        assert_eq!(ctx.actor, UNAUTHENTICATED_ACTOR);
        let mut verified = Caller::insecure();
        verified.id = "agent:a".into();
        let ctx = audit_context(&verified, &MetadataMap::new(), &none);
        assert_eq!(ctx.actor, "agent:a");
    }
}
