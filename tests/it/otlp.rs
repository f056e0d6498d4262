//! OpenTelemetry export, end to end: the built binary, configured with an OTLP endpoint,
//! exports its spans over OTLP/gRPC to an in-process receiver built from the official
//! opentelemetry-proto definitions. One span per decision, joined to the caller's trace;
//! approval calls link back to the trace of the decision that created the approval.

use std::{collections::HashMap, time::Duration};

use crate::common::*;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::{any_value::Value, AnyValue, KeyValue},
    trace::v1::{span::SpanKind, Span},
};
use tokio::sync::mpsc;
use tollgate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient,
};
use tonic::{Request, Response, Status};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A span as received, with the resource's service name.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Span,
}

/// The collector side of OTLP/gRPC: every exported span goes down a channel.
struct Receiver(mpsc::UnboundedSender<Received>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| string_attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    let _ = self.0.send(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// Starts the receiver on 127.0.0.1:0.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (format!("http://{addr}"), rx)
}

fn traced<T>(token: &str, traceparent: Option<&str>, msg: T) -> Request<T> {
    let mut r = as_user(token, msg);
    if let Some(tp) = traceparent {
        r.metadata_mut().insert("traceparent", tp.parse().unwrap());
    }
    r
}

/// Waits (bounded) until `want` spans named `name` have arrived; returns every span so far.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Received>,
    seen: &mut Vec<Received>,
    want: &[(&str, usize)],
) {
    let enough = |seen: &Vec<Received>| {
        want.iter()
            .all(|(name, n)| seen.iter().filter(|r| r.span.name == *name).count() >= *n)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !enough(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => seen.push(r),
            _ => panic!("timed out waiting for {want:?}; got {:#?}", names(seen)),
        }
    }
}

fn names(seen: &[Received]) -> Vec<&str> {
    seen.iter().map(|r| r.span.name.as_str()).collect()
}

fn write_config(dir: &std::path::Path, endpoint: &str) -> std::path::PathBuf {
    let bundle = dir.join("bundle");
    copy_dir(&repo().join("policies"), &bundle);
    let config = dir.join("tollgate.yaml");
    std::fs::write(
        &config,
        format!(
            r#"grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
data_dir: {data}
bundle: {{path: {bundle}, watch: false}}
log: {{format: json, level: info}}
telemetry: {{otlp_endpoint: "{endpoint}", service_name: tollgate-under-test}}
auth:
  mode: static_tokens
  tokens:
    - {{token: agent-secret-token, id: "agent:billing-exporter", kind: agent, owner: "team:growth", groups: [exporters]}}
    - {{token: gov-secret-token, id: "user:dana@example.com", kind: user, groups: [data-governance]}}
"#,
            data = dir.join("data").display(),
            bundle = bundle.display(),
        ),
    )
    .unwrap();
    config
}

fn read_request() -> pb::AuthorizeRequest {
    let mut r = request("dataset.read", "dataset");
    r.subject = None;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_export_one_span_each_joined_to_the_callers_trace() {
    let (endpoint, mut rx) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &endpoint);
    let mut server = spawn_serve(&config, &[]).await;
    let mut authz = AuthorizerClient::new(server.channel.clone());
    let caller = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let tp = Some(caller.as_str());

    let allow = authz
        .authorize(traced("agent-secret-token", tp, read_request()))
        .await
        .unwrap()
        .into_inner();
    let mut pending_req = pending_export();
    pending_req.subject = Some(pb::Subject {
        on_behalf_of: "user:alice@example.com".into(),
        ..Default::default()
    });
    let pending = authz
        .authorize(traced("agent-secret-token", tp, pending_req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), pb::Effect::PendingApproval);
    let batch = authz
        .batch_authorize(traced(
            "agent-secret-token",
            tp,
            pb::BatchAuthorizeRequest {
                requests: vec![read_request(), read_request()],
                dry_run: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.results.len(), 2);
    // A reviewer in another trace (none given: a new root) approves.
    ApprovalsClient::new(server.channel.clone())
        .approve(traced(
            "gov-secret-token",
            None,
            pb::ApproveRequest {
                approval_id: pending.approval_id.clone(),
                verdict: pb::Verdict::Approve as i32,
                reason: "checked TICKET-812".into(),
                params: None,
            },
        ))
        .await
        .unwrap();

    // SIGTERM: the server drains and flushes what its batch processor still holds.
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let exited = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (server, status)
    });
    let (_server, status) = exited.await.unwrap();
    assert!(status.success(), "{status:?}");

    let mut seen = Vec::new();
    collect(
        &mut rx,
        &mut seen,
        &[
            ("tollgate.v1.Authorizer/Authorize", 2),
            ("tollgate.v1.Authorizer/BatchAuthorize", 1),
            ("tollgate.decision", 2),
            ("tollgate.v1.Approvals/Approve", 1),
        ],
    )
    .await;
    check_authorize_spans(&seen, &allow, &pending);
    check_batch_spans(&seen, &batch);
    check_approve_link(&seen, &pending);
    for r in &seen {
        assert_eq!(r.service, "tollgate-under-test");
        no_secrets(&r.span);
    }
}

fn by_name<'a>(seen: &'a [Received], name: &str) -> Vec<&'a Span> {
    seen.iter()
        .filter(|r| r.span.name == name)
        .map(|r| &r.span)
        .collect()
}

fn check_authorize_spans(
    seen: &[Received],
    allow: &pb::AuthorizeResponse,
    pending: &pb::AuthorizeResponse,
) {
    let spans = by_name(seen, "tollgate.v1.Authorizer/Authorize");
    assert_eq!(spans.len(), 2, "exactly one span per decision");
    let mut by_decision: HashMap<String, &Span> = HashMap::new();
    for s in &spans {
        assert_eq!(hex::encode(&s.trace_id), TRACE_ID, "the caller's trace");
        assert_eq!(
            hex::encode(&s.parent_span_id),
            CALLER_SPAN,
            "the caller's span is the parent"
        );
        assert_eq!(s.kind, SpanKind::Server as i32);
        let id = string_attr(&s.attributes, "tollgate.decision.id").unwrap();
        by_decision.insert(id, s);
    }
    let a = by_decision[&allow.decision_id];
    let expect = [
        ("tollgate.effect", "ALLOW"),
        ("tollgate.action", "dataset.read"),
        ("tollgate.resource.type", "dataset"),
        ("tollgate.subject.kind", "agent"),
    ];
    for (key, value) in expect {
        assert_eq!(
            string_attr(&a.attributes, key).as_deref(),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(
        string_attr(&a.attributes, "tollgate.bundle.revision").as_deref(),
        Some(allow.bundle_revision.as_str())
    );
    let us = attr(&a.attributes, "tollgate.eval.duration_us");
    assert!(matches!(us, Some(Value::IntValue(us)) if *us > 0), "{us:?}");
    assert!(matches!(
        attr(&a.attributes, "tollgate.cache.hit"),
        Some(Value::BoolValue(false))
    ));
    assert_eq!(attr(&a.attributes, "tollgate.approval.id"), None);

    let p = by_decision[&pending.decision_id];
    assert_eq!(
        string_attr(&p.attributes, "tollgate.effect").as_deref(),
        Some("PENDING_APPROVAL")
    );
    assert_eq!(
        string_attr(&p.attributes, "tollgate.action").as_deref(),
        Some("data.export")
    );
    assert_eq!(
        string_attr(&p.attributes, "tollgate.approval.id").as_deref(),
        Some(pending.approval_id.as_str())
    );
}

fn check_batch_spans(seen: &[Received], batch: &pb::BatchAuthorizeResponse) {
    let call = by_name(seen, "tollgate.v1.Authorizer/BatchAuthorize");
    assert_eq!(call.len(), 1);
    assert_eq!(hex::encode(&call[0].parent_span_id), CALLER_SPAN);
    let items = by_name(seen, "tollgate.decision");
    assert_eq!(items.len(), 2, "one span per batch item");
    let mut ids: Vec<String> = items
        .iter()
        .map(|s| {
            assert_eq!(hex::encode(&s.trace_id), TRACE_ID);
            assert_eq!(
                s.parent_span_id, call[0].span_id,
                "items are children of the call"
            );
            assert_eq!(
                string_attr(&s.attributes, "tollgate.effect").as_deref(),
                Some("ALLOW")
            );
            string_attr(&s.attributes, "tollgate.decision.id").unwrap()
        })
        .collect();
    let mut answered: Vec<String> = batch
        .results
        .iter()
        .map(|r| match &r.outcome {
            Some(pb::batch_item::Outcome::Decision(d)) => d.decision_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    answered.sort();
    assert_eq!(ids, answered);
}

fn check_approve_link(seen: &[Received], pending: &pb::AuthorizeResponse) {
    let decision = by_name(seen, "tollgate.v1.Authorizer/Authorize")
        .into_iter()
        .find(|s| {
            string_attr(&s.attributes, "tollgate.decision.id").as_deref()
                == Some(pending.decision_id.as_str())
        })
        .unwrap();
    let approve = by_name(seen, "tollgate.v1.Approvals/Approve");
    assert_eq!(approve.len(), 1);
    let approve = approve[0];
    assert_ne!(
        hex::encode(&approve.trace_id),
        TRACE_ID,
        "the reviewer's call is its own trace"
    );
    assert_eq!(
        string_attr(&approve.attributes, "tollgate.approval.id").as_deref(),
        Some(pending.approval_id.as_str())
    );
    assert!(
        approve
            .links
            .iter()
            .any(|l| l.trace_id == decision.trace_id && l.span_id == decision.span_id),
        "Approve links to the decision's span: {:?}",
        approve.links
    );
}

/// Request content, tokens and capabilities never become attributes.
fn no_secrets(span: &Span) {
    for kv in &span.attributes {
        if let Some(Value::StringValue(s)) = kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            for secret in ["secret-token", "s3://", "churn", "v4.public", "alice"] {
                assert!(!s.contains(secret), "{} = {s} on {}", kv.key, span.name);
            }
        }
    }
}
