//! Nothing answered is lost: under concurrent Authorize and BatchAuthorize load, the real
//! binary is SIGKILLed at random moments, round after round on one data directory; every
//! decision a client received is in the audit log afterwards, and `tollgate audit verify`
//! accepts the log (one gap-free chain across all the crashes).

use std::{
    collections::HashSet,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::common::{as_user, kill9, orders_request, serve_dir, write_serve_dir, Run};
use tokio::sync::watch;
use tollgate::{
    domain::AuditKind,
    grpc::pb::{self, authorizer_client::AuthorizerClient},
    store::{AuditLog as _, SqliteStore},
};
use tonic::transport::Channel;

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "an SRE looks first"} if input.action.name == "db.drop"
"#;

/// The server's configuration with `audit.durability` set to `durability`.
fn config(durability: &str) -> String {
    format!(
        "grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
log:
  format: json
  level: warn,tollgate::app=info
audit:
  checkpoint_every: 40
  durability: {durability}
auth:
  mode: static_tokens
  tokens:
    - {{token: agent, id: \"agent:loader\", kind: agent}}
rate_limits:
  max_pending_per_subject: 1000000
"
    )
}

const ROUNDS: usize = 8;
const CLIENTS: usize = 4;

/// One client: ALLOW, DENY and PENDING decisions and small batches, until the server dies;
/// every decision id it was answered goes into `answered`.
async fn client(
    channel: Channel,
    round: usize,
    me: usize,
    answered: Arc<Mutex<Vec<String>>>,
    count: watch::Sender<usize>,
) {
    let mut api = AuthorizerClient::new(channel);
    for i in 0.. {
        let rid = format!("r{round}-c{me}-{i}");
        let ids = if i % 4 == 3 {
            let batch = pb::BatchAuthorizeRequest {
                requests: vec![
                    orders_request("probe.read", String::new()),
                    orders_request("db.format", String::new()),
                    orders_request("db.drop", format!("{rid}-b")),
                ],
                dry_run: false,
            };
            match api.batch_authorize(as_user("agent", batch)).await {
                Ok(r) => r
                    .into_inner()
                    .results
                    .into_iter()
                    .filter_map(|item| match item.outcome {
                        Some(pb::batch_item::Outcome::Decision(d)) => Some(d.decision_id),
                        _ => None,
                    })
                    .collect(),
                Err(_) => return,
            }
        } else {
            let action = ["probe.read", "db.format", "db.drop"][i % 3];
            match api
                .authorize(as_user("agent", orders_request(action, rid)))
                .await
            {
                Ok(r) => vec![r.into_inner().decision_id],
                Err(_) => return,
            }
        };
        let n = ids.len();
        answered.lock().unwrap().extend(ids);
        count.send_modify(|c| *c += n);
    }
}

/// A pseudo-random delay in 0..max_ms: when to kill, not a synchronisation.
fn jitter(max_ms: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(u64::from(nanos) % max_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_answered_decision() {
    sigkill_under_load("power").await;
}

/// `durability: process` skips the fsync on the answer's path: a kill -9 must still lose
/// nothing (the WAL is in the operating system's hands before the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_answered_decision_with_process_durability() {
    sigkill_under_load("process").await;
}

async fn sigkill_under_load(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    write_serve_dir(dir.path(), POLICY, &config(durability));
    let answered = Arc::new(Mutex::new(Vec::new()));

    for round in 0..ROUNDS {
        let mut server = serve_dir(dir.path()).await;
        let (count, mut counted) = watch::channel(0usize);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|me| {
                tokio::spawn(client(
                    server.channel.clone(),
                    round,
                    me,
                    answered.clone(),
                    count.clone(),
                ))
            })
            .collect();
        // Readiness: load is flowing (answers are coming back), then a random moment.
        tokio::time::timeout(Duration::from_secs(30), counted.wait_for(|n| *n >= 20))
            .await
            .expect("answers within 30 s")
            .unwrap();
        tokio::time::sleep(jitter(150)).await;
        kill9(&mut server);
        for c in clients {
            tokio::time::timeout(Duration::from_secs(30), c)
                .await
                .expect("clients stop once the server is gone")
                .unwrap();
        }
    }

    let answered: Vec<String> = answered.lock().unwrap().clone();
    assert!(answered.len() >= ROUNDS * 20);
    let store = SqliteStore::open(dir.path().join("data/tollgate.db"))
        .await
        .unwrap();
    let mut recorded = HashSet::new();
    let mut from = 1;
    loop {
        let page = store.range(from, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        recorded.extend(
            page.iter()
                .filter(|r| r.event.kind == AuditKind::Decision)
                .map(|r| r.event.decision_id.clone()),
        );
    }
    store.close().await;
    let lost: Vec<_> = answered
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered decisions are not in the audit log: {:?}",
        lost.len(),
        answered.len(),
        &lost[..lost.len().min(5)]
    );

    let mut verify = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    verify
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("TOLLGATE_STORE_URL")
        .env_remove("TOLLGATE_CONFIG");
    let run = Run::of(verify).await;
    let text = run.ok();
    assert!(text.starts_with("OK: "), "{text}");
    println!(
        "{} answered decisions over {ROUNDS} kills; {text}",
        answered.len()
    );
}
