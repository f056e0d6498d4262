//! A held call as official MCP clients see it, in front of `tollgate mcp` in front of the stdio
//! fixture server: the Python SDK's client (`tests/mcp/client.py`) gets progress notifications
//! while a reviewer decides and URL-mode elicitation sending the user to the approval's
//! console page; the Tasks extension's client (`tests/mcp/tasks_client.mjs`) gets a task it
//! polls. Each client reports every notification, elicitation, task state and result as a JSON
//! line; the test approves only once the line it waits for arrived, so nothing here sleeps.

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

/// A client process driving one gateway; killed when dropped.
struct Client {
    child: tokio::process::Child,
    lines: Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Client {
    /// Starts the Python client with `client_flags`, the gateway with `gateway_flags` (besides
    /// the ones every test needs) in front of the fixture logging to `log`.
    fn start(s: &TestServer, log: &Path, client_flags: &[&str], gateway_flags: &[&str]) -> Self {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(common::repo().join("tests/mcp/client.py"));
        Self::spawn(cmd, s, log, client_flags, gateway_flags)
    }

    /// Starts the Tasks client (Node) with `client_flags`, the gateway with `gateway_flags`.
    fn tasks(s: &TestServer, log: &Path, client_flags: &[&str], gateway_flags: &[&str]) -> Self {
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(common::repo().join("tests/mcp/tasks_client.mjs"));
        Self::spawn(cmd, s, log, client_flags, gateway_flags)
    }

    fn spawn(
        mut cmd: tokio::process::Command,
        s: &TestServer,
        log: &Path,
        client_flags: &[&str],
        gateway_flags: &[&str],
    ) -> Self {
        cmd.args(client_flags)
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
        let mut child = cmd.spawn().expect("the client starts");
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
    let mut client = Client::start(
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
    forwarded_once(&mut client, &log).await;
    client.finish().await;
    s.stop().await;
}

/// The console base the gateway is told (the client only records the URL it is sent to).
const CONSOLE: &str = "https://console.tollgate.test/";

/// The held call's answer is the upstream's result, and the upstream got the export once.
async fn forwarded_once(client: &mut Client, log: &Path) {
    let result = client.next_but_progress().await;
    assert_eq!(result["event"], "result", "{result}");
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["text"], "exported 5000 rows of users");
    assert_eq!(received(log), [exported(5000)]);
}

/// The approval id at the end of a console page URL under [`CONSOLE`].
fn approval_of(elicited: &Value) -> String {
    assert_eq!(elicited["event"], "elicitation", "{elicited}");
    assert_eq!(elicited["mode"], "url", "{elicited}");
    let url = elicited["url"].as_str().unwrap_or_default();
    let id = url
        .strip_prefix("https://console.tollgate.test/console/approvals/")
        .unwrap_or_else(|| panic!("{url} is not an approval's console page"));
    let said = elicited["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("mcp.export_rows") && said.contains(id),
        "{said}"
    );
    id.to_string()
}

/// One client answering URL elicitations with `answer` on the current protocol (or the
/// handshake-era one with `legacy`) in front of a gateway that knows the console.
fn eliciting(s: &TestServer, log: &Path, answer: &str, legacy: bool) -> Client {
    let mut flags = vec!["--elicit", answer];
    if legacy {
        flags.push("--legacy");
    }
    let gateway = ["--wait", "60s", "--console-url", CONSOLE];
    Client::start(s, log, &flags, &gateway)
}

#[tokio::test]
async fn a_client_sent_to_the_approvals_page_gets_the_result_once_a_reviewer_approves() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = eliciting(&s, &log, "accept", false);

    let elicited = client.next_but_progress().await;
    let sent_to = approval_of(&elicited);
    // 2026-07-28 has no elicitationId: the elicitation came in an InputRequiredResult.
    assert!(
        !elicited["id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("tollgate-"),
        "{elicited}"
    );
    assert!(received(&log).is_empty(), "forwarded before approval");
    // Accepting is not approving: the call is held until the reviewer decides.
    let approved = review(&s, pb::Verdict::Approve, None).await;
    assert_eq!(approved, sent_to);
    forwarded_once(&mut client, &log).await;
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn a_handshake_era_client_is_sent_to_the_page_while_the_call_is_held() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = eliciting(&s, &log, "accept", true);

    let elicited = client.next_but_progress().await;
    let sent_to = approval_of(&elicited);
    let id = elicited["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("tollgate-"), "an elicitationId: {elicited}");
    assert!(received(&log).is_empty(), "forwarded before approval");
    assert_eq!(review(&s, pb::Verdict::Approve, None).await, sent_to);
    let completed = client.next_but_progress().await;
    assert_eq!(completed["event"], "elicitation_complete", "{completed}");
    assert_eq!(completed["id"], id, "{completed}");
    forwarded_once(&mut client, &log).await;
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn declining_the_page_answers_the_pending_approval_which_a_later_call_resumes() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");

    let mut decliner = eliciting(&s, &log, "decline", false);
    let sent_to = approval_of(&decliner.next_but_progress().await);
    let refused = decliner.next_but_progress().await;
    assert_eq!(refused["is_error"], true, "{refused}");
    let said = refused["text"].as_str().unwrap_or_default();
    assert!(
        said.contains(&sent_to) && said.contains("still pending") && said.contains("declined"),
        "{said}"
    );
    decliner.finish().await;

    // The identical call from another session is sent to the same approval and resumes it.
    let mut client = eliciting(&s, &log, "accept", false);
    assert_eq!(approval_of(&client.next_but_progress().await), sent_to);
    assert_eq!(review(&s, pb::Verdict::Approve, None).await, sent_to);
    forwarded_once(&mut client, &log).await;
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn a_forged_request_state_is_refused_naming_it_and_nothing_is_forwarded() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    for forgery in ["tamper", "other-arguments"] {
        let flags = ["--elicit", "accept", "--forge", forgery];
        let gateway = ["--wait", "60s", "--console-url", CONSOLE];
        let mut client = Client::start(&s, &log, &flags, &gateway);
        let state = client.next().await;
        assert_eq!(
            state,
            json!({"event": "state", "present": true}),
            "{forgery}"
        );
        let refused = client.next_but_progress().await;
        assert_eq!(refused["event"], "error", "{forgery}: {refused}");
        assert_eq!(refused["code"], -32602, "{forgery}: invalid params");
        let said = refused["message"].as_str().unwrap_or_default();
        assert!(
            said.contains("requestState") && said.contains("does not verify"),
            "{forgery}: {said}"
        );
        client.finish().await;
    }
    assert!(
        received(&log).is_empty(),
        "a forged state reached the server"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_handshake_era_client_declining_the_page_gets_the_pending_approval_named() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = eliciting(&s, &log, "decline", true);
    let sent_to = approval_of(&client.next_but_progress().await);
    let completed = client.next_but_progress().await;
    assert_eq!(completed["event"], "elicitation_complete", "{completed}");
    let refused = client.next_but_progress().await;
    assert_eq!(refused["is_error"], true, "{refused}");
    let said = refused["text"].as_str().unwrap_or_default();
    assert!(
        said.contains(&sent_to) && said.contains("declined"),
        "{said}"
    );
    assert!(received(&log).is_empty());
    client.finish().await;
    s.stop().await;
}

impl Client {
    /// The report of how the call of `tool` was answered (the reports before it skipped).
    async fn answered(&mut self, tool: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["event"] == "call" && event["tool"] == tool {
                return event;
            }
        }
    }

    /// The next report that is not a progress notification or a task state.
    async fn next_outcome(&mut self) -> Value {
        loop {
            let event = self.next_but_progress().await;
            if event["event"] != "task" {
                return event;
            }
        }
    }
}

/// The gateway flags of the Tasks tests: the plain hold gives up at once, so only the task
/// can still be waiting when the reviewer decides.
const TASKS: [&str; 6] = ["--wait", "0s", "--task-wait", "60s", "--task-poll", "50ms"];

#[tokio::test]
async fn a_tasks_client_gets_a_task_that_completes_once_approved_after_the_plain_hold_gave_up() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = Client::tasks(&s, &log, &[], &TASKS);

    // An allowed call is answered at once, never as a task.
    let echo = client.next().await;
    assert_eq!(
        echo,
        json!({"event": "call", "tool": "echo", "kind": "immediate"})
    );
    let echoed = client.next().await;
    assert_eq!(echoed["text"], "hello", "{echoed}");

    let export = client.next().await;
    assert_eq!(
        export,
        json!({"event": "call", "tool": "export_rows", "kind": "task"})
    );
    let working = client.next().await;
    assert_eq!(working["status"], "working", "{working}");
    let said = working["message"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("waiting for a reviewer"), "{said}");
    assert_eq!(
        received(&log),
        [json!({"tool": "echo", "arguments": {"text": "hello"}})],
        "forwarded before approval"
    );

    let id = review(&s, pb::Verdict::Approve, None).await;
    assert!(said.contains(&id), "{said} names {id}");
    let result = client.next_outcome().await;
    assert_eq!(result["event"], "result", "{result}");
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["text"], "exported 5000 rows of users");
    assert_eq!(received(&log)[1..], [exported(5000)]);
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn cancelling_the_task_stops_the_hold_forwards_nothing_and_leaves_the_approval_pending() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = Client::tasks(&s, &log, &["--cancel"], &TASKS);
    let export = client.answered("export_rows").await;
    assert_eq!(export["kind"], "task", "{export}");
    let cancelled = client.next_outcome().await;
    assert_eq!(
        cancelled,
        json!({"event": "cancelled", "tool": "export_rows"})
    );
    client.finish().await;
    assert_eq!(received(&log).len(), 1, "only the echo was forwarded");

    // The approval is still there: an identical later call resumes it.
    let mut again = Client::start(&s, &log, &[], &["--wait", "60s"]);
    review(&s, pb::Verdict::Approve, None).await;
    let result = again.next_but_progress().await;
    assert_eq!(result["text"], "exported 5000 rows of users", "{result}");
    assert_eq!(received(&log)[1..], [exported(5000)]);
    again.finish().await;
    s.stop().await;
}

/// A Tasks client whose `export_rows` call (pending review) was answered as a task.
async fn export_as_task(s: &TestServer, log: &Path) -> Client {
    let mut client = Client::tasks(s, log, &[], &TASKS);
    let export = client.answered("export_rows").await;
    assert_eq!(export["kind"], "task", "{export}");
    client
}

#[tokio::test]
async fn a_task_whose_approval_is_denied_completes_with_the_denial_and_forwards_nothing() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = export_as_task(&s, &log).await;
    let id = review(&s, pb::Verdict::Deny, None).await;
    let denied = client.next_outcome().await;
    assert_eq!(denied["event"], "result", "{denied}");
    assert_eq!(denied["is_error"], true, "{denied}");
    let said = denied["text"].as_str().unwrap_or_default();
    assert!(said.contains(&id) && said.contains("denied"), "{said}");
    assert_eq!(received(&log).len(), 1, "only the echo was forwarded");
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn a_task_narrowed_by_the_reviewer_runs_exactly_the_narrowed_arguments_and_says_so() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = export_as_task(&s, &log).await;
    let narrowed = common::strukt(json!({"table": "users", "rows": 1000}));
    review(&s, pb::Verdict::Modify, narrowed).await;
    let result = client.next_outcome().await;
    assert_eq!(result["is_error"], false, "{result}");
    let said = result["text"].as_str().unwrap_or_default();
    assert!(
        said.contains("exported 1000 rows of users") && said.contains("narrowed"),
        "{said}"
    );
    assert_eq!(received(&log)[1..], [exported(1000)]);
    client.finish().await;
    s.stop().await;
}

/// Makes the export's approval approved before the client under test calls: a first client
/// asks and gives up at once, and the reviewer approves.
async fn approved_beforehand(s: &TestServer, log: &Path) -> String {
    let mut first = Client::start(s, log, &[], &["--wait", "0s"]);
    let gave_up = first.next_but_progress().await;
    assert_eq!(gave_up["is_error"], true, "{gave_up}");
    first.finish().await;
    review(s, pb::Verdict::Approve, None).await
}

#[tokio::test]
async fn a_call_whose_approval_is_already_approved_is_not_sent_to_the_page() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    approved_beforehand(&s, &log).await;
    let mut client = eliciting(&s, &log, "accept", false);
    // No elicitation: the call goes straight to redeeming and forwarding.
    forwarded_once(&mut client, &log).await;
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn a_call_whose_approval_is_already_approved_is_not_made_a_task() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    approved_beforehand(&s, &log).await;
    let mut client = Client::tasks(&s, &log, &[], &TASKS);
    let export = client.answered("export_rows").await;
    assert_eq!(export["kind"], "immediate", "{export}");
    let result = client.next_outcome().await;
    assert_eq!(result["text"], "exported 5000 rows of users", "{result}");
    assert_eq!(received(&log)[1..], [exported(5000)]);
    client.finish().await;
    s.stop().await;
}

#[tokio::test]
async fn a_handshake_era_elicitation_left_unanswered_is_withdrawn_when_the_hold_ends() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut client = eliciting(&s, &log, "never", true);
    let sent_to = approval_of(&client.next_but_progress().await);
    assert_eq!(review(&s, pb::Verdict::Approve, None).await, sent_to);
    let mut seen = Vec::new();
    let result = loop {
        let event = client.next_but_progress().await;
        if event["event"] == "result" {
            break event;
        }
        seen.push(event["event"].clone());
    };
    assert!(
        seen.contains(&json!("elicitation_withdrawn")),
        "the unanswered elicitation was not withdrawn: {seen:?}"
    );
    assert!(seen.contains(&json!("elicitation_complete")), "{seen:?}");
    assert_eq!(result["text"], "exported 5000 rows of users", "{result}");
    assert_eq!(received(&log), [exported(5000)]);
    client.finish().await;
    s.stop().await;
}
