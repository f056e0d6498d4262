//! What the service writes on spans: the decision, approval or redemption a call was about,
//! never its input (params, attributes, intents, tokens and capabilities stay out of spans).
//! A surface runs each use case inside its own server span; the service describes the
//! answer on that span (`Span::current()`), and gives each item of a batch a span of its own.

use tracing::{field::Empty, Span};

use crate::{
    approval::{ApprovalView, Redemption},
    domain::{AuthzRequest, Decision},
    telemetry::trace::link,
};

/// The span of one batch item, a child of the batch call's span.
pub fn decision_span(index: usize) -> Span {
    tracing::info_span!(
        "decision",
        "otel.name" = "tollgate.decision",
        "tollgate.batch.index" = i64::try_from(index).unwrap_or(i64::MAX),
        "tollgate.effect" = Empty,
        "tollgate.action" = Empty,
        "tollgate.resource.type" = Empty,
        "tollgate.subject.kind" = Empty,
        "tollgate.bundle.revision" = Empty,
        "tollgate.eval.duration_us" = Empty,
        "tollgate.decision.id" = Empty,
        "tollgate.approval.id" = Empty,
        "tollgate.cache.hit" = Empty,
        "otel.status_code" = Empty,
    )
}

/// Describes a made decision on `span`: what was decided about which kind of thing, by
/// which revision, how long the policy took. The request's content is not recorded.
pub fn record_decision(span: &Span, decision: &Decision, req: &AuthzRequest) {
    span.record("tollgate.effect", decision.verdict.effect.as_str());
    span.record("tollgate.action", req.action.name.as_str());
    span.record("tollgate.resource.type", req.resource.kind.as_str());
    span.record("tollgate.subject.kind", req.subject.kind.as_str());
    span.record("tollgate.bundle.revision", &*decision.revision);
    // i64: the OpenTelemetry layer exports u64 values as strings.
    span.record(
        "tollgate.eval.duration_us",
        i64::try_from(decision.eval_duration.as_micros()).unwrap_or(i64::MAX),
    );
    span.record("tollgate.decision.id", decision.id.as_str());
    span.record("tollgate.cache.hit", decision.cached);
}

/// Describes the approval a call was about on `span` and links the span to the trace of
/// the decision that created the approval.
pub fn record_approval(span: &Span, view: &ApprovalView) {
    let a = &view.approval;
    span.record("tollgate.approval.id", a.id.as_str());
    span.record("tollgate.approval.state", a.state.as_str());
    span.record("tollgate.decision.id", a.decision_id.as_str());
    span.record("tollgate.action", a.action.as_str());
    span.record(
        "tollgate.resource.type",
        view.request.resource.kind.as_str(),
    );
    span.record("tollgate.subject.kind", view.request.subject.kind.as_str());
    span.record("tollgate.bundle.revision", a.bundle_revision.as_str());
    link(span, &a.trace_parent);
}

/// Describes a redemption on `span`: whether it was allowed and for which approval, linked
/// to the trace of the decision behind that approval.
pub fn record_redemption(span: &Span, r: &Redemption) {
    span.record("tollgate.capability.redeemed", r.allowed);
    if let Some(id) = &r.approval_id {
        span.record("tollgate.approval.id", id.as_str());
    }
    link(span, &r.trace_parent);
}
