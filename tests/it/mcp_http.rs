//! The MCP gateway in front of a Streamable HTTP upstream: the same fixture server as
//! `mcp.rs` (official Python SDK), served over Streamable HTTP on a loopback port and
//! refusing any request without its bearer token, which the gateway sends as an
//! `--upstream-header`. Only the transport differs from the stdio upstream, so the same
//! answers are expected; the header's value must never appear in the gateway's logs.

use std::{path::Path, process::Stdio, time::Duration};

use rmcp::{transport::TokioChildProcess, ServiceExt};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tollgate::grpc::pb;

use crate::{
    common::{self, eventually, strukt},
    mcp::{call, gateway_command, received, review, server, text},
};

/// The fixture's bearer token: the gateway must send it and must never log it.
const SECRET: &str = "fixture-secret-7f3a9c";

/// The fixture serving Streamable HTTP on a free loopback port, logging calls to `log`;
/// killed when dropped.
struct HttpFixture {
    _child: tokio::process::Child,
    url: String,
}

async fn http_fixture(log: &Path) -> HttpFixture {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new("python3")
        .arg(common::repo().join("tests/mcp/server.py"))
        .args(["streamable-http", &port.to_string()])
        .env("MCP_FIXTURE_LOG", log)
        .env("MCP_FIXTURE_BEARER", SECRET)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually(
        "the fixture listens",
        Duration::from_secs(90),
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
    )
    .await;
    HttpFixture {
        _child: child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

#[tokio::test]
async fn an_http_upstream_gets_allowed_and_approved_calls_with_its_headers_never_logged() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let fixture = http_fixture(&log).await;

    // Without the header the fixture refuses the handshake: the gateway does not start.
    let mut bare = gateway_command(&s, "60s");
    bare.args(["--upstream-url", &fixture.url]);
    assert!(
        ().serve(TokioChildProcess::new(bare).unwrap())
            .await
            .is_err(),
        "a gateway without the upstream's token must not start"
    );

    let mut cmd = gateway_command(&s, "60s");
    cmd.args(["--upstream-url", &fixture.url])
        .args([
            "--upstream-header",
            &format!("Authorization: Bearer {SECRET}"),
        ])
        .env("RUST_LOG", "debug");
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = tokio::spawn(async move {
        let mut all = String::new();
        stderr.unwrap().read_to_string(&mut all).await.unwrap();
        all
    });
    let client = ().serve(transport).await.expect("the gateway starts");

    let mut names: Vec<_> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
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

    // Held until a reviewer narrows it; the upstream gets exactly the narrowed arguments.
    let (held, _) = tokio::join!(
        client.call_tool(call("export_rows", json!({"table": "users", "rows": 5000}))),
        review(
            &s,
            pb::Verdict::Modify,
            strukt(json!({"table": "users", "rows": 1000}))
        )
    );
    let held = held.unwrap();
    assert_ne!(held.is_error, Some(true), "{held:?}");
    assert!(
        text(&held).contains("exported 1000 rows of users"),
        "{held:?}"
    );

    assert_eq!(
        received(&log),
        [
            json!({"tool": "echo", "arguments": {"text": "hi"}}),
            json!({"tool": "export_rows", "arguments": {"table": "users", "rows": 1000}}),
        ]
    );
    client.cancel().await.unwrap();
    let logs = tokio::time::timeout(Duration::from_secs(30), logs)
        .await
        .expect("the gateway exits once its client is gone")
        .unwrap();
    assert!(logs.contains(&fixture.url), "the gateway logged: {logs}");
    assert!(!logs.contains(SECRET), "a header value was logged: {logs}");
    s.stop().await;
}

#[test]
fn the_upstream_is_a_url_or_a_command_never_both_nor_neither() {
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args([
                "mcp",
                "--subject",
                "agent:a",
                "--tollgate",
                "http://127.0.0.1:9",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let both = run(&["--upstream-url", "http://127.0.0.1:9/mcp", "--", "python3"]);
    assert!(
        both.contains("--upstream-url") && both.contains("not both"),
        "{both}"
    );
    let neither = run(&[]);
    assert!(neither.contains("--upstream-url"), "{neither}");
    let header = run(&[
        "--upstream-header",
        "Authorization: Bearer x",
        "--",
        "python3",
    ]);
    assert!(header.contains("--upstream-header"), "{header}");
}
