//! The release-shaped binary, driven as a user would: `serve` answering grpcurl through
//! reflection and stopping cleanly on SIGTERM, `eval` and `test` with their exit codes.



use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::common::repo;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

/// grpcurl is installed by scripts/test.sh; outside CI a missing one skips loudly.
fn grpcurl() -> Option<&'static str> {
    let found = Command::new("grpcurl").arg("-version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "grpcurl is required in CI (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED: grpcurl not installed (run scripts/test.sh to install it)");
        return None;
    }
    Some("grpcurl")
}

struct Server {
    child: Child,
    grpc: String,
    http: String,
}

impl Drop for Server {
    /// A failed assertion must not leave the server running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `tollgate serve` on port 0 and reads the bound addresses from its log.
fn serve(data: &Path) -> Server {
    #[allow(clippy::zombie_processes)] // Server's Drop waits for it.
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(repo())
        .env("TOLLGATE_GRPC_ADDR", "127.0.0.1:0")
        .env("TOLLGATE_HTTP_ADDR", "127.0.0.1:0")
        .env("TOLLGATE_DATA_DIR", data)
        .env("TOLLGATE_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("server logs its addresses");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["message"] == "tollgate serving" {
            return Server {
                child,
                grpc: v["grpc"].as_str().unwrap().to_string(),
                http: v["http"].as_str().unwrap().to_string(),
            };
        }
    }
}

#[test]
fn serve_answers_grpcurl_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut server = serve(data.path());
    assert!(data.path().is_dir());
    assert!(!server.http.is_empty());

    if let Some(grpcurl) = grpcurl() {
        let list = Command::new(grpcurl)
            .args(["-plaintext", &server.grpc, "list"])
            .output()
            .unwrap();
        let services = String::from_utf8_lossy(&list.stdout);
        assert!(services.contains("tollgate.v1.Authorizer"), "{services}");
        assert!(services.contains("grpc.health.v1.Health"), "{services}");

        let describe = Command::new(grpcurl)
            .args([
                "-plaintext",
                &server.grpc,
                "describe",
                "tollgate.v1.AuthorizeRequest",
            ])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&describe.stdout).contains(".tollgate.v1.Subject subject"));

        let body = r#"{"subject": {"id": "agent:reporter", "kind": "agent"},
                       "action": {"name": "dataset.read", "params": {"table": "users"}},
                       "resource": {"type": "dataset", "id": "users-eu"}}"#;
        let call = Command::new(grpcurl)
            .args([
                "-plaintext",
                "-d",
                body,
                &server.grpc,
                "tollgate.v1.Authorizer/Authorize",
            ])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&call.stdout);
        assert!(
            call.status.success(),
            "{out} {}",
            String::from_utf8_lossy(&call.stderr)
        );
        assert!(out.contains("EFFECT_ALLOW"), "{out}");

        let bad = Command::new(grpcurl)
            .args([
                "-plaintext",
                "-d",
                r#"{"subject": {"kind": "agent"}}"#,
                &server.grpc,
                "tollgate.v1.Authorizer/Authorize",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(
            err.contains("InvalidArgument") && err.contains("subject.id"),
            "{err}"
        );
    }

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn eval_prints_the_decision_and_the_rules_that_fired() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("req.json");
    write(
        &input,
        r#"{"subject": {"id": "agent:reporter", "kind": "agent"},
            "action": {"name": "warp.drive.engage"},
            "resource": {"type": "starship"},
            "context": {"environment": "prod", "intent": "testing the default deny path"}}"#,
    );
    let out = Command::new(BIN)
        .current_dir(repo())
        .args(["eval", "--engine", "both", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["effect"], "DENY");
    assert_eq!(v["engines_agree"], true);
    assert_eq!(v["rules"]["allow"], false);
    assert!(v["bundle_revision"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    write(
        &input,
        r#"{"subject": {"kind": "agent"}, "action": {"name": "x"}, "resource": {"type": "y"}}"#,
    );
    let out = Command::new(BIN)
        .current_dir(repo())
        .args(["eval", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("subject.id"));
}

#[test]
fn test_runs_rego_tests_and_fails_on_a_failing_one() {
    let ok = Command::new(BIN)
        .current_dir(repo())
        .args(["test", "policies"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.rego"),
        "package tollgate\n\nallow if input.ok\n\ntest_allows if allow with input as {\"ok\": true}\n\ntest_wrong if allow with input as {\"ok\": false}\n",
    );
    let bad = Command::new(BIN)
        .arg("test")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL data.tollgate.test_wrong"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}
