//! Observability: one `tracing` subscriber for structured logs (pretty or JSON), the
//! OpenTelemetry layer that exports the same spans over OTLP/gRPC when an endpoint is
//! configured, W3C trace-context propagation, and the Prometheus metrics.
//!
//! - [`metrics`]: the Prometheus registry and every series tollgate exposes on `/metrics`.
//! - [`trace`]: W3C `traceparent` in and out: parents, links, the value stored on approvals.
//! - [`ErrorChain`]: an error with its causes, for log lines.
//! - `json`: the JSON log line, with `trace_id` and `span_id` when spans are exported.
//!
//! Spans are ordinary `tracing` spans, so protocol handlers only create and record them;
//! whether they are exported is decided once, here. Without an endpoint no OpenTelemetry
//! layer is installed at all.

mod error_chain;
mod json;
pub mod metrics;
pub mod trace;

pub use error_chain::ErrorChain;
pub use metrics::Metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{trace::SdkTracerProvider, Resource};
use tracing::Subscriber;
use tracing_subscriber::{
    filter::Targets, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter,
    Layer,
};

use crate::config::{LogConfig, LogFormat, TelemetryConfig};

/// Why logging or tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The level directive does not parse.
    #[error("invalid log level {level:?}: {source}")]
    Filter {
        /// The directive.
        level: String,
        /// The parser's error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is already installed.
    #[error("logging already initialised: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
    /// The OTLP exporter could not be built from the configured endpoint.
    #[error("OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The longest a shutdown waits for buffered spans to reach the collector.
pub const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What [`init`] installed. Keep it until shutdown, then call [`Telemetry::shutdown`] so
/// spans still buffered are exported before the process exits.
#[must_use = "dropping the handle loses the chance to flush buffered spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported (an OTLP endpoint is configured).
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports what is buffered and stops the exporter, giving up after
    /// [`FLUSH_TIMEOUT`] so an unreachable collector cannot hold up exit. It blocks, so it
    /// runs off the async threads (the export itself needs them: tonic runs on tokio).
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        let flush = move || provider.shutdown_with_timeout(FLUSH_TIMEOUT);
        match tokio::task::spawn_blocking(flush).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %ErrorChain(&e), "flushing spans at shutdown failed")
            }
            Err(e) => tracing::warn!(error = %ErrorChain(&e), "span flush task failed"),
        }
    }
}

/// Installs the global subscriber (logs to stderr, spans to OTLP when configured). Call
/// once, before anything logs, inside the tokio runtime: the OTLP/gRPC exporter and its
/// batch processor run on it.
pub fn init(log: &LogConfig, telemetry: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let provider = match &telemetry.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(endpoint, &telemetry.service_name)?),
        None => None,
    };
    subscriber(log, provider.as_ref(), std::io::stderr)?.try_init()?;
    if let Some(endpoint) = &telemetry.otlp_endpoint {
        tracing::info!(otlp.endpoint = %endpoint, service.name = %telemetry.service_name, "exporting spans over OTLP/gRPC");
    }
    Ok(Telemetry { provider })
}

/// A tracer provider exporting to `endpoint` in batches.
///
/// The SDK's stable batch processor queues spans without blocking the caller and hands
/// batches to the exporter from its own thread; the tonic exporter's connection runs on the
/// tokio runtime it was built in. (The SDK's tokio-task processor is still experimental and
/// ignores shutdown timeouts, so a dead collector could hold up exit.) Batch size, queue
/// and delay follow the standard `OTEL_BSP_*` variables.
fn otlp_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build())
}

/// The subscriber [`init`] installs, writing logs to `writer` and, with `provider`, spans to
/// OpenTelemetry. Public so tests and embedders can install it where they need it.
///
/// The log level applies to log output only: spans and events from tollgate itself always
/// reach the exporter at INFO, so `level: warn` quiets the logs without emptying traces.
pub fn subscriber<W>(
    log: &LogConfig,
    provider: Option<&SdkTracerProvider>,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + 'static, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&log.level).map_err(|source| TelemetryError::Filter {
        level: log.level.clone(),
        source,
    })?;
    let otel = provider.map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("tollgate"))
            .with_filter(Targets::new().with_target("tollgate", tracing::Level::INFO))
    });
    // JSON lines name the trace they belong to only when there is one to look up. (The
    // cell is a layer of its own: `Option<Layer>` does not pass the dispatch on.)
    let cell = json::DispatchCell::default();
    let ids = otel.is_some().then(|| cell.clone());
    let registry = tracing_subscriber::registry().with(otel);
    let output = match log.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => json::layer(writer, ids).with_filter(filter).boxed(),
    };
    Ok(registry.with(output).with(cell))
}

#[cfg(test)]
mod tests {
    use tracing::{level_filters::LevelFilter, Subscriber as _};

    use super::*;

    /// The stack's level hint is what the log filter asks for, not TRACE: otherwise every
    /// callsite in h2, hyper and tonic is enabled and builds spans on every frame.
    #[test]
    fn the_subscriber_is_no_more_verbose_than_its_filter() {
        for format in [LogFormat::Pretty, LogFormat::Json] {
            let log = LogConfig {
                format,
                level: "info".into(),
            };
            let s = subscriber(&log, None, std::io::sink).unwrap();
            assert_eq!(s.max_level_hint(), Some(LevelFilter::INFO), "{format:?}");
        }
    }
}
