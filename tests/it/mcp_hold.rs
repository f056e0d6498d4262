//! A held call as the official Python MCP client sees it (`tests/mcp/client.py`, in front of
//! `tollgate mcp` in front of the stdio fixture server): progress notifications while a
//! reviewer decides, and URL-mode elicitation sending the user to the approval's console
//! page. The client reports each notification, elicitation and result as a JSON line; the
//! test approves only once the line it waits for arrived, so nothing here sleeps.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tollgate::grpc::pb;

use crate::{
    common::{self, TestServer},
    mcp::{received, review, server},
};

/// How long a test waits for the client's next line before failing (a hang guard, never a
/// measurement: every line normally arrives in well under a second).
const NEXT_LINE: Duration = Duration::from_secs(60);

/// The Python client driving one gateway; killed when dropped.
struct PyClient {
    child: tokio::process::Child,
    lines: Lines<BufReader<tokio::process::ChildStdout>>,
}

impl PyClient {
    /// Starts the client with `client_flags`, the gateway with `gateway_flags` (besides the
    /// ones every test needs) in front of the fixture logging to `log`.
    fn start(s: &TestServer, log: &Path, client_flags: &[&str], gateway_flags: &[&str]) -> Self {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(common::repo().join("tests/mcp/client.py"))
            .args(client_flags)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_tollgate"))
            .arg("mcp")
            .args(["--tollgate", &format!("http://{}", s.running.grpc_addr)])
            .args(["--token", "gw-token", "--subject", "agent:exporter"])
            .args(["--owner", "team:growth"])
            .args(gateway_flags)
            .arg("--")
            .arg("python3")
            .arg(common::repo().join("tests/mcp/server.py"))
            .env("MCP_FIXTURE_LOG", log)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("python3 runs the client");
        let stdout = child.stdout.take().expect("stdout is piped");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The client's next report.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(NEXT_LINE, self.lines.next_line())
            .await
            .expect("the client reports within the guard")
            .expect("the client's stdout is readable")
            .expect("the client reports before it exits");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Waits for the client to finish its calls and exit (closing the gateway, which stops
    /// the fixture), so no process outlives the test.
    async fn finish(mut self) {
        let status = tokio::time::timeout(NEXT_LINE, self.child.wait())
            .await
            .expect("the client exits within the guard")
            .expect("the client's exit status is readable");
        assert!(status.success(), "the client failed: {status}");
    }

    /// The next report that is not a progress notification.
    async fn next_but_progress(&mut self) -> Value {
        loop {
            let event = self.next().await;
            if event["event"] != "progress" {
                return event;
            }
        }
    }
}

fn exported(rows: u64) -> Value {
    json!({"tool": "export_rows", "arguments": {"table": "users", "rows": rows}})
}

#[tokio::test]
async fn a_held_call_reports_progress_then_answers_with_the_forwarded_result() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = PyClient::start(
        &s,
        &log,
        &[],
        &["--wait", "60s", "--progress-every", "50ms"],
    );

    let progress = client.next().await;
    assert_eq!(progress["event"], "progress", "{progress}");
    let said = progress["message"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("waiting for a reviewer"), "{said}");
    assert!(received(&log).is_empty(), "forwarded before approval");

    let id = review(&s, pb::Verdict::Approve, None).await;
    assert!(said.contains(&id), "{said} names {id}");
    let result = client.next_but_progress().await;
    assert_eq!(result["event"], "result", "{result}");
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["text"], "exported 5000 rows of users");
    assert_eq!(received(&log), [exported(5000)]);
    client.finish().await;
    s.stop().await;
}
