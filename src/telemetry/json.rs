//! The JSON log line: `tracing-subscriber`'s JSON format, plus top-level `trace_id` and
//! `span_id` when spans are exported, so a log search jumps straight to the trace.
//!
//! The ids live in the OpenTelemetry layer's span data, reachable only through the
//! subscriber's `Dispatch`. While an event is being written the thread's default dispatcher
//! is deliberately unavailable (re-entrancy guard), so the dispatch is captured once, when
//! the subscriber is registered, and held weakly to avoid a cycle.

use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use tracing::{dispatcher::WeakDispatch, Dispatch, Event, Subscriber};
use tracing_subscriber::{
    fmt::{format::Writer, FmtContext, FormatEvent, FormatFields, MakeWriter},
    registry::LookupSpan,
    Layer,
};

/// The subscriber's dispatch, filled when it is registered. As a layer it does nothing else.
#[derive(Clone, Default)]
pub(super) struct DispatchCell(Arc<OnceLock<WeakDispatch>>);

impl<S: Subscriber> Layer<S> for DispatchCell {
    // The cell wants no span or event, only the dispatch: saying so keeps the global level
    // at what the filtered layers want. Without the hint the whole stack counts as TRACE and
    // h2, hyper and tonic build spans for every frame (about 10 us a request).
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::OFF)
    }

    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        // A subscriber is registered once; a second registration keeps the first.
        let _ = self.0.set(subscriber.downgrade());
    }
}

impl DispatchCell {
    /// The exported trace and span ids of the span `id`, when it has valid ones.
    fn ids(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self.0.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid()
            .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    }
}

/// JSON lines (one object per event, event fields flattened), with trace ids when `ids`.
pub(super) fn layer<S, W>(writer: W, ids: Option<DispatchCell>) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .map_event_format(|inner| WithTraceIds { inner, ids })
        .with_writer(writer)
}

/// Writes the inner format's JSON object, then adds the ids as two more members.
struct WithTraceIds<F> {
    inner: F,
    ids: Option<DispatchCell>,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let Some(cell) = &self.ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let ids = ctx
            .event_scope()
            .and_then(|mut scope| scope.next())
            .and_then(|span| cell.ids(&span.id()));
        match (ids, line.trim_end().strip_suffix('}')) {
            (Some((trace_id, span_id)), Some(object)) => {
                // Hex ids need no escaping.
                writer.write_str(object)?;
                write!(
                    writer,
                    ",\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"
                )?;
                writeln!(writer)
            }
            _ => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        io,
        sync::{Arc, Mutex},
    };

    use opentelemetry::{propagation::TextMapPropagator as _, trace::TraceContextExt as _};
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    use crate::config::{LogConfig, LogFormat};

    /// Collects every log line written.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn json(&self) -> Vec<serde_json::Value> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn json_config() -> LogConfig {
        LogConfig {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn json_lines_carry_the_trace_and_span_ids_when_exporting() {
        let provider = SdkTracerProvider::builder().build();
        let lines = Lines::default();
        let out = lines.clone();
        let subscriber =
            super::super::subscriber(&json_config(), Some(&provider), move || out.clone()).unwrap();
        let own_span_id = tracing::subscriber::with_default(subscriber, || {
            tracing::info!(outside = true, "no span");
            let span = tracing::info_span!("rpc");
            let carrier = HashMap::from([("traceparent".to_string(), CALLER.to_string())]);
            span.set_parent(TraceContextPropagator::new().extract(&carrier))
                .unwrap();
            span.in_scope(|| tracing::info!(decision.id = "d-1", "decided"));
            span.context().span().span_context().span_id().to_string()
        });
        let lines = lines.json();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
        assert_eq!(lines[0]["message"], "no span");
        assert_eq!(lines[1]["message"], "decided");
        assert_eq!(lines[1]["decision.id"], "d-1");
        assert_eq!(lines[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        // The line names tollgate's own span, a child of the caller's.
        assert_eq!(lines[1]["span_id"], own_span_id.as_str());
        assert_ne!(own_span_id, "00f067aa0ba902b7");
    }

    #[test]
    fn json_lines_have_no_ids_without_an_exporter() {
        let lines = Lines::default();
        let out = lines.clone();
        let subscriber =
            super::super::subscriber(&json_config(), None, move || out.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("rpc");
            span.in_scope(|| tracing::info!("decided"));
        });
        let lines = lines.json();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
        assert_eq!(lines[0]["span"]["name"], "rpc");
    }
}
