//! Shared test harness: a real server on port 0 over a private copy of a bundle.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use tempfile::TempDir;
use tollgate::{
    app::{self, Running},
    config::Config,
    grpc::pb::{self, authorizer_client::AuthorizerClient, policy_admin_client::PolicyAdminClient},
    identity::{AuthConfig, AuthMode, TokenIdentity},
};
use tonic::transport::Channel;

/// A running server and the directory holding its bundle and data.
pub struct TestServer {
    pub running: Running,
    pub dir: TempDir,
    pub channel: Channel,
}

impl TestServer {
    pub fn bundle_dir(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn authorizer(&self) -> AuthorizerClient<Channel> {
        AuthorizerClient::new(self.channel.clone())
    }

    pub fn admin(&self) -> PolicyAdminClient<Channel> {
        PolicyAdminClient::new(self.channel.clone())
    }

    /// The server's own SQLite store, opened beside it (WAL: reads do not block it).
    pub async fn sqlite(&self) -> tollgate::store::SqliteStore {
        let file = self
            .dir
            .path()
            .join("data")
            .join(tollgate::app::SQLITE_FILE);
        tollgate::store::SqliteStore::open(file).await.unwrap()
    }

    pub async fn stop(self) {
        self.running.shutdown();
        self.running.wait().await.expect("clean shutdown");
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Starts a server on 127.0.0.1:0 whose bundle directory is filled by `fill` (nothing
/// written means an empty, unloadable bundle) and whose config `adjust` may change.
pub async fn start(fill: impl FnOnce(&Path), adjust: impl FnOnce(&mut Config)) -> TestServer {
    start_with_clock(
        fill,
        adjust,
        std::sync::Arc::new(std::time::SystemTime::now),
    )
    .await
}

/// [`start`] with the approval workflow reading time from `clock`.
pub async fn start_with_clock(
    fill: impl FnOnce(&Path),
    adjust: impl FnOnce(&mut Config),
    clock: tollgate::approval::Clock,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    fill(&bundle);
    let mut config = Config {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.bundle.path = bundle;
    config.bundle.watch = false;
    adjust(&mut config);
    let running = app::start_with_clock(&config, clock)
        .await
        .expect("server starts");
    let endpoint = Channel::from_shared(format!("http://{}", running.grpc_addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(5));
    // Over TLS the suite connects with its own certificates; this plaintext channel is
    // never used.
    let channel = if config.tls.is_some() {
        endpoint.connect_lazy()
    } else {
        endpoint.connect().await.expect("connects")
    };
    TestServer {
        running,
        dir,
        channel,
    }
}

/// A server over a copy of the shipped `policies/`.
pub async fn start_shipped() -> TestServer {
    start(|b| copy_dir(&repo().join("policies"), b), |_| {}).await
}

pub fn strukt(json: serde_json::Value) -> Option<prost_types::Struct> {
    let serde_json::Value::Object(map) = json else {
        panic!("not an object")
    };
    Some(tollgate::grpc::convert::to_struct(&map))
}

/// A request for `action` on `resource_type` by a plain agent.
pub fn request(action: &str, resource_type: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            id: "agent:reporter".into(),
            kind: "agent".into(),
            owner: "team:growth".into(),
            groups: vec!["analysts".into()],
            ..Default::default()
        }),
        action: Some(pb::Action {
            name: action.into(),
            params: None,
        }),
        resource: Some(pb::Resource {
            r#type: resource_type.into(),
            id: "users-eu".into(),
            attributes: strukt(serde_json::json!({"classification": "internal"})),
        }),
        context: Some(pb::Context {
            environment: "prod".into(),
            intent: "dashboard refresh".into(),
            ..Default::default()
        }),
    }
}

/// A database drop of `orders-eu` on behalf of `user:alice` (subject from the caller's
/// token), idempotency key `request_id`: the approval suites' request.
pub fn drop_request(request_id: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
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
    }
}

/// The shipped bundle's PII export that needs two approvals.
pub fn pending_export() -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            id: "agent:billing-exporter".into(),
            kind: "agent".into(),
            on_behalf_of: "user:alice@example.com".into(),
            owner: "team:growth".into(),
            groups: vec!["exporters".into()],
            attributes: None,
        }),
        action: Some(pb::Action {
            name: "data.export".into(),
            params: strukt(serde_json::json!({
                "table": "users", "rows": 250000, "dest": "s3://corp-analytics-eu/churn"
            })),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "users-eu".into(),
            attributes: strukt(serde_json::json!({"classification": "pii"})),
        }),
        context: Some(pb::Context {
            intent: "quarterly churn analysis requested in TICKET-812".into(),
            environment: "prod".into(),
            request_id: "r-1".into(),
            attributes: None,
        }),
    }
}

/// Writes a one-file bundle with manifest revision `revision` whose `allow` is `allow` for
/// action `probe.run`.
pub fn write_probe_bundle(dir: &Path, revision: &str, allow: bool) {
    std::fs::write(
        dir.join(".manifest"),
        format!(r#"{{"revision": "{revision}", "roots": ["tollgate"]}}"#),
    )
    .unwrap();
    let rule = if allow {
        "allow if input.action.name == \"probe.run\""
    } else {
        "deny contains \"probe disabled\" if input.action.name == \"probe.run\""
    };
    std::fs::write(
        dir.join("policy.rego"),
        format!("package tollgate\n\ndefault allow := false\n\n{rule}\n"),
    )
    .unwrap();
}

/// The value of `series` (its name with labels, exactly as exposed) in a `/metrics` text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// A plain HTTP/1.1 GET on loopback: (status code, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// A `tollgate serve` child process, killed (and reaped) when dropped.
pub struct Process {
    pub child: std::process::Child,
    pub channel: Channel,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the built binary with `--config config` (which must log JSON and bind port 0)
/// plus `args`, and connects once it logs its addresses.
pub async fn spawn_serve(config: &Path, args: &[&std::ffi::OsStr]) -> Process {
    use std::io::BufRead;
    #[allow(clippy::zombie_processes)] // Process's Drop reaps it.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let grpc = tokio::task::spawn_blocking(move || loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server starts");
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v["message"] == "tollgate serving" {
                return v["grpc"].as_str().unwrap().to_string();
            }
        }
    })
    .await
    .unwrap();
    let channel = Channel::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Process { child, channel }
}

/// Lays out `dir` for [`serve_dir`]: the bundle `bundle/policy.rego` holding `policy`, and
/// `tollgate.yaml` holding `config`.
pub fn write_serve_dir(dir: &Path, policy: &str, config: &str) {
    std::fs::create_dir_all(dir.join("bundle")).unwrap();
    std::fs::write(dir.join("bundle/policy.rego"), policy).unwrap();
    std::fs::write(dir.join("tollgate.yaml"), config).unwrap();
}

/// [`spawn_serve`] with `dir/tollgate.yaml`, its data in `dir/data` and its bundle in
/// `dir/bundle`: the same directory serves again after a crash.
pub async fn serve_dir(dir: &Path) -> Process {
    let data = dir.join("data");
    let bundle = dir.join("bundle");
    spawn_serve(
        &dir.join("tollgate.yaml"),
        &[
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--bundle".as_ref(),
            bundle.as_os_str(),
        ],
    )
    .await
}

/// SIGKILLs the process, giving it no chance to flush anything, and reaps it.
pub fn kill9(p: &mut Process) {
    let pid = p.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    p.child.wait().unwrap();
}

/// `action` on the database `orders` (params `{"database": "orders"}`), no subject: the
/// caller's token supplies it.
pub fn orders_request(action: &str, request_id: impl Into<String>) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: None,
        action: Some(pb::Action {
            name: action.into(),
            params: strukt(serde_json::json!({"database": "orders"})),
        }),
        resource: Some(pb::Resource {
            r#type: "database".into(),
            id: "orders".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            request_id: request_id.into(),
            ..Default::default()
        }),
    }
}

/// A fresh database named `<prefix><uuid>` on the test PostgreSQL server
/// (`TOLLGATE_TEST_POSTGRES_URL`), or None (skipped) when there is none.
pub async fn fresh_pg_database(prefix: &str) -> Option<String> {
    use sqlx::Connection;
    let Ok(url) = std::env::var("TOLLGATE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("TOLLGATE_REQUIRE_POSTGRES").is_err(),
            "TOLLGATE_REQUIRE_POSTGRES is set but TOLLGATE_TEST_POSTGRES_URL is not"
        );
        eprintln!("SKIPPED: TOLLGATE_TEST_POSTGRES_URL not set");
        return None;
    };
    let name = format!("{prefix}{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = url.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

/// What one run of the built binary printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` off the runtime, so an in-process server keeps answering while the
    /// binary waits on it.
    pub async fn of(mut command: std::process::Command) -> Self {
        let out = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// The output, once the run is known to have exited 0 (else both streams are shown).
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
}

/// A bundle filler for [`start`]: `rego` as the bundle's one file, `policy.rego`.
pub fn policy_file(rego: &str) -> impl FnOnce(&Path) + '_ {
    move |bundle| std::fs::write(bundle.join("policy.rego"), rego).unwrap()
}

/// Static-token authentication for exactly `tokens`; admin and auditor groups are the
/// defaults (`tollgate-admins`, `tollgate-auditors`).
pub fn static_tokens(tokens: Vec<TokenIdentity>) -> AuthConfig {
    AuthConfig {
        mode: AuthMode::Verified,
        tokens,
        ..AuthConfig::default()
    }
}

/// A static-token identity; agents are owned by `team:platform`.
pub fn identity(token: &str, id: &str, kind: &str, groups: &[&str]) -> TokenIdentity {
    TokenIdentity {
        token_sha256: String::new(),
        token: token.into(),
        id: id.into(),
        kind: tollgate::domain::SubjectKind::parse(kind).expect("a subject kind"),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        owner: if kind == "agent" {
            "team:platform".into()
        } else {
            String::new()
        },
        assert_subjects: false,
        step_up: false,
    }
}

/// `msg` sent with `authorization: Bearer token`.
pub fn as_user<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// `token`'s `WaitForDecision` stream for approval `id` on `channel`.
pub async fn waiter(channel: &Channel, token: &str, id: &str) -> tonic::Streaming<pb::Approval> {
    pb::approvals_client::ApprovalsClient::new(channel.clone())
        .wait_for_decision(as_user(
            token,
            pb::WaitForDecisionRequest {
                approval_id: id.to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// `n` concurrent redemptions of `token` for `req`, spread over `channels` in turn, as the
/// executor; returns how many were allowed.
pub async fn redeem_race(
    channels: &[Channel],
    token: &str,
    req: &pb::AuthorizeRequest,
    n: usize,
) -> usize {
    let mut racers = Vec::new();
    for i in 0..n {
        let channel = channels[i % channels.len()].clone();
        let msg = pb::RedeemCapabilityRequest {
            capability: token.to_string(),
            request: Some(req.clone()),
        };
        racers.push(tokio::spawn(async move {
            pb::approvals_client::ApprovalsClient::new(channel)
                .redeem_capability(as_user("executor", msg))
                .await
                .unwrap()
                .into_inner()
                .allowed
        }));
    }
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    wins
}

/// Every store trait at once, as the store contract and the audit tests use one database.
pub trait Db:
    tollgate::store::ApprovalStore
    + tollgate::store::CapabilityStore
    + tollgate::store::AuditLog
    + tollgate::store::BatchStore
{
}

impl<T> Db for T where
    T: tollgate::store::ApprovalStore
        + tollgate::store::CapabilityStore
        + tollgate::store::AuditLog
        + tollgate::store::BatchStore
        + ?Sized
{
}

/// Writes the tests make directly, through the group commit's store call.
#[async_trait::async_trait]
pub trait DbWrites {
    /// Chains `events` in one transaction.
    async fn append_audit(
        &self,
        events: &[tollgate::domain::AuditEvent],
    ) -> Result<Vec<tollgate::domain::AuditRecord>, tollgate::store::StoreError>;

    /// Stores `cap` with `audit` in one transaction.
    async fn insert_capability(
        &self,
        cap: &tollgate::domain::Capability,
        audit: &[tollgate::domain::AuditEvent],
    ) -> Result<(), tollgate::store::StoreError>;
}

#[async_trait::async_trait]
impl<T: tollgate::store::BatchStore + ?Sized> DbWrites for T {
    async fn append_audit(
        &self,
        events: &[tollgate::domain::AuditEvent],
    ) -> Result<Vec<tollgate::domain::AuditRecord>, tollgate::store::StoreError> {
        self.commit(&tollgate::store::Batch::of_events(events.to_vec()))
            .await
    }

    async fn insert_capability(
        &self,
        cap: &tollgate::domain::Capability,
        audit: &[tollgate::domain::AuditEvent],
    ) -> Result<(), tollgate::store::StoreError> {
        let batch = tollgate::store::Batch {
            capabilities: vec![cap.clone()],
            events: audit.to_vec(),
        };
        self.commit(&batch).await.map(|_| ())
    }
}

/// Polls `probe` until it answers `Ok`, for at most `within`, and panics with `what` and the
/// last `Err` otherwise: for state that changes asynchronously where nothing can be awaited
/// (a group commit, a gauge, another process's checkpoint). Bounded, never a bare sleep.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{what} did not happen within {within:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A plain HTTP/1.1 POST of `body` (JSON) on loopback with extra `headers`: (status code,
/// response headers as lower-case `name: value` lines, body).
pub async fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}
