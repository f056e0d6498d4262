//! Reviewer notifications end to end: approvals made over gRPC reach a loopback Slack Web
//! API, a Teams webhook and a Standard Webhooks receiver through the durable outbox; the
//! receiver being down, a restart of tollgate and two replicas on PostgreSQL never lose or
//! duplicate a notification.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, StatusCode},
    routing::post,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::*;
use tollgate::{
    config::Config,
    grpc::pb::{self, approvals_client::ApprovalsClient, Effect, Verdict},
    notify::config::{ChannelConfig, RouteConfig, SlackChannel, TeamsChannel, WebhookChannel},
};

pub(crate) const POLICY: &str = r#"package tollgate

default allow := false

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "high", "reason": "dropping a database needs an SRE"} if input.action.name == "db.drop"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "step_up": true, "reason": "truncating needs an SRE fresh from MFA"} if input.action.name == "db.truncate"
"#;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Value,
    pub(crate) raw: String,
}

/// A loopback receiver for Slack's Web API (`/api/<method>`), Teams (`/teams`), webhooks
/// (`/hook`) and Slack interaction answers (`/respond`); while `down`, every request gets a
/// 503 and is not recorded. `users.info` answers from `slack_users` (Slack user id to the
/// `user` object), reading its argument the way Slack does: form-encoded, not JSON.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    pub(crate) down: Arc<AtomicBool>,
    pub(crate) slack_users: Arc<Mutex<HashMap<String, Value>>>,
}

impl Receiver {
    pub(crate) async fn start(&self) -> SocketAddr {
        let app = Router::new()
            .route("/api/{method}", post(slack_api))
            .route("/teams", post(record))
            .route("/hook", post(record))
            .route("/respond", post(record))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn keep(&self, path: String, headers: &HeaderMap, raw: &Bytes) -> bool {
        if self.down.load(Ordering::SeqCst) {
            return false;
        }
        let raw = String::from_utf8(raw.to_vec()).unwrap();
        let form = headers.get("content-type").is_some_and(|t| {
            t.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
        let body = if form {
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect::<serde_json::Map<_, _>>()
                .into()
        } else {
            serde_json::from_str(&raw).unwrap()
        };
        self.got.lock().unwrap().push(Received {
            path,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            body,
            raw,
        });
        true
    }

    pub(crate) fn on(&self, path: &str) -> Vec<Received> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.path == path).cloned().collect()
    }
}

async fn record(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> StatusCode {
    if r.keep(uri.path().to_string(), &headers, &raw) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn slack_api(
    State(r): State<Receiver>,
    UrlPath(method): UrlPath<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> (StatusCode, Json<Value>) {
    if !r.keep(format!("/api/{method}"), &headers, &raw) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({})));
    }
    let body = r.got.lock().unwrap().last().unwrap().body.clone();
    if method == "users.info" {
        return users_info(&r, &headers, &body);
    }
    let ts = body["ts"].as_str().unwrap_or("1700000000.000100");
    (
        StatusCode::OK,
        Json(json!({"ok": true, "channel": "C0SRE", "ts": ts})),
    )
}

/// Slack's `users.info`: a bearer token, the `user` argument form-encoded (Slack does not read
/// a JSON body for this method, so the user is then missing), the user object or an error.
fn users_info(r: &Receiver, headers: &HeaderMap, body: &Value) -> (StatusCode, Json<Value>) {
    if headers
        .get("authorization")
        .is_none_or(|v| v != "Bearer xoxb-test")
    {
        return (
            StatusCode::OK,
            Json(json!({"ok": false, "error": "not_authed"})),
        );
    }
    let user = body["user"].as_str().unwrap_or_default();
    match r.slack_users.lock().unwrap().get(user) {
        Some(u) if u["error"].is_string() => (
            StatusCode::OK,
            Json(json!({"ok": false, "error": u["error"]})),
        ),
        Some(u) => (StatusCode::OK, Json(json!({"ok": true, "user": u}))),
        None => (
            StatusCode::OK,
            Json(json!({"ok": false, "error": "user_not_found"})),
        ),
    }
}

/// The Standard Webhooks verification a receiver does, written apart from tollgate's signer.
fn verify(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let (id, ts) = (&r.headers["webhook-id"], &r.headers["webhook-timestamp"]);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.raw).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

/// `notify:` sending every db.* request to all three kinds of channel at `addr`, retrying fast.
pub(crate) fn notify_to(c: &mut Config, addr: SocketAddr) {
    let n = &mut c.notify;
    n.channels = vec![
        ChannelConfig {
            name: "sre-slack".into(),
            slack: Some(SlackChannel {
                channel: "C0SRE".into(),
            }),
            teams: None,
            webhook: None,
        },
        ChannelConfig {
            name: "sre-teams".into(),
            slack: None,
            teams: Some(TeamsChannel {
                url: format!("http://{addr}/teams"),
                url_file: None,
            }),
            webhook: None,
        },
        ChannelConfig {
            name: "audit-hook".into(),
            slack: None,
            teams: None,
            webhook: Some(WebhookChannel {
                url: format!("http://{addr}/hook"),
                secret: SECRET.into(),
                secret_file: None,
            }),
        },
    ];
    n.routes = vec![RouteConfig {
        actions: vec!["db.*".into()],
        risks: vec!["high".into(), "critical".into()],
        channels: vec!["sre-slack".into(), "sre-teams".into(), "audit-hook".into()],
        mention: vec!["S0SRE".into()],
    }];
    n.slack.bot_token = "xoxb-test".into();
    n.slack.api_base = format!("http://{addr}/api");
    n.console_url = "https://tollgate.example.com".into();
    n.poll_interval = Duration::from_millis(50);
    n.retry.initial = Duration::from_millis(50);
    n.retry.max = Duration::from_millis(200);
    n.retry.max_attempts = 1000;
    n.http_timeout = Duration::from_secs(2);
    n.lease = Duration::from_secs(5);
    c.auth = static_tokens(vec![
        identity("agent", "agent:deployer", "agent", &[]),
        identity("sre1", "user:sre1", "user", &["sre"]),
    ]);
}

async fn server(addr: SocketAddr, data: &Path, store_url: Option<String>) -> TestServer {
    let data = data.to_path_buf();
    start(policy_file(POLICY), move |c| {
        notify_to(c, addr);
        c.data_dir = data.clone();
        c.capability_key_file = Some(data.join("shared-capability.paserk"));
        c.audit.key_file = Some(data.join("shared-audit.paserk"));
        c.store.url = store_url;
    })
    .await
}

pub(crate) async fn pending(server: &TestServer, request_id: &str) -> String {
    let r = server
        .authorizer()
        .authorize(as_user("agent", drop_request(request_id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}

async fn approve(server: &TestServer, id: &str) {
    ApprovalsClient::new(server.channel.clone())
        .approve(as_user(
            "sre1",
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: Verdict::Approve as i32,
                reason: "checked TICKET-9".into(),
                params: None,
            },
        ))
        .await
        .unwrap();
}

/// Waits until `server`'s outbox has nothing left to send (so a duplicate would have shown).
async fn drained(server: &TestServer) {
    let addr = server.running.http_addr;
    eventually("an empty outbox", Duration::from_secs(30), || async move {
        let (_, body) = http_get(addr, "/metrics").await;
        let line = body
            .lines()
            .find(|l| l.starts_with("tollgate_notify_outbox{state=\"pending\"}"))
            .unwrap_or_default()
            .to_string();
        if line.ends_with(" 0") {
            Ok(())
        } else {
            Err(line)
        }
    })
    .await;
}

/// Waits until the webhook receiver holds `n` events, then returns them by `webhook-id`.
async fn hooks(r: &Receiver, n: usize) -> HashMap<String, Vec<Received>> {
    eventually("webhook events", Duration::from_secs(30), || async {
        let got = r.on("/hook");
        if got.len() >= n {
            Ok(())
        } else {
            Err(format!("{} of {n}", got.len()))
        }
    })
    .await;
    let mut by_id: HashMap<String, Vec<Received>> = HashMap::new();
    for h in r.on("/hook") {
        by_id
            .entry(h.headers["webhook-id"].clone())
            .or_default()
            .push(h);
    }
    by_id
}

#[tokio::test]
async fn slack_teams_and_webhooks_carry_the_request_and_its_end() {
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    let data = tempfile::tempdir().unwrap();
    let server = server(addr, data.path(), None).await;
    let id = pending(&server, "n-1").await;

    let posted = eventually("the Slack message", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.postMessage")
            .first()
            .cloned()
            .ok_or_else(|| "nothing yet".to_string())
    })
    .await;
    assert_eq!(posted.headers["authorization"], "Bearer xoxb-test");
    let body = &posted.body;
    assert_eq!(body["channel"], "C0SRE");
    let blocks = body["blocks"].to_string();
    for shown in [
        "agent:deployer",
        "user:alice",
        "decommission after migration TICKET-9",
        "db.drop",
        "orders-eu",
        "1200",
        "high",
        "dropping a database needs an SRE",
        "<!subteam^S0SRE>",
    ] {
        assert!(blocks.contains(shown), "{shown} missing from {blocks}");
    }
    let actions = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("buttons");
    let buttons: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["Approve", "Deny", "Review in console"]);
    assert_eq!(
        actions["elements"][2]["url"],
        format!("https://tollgate.example.com/console/approvals/{id}")
    );

    approve(&server, &id).await;
    let updated = eventually("the Slack edit", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.update")
            .into_iter()
            .find(|u| u.body["blocks"].to_string().contains("Approved"))
            .ok_or_else(|| format!("{:?}", receiver.on("/api/chat.update")))
    })
    .await;
    assert_eq!(updated.body["channel"], "C0SRE");
    assert_eq!(updated.body["ts"], "1700000000.000100");
    let edited = updated.body["blocks"].as_array().unwrap();
    assert!(edited.iter().all(|b| b["type"] != "actions"), "{edited:?}");

    // Teams: the request and its end, as Adaptive Cards with a console link and no buttons.
    let teams = eventually("two Teams cards", Duration::from_secs(30), || async {
        let t = receiver.on("/teams");
        if t.len() >= 2 {
            Ok(t)
        } else {
            Err(format!("{} cards", t.len()))
        }
    })
    .await;
    for t in &teams {
        assert_eq!(t.body["type"], "message");
        let a = &t.body["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert!(card["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["type"] == "Action.OpenUrl"));
        assert!(card["body"].to_string().contains("orders-eu"));
    }

    // Webhooks: requested, reviewed, approved; typed, signed, verifiable apart.
    let by_id = hooks(&receiver, 3).await;
    let mut types: Vec<String> = Vec::new();
    for hs in by_id.values() {
        assert_eq!(hs.len(), 1);
        let h = &hs[0];
        assert!(verify(SECRET, h), "signature of {h:?}");
        assert!(!verify(
            "whsec_c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1vbmUtdXNlZA==",
            h
        ));
        assert_eq!(h.body["data"]["approval"]["approval_id"], id.as_str());
        types.push(h.body["type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(
        types,
        ["approval.ended", "approval.requested", "approval.updated"]
    );
    // A tampered body does not verify.
    let mut forged = by_id.values().next().unwrap()[0].clone();
    forged.raw = forged.raw.replace("orders-eu", "orders-us");
    assert!(!verify(SECRET, &forged));
    server.stop().await;
}

#[tokio::test]
async fn a_receiver_down_across_a_restart_gets_everything_once() {
    let receiver = Receiver::default();
    receiver.down.store(true, Ordering::SeqCst);
    let addr = receiver.start().await;
    let data = tempfile::tempdir().unwrap();
    let first = server(addr, data.path(), None).await;
    let a = pending(&first, "down-1").await;
    let b = pending(&first, "down-2").await;
    approve(&first, &a).await;
    first.stop().await;

    // A new process over the same database; the receiver comes back.
    let second = server(addr, data.path(), None).await;
    receiver.down.store(false, Ordering::SeqCst);
    let c = pending(&second, "down-3").await;
    // a: requested, reviewed, approved; b and c: requested.
    hooks(&receiver, 5).await;
    drained(&second).await;
    let by_id = hooks(&receiver, 5).await;
    assert_eq!(by_id.len(), 5, "{:?}", by_id.keys());
    assert!(
        by_id.values().all(|v| v.len() == 1),
        "a duplicate: {by_id:?}"
    );
    for approval in [&a, &b, &c] {
        assert!(by_id
            .values()
            .any(|v| v[0].body["data"]["approval"]["approval_id"] == approval.as_str()));
    }
    // Slack got each request posted once, the approved one's edit after its post.
    let posts = receiver.on("/api/chat.postMessage");
    assert_eq!(posts.len(), 3, "{posts:?}");
    second.stop().await;
}

#[tokio::test]
async fn two_replicas_on_postgres_deliver_each_event_once() {
    let Some(url) = fresh_pg_database("tollgate_notify_").await else {
        return;
    };
    let receiver = Receiver::default();
    receiver.down.store(true, Ordering::SeqCst);
    let addr = receiver.start().await;
    let data = tempfile::tempdir().unwrap();
    let one = server(addr, data.path(), Some(url.clone())).await;
    let two = server(addr, data.path(), Some(url)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 { &one } else { &two };
        ids.push(pending(s, &format!("pg-{i}")).await);
    }
    approve(&two, &ids[0]).await;
    receiver.down.store(false, Ordering::SeqCst);
    // Six requests, plus the first one's review and approval; and each request's Slack post
    // (retried on its own schedule after the outage, so waited for as well).
    hooks(&receiver, 8).await;
    eventually("six Slack posts", Duration::from_secs(30), || async {
        match receiver.on("/api/chat.postMessage").len() {
            n if n >= 6 => Ok(()),
            n => Err(format!("{n} of 6")),
        }
    })
    .await;
    drained(&one).await;
    drained(&two).await;
    let by_id = hooks(&receiver, 8).await;
    assert_eq!(by_id.len(), 8, "{:?}", by_id.keys());
    assert!(
        by_id.values().all(|v| v.len() == 1),
        "a duplicate: {by_id:?}"
    );
    let posts = receiver.on("/api/chat.postMessage");
    assert_eq!(posts.len(), 6, "{posts:?}");
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_reminder_is_threaded_before_the_deadline_and_the_expiry_edits_the_message() {
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    let (t, clock) = settable_clock();
    let server = start_with_clock(policy_file(POLICY), |c| notify_to(c, addr), clock).await;
    let id = pending(&server, "remind-1").await;
    let posted = eventually("the Slack message", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.postMessage")
            .first()
            .cloned()
            .ok_or_else(|| "nothing yet".to_string())
    })
    .await;
    assert!(posted.body["thread_ts"].is_null());

    // Ten minutes before the 15-minute deadline: one reminder, in the request's thread.
    t.fetch_add(6 * 60 * 1000, Ordering::SeqCst);
    let reminder = eventually("the reminder", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.postMessage")
            .into_iter()
            .find(|p| !p.body["thread_ts"].is_null())
            .ok_or_else(|| "nothing yet".to_string())
    })
    .await;
    assert_eq!(reminder.body["thread_ts"], "1700000000.000100");
    let text = reminder.body["text"].as_str().unwrap();
    assert!(
        text.contains("Still waiting") && text.contains("<!subteam^S0SRE>"),
        "{text}"
    );

    // Past the deadline the sweeper expires it and the original message says so.
    t.fetch_add(10 * 60 * 1000, Ordering::SeqCst);
    let edit = eventually("the expiry edit", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.update")
            .into_iter()
            .find(|u| u.body["blocks"].to_string().contains("Expired before"))
            .ok_or_else(|| format!("{:?}", receiver.on("/api/chat.update")))
    })
    .await;
    assert!(edit.body["blocks"].to_string().contains(&id));
    drained(&server).await;
    let reminders = receiver
        .on("/api/chat.postMessage")
        .into_iter()
        .filter(|p| !p.body["thread_ts"].is_null())
        .count();
    assert_eq!(reminders, 1);
    server.stop().await;
}

#[tokio::test]
async fn the_worker_deletes_delivered_rows_once_past_their_retention() {
    use tollgate::domain::{DeliveryState, NotifyKind};
    use tollgate::store::OutboxStore;
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    let (t, clock) = settable_clock();
    let server = start_with_clock(policy_file(POLICY), |c| notify_to(c, addr), clock).await;
    let id = pending(&server, "retention-1").await;
    approve(&server, &id).await;
    let db = server.sqlite().await;
    // Every notification of the request and its approval delivered (at the clock's time).
    let before = eventually("every delivery", Duration::from_secs(30), || async {
        let all = db.deliveries_of(&id).await.unwrap();
        let approved = all.iter().any(|d| d.event.kind == NotifyKind::Approved);
        let delivered = all.iter().all(|d| d.state == DeliveryState::Delivered);
        if approved && delivered {
            Ok(all)
        } else {
            Err(format!("{all:?}"))
        }
    })
    .await;
    assert!(!before.is_empty());
    // A day on, nothing is past the retention yet; eight days on (retention: 7 days), the
    // worker's next look deletes them.
    t.fetch_add(86_400_000, Ordering::SeqCst);
    pending(&server, "retention-2").await;
    let _ = hooks(&receiver, 3).await;
    assert_eq!(db.deliveries_of(&id).await.unwrap().len(), before.len());
    t.fetch_add(7 * 86_400_000, Ordering::SeqCst);
    eventually("the rows to go", Duration::from_secs(30), || async {
        let left = db.deliveries_of(&id).await.unwrap();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left", left.len()))
        }
    })
    .await;
    server.stop().await;
}

/// A clock starting now that the test moves on by adding milliseconds to the counter.
fn settable_clock() -> (Arc<std::sync::atomic::AtomicU64>, tollgate::approval::Clock) {
    use std::time::{SystemTime, UNIX_EPOCH};
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let t = Arc::new(std::sync::atomic::AtomicU64::new(now.as_millis() as u64));
    let read = t.clone();
    let clock: tollgate::approval::Clock =
        Arc::new(move || UNIX_EPOCH + Duration::from_millis(read.load(Ordering::SeqCst)));
    (t, clock)
}

/// A notifier alone over a fresh SQLite store at `path`, with the channels of [`notify_to`]
/// (none of them reachable) and `retry.max_attempts`, and one pending `db.drop` approval with a
/// reminder waiting to be routed: the store, the notifier and the approval's id.
async fn lone_notifier(
    path: &Path,
    max_attempts: u32,
) -> (
    tollgate::store::SqliteStore,
    tollgate::notify::Notifier,
    String,
) {
    let (store, notifier, mut ids) = lone_notifier_of(path, 1, |n| {
        n.retry.max_attempts = max_attempts;
    })
    .await;
    (store, notifier, ids.remove(0))
}

/// [`lone_notifier`] with `approvals` approvals, each with a reminder waiting to be routed,
/// and its notify settings as `tune` leaves them: the store, the notifier and their ids.
async fn lone_notifier_of(
    path: &Path,
    approvals: usize,
    tune: impl FnOnce(&mut tollgate::notify::NotifyConfig),
) -> (
    tollgate::store::SqliteStore,
    tollgate::notify::Notifier,
    Vec<String>,
) {
    use tollgate::{
        approval::{Clock, Workflow},
        audit::Auditor,
        capability::CapabilityKey,
        domain::UnixMillis,
        notify::{Notifier, NotifierParts},
        store::{GroupCommit, OutboxStore, SqliteStore, Stores},
        telemetry::Metrics,
    };

    let store = SqliteStore::open(path).await.unwrap();
    let stores = Stores::of(store.clone(), None);
    let (commit, _task) =
        GroupCommit::spawn(stores.batches.clone(), 8, None, std::future::pending());
    let clock: Clock = Arc::new(std::time::SystemTime::now);
    let key = Arc::new(CapabilityKey::generate().unwrap());
    let workflow = Workflow::new(&stores, key, clock, Auditor::new(commit, Vec::new()));
    let mut ids = Vec::new();
    for n in 0..approvals {
        let key = format!("r{n}");
        let mut new = crate::store::new_approval("agent:a", &key, "db.drop", i64::MAX / 2);
        new.requirements = json!([{"groups": ["sre"], "quorum": 1, "ttl": "15m",
            "capability_ttl": "5m", "risk": "high", "step_up": false, "reason": "drop"}]);
        let (approval, _) = stores
            .approvals
            .create_approval(&new, None, &[])
            .await
            .unwrap();
        ids.push(approval.id);
    }
    let day = Duration::from_secs(86_400);
    assert_eq!(
        store
            .enqueue_reminders(UnixMillis(i64::MAX / 2 - 1), day)
            .await
            .unwrap(),
        approvals as u64
    );
    let mut config = Config::default();
    notify_to(&mut config, "127.0.0.1:9".parse().unwrap());
    tune(&mut config.notify);
    let notifier = Notifier::new(NotifierParts {
        config: config.notify,
        outbox: stores.outbox.clone(),
        workflow,
        metrics: Metrics::new(),
        mask: Vec::new(),
        console_base: "https://tollgate.example.com".into(),
    })
    .unwrap();
    (store, notifier, ids)
}

/// Without a route no event could reach a channel: a notifier configured with none has its
/// store write no event (the records are stored all the same), and one with routes has them
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_without_routes_has_no_events_written() {
    use tollgate::{
        domain::{AuditEvent, AuditKind, UnixMillis},
        store::{AuditLog, Batch, BatchStore},
    };

    let reviewed = || {
        let mut e = AuditEvent::new(AuditKind::ApprovalReviewed, UnixMillis(5), "user:sre1");
        e.approval_id = "approval-1".into();
        e
    };
    let dir = tempfile::tempdir().unwrap();
    for (file, routes) in [("none.db", false), ("routed.db", true)] {
        let path = dir.path().join(file);
        let (store, _notifier, _) = lone_notifier_of(&path, 0, |n| {
            if !routes {
                n.routes.clear();
            }
        })
        .await;
        let event = reviewed();
        store
            .commit(&Batch::of_events(vec![event.clone()]))
            .await
            .unwrap();
        assert_eq!(store.head().await.unwrap().0, 1, "the record is stored");
        let written = crate::store::outbox::unrouted_ids(&store, 10).await;
        let expected = if routes { vec![event.id] } else { Vec::new() };
        assert_eq!(written, expected, "routes configured: {routes}");
    }
}

/// A backlog of more than one pass's batch is routed in one wake: a pass that fills its
/// batch is followed by another at once, while one that took everything waits for the next
/// change or tick (here an hour away, and no change comes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_a_batch_is_routed_in_one_wake() {
    use tollgate::store::OutboxStore;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let (store, notifier, _) = lone_notifier_of(&path, 80, |n| {
        n.poll_interval = Duration::from_secs(3_600);
    })
    .await;
    assert_eq!(store.unrouted(1_000).await.unwrap().len(), 80);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(notifier.run(async {
        stopped.await.ok();
    }));
    eventually("every reminder routed", Duration::from_secs(20), || async {
        match store.unrouted(1_000).await.unwrap().len() {
            0 => Ok(()),
            n => Err(format!("{n} unrouted")),
        }
    })
    .await;
    stop.send(()).unwrap();
    worker.await.unwrap();
}

/// Renames table `from` of the SQLite database at `path` to `to`: every read of it then
/// fails, as reads of a failing disk or a lost connection would.
async fn rename_table(path: &Path, from: &str, to: &str) {
    use sqlx::Connection;
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE {from} RENAME TO {to}"
    )))
    .execute(&mut raw)
    .await
    .unwrap();
}

/// A pass that cannot read an event's approval because the store fails (the reviews table
/// renamed away) fails as a whole and leaves the event unrouted for the next pass. Routing it
/// to no channel would lose the notification for good; only an approval that is gone or
/// unreadable sends its event nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_fault_while_routing_leaves_the_event_for_the_next_pass() {
    use tollgate::store::OutboxStore;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let (store, notifier, approval_id) = lone_notifier(&path, 1000).await;

    rename_table(&path, "reviews", "reviews_away").await;
    let failed = notifier.pass().await;
    assert!(failed.is_err(), "the pass went on: {failed:?}");
    assert_eq!(
        store.unrouted(10).await.unwrap().len(),
        1,
        "the event was routed while its approval could not be read"
    );

    rename_table(&path, "reviews_away", "reviews").await;
    notifier.pass().await.unwrap();
    assert!(store.unrouted(10).await.unwrap().is_empty());
    let channels: Vec<String> = store
        .deliveries_of(&approval_id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.channel)
        .collect();
    assert_eq!(channels.len(), 3, "{channels:?}");
}

/// Routes every unrouted event of `store` to the webhook channel, due at once.
async fn route_to_hook(store: &tollgate::store::SqliteStore) {
    use tollgate::{
        domain::{NewDelivery, Routed, UnixMillis},
        store::OutboxStore,
    };
    let routed: Vec<Routed> = store
        .unrouted(10)
        .await
        .unwrap()
        .into_iter()
        .map(|event| Routed {
            event,
            deliveries: vec![NewDelivery {
                channel: "audit-hook".into(),
                next_attempt_at: UnixMillis(0),
            }],
        })
        .collect();
    store.route(routed).await.unwrap();
}

/// A delivery whose approval cannot be read because the store fails is tried again later
/// without spending an attempt: it is no fault of the receiver's, and a store outage longer
/// than `retry.max_attempts` backoffs must not give up on (kill) the notification. Here one
/// attempt is all a delivery has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_fault_while_sending_spends_no_attempt() {
    use tollgate::{domain::DeliveryState, store::OutboxStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let (store, notifier, approval_id) = lone_notifier(&path, 1).await;
    route_to_hook(&store).await;

    rename_table(&path, "reviews", "reviews_away").await;
    notifier.pass().await.unwrap();
    let deliveries = store.deliveries_of(&approval_id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.state, DeliveryState::Pending, "{d:?}");
    assert_eq!(d.attempts, 0, "{d:?}");
    assert!(d.next_attempt_at.0 > 0, "tried again later: {d:?}");
}

/// A delivery whose approval is unreadable (its stored requirements no longer parse) or gone
/// (its row deleted) goes dead on its first attempt: no retry can make it readable, so
/// spending `retry.max_attempts` backoffs on it (here a thousand) would only keep it in every
/// pass until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_approval_is_unreadable_or_gone_goes_dead_at_once() {
    use sqlx::Connection;
    use tollgate::{domain::DeliveryState, store::OutboxStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let (store, notifier, ids) = lone_notifier_of(&path, 2, |n| {
        n.retry.max_attempts = 1000;
    })
    .await;
    route_to_hook(&store).await;

    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (unreadable, gone) = (&ids[0], &ids[1]);
    sqlx::query("UPDATE approvals SET requirements = '{\"not\": \"a list\"}' WHERE id = ?")
        .bind(unreadable)
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM approvals WHERE id = ?")
        .bind(gone)
        .execute(&mut raw)
        .await
        .unwrap();
    notifier.pass().await.unwrap();
    for (id, why) in [(unreadable, "unreadable"), (gone, "not found")] {
        let deliveries = store.deliveries_of(id).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        let d = &deliveries[0];
        assert_eq!(d.state, DeliveryState::Dead, "{d:?}");
        assert_eq!(d.attempts, 1, "{d:?}");
        assert!(d.last_error.contains(why), "{d:?}");
    }
}
