//! The audit trail end to end over gRPC: an approval flow leaves exactly the expected records
//! (with the right ids, actors and trace), masked inputs, no token anywhere, a log that
//! `tollgate audit verify` accepts, the audit key in the JWKS; and when a record cannot be
//! committed the caller gets an error, never the answer.

use std::{path::Path, process::Command};

use crate::common::*;
use sqlx::{AssertSqlSafe, Connection, SqliteConnection};
use tollgate::{
    audit::MASKED,
    domain::{AuditFilter, AuditKind, AuditRecord},
    grpc::pb::{self, approvals_client::ApprovalsClient, Effect, Verdict},
    store::{AuditLog as _, SqliteStore},
};
use tonic::Code;

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"

allow if input.action.name == "probe.write"

obligations contains {"type": "capability"} if input.action.name == "probe.write"

approval contains {"groups": ["sre"], "quorum": 2, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "reason": "two SREs"} if input.action.name == "db.drop"

mask contains "action.params.password" if input.action.params.password

allow if input.action.name == "data.export"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "big exports need an SRE"} if {
	input.action.name == "data.export"
	input.action.params.rows > 1000
}
"#;

const TRACE_PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn server() -> TestServer {
    start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity("agent", "agent:deployer", "agent", &[]),
            identity("sre1", "user:sre1", "user", &["sre"]),
            identity("sre2", "user:sre2", "user", &["sre"]),
            identity(
                "executor",
                "service:executor",
                "service",
                &["tollgate-executors"],
            ),
        ]);
        c.audit.mask = vec!["context.attributes.session".into()];
        c.audit.checkpoint_every = 3;
    })
    .await
}

fn drop_request() -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: None,
        action: Some(pb::Action {
            name: "db.drop".into(),
            params: strukt(serde_json::json!({"database": "orders", "password": "hunter2"})),
        }),
        resource: Some(pb::Resource {
            r#type: "database".into(),
            id: "orders".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            request_id: "drop-1".into(),
            attributes: strukt(serde_json::json!({"session": "s3ss10n", "ticket": "T-9"})),
            ..Default::default()
        }),
    }
}

fn traced<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = as_user(token, msg);
    r.metadata_mut()
        .insert("traceparent", TRACE_PARENT.parse().unwrap());
    r
}

async fn review(s: &TestServer, who: &str, id: &str) {
    ApprovalsClient::new(s.channel.clone())
        .approve(as_user(
            who,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: Verdict::Approve as i32,
                reason: format!("{who} checked"),
                params: None,
            },
        ))
        .await
        .unwrap();
}

async fn redeem(s: &TestServer, token: &str, req: pb::AuthorizeRequest) -> bool {
    ApprovalsClient::new(s.channel.clone())
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: token.into(),
                request: Some(req),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .allowed
}

async fn records(data: &Path, filter: AuditFilter) -> Vec<AuditRecord> {
    let store = SqliteStore::open(data.join("tollgate.db")).await.unwrap();
    let found = store.query(&filter, 0, 1000).await.unwrap();
    store.close().await;
    found
}

/// Every record of one approval, in seq order.
async fn approval_records(data: &Path, approval_id: String) -> Vec<AuditRecord> {
    let filter = AuditFilter {
        approval_id: Some(approval_id),
        ..Default::default()
    };
    records(data, filter).await
}

/// `tollgate audit <args> --data-dir data`: (exit success, stdout + stderr).
fn audit_cli(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("audit")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("TOLLGATE_STORE_URL")
        .env_remove("TOLLGATE_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_flow_leaves_the_expected_masked_records() {
    let s = server().await;
    let pending = s
        .authorizer()
        .authorize(traced("agent", drop_request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), Effect::PendingApproval);
    let approval_id = pending.approval_id.clone();
    review(&s, "sre1", &approval_id).await;
    review(&s, "sre2", &approval_id).await;
    let approved = ApprovalsClient::new(s.channel.clone())
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: approval_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let token = approved.capability.clone();
    assert!(token.starts_with("v4.public."));
    let mut exact = drop_request();
    // The request as decided: the subject the token filled in, owner included.
    exact.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        owner: "team:platform".into(),
        ..Default::default()
    });
    assert!(redeem(&s, &token, exact.clone()).await);
    assert!(!redeem(&s, &token, exact).await);
    let mut read = drop_request();
    read.action.as_mut().unwrap().name = "probe.read".into();
    let allowed = s
        .authorizer()
        .authorize(as_user("agent", read))
        .await
        .unwrap()
        .into_inner();
    let mut unknown = drop_request();
    unknown.action.as_mut().unwrap().name = "db.format".into();
    let denied = s
        .authorizer()
        .authorize(as_user("agent", unknown))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (allowed.effect(), denied.effect()),
        (Effect::Allow, Effect::Deny)
    );

    let (_, jwks) = http_get(s.running.http_addr, "/.well-known/jwks.json").await;
    let jwks: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "capability key and audit key: {jwks}");
    assert_eq!(keys[1]["purpose"], "audit-checkpoint");
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);

    let data = s.dir.path().join("data");
    let TestServer {
        running,
        dir: _dir,
        channel,
    } = s;
    drop(channel);
    running.shutdown();
    running.wait().await.unwrap();

    let flow = approval_records(&data, approval_id.clone()).await;
    use AuditKind::*;
    let kinds: Vec<_> = flow.iter().map(|r| r.event.kind).collect();
    assert_eq!(
        kinds,
        [
            Decision,
            ApprovalRequested,
            ApprovalReviewed,
            ApprovalReviewed,
            ApprovalApproved,
            CapabilityIssued,
            CapabilityRedeemed,
            CapabilityRefused
        ]
    );
    let actors: Vec<_> = flow.iter().map(|r| r.event.actor.as_str()).collect();
    assert_eq!(
        actors,
        [
            "agent:deployer",
            "agent:deployer",
            "user:sre1",
            "user:sre2",
            "user:sre2",
            "user:sre2",
            "service:executor",
            "service:executor"
        ]
    );
    let decision = &flow[0].event;
    assert_eq!(decision.effect, "PENDING_APPROVAL");
    assert_eq!(decision.decision_id, pending.decision_id);
    assert_eq!(decision.bundle_revision, pending.bundle_revision);
    assert_eq!(decision.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        flow[1].event.trace_id, decision.trace_id,
        "the request joins the decision's trace"
    );
    assert!(flow
        .iter()
        .all(|r| r.event.decision_id == pending.decision_id));
    assert!(decision.detail["bundle_digest"].as_str().unwrap().len() > 8);
    assert_eq!(decision.input["action"]["params"]["password"], MASKED);
    assert_eq!(decision.input["context"]["attributes"]["session"], MASKED);
    assert_eq!(decision.input["context"]["attributes"]["ticket"], "T-9");
    assert_eq!(
        decision.detail["masked"],
        serde_json::json!(["action.params.password", "context.attributes.session"])
    );
    assert_eq!(flow[5].event.capability_id, approval_id);
    assert_eq!(flow[6].event.capability_id, approval_id);
    assert_eq!(flow[7].event.reasons, ["capability already redeemed"]);
    assert_eq!(
        flow[6].event.input,
        serde_json::Value::Null,
        "a redemption records no input"
    );
    assert_eq!(
        flow[6].event.detail["request_hash"],
        flow[5].event.detail["request_hash"]
    );

    let all = records(&data, AuditFilter::default()).await;
    for r in &all {
        for secret in ["hunter2", "s3ss10n", token.as_str(), "Bearer"] {
            assert!(
                !r.body.contains(secret),
                "seq {} leaks {secret:?}: {}",
                r.seq,
                r.body
            );
        }
    }
    let effects: Vec<_> = all
        .iter()
        .filter(|r| r.event.kind == Decision)
        .map(|r| (r.event.decision_id.as_str(), r.event.effect.as_str()))
        .collect();
    assert!(effects.contains(&(allowed.decision_id.as_str(), "ALLOW")));
    assert!(effects.contains(&(denied.decision_id.as_str(), "DENY")));
    assert!(
        all.iter().any(|r| r.event.kind == BundleActivated),
        "the start-up activation"
    );

    let (ok, out) = audit_cli(&["verify"], &data);
    assert!(ok, "{out}");
    assert!(out.starts_with("OK: "), "{out}");
    assert!(
        !out.contains(" 0 signed checkpoints"),
        "checkpoints were signed: {out}"
    );

    // An auditor with only the published JWKS verifies the log and every exported checkpoint.
    let jwks_file = _dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    let key_arg = jwks_file.to_str().unwrap();
    let (ok, out) = audit_cli(&["verify", "--public-key", key_arg], &data);
    assert!(ok, "{out}");
    std::fs::remove_file(data.join("audit-ed25519.paserk")).unwrap();
    let (ok, out) = audit_cli(&["verify"], &data);
    assert!(
        !ok && out.contains("no audit key"),
        "checkpoints need a key: {out}"
    );
    let (ok, out) = audit_cli(&["checkpoints", "--format", "jsonl"], &data);
    assert!(ok, "{out}");
    let key = tollgate::audit::AuditKey::load_verifier(&jwks_file).unwrap();
    let exported: Vec<tollgate::domain::Checkpoint> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!exported.is_empty());
    for cp in &exported {
        let claims = tollgate::audit::checkpoint::verify(&key, cp).unwrap();
        let at = all
            .iter()
            .find(|r| r.seq == cp.seq)
            .expect("a checkpoint names a record");
        assert_eq!(claims.head, at.hash);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_without_its_record() {
    let s = server().await;
    let db = s.dir.path().join("data/tollgate.db");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::raw_sql(AssertSqlSafe(
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit disk full'); END;",
    ))
    .execute(&mut conn)
    .await
    .unwrap();

    let mut read = drop_request();
    read.action.as_mut().unwrap().name = "probe.read".into();
    let err = s
        .authorizer()
        .authorize(as_user("agent", read.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Unavailable,
        "no unrecorded ALLOW: {err:?}"
    );
    let err = s
        .authorizer()
        .authorize(as_user("agent", drop_request()))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Unavailable,
        "no unrecorded PENDING: {err:?}"
    );
    let batch = s
        .authorizer()
        .batch_authorize(as_user(
            "agent",
            pb::BatchAuthorizeRequest {
                requests: vec![read.clone(), read.clone()],
                dry_run: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    for item in &batch.results {
        assert!(
            matches!(item.outcome, Some(pb::batch_item::Outcome::Error(ref e)) if e.code == Code::Unavailable as i32),
            "{item:?}"
        );
    }
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM approvals")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 0, "the approval rolled back with its record");

    sqlx::raw_sql(AssertSqlSafe("DROP TRIGGER refuse"))
        .execute(&mut conn)
        .await
        .unwrap();
    let ok = s
        .authorizer()
        .authorize(as_user("agent", read))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ok.effect(),
        Effect::Allow,
        "recording again once the store accepts"
    );
    conn.close().await.unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modify_records_what_changed_and_what_the_policy_said() {
    let s = server().await;
    let mut export = drop_request();
    export.action = Some(pb::Action {
        name: "data.export".into(),
        params: strukt(serde_json::json!({"rows": 5000, "table": "users"})),
    });
    let pending = s
        .authorizer()
        .authorize(as_user("agent", export))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), Effect::PendingApproval);
    let narrowed = ApprovalsClient::new(s.channel.clone())
        .approve(as_user(
            "sre1",
            pb::ApproveRequest {
                approval_id: pending.approval_id.clone(),
                verdict: Verdict::Modify as i32,
                reason: "500 rows are enough".into(),
                params: strukt(serde_json::json!({"rows": 500, "table": "users"})),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(narrowed.state(), pb::ApprovalState::Approved);
    let data = s.dir.path().join("data");
    let flow = approval_records(&data, pending.approval_id.clone()).await;
    use AuditKind::*;
    let kinds: Vec<_> = flow.iter().map(|r| r.event.kind).collect();
    assert_eq!(
        kinds,
        [
            Decision,
            ApprovalRequested,
            ApprovalModified,
            ApprovalApproved,
            CapabilityIssued
        ]
    );
    let modified = &flow[2].event;
    assert_eq!(
        (modified.actor.as_str(), modified.effect.as_str()),
        ("user:sre1", "modify")
    );
    assert_eq!(
        modified.detail["changes"],
        serde_json::json!(["action.params.rows"])
    );
    assert_eq!(modified.detail["requirements"], serde_json::json!([]));
    assert_eq!(
        flow[4].event.detail["request_hash"], modified.detail["request_hash"],
        "the capability binds the narrowed request"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_reloads_are_recorded() {
    let s = server().await;
    std::fs::write(
        s.bundle_dir().join("policy.rego"),
        "package tollgate\n\nallow if {",
    )
    .unwrap();
    let policies = s.running.policies.clone();
    let rejected = tokio::task::spawn_blocking(move || policies.reload())
        .await
        .unwrap();
    assert!(rejected.is_err());
    let data = s.dir.path().join("data");
    let filter = AuditFilter {
        kind: Some(AuditKind::BundleRejected),
        ..Default::default()
    };
    // The record follows the reload through the group commit: poll the store until it is there.
    let found = eventually(
        "a bundle.rejected record",
        std::time::Duration::from_secs(10),
        || async {
            let found = records(&data, filter.clone()).await;
            if found.is_empty() {
                Err("no record".to_string())
            } else {
                Ok(found)
            }
        },
    )
    .await;
    assert_eq!(found.len(), 1, "one bundle.rejected record");
    let e = &found[0].event;
    assert_eq!(
        (e.actor.as_str(), e.effect.as_str()),
        ("tollgate", "rejected")
    );
    assert!(
        !e.detail["error"].as_str().unwrap().is_empty(),
        "{:?}",
        e.detail
    );
    assert_eq!(
        e.bundle_revision,
        s.running
            .policies
            .status()
            .active_revision
            .as_deref()
            .unwrap()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_with_a_capability_commits_it_with_its_records() {
    let s = server().await;
    let mut write = drop_request();
    write.action.as_mut().unwrap().name = "probe.write".into();
    // Concurrent answers share group commits; each gets its own capability and records.
    let answers = futures::future::join_all((0..8).map(|i| {
        let mut req = write.clone();
        req.context.as_mut().unwrap().request_id = format!("w{i}");
        let mut api = s.authorizer();
        async move {
            api.authorize(as_user("agent", req))
                .await
                .unwrap()
                .into_inner()
        }
    }))
    .await;
    let data = s.dir.path().join("data");
    for a in &answers {
        assert_eq!(a.effect(), Effect::Allow);
        assert!(a.capability.starts_with("v4.public."));
        let flow = records(
            &data,
            AuditFilter {
                decision_id: Some(a.decision_id.clone()),
                ..Default::default()
            },
        )
        .await;
        let kinds: Vec<_> = flow.iter().map(|r| r.event.kind).collect();
        assert_eq!(kinds, [AuditKind::Decision, AuditKind::CapabilityIssued]);
        assert!(flow.iter().all(|r| r.event.capability_id == a.decision_id));
        assert!(
            flow.iter().all(|r| !r.body.contains(&a.capability)),
            "no token recorded"
        );
    }
    let mut exact = write.clone();
    // The request as decided: the subject the token filled in, owner included.
    exact.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        owner: "team:platform".into(),
        ..Default::default()
    });
    exact.context.as_mut().unwrap().request_id = "w0".into();
    assert!(
        redeem(&s, &answers[0].capability, exact).await,
        "the stored capability redeems"
    );
    s.stop().await;
}
