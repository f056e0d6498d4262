//! Spans for gRPC calls: one server span per RPC, joined to the caller's trace through the
//! W3C `traceparent` metadata. The service describes the decision, approval or redemption on
//! it (`crate::service::spans`); attributes never carry input: params, attributes, intents,
//! tokens and capabilities stay out of spans.

use tonic::{metadata::KeyRef, metadata::MetadataMap, Status};
use tracing::{field::Empty, Instrument as _, Span};

use crate::telemetry::trace::{adopt_parent, TRACEPARENT};

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
