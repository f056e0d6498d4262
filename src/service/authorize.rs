//! `authorize`: decide, make what the decision promises durable, record it, answer.

use tracing::{Instrument as _, Span};

use super::Role;
use super::{spans, Call, ServiceError, Tollgate};
use crate::{
    capability::{Grant, IssuedCapability},
    domain::{AuthzRequest, Caller, Decided, Effect, IdentityId, InvalidField},
    identity::limits::LimitedCall,
    policy::CompiledBundle,
    telemetry::metrics::CapabilityEvent,
};

/// Most items in one batch.
pub const MAX_BATCH: usize = 128;

/// What deciding may set in motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Act on the decision: open the approval a PENDING answer names, mint the capability an
    /// ALLOW asks for.
    Act,
    /// Decide and record the decision only: no approval request, no capability, not counted
    /// in the decision metrics. For callers asking what the policy would say (a gateway
    /// filtering what it lists), so that asking never reaches a reviewer.
    DryRun,
}

/// What an `authorize` answers: the decision on the request as decided, and what it made
/// durable (the approval to wait on, or the capability an ALLOW carries).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The decision and the request it decided (subject bound to the caller).
    pub decided: Decided,
    /// For PENDING_APPROVAL: the approval request to wait on.
    pub approval_id: Option<String>,
    /// For an ALLOW whose policy asked for a capability: the capability.
    pub capability: Option<IssuedCapability>,
}

/// One batch's answers, all decided by one bundle revision.
#[derive(Debug)]
pub struct BatchAnswer {
    /// The revision that decided every item.
    pub revision: String,
    /// Each item's answer or error, in request order.
    pub items: Vec<Result<Answer, ServiceError>>,
}

impl Tollgate {
    /// Decides `req` for `caller` and answers only once what the decision promises is
    /// durable: a PENDING answer names a stored approval, an ALLOW with a `capability`
    /// obligation carries its token, and every decision is recorded in the audit trail first.
    /// If any of that fails, nothing is answered (fail closed: never an unrecorded ALLOW).
    /// The decision is described on the current span.
    pub async fn authorize(
        &self,
        caller: &Caller,
        req: AuthzRequest,
        call: &Call,
    ) -> Result<Answer, ServiceError> {
        let gateway = self.admit(caller)?;
        let decided = self.inner.decider.decide(caller, gateway, req).await?;
        self.answer(decided, caller, call).await
    }

    /// Whether `caller` may call `Authorize` at all and is within its rate; returns whether
    /// it may ask about other subjects (a gateway).
    pub(super) fn admit(&self, caller: &Caller) -> Result<bool, ServiceError> {
        let held = self.require(caller, Role::Authorize)?;
        if let Some(p) = caller.principal() {
            if let Ok(id) = IdentityId::parse(&p.id) {
                self.inner.limits.check(LimitedCall::Authorize, &id)?;
            }
        }
        Ok(caller.asserts_subjects() || held.contains(Role::Gateway))
    }

    /// Decides every item of a batch with one bundle revision, each inside its own span,
    /// acting on the decisions or not as `mode` says; items that did not convert are answered
    /// with their field error.
    pub async fn authorize_batch(
        &self,
        caller: &Caller,
        items: Vec<Result<AuthzRequest, InvalidField>>,
        mode: Mode,
        call: &Call,
    ) -> Result<BatchAnswer, ServiceError> {
        if items.is_empty() {
            return Err(InvalidField::new("requests", "is empty").into());
        }
        if items.len() > MAX_BATCH {
            let message = format!("at most {MAX_BATCH} items");
            return Err(InvalidField::new("requests", message).into());
        }
        let gateway = self.admit(caller)?;
        // One snapshot, so one revision answers every item.
        let bundle = self.inner.decider.snapshot()?;
        let bundle = &bundle;
        // Items are answered concurrently, so their audit records share group commits.
        let answers = items.into_iter().enumerate().map(|(i, item)| async move {
            let span = spans::decision_span(i);
            let answered = self
                .batch_item(item, bundle, (caller, gateway), mode, call)
                .instrument(span.clone())
                .await;
            if answered.is_err() {
                span.record("otel.status_code", "ERROR");
            }
            answered
        });
        Ok(BatchAnswer {
            revision: bundle.revision.to_string(),
            items: futures::future::join_all(answers).await,
        })
    }

    async fn batch_item(
        &self,
        item: Result<AuthzRequest, InvalidField>,
        bundle: &std::sync::Arc<CompiledBundle>,
        (caller, gateway): (&Caller, bool),
        mode: Mode,
        call: &Call,
    ) -> Result<Answer, ServiceError> {
        let decided = self
            .inner
            .decider
            .decide_on(bundle, caller, gateway, item?)
            .await?;
        match mode {
            Mode::Act => self.answer(decided, caller, call).await,
            Mode::DryRun => self.record_only(decided, caller, call).await,
        }
    }

    /// A dry run's answer: the decision is recorded in the audit trail before it is answered
    /// (as every decision is), and nothing else happens.
    async fn record_only(
        &self,
        decided: Decided,
        caller: &Caller,
        call: &Call,
    ) -> Result<Answer, ServiceError> {
        spans::record_decision(&Span::current(), &decided.decision, &decided.request);
        let auditor = &self.inner.auditor;
        let event = auditor
            .decision(&call.audit(caller), &decided.decision, &decided.request)
            .as_dry_run();
        auditor.record(event).await?;
        Ok(Answer {
            decided,
            approval_id: None,
            capability: None,
        })
    }

    /// Makes `decided` durable and recorded, then answers it.
    pub(super) async fn answer(
        &self,
        decided: Decided,
        caller: &Caller,
        call: &Call,
    ) -> Result<Answer, ServiceError> {
        let span = Span::current();
        spans::record_decision(&span, &decided.decision, &decided.request);
        let ctx = call.audit(caller);
        let mut answer = Answer {
            decided,
            approval_id: None,
            capability: None,
        };
        let Decided { decision, request } = &answer.decided;
        match decision.verdict.effect {
            Effect::PendingApproval => {
                let audience = self.audience(&decision.verdict.obligations);
                let quota = Some(self.inner.max_pending_per_subject);
                let approval = self
                    .inner
                    .workflow
                    .request_approval(&answer.decided, audience, quota, &ctx)
                    .await?;
                span.record("tollgate.approval.id", approval.id.as_str());
                answer.approval_id = Some(approval.id);
            }
            Effect::Allow if wants_capability(&decision.verdict.obligations) => {
                answer.capability = Some(self.capability_for_allow(&answer.decided, &ctx).await?);
            }
            _ => {
                let event = self.inner.auditor.decision(&ctx, decision, request);
                self.inner.auditor.record(event).await?;
            }
        }
        let Decided { decision, request } = &answer.decided;
        let evaluation = (!decision.cached).then_some(decision.eval_duration);
        self.inner.metrics.observe_decision(
            decision.verdict.effect,
            &request.action.name,
            evaluation,
        );
        Ok(answer)
    }

    /// A capability for an ALLOW whose policy asked for one; the decision and the issue are
    /// recorded with the capability in the next group commit, shared with other answers.
    async fn capability_for_allow(
        &self,
        decided: &Decided,
        ctx: &crate::domain::AuditContext,
    ) -> Result<IssuedCapability, ServiceError> {
        let Decided { decision, request } = decided;
        let now = self.inner.workflow.now().to_time();
        let ttl = self.inner.allow_capability_ttl;
        let bound = request.bound();
        let grant = Grant {
            // A capability for an ALLOW carries its decision's id.
            id: decision.id.clone(),
            audience: self.audience(&decision.verdict.obligations),
            ..Grant::for_request(
                &bound,
                None,
                (&decision.revision, &decision.bundle_digest),
                now,
                ttl,
            )
        };
        let cap = grant.record();
        let auditor = &self.inner.auditor;
        let events = auditor.events(|| {
            let decided = auditor
                .decision(ctx, decision, request)
                .with_capability(&cap.id);
            let issued = crate::domain::AuditEvent::capability_issued(&decided, (&bound, &cap));
            vec![decided, issued]
        });
        auditor.issue(cap, events).await?;
        self.inner
            .metrics
            .observe_capability(CapabilityEvent::Issued);
        Ok(self.inner.key.issue(&grant)?)
    }
}

impl Tollgate {
    /// Who may redeem the capability a decision promises: the `audience` of the policy's
    /// `capability` obligation (a string or a list of identities and `group:` entries), else
    /// the holders of the redeem role.
    fn audience(&self, obligations: &[serde_json::Map<String, serde_json::Value>]) -> Vec<String> {
        let stated = obligations
            .iter()
            .filter(|o| o.get("type").and_then(|t| t.as_str()) == Some("capability"))
            .find_map(|o| o.get("audience"));
        match stated {
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            Some(serde_json::Value::Array(many)) => many
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => self.inner.roles.default_audience(),
        }
    }
}

/// Whether the policy's obligations ask for a capability.
fn wants_capability(obligations: &[serde_json::Map<String, serde_json::Value>]) -> bool {
    obligations
        .iter()
        .any(|o| o.get("type").and_then(|t| t.as_str()) == Some("capability"))
}
