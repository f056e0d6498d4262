//! Logs never carry what callers send in confidence: request params, intents, attributes,
//! bearer tokens or capabilities. Every log line of a full approval workflow, at TRACE for
//! tollgate, through the production JSON subscriber with tracing on, is searched for them.



use std::{
    io,
    sync::{Arc, Mutex},
};

use crate::common::*;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tollgate::{
    config::{LogConfig, LogFormat},
    grpc::pb::{self, approvals_client::ApprovalsClient, Effect},
};

const POLICY: &str = r#"package tollgate

default allow := false

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports need an SRE"} if input.action.name == "data.export"
"#;

/// What the callers send that must never be logged.
const SECRETS: [&str; 5] = [
    "agent-token-7f3a",
    "sre-token-9c1d",
    "s3://hush-bucket",
    "intent-nobody-may-read",
    "attr-value-private",
];

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

fn export_request() -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            attributes: strukt(serde_json::json!({"clearance": "attr-value-private"})),
            ..Default::default()
        }),
        action: Some(pb::Action {
            name: "data.export".into(),
            params: strukt(serde_json::json!({"dest": "s3://hush-bucket", "rows": 5})),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "users-eu".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            intent: "intent-nobody-may-read".into(),
            request_id: "r-1".into(),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn no_log_line_carries_params_intents_tokens_or_capabilities() {
    let lines = Lines::default();
    let out = lines.clone();
    let provider = SdkTracerProvider::builder().build();
    let log = LogConfig {
        format: LogFormat::Json,
        level: "tollgate=trace,info".into(),
    };
    let subscriber =
        tollgate::telemetry::subscriber(&log, Some(&provider), move || out.clone()).unwrap();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let server = start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity("agent-token-7f3a", "agent:exporter", "agent", &[]),
            identity("sre-token-9c1d", "user:sre", "user", &["sre"]),
            identity("exec", "service:exec", "service", &[]),
        ]);
    })
    .await;
    let pending = server
        .authorizer()
        .authorize(as_user("agent-token-7f3a", export_request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), Effect::PendingApproval);
    let bad = server
        .authorizer()
        .authorize(as_user("agent-token-7f3a-wrong", export_request()))
        .await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::Unauthenticated);

    let mut approvals = ApprovalsClient::new(server.channel.clone());
    let review = pb::ApproveRequest {
        approval_id: pending.approval_id.clone(),
        verdict: pb::Verdict::Approve as i32,
        reason: "ok".into(),
        params: None,
    };
    approvals
        .approve(as_user("sre-token-9c1d", review))
        .await
        .unwrap();
    let get = pb::GetApprovalRequest {
        approval_id: pending.approval_id.clone(),
    };
    let capability = approvals
        .get_approval(as_user("agent-token-7f3a", get))
        .await
        .unwrap()
        .into_inner()
        .capability;
    assert!(capability.starts_with("v4.public."));
    // Presented for a request it is not bound to: refused.
    let redeem = pb::RedeemCapabilityRequest {
        capability: capability.clone(),
        request: Some(export_request()),
    };
    let r = approvals
        .redeem_capability(as_user("exec", redeem))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.allowed);
    server.stop().await;

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "approval requested",
        "review recorded",
        "caller refused",
        pending.decision_id.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "the workflow was logged: {expected}\n{text}"
        );
    }
    let in_trace = text.lines().filter(|l| l.contains("\"trace_id\":")).count();
    assert!(in_trace > 0, "lines inside calls name their trace:\n{text}");
    for secret in SECRETS.iter().copied().chain([capability.as_str()]) {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the logs:\n{text}"
        );
    }
}
