//! Spans for gRPC calls: one server span per RPC, joined to the caller's trace through the
//! W3C `traceparent` metadata, and one span per decision. Attributes describe the decision
//! (effect, action, resource type, subject kind, revision, timings, ids), never its input:
//! params, attributes, intents, tokens and capabilities stay out of spans.

use tonic::{metadata::KeyRef, metadata::MetadataMap, Status};
use tracing::{field::Empty, Instrument as _, Span};

use crate::{
    approval::{ApprovalView, Redemption},
    domain::{AuthzRequest, Decision},
    telemetry::trace::{adopt_parent, link, TRACEPARENT},
};

/// Reads W3C trace context from gRPC request metadata.
pub struct MetadataCarrier<'a>(pub &'a MetadataMap);

impl opentelemetry::propagation::Extractor for MetadataCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                KeyRef::Ascii(k) => Some(k.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// The server span for `method` (`package.Service/Method`), a child of the caller's span
/// when the metadata carries a valid `traceparent`.
pub fn server_span(method: &'static str, metadata: &MetadataMap) -> Span {
    let span = tracing::info_span!(
        "rpc",
        "otel.name" = method,
        "otel.kind" = "server",
        "rpc.system" = "grpc",
        "otel.status_code" = Empty,
        "rpc.grpc.status_code" = Empty,
        "tollgate.effect" = Empty,
        "tollgate.action" = Empty,
        "tollgate.resource.type" = Empty,
        "tollgate.subject.kind" = Empty,
        "tollgate.bundle.revision" = Empty,
        "tollgate.eval.duration_us" = Empty,
        "tollgate.decision.id" = Empty,
        "tollgate.approval.id" = Empty,
        "tollgate.approval.state" = Empty,
        "tollgate.cache.hit" = Empty,
        "tollgate.capability.redeemed" = Empty,
    );
    adopt_parent(&span, &MetadataCarrier(metadata));
    span
}

/// The span of one `BatchAuthorize` item, a child of the batch call's span.
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

/// Records the call's outcome on `span`: errors mark the span failed with the gRPC code.
pub fn record_result<T>(span: &Span, result: &Result<T, Status>) {
    if let Err(status) = result {
        span.record("otel.status_code", "ERROR");
        span.record("rpc.grpc.status_code", status.code() as i64);
    }
}

/// The caller's raw `traceparent`, kept for an approval when spans are not exported (see
/// [`crate::telemetry::trace::traceparent`]); empty when absent.
pub fn inbound_traceparent(metadata: &MetadataMap) -> String {
    metadata
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Runs one call inside `span` and records how it ended.
pub async fn in_span<T>(
    span: Span,
    call: impl std::future::Future<Output = Result<T, Status>>,
) -> Result<tonic::Response<T>, Status> {
    let result = call.instrument(span.clone()).await;
    record_result(&span, &result);
    result.map(tonic::Response::new)
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
