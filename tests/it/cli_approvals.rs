//! The reviewer CLI, driven as a reviewer would: the built binary's `approvals list`, `show`,
//! `approve` and `deny` against a real server on port 0 with static tokens.



use std::process::Command;

use crate::common::*;
use tollgate::grpc::pb::{self, Effect};
use tonic::Request;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

const POLICY: &str = r#"package tollgate

default allow := false

approval contains {"groups": ["sre"], "quorum": 2, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "reason": "dropping a database needs two SREs"} if input.action.name == "db.drop"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "high", "reason": "security reviews every drop"} if input.action.name == "db.drop"
"#;

async fn server() -> TestServer {
    start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity("agent-token", "agent:deployer", "agent", &[]),
            identity("sre1-token", "user:sre1", "user", &["sre"]),
            identity("sre2-token", "user:sre2", "user", &["sre"]),
            identity("sec-token", "user:sec", "user", &["security"]),
        ])
    })
    .await
}

/// Asks for a database drop as the agent; returns the pending approval's id.
async fn pending(server: &TestServer, request_id: &str) -> String {
    let mut request = Request::new(pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            on_behalf_of: "user:alice".into(),
            ..Default::default()
        }),
        action: Some(pb::Action {
            name: "db.drop".into(),
            params: strukt(serde_json::json!({"database": "orders", "rows": 1200})),
        }),
        resource: Some(pb::Resource {
            r#type: "database".into(),
            id: "orders-eu".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            intent: "decommission after migration TICKET-9".into(),
            environment: "prod".into(),
            request_id: request_id.into(),
            attributes: None,
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", "Bearer agent-token".parse().unwrap());
    let r = server
        .authorizer()
        .authorize(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}

/// Runs `tollgate approvals ARGS --server ... --token TOKEN` off the runtime, so the
/// in-process server keeps answering while the binary waits on it.
async fn cli(server: &TestServer, token: &str, args: &[&str]) -> Run {
    let mut command = Command::new(BIN);
    command
        .arg("approvals")
        .args(args)
        .args(["--server", &format!("http://{}", server.running.grpc_addr)])
        .args(["--token", token])
        .env_remove("TOLLGATE_SERVER")
        .env_remove("TOLLGATE_TOKEN");
    Run::of(command).await
}

#[tokio::test]
async fn a_reviewer_lists_shows_and_answers_requests() {
    let server = server().await;
    let id = pending(&server, "cli-1").await;

    let list = cli(&server, "sre1-token", &["list", "--state", "pending"])
        .await
        .ok()
        .to_string();
    let row = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("no row for {id} in\n{list}"));
    for cell in [
        "pending",
        "agent:deployer",
        "user:alice",
        "db.drop",
        "database/orders-eu",
        "critical",
        // Requirements in the server's (the policy set's sorted) order.
        "security x1 + sre x2",
    ] {
        assert!(row.contains(cell), "{cell:?} missing from {row:?}");
    }
    assert!(list.starts_with("ID "), "{list}");
    let none = cli(&server, "sre1-token", &["list", "--state", "denied"])
        .await
        .ok()
        .to_string();
    assert_eq!(none, "no approval requests match\n");

    let show = cli(&server, "sre1-token", &["show", &id])
        .await
        .ok()
        .to_string();
    for needle in [
        "requester     agent:deployer",
        "on behalf of  user:alice",
        "intent        decommission after migration TICKET-9",
        "    \"rows\": 1200",
        "sre x2  risk critical  step-up no  ttl 15m  capability ttl 5m",
        "reason: dropping a database needs two SREs",
        "reviews (0):",
    ] {
        assert!(show.contains(needle), "{needle:?} missing from\n{show}");
    }

    let approved = cli(
        &server,
        "sre1-token",
        &["approve", &id, "--reason", "matches TICKET-9"],
    )
    .await
    .ok()
    .to_string();
    assert!(approved.contains(": pending"), "{approved}");
    assert!(
        approved.contains("approvals so far: 1 (user:sre1); at least 2 more needed"),
        "{approved}"
    );

    let own = cli(
        &server,
        "agent-token",
        &["deny", &id, "--reason", "changed my mind"],
    )
    .await;
    assert_eq!(own.code, 1, "{}", own.stderr);
    assert!(
        own.stderr
            .contains("permission denied: the requester cannot review its own request"),
        "{}",
        own.stderr
    );

    let json = cli(&server, "sre1-token", &["--output", "json", "list"])
        .await
        .ok()
        .to_string();
    let page: serde_json::Value = serde_json::from_str(&json).unwrap();
    let listed = &page["approvals"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["state"], "pending");
    assert_eq!(listed["request"]["action"]["params"]["rows"], 1200);
    assert_eq!(listed["reviews"][0]["reviewer_id"], "user:sre1");
    assert_eq!(listed["reviews"][0]["reason"], "matches TICKET-9");

    for token in ["sre2-token", "sec-token"] {
        cli(&server, token, &["approve", &id, "--reason", "fine"])
            .await
            .ok();
    }
    let shown = cli(&server, "agent-token", &["show", &id])
        .await
        .ok()
        .to_string();
    assert!(shown.contains("state         approved"), "{shown}");
    assert!(
        shown.contains("(hidden; pass --show-capability)"),
        "{shown}"
    );
    assert!(!shown.contains("v4.public."), "{shown}");
    let revealed = cli(&server, "agent-token", &["show", &id, "--show-capability"])
        .await
        .ok()
        .to_string();
    assert!(revealed.contains("v4.public."), "{revealed}");
    server.stop().await;
}

#[tokio::test]
async fn a_deny_ends_the_request_and_mistakes_exit_non_zero() {
    let server = server().await;
    let id = pending(&server, "cli-2").await;

    let denied = cli(
        &server,
        "sec-token",
        &["deny", &id, "--reason", "not this week"],
    )
    .await
    .ok()
    .to_string();
    assert!(denied.contains(": denied"), "{denied}");
    assert!(
        denied.contains("denied by user:sec: not this week"),
        "{denied}"
    );
    let late = cli(&server, "sre1-token", &["approve", &id, "--reason", "ok"]).await;
    assert_eq!(late.code, 1);
    assert!(
        late.stderr.contains("failed precondition"),
        "{}",
        late.stderr
    );

    let empty_reason = cli(&server, "sre1-token", &["approve", &id, "--reason", ""]).await;
    assert_eq!(empty_reason.code, 2, "{}", empty_reason.stderr);
    assert!(
        empty_reason.stderr.contains("invalid argument: reason"),
        "{}",
        empty_reason.stderr
    );
    let no_reason = cli(&server, "sre1-token", &["approve", &id]).await;
    assert_eq!(no_reason.code, 2, "{}", no_reason.stderr);
    let missing = cli(&server, "sre1-token", &["show", "no-such-id"]).await;
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    let stranger = cli(&server, "wrong-token", &["list"]).await;
    assert_eq!(stranger.code, 1);
    assert!(
        stranger.stderr.contains("unauthenticated"),
        "{}",
        stranger.stderr
    );
    server.stop().await;
}

#[tokio::test]
async fn modify_sends_narrowed_params_and_refuses_widening() {
    let server = server().await;
    let id = pending(&server, "cli-modify").await;

    let bad_json = cli(
        &server,
        "sre1-token",
        &["modify", &id, "--reason", "r", "--params", "{rows"],
    )
    .await;
    assert_eq!(bad_json.code, 2, "{}", bad_json.stderr);
    assert!(bad_json.stderr.contains("--params"), "{}", bad_json.stderr);

    let wider = cli(
        &server,
        "sre1-token",
        &[
            "modify",
            &id,
            "--reason",
            "r",
            "--params",
            r#"{"database": "orders", "rows": 5000}"#,
        ],
    )
    .await;
    assert_eq!(wider.code, 2, "{}", wider.stderr);
    assert!(wider.stderr.contains("params.rows"), "{}", wider.stderr);

    let narrowed = cli(
        &server,
        "sre1-token",
        &[
            "modify",
            &id,
            "--reason",
            "only 100 rows needed",
            "--params",
            r#"{"database": "orders", "rows": 100}"#,
        ],
    )
    .await
    .ok()
    .to_string();
    assert!(narrowed.contains("pending"), "{narrowed}");
    let shown = cli(&server, "sre1-token", &["show", &id])
        .await
        .ok()
        .to_string();
    assert!(shown.contains("action.params.rows"), "{shown}");
    assert!(shown.contains("1200") && shown.contains("100"), "{shown}");
}
