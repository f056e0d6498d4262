//! W3C trace context (`traceparent`) in and out of tollgate's spans.
//!
//! A caller's `traceparent` makes tollgate's span a child of the caller's, so a decision
//! shows up inside the agent's own trace. The decision's own `traceparent` is stored with
//! the approval it creates, so reviews, waits and redemptions that happen minutes later in
//! other traces link back to it. Without the OpenTelemetry layer these calls do nothing
//! beyond parsing a header.

use std::collections::HashMap;

use opentelemetry::{
    propagation::{Extractor, TextMapPropagator as _},
    trace::TraceContextExt as _,
    Context,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header (and gRPC metadata key) W3C Trace Context travels in.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` a child of the trace context in `carrier`, if it holds a valid one. Call
/// right after creating the span, before it is first entered.
pub fn adopt_parent(span: &tracing::Span, carrier: &dyn Extractor) {
    let parent = TraceContextPropagator::new().extract(carrier);
    if parent.span().span_context().is_valid() {
        // Without the OpenTelemetry layer there is nothing to parent; that is not an error.
        let _ = span.set_parent(parent);
    }
}

/// `span`'s own `traceparent` when spans are exported, else the caller's `inbound` one
/// (validated and normalised), else empty: what an approval stores so later events can
/// link back to the decision that created it.
pub fn traceparent(span: &tracing::Span, inbound: &str) -> String {
    if let Some(own) = encode(&span.context()) {
        return own;
    }
    encode(&parse(inbound)).unwrap_or_default()
}

/// The trace context a `traceparent` value names (invalid when it is empty or malformed).
fn parse(traceparent: &str) -> Context {
    if traceparent.is_empty() {
        return Context::new();
    }
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// Adds a link from `span` to the span a stored `traceparent` names; an empty or
/// malformed value adds nothing.
pub fn link(span: &tracing::Span, traceparent: &str) {
    let linked = parse(traceparent);
    let linked = linked.span().span_context().clone();
    if linked.is_valid() {
        span.add_link(linked);
    }
}

/// The `traceparent` of `cx`'s span, if it is valid.
fn encode(cx: &Context) -> Option<String> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn carrier(value: &str) -> HashMap<String, String> {
        HashMap::from([(TRACEPARENT.to_string(), value.to_string())])
    }

    #[test]
    fn without_an_exporter_the_callers_traceparent_is_kept_if_valid() {
        let span = tracing::info_span!("rpc");
        assert_eq!(traceparent(&span, CALLER), CALLER);
        assert_eq!(traceparent(&span, "garbage"), "");
        assert_eq!(
            traceparent(
                &span,
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
            ),
            "",
            "an all-zero trace id is invalid"
        );
        assert_eq!(traceparent(&span, ""), "");
    }

    #[test]
    fn links_and_parents_are_no_ops_without_a_layer() {
        let span = tracing::info_span!("rpc");
        adopt_parent(&span, &carrier(CALLER));
        link(&span, CALLER);
        link(&span, "");
        link(&span, "00-zz");
    }
}
