//! Spans for HTTP calls into the domain: one server span per request, joined to the caller's
//! trace through its W3C `traceparent` header, with the same decision attributes as the gRPC
//! spans (the service records them). Input never goes on spans.

use axum::http::HeaderMap;
use tracing::{field::Empty, Span};

use crate::telemetry::trace::adopt_parent;

/// Reads W3C trace context from HTTP headers.
struct HeaderCarrier<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The server span for the HTTP route `name`, a child of the caller's span when the headers
/// carry a valid `traceparent`.
pub fn server_span(name: &'static str, headers: &HeaderMap) -> Span {
    let span = tracing::info_span!(
        "http",
        "otel.name" = name,
        "otel.kind" = "server",
        "otel.status_code" = Empty,
        "http.response.status_code" = Empty,
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
    adopt_parent(&span, &HeaderCarrier(headers));
    span
}

/// Records the response status on `span`; a server error marks the span failed.
pub fn record_status(span: &Span, status: axum::http::StatusCode) {
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}
