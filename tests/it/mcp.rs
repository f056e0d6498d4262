//! The MCP gateway end to end: a real MCP client (rmcp) talks to `tollgate mcp` (the built
//! binary) in front of a real MCP server (the official Python SDK, `tests/mcp/server.py`),
//! deciding through a real tollgate server. The fixture server logs every call it receives,
//! so "never reached the server" and "forwarded exactly once" are read from its log.

use std::{path::Path, process::Stdio, time::Duration};

use rmcp::{
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::TokioChildProcess,
    RoleClient, ServiceExt,
};
use serde_json::{json, Value};
use tollgate::{grpc::pb, identity::TokenIdentity};

use crate::common::{self, as_user, eventually, identity, policy_file, static_tokens, strukt};

pub(crate) const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name in {"mcp.echo", "mcp.export_rows"}

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports need security"} if input.action.name == "mcp.export_rows"

deny contains "dropping tables is not allowed" if input.action.name == "mcp.delete_table"
"#;

pub(crate) async fn server() -> common::TestServer {
    common::start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            TokenIdentity {
                assert_subjects: true,
                ..identity(
                    "gw-token",
                    "service:mcp-gateway",
                    "service",
                    &["tollgate-executors"],
                )
            },
            identity("sec-token", "user:sam", "user", &["security"]),
        ]);
    })
    .await
}

/// `tollgate mcp` asking `s` for agent `agent:exporter` (`wait` is `--wait`); the caller
/// adds the upstream.
pub(crate) fn gateway_command(s: &common::TestServer, wait: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.arg("mcp")
        .args(["--tollgate", &format!("http://{}", s.running.grpc_addr)])
        .args(["--token", "gw-token", "--subject", "agent:exporter"])
        .args(["--owner", "team:growth", "--wait", wait])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    cmd
}

/// An MCP client session through the gateway (`wait` is `--wait`) in front of the stdio
/// fixture, which logs to `log`.
async fn gateway(s: &common::TestServer, log: &Path, wait: &str) -> RunningService<RoleClient, ()> {
    stdio_gateway(gateway_command(s, wait), log).await
}

/// An MCP client session through the gateway `cmd` in front of the stdio fixture.
async fn stdio_gateway(
    mut cmd: tokio::process::Command,
    log: &Path,
) -> RunningService<RoleClient, ()> {
    cmd.arg("--")
        .arg("python3")
        .arg(common::repo().join("tests/mcp/server.py"))
        .env("MCP_FIXTURE_LOG", log);
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .expect("the gateway and the upstream server start")
}

pub(crate) fn call(tool: &'static str, args: Value) -> CallToolRequestParams {
    let Value::Object(map) = args else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(tool).with_arguments(map)
}

pub(crate) fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The calls the fixture server received.
pub(crate) fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// As reviewer `sam`: waits until an approval is pending, decides it, returns its id.
pub(crate) async fn review(
    s: &common::TestServer,
    verdict: pb::Verdict,
    params: Option<prost_types::Struct>,
) -> String {
    let approvals = pb::approvals_client::ApprovalsClient::new(s.channel.clone());
    let id = eventually("an approval is pending", Duration::from_secs(20), || {
        let mut a = approvals.clone();
        async move {
            let listed = a
                .list_approvals(as_user(
                    "sec-token",
                    pb::ListApprovalsRequest {
                        state: pb::ApprovalState::Pending as i32,
                        ..Default::default()
                    },
                ))
                .await
                .map_err(|e| e.to_string())?
                .into_inner()
                .approvals;
            listed
                .first()
                .map(|a| a.id.clone())
                .ok_or_else(|| "none yet".to_string())
        }
    })
    .await;
    approvals
        .clone()
        .approve(as_user(
            "sec-token",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: verdict as i32,
                reason: "reviewed".into(),
                params,
            },
        ))
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn allowed_forwards_denied_never_reaches_the_server_pending_is_held_until_approved() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let client = gateway(&s, &log, "60s").await;

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["delete_table", "echo", "export_rows"]);

    let echoed = client
        .call_tool(call("echo", json!({"text": "hi"})))
        .await
        .unwrap();
    assert_ne!(echoed.is_error, Some(true), "{echoed:?}");
    assert_eq!(text(&echoed), "hi");

    let denied = client
        .call_tool(call("delete_table", json!({"table": "users"})))
        .await
        .unwrap();
    assert_eq!(denied.is_error, Some(true));
    assert!(
        text(&denied).contains("dropping tables is not allowed"),
        "{denied:?}"
    );

    let (held, approval_id) = tokio::join!(
        client.call_tool(call("export_rows", json!({"table": "users", "rows": 5000}))),
        review(&s, pb::Verdict::Approve, None)
    );
    let held = held.unwrap();
    assert_ne!(held.is_error, Some(true), "{held:?}");
    assert_eq!(text(&held), "exported 5000 rows of users");
    assert!(!approval_id.is_empty());

    assert_eq!(
        received(&log),
        [
            json!({"tool": "echo", "arguments": {"text": "hi"}}),
            json!({"tool": "export_rows", "arguments": {"table": "users", "rows": 5000}}),
        ]
    );
    client.cancel().await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn a_client_that_gives_up_resumes_the_same_approval_by_calling_again() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let client = gateway(&s, &log, "1s").await;
    let export = || call("export_rows", json!({"table": "users", "rows": 5000}));

    // The gateway's wait runs out first: the answer names the approval.
    let first = client.call_tool(export()).await.unwrap();
    assert_eq!(first.is_error, Some(true));
    assert!(text(&first).contains("still pending"), "{first:?}");

    // The client's own timeout runs out first: it cancels the call.
    let gave_up =
        tokio::time::timeout(Duration::from_millis(300), client.call_tool(export())).await;
    assert!(gave_up.is_err(), "the call was held, not answered");

    // A reviewer narrows the one approval both calls map to; the next call resumes it.
    let id = review(
        &s,
        pb::Verdict::Modify,
        strukt(json!({"table": "users", "rows": 1000})),
    )
    .await;
    assert!(text(&first).contains(&id), "{first:?} names {id}");
    let resumed = client.call_tool(export()).await.unwrap();
    assert_ne!(resumed.is_error, Some(true), "{resumed:?}");
    let said = text(&resumed);
    assert!(said.contains("exported 1000 rows of users"), "{said}");
    assert!(said.contains("narrowed"), "{said}");
    assert_eq!(
        received(&log),
        [json!({"tool": "export_rows", "arguments": {"table": "users", "rows": 1000}})]
    );

    // The approval was used: the same call again asks anew. Nobody answers the new approval
    // within the wait, so it is not forwarded; the answer names the new approval.
    let again = client.call_tool(export()).await.unwrap();
    assert_eq!(again.is_error, Some(true), "{again:?}");
    let said = text(&again);
    assert!(
        said.contains("still pending") && !said.contains(&id),
        "{said}"
    );
    assert_eq!(received(&log).len(), 1);
    client.cancel().await.unwrap();
    s.stop().await;
}

/// The pending approvals `sam` sees.
async fn pending(s: &common::TestServer) -> Vec<pb::Approval> {
    let mut approvals = pb::approvals_client::ApprovalsClient::new(s.channel.clone());
    approvals
        .list_approvals(as_user(
            "sec-token",
            pb::ListApprovalsRequest {
                state: pb::ApprovalState::Pending as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .approvals
}

#[tokio::test]
async fn filtered_tools_leave_out_what_the_policy_denies_and_fail_closed() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut cmd = gateway_command(&s, "60s");
    cmd.arg("--filter-tools");
    let client = stdio_gateway(cmd, &log).await;

    // delete_table is denied outright; export_rows needs an approval, so it stays listed,
    // and asking opened no approval for a reviewer.
    let mut names: Vec<_> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["echo", "export_rows"]);
    let opened = pending(&s).await;
    assert!(opened.is_empty(), "listing opened approvals: {opened:?}");

    // Filtering is a courtesy: a call of the unlisted tool is still decided, and denied.
    let denied = client
        .call_tool(call("delete_table", json!({"table": "users"})))
        .await
        .unwrap();
    assert_eq!(denied.is_error, Some(true));
    assert!(
        text(&denied).contains("dropping tables is not allowed"),
        "{denied:?}"
    );
    assert_eq!(received(&log), Vec::<Value>::new());

    // Without tollgate there is no list, never the unfiltered one.
    s.stop().await;
    let listed = client.list_all_tools().await;
    assert!(listed.is_err(), "{listed:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_used_approval_is_never_reused_an_identical_later_call_asks_anew() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let client = gateway(&s, &log, "60s").await;
    let export = || call("export_rows", json!({"table": "users", "rows": 5000}));

    let (first, first_id) = tokio::join!(
        client.call_tool(export()),
        review(&s, pb::Verdict::Approve, None)
    );
    let first = first.unwrap();
    assert_ne!(first.is_error, Some(true), "{first:?}");

    // A new gateway process (which remembers nothing) makes the identical call: it is held
    // for a new approval, and forwarded once that is approved.
    client.cancel().await.unwrap();
    let client = gateway(&s, &log, "60s").await;
    let (second, second_id) = tokio::join!(
        client.call_tool(export()),
        review(&s, pb::Verdict::Approve, None)
    );
    let second = second.unwrap();
    assert_ne!(second.is_error, Some(true), "{second:?}");
    assert_ne!(first_id, second_id, "the used approval was reused");
    let forwarded = json!({"tool": "export_rows", "arguments": {"table": "users", "rows": 5000}});
    assert_eq!(received(&log), [forwarded.clone(), forwarded]);
    client.cancel().await.unwrap();
    s.stop().await;
}
