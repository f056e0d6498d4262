//! Several replicas on one PostgreSQL database, each a real `tollgate serve` process: an
//! approval made through one wakes the waiter on another, and a capability redeems once
//! across all of them.



use std::{path::Path, time::Duration};

use crate::common::*;
use tokio_stream::StreamExt;
use tollgate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient, ApprovalState,
    Effect, Verdict,
};

const POLICY: &str = r#"package tollgate

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "an SRE must agree"} if input.action.name == "db.drop"
"#;

/// One replica: the real binary in its own process, sharing the database and the signing key.
async fn replica(dir: &Path, url: &str, name: &str) -> Process {
    let config = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &config,
        format!(
            "grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
data_dir: {data}
capability_key_file: {key}
bundle: {{path: {bundle}, watch: false}}
store: {{url: \"{url}\"}}
log: {{format: json}}
audit: {{key_file: {audit_key}, checkpoint_every: 25}}
auth:
  mode: static_tokens
  tokens:
    - {{token: agent, id: \"agent:deployer\", kind: agent}}
    - {{token: sre, id: \"user:sre\", kind: user, groups: [sre]}}
    - {{token: executor, id: \"service:executor\", kind: service}}
",
            data = dir.join(name).display(),
            key = dir.join("shared.paserk").display(),
            audit_key = dir.join("shared-audit.paserk").display(),
            bundle = dir.join("bundle").display(),
        ),
    )
    .unwrap();
    spawn_serve(&config, &[]).await
}

fn drop_db() -> pb::AuthorizeRequest {
    orders_request("db.drop", "r-1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_on_one_replica_wakes_the_waiter_on_another() {
    let Some(url) = fresh_pg_database("tg_replicas_").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bundle")).unwrap();
    std::fs::write(dir.path().join("bundle/policy.rego"), POLICY).unwrap();
    let a = replica(dir.path(), &url, "a").await;
    // The second replica finds the key the first generated; each has its own data dir.
    let b = replica(dir.path(), &url, "b").await;

    let pending = AuthorizerClient::new(a.channel.clone())
        .authorize(as_user("agent", drop_db()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), Effect::PendingApproval);
    let id = pending.approval_id;
    // Idempotency holds across replicas too.
    let again = AuthorizerClient::new(b.channel.clone())
        .authorize(as_user("agent", drop_db()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.approval_id, id);

    let mut waiter = ApprovalsClient::new(b.channel.clone())
        .wait_for_decision(as_user(
            "agent",
            pb::WaitForDecisionRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        waiter.next().await.unwrap().unwrap().state(),
        ApprovalState::Pending
    );

    ApprovalsClient::new(a.channel.clone())
        .approve(as_user(
            "sre",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: Verdict::Approve as i32,
                reason: "checked".into(),
                params: None,
            },
        ))
        .await
        .unwrap();
    // Only a NOTIFY can wake it this soon: the waiter's own deadline is 15 minutes away.
    let approved = tokio::time::timeout(Duration::from_secs(10), waiter.next())
        .await
        .expect("woken through LISTEN/NOTIFY")
        .unwrap()
        .unwrap();
    assert_eq!(approved.state(), ApprovalState::Approved);
    assert!(
        !approved.capability.is_empty(),
        "minted on A, readable and valid on B"
    );

    // 64 redeemers, half on each replica: exactly one succeeds.
    let mut exact = drop_db();
    exact.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        ..Default::default()
    });
    let wins = redeem_race(
        &[a.channel.clone(), b.channel.clone()],
        &approved.capability,
        &exact,
        64,
    )
    .await;
    assert_eq!(wins, 1, "exactly one of 64 redeemers across two processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_write_one_gap_free_audit_chain() {
    let Some(url) = fresh_pg_database("tg_replicas_").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bundle")).unwrap();
    std::fs::write(dir.path().join("bundle/policy.rego"), POLICY).unwrap();
    let a = replica(dir.path(), &url, "a").await;
    let b = replica(dir.path(), &url, "b").await;
    let mut clients = Vec::new();
    for i in 0..8 {
        let channel = if i % 2 == 0 { &a } else { &b }.channel.clone();
        clients.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for j in 0..25 {
                let mut req = drop_db();
                req.context.as_mut().unwrap().request_id = format!("c{i}-{j}");
                let r = AuthorizerClient::new(channel.clone())
                    .authorize(as_user("agent", req))
                    .await
                    .unwrap()
                    .into_inner();
                ids.push(r.decision_id);
            }
            ids
        }));
    }
    let mut answered = 0;
    for c in clients {
        answered += c.await.unwrap().len();
    }
    // The replicas sign checkpoints on their own tick (every 25 records here); SIGKILL must
    // not come before one was written, or there is nothing for verify to check.
    wait_for_checkpoint(&url).await;
    drop((a, b));
    let mut verify = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"));
    verify
        .args(["audit", "verify", "--store-url", &url, "--public-key"])
        .arg(dir.path().join("shared-audit.paserk"))
        .env_remove("TOLLGATE_CONFIG")
        .env_remove("TOLLGATE_DATA_DIR");
    let run = Run::of(verify).await;
    let text = run.ok();
    // Each answer is a decision and an approval.requested, plus each replica's bundle.activated.
    let expected = format!("OK: {n} records (seq 1..{n})", n = 2 * answered + 2);
    assert!(text.starts_with(&expected), "{expected} expected: {text}");
    assert!(!text.contains(" 0 signed checkpoints"), "{text}");
}

/// Waits (bounded) until some replica has signed a checkpoint in the database at `url`.
async fn wait_for_checkpoint(url: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_checkpoints")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if n > 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audit checkpoint signed within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
