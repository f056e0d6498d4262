//! Prometheus metrics, scraped over real HTTP from a real server after real decisions,
//! approvals, capabilities and reloads: every series, with the counts those calls imply.

use std::time::Duration;

use crate::common::*;
use tollgate::grpc::pb::{self, approvals_client::ApprovalsClient, Effect};

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"

allow if input.action.name == "probe.write"

obligations contains {"type": "capability"} if input.action.name == "probe.write"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "dropping a database needs an SRE"} if input.action.name == "db.drop"
"#;

async fn server() -> TestServer {
    start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity("agent", "agent:deployer", "agent", &[]),
            identity("sre1", "user:sre1", "user", &["sre"]),
            identity(
                "executor",
                "service:executor",
                "service",
                &["tollgate-executors"],
            ),
        ])
    })
    .await
}

fn ask(action: &str, request_id: &str) -> pb::AuthorizeRequest {
    let mut r = request(action, "database");
    r.subject = None;
    r.context.as_mut().unwrap().request_id = request_id.into();
    r
}

async fn authorize(server: &TestServer, req: pb::AuthorizeRequest) -> pb::AuthorizeResponse {
    server
        .authorizer()
        .authorize(as_user("agent", req))
        .await
        .unwrap()
        .into_inner()
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    metric(text, series)
}

async fn scrape(server: &TestServer) -> String {
    let (status, body) = http_get(server.running.http_addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    body
}

/// Scrapes until `series` reads `want` (the pending gauge follows approval changes
/// asynchronously); bounded, and the last scrape is shown on failure.
async fn scrape_until(server: &TestServer, series: &str, want: f64) -> String {
    let what = format!("{series} reaching {want}");
    eventually(&what, Duration::from_secs(10), || async {
        let text = scrape(server).await;
        if sample(&text, series) == Some(want) {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

#[tokio::test]
async fn metrics_count_decisions_approvals_capabilities_and_reloads() {
    let server = server().await;
    let text = scrape(&server).await;
    assert_eq!(sample(&text, "tollgate_approvals_pending"), Some(0.0));

    for _ in 0..2 {
        let r = authorize(&server, ask("probe.read", "")).await;
        assert_eq!(r.effect(), Effect::Allow);
    }
    let denied = authorize(&server, ask("no.such.action", "")).await;
    assert_eq!(denied.effect(), Effect::Deny);
    let write = authorize(&server, ask("probe.write", "")).await;
    assert!(!write.capability.is_empty());
    let approved = authorize(&server, ask("db.drop", "r-1")).await;
    let cancelled = authorize(&server, ask("db.drop", "r-2")).await;
    assert_eq!(approved.effect(), Effect::PendingApproval);
    scrape_until(&server, "tollgate_approvals_pending", 2.0).await;

    let mut approvals = ApprovalsClient::new(server.channel.clone());
    let review = pb::ApproveRequest {
        approval_id: approved.approval_id.clone(),
        verdict: pb::Verdict::Approve as i32,
        reason: "checked".into(),
        params: None,
    };
    approvals.approve(as_user("sre1", review)).await.unwrap();
    let cancel = pb::CancelApprovalRequest {
        approval_id: cancelled.approval_id.clone(),
    };
    approvals
        .cancel_approval(as_user("agent", cancel))
        .await
        .unwrap();

    // The ALLOW's capability, presented for the request as the agent's identity made it.
    let mut presented = ask("probe.write", "");
    presented.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        owner: "team:platform".into(),
        ..Default::default()
    });
    for expect in [true, false] {
        let redeem = pb::RedeemCapabilityRequest {
            capability: write.capability.clone(),
            request: Some(presented.clone()),
        };
        let r = approvals
            .redeem_capability(as_user("executor", redeem))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.allowed, expect, "{r:?}");
    }

    let text = scrape_until(&server, "tollgate_approvals_pending", 0.0).await;
    check_decisions(&text);
    check_approvals_and_capabilities(&text);
    let revision = &approved.bundle_revision;
    assert_eq!(
        sample(
            &text,
            &format!(r#"tollgate_bundle_info{{revision="{revision}"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"tollgate_bundle_reloads_total{result="ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "tollgate_bundle_last_reload_success"),
        Some(1.0)
    );
    check_rejected_reload(&server, revision).await;
    server.stop().await;
}

fn check_decisions(text: &str) {
    for (series, want) in [
        (
            r#"tollgate_decisions_total{effect="ALLOW",action="probe.read"}"#,
            2.0,
        ),
        (
            r#"tollgate_decisions_total{effect="DENY",action="no.such.action"}"#,
            1.0,
        ),
        (
            r#"tollgate_decisions_total{effect="ALLOW",action="probe.write"}"#,
            1.0,
        ),
        (
            r#"tollgate_decisions_total{effect="PENDING_APPROVAL",action="db.drop"}"#,
            2.0,
        ),
        (
            r#"tollgate_decision_duration_seconds_count{surface="authorize"}"#,
            6.0,
        ),
        ("tollgate_evaluation_duration_seconds_count", 6.0),
    ] {
        assert_eq!(sample(text, series), Some(want), "{series}\n{text}");
    }
    let total = sample(
        text,
        r#"tollgate_decision_duration_seconds_sum{surface="authorize"}"#,
    )
    .unwrap();
    let policy = sample(text, "tollgate_evaluation_duration_seconds_sum").unwrap();
    assert!(
        total > 0.0 && policy > 0.0 && policy < total,
        "evaluation is a part of the call: {policy} of {total}"
    );
}

fn check_approvals_and_capabilities(text: &str) {
    for (series, want) in [
        (
            r#"tollgate_approval_resolution_seconds_count{outcome="approved"}"#,
            1.0,
        ),
        (
            r#"tollgate_approval_resolution_seconds_count{outcome="cancelled"}"#,
            1.0,
        ),
        (
            r#"tollgate_approval_resolution_seconds_count{outcome="denied"}"#,
            0.0,
        ),
        (
            r#"tollgate_approval_resolution_seconds_count{outcome="expired"}"#,
            0.0,
        ),
        // The ALLOW's capability and the approval's.
        (r#"tollgate_capabilities_total{event="issued"}"#, 2.0),
        (r#"tollgate_capabilities_total{event="redeemed"}"#, 1.0),
        (r#"tollgate_capabilities_total{event="refused"}"#, 1.0),
    ] {
        assert_eq!(sample(text, series), Some(want), "{series}\n{text}");
    }
}

/// A bundle that does not compile is counted and flagged; the old revision keeps serving.
async fn check_rejected_reload(server: &TestServer, revision: &str) {
    std::fs::write(
        server.bundle_dir().join("policy.rego"),
        "package tollgate\nallow if {",
    )
    .unwrap();
    let policies = server.running.policies.clone();
    let reloaded = tokio::task::spawn_blocking(move || policies.reload())
        .await
        .unwrap();
    assert!(reloaded.is_err());
    let text = scrape(server).await;
    for (series, want) in [
        (r#"tollgate_bundle_reloads_total{result="ok"}"#, 1.0),
        (r#"tollgate_bundle_reloads_total{result="error"}"#, 1.0),
        ("tollgate_bundle_last_reload_success", 0.0),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series}\n{text}");
    }
    assert_eq!(
        sample(
            &text,
            &format!(r#"tollgate_bundle_info{{revision="{revision}"}}"#)
        ),
        Some(1.0)
    );
}
