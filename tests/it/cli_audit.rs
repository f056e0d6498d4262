//! The auditor's tools, end to end: the real binary serves, decisions are made under bundle
//! revision A, the bundle is swapped to revision B (a hot reload), and then the binary's
//! `audit replay`, `bundle impact`, `audit export` and `audit show` read what the server wrote,
//! from the same config file.



use std::{collections::BTreeSet, path::Path, process::Command};

use crate::common::{as_user, fresh_pg_database, spawn_serve, strukt, Run};
use tollgate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient,
    policy_admin_client::PolicyAdminClient, Effect, Verdict,
};
use tonic::transport::Channel;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

/// Revision A: small exports are allowed, large ones need an SRE.
const A: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.run"

allow if {
	input.action.name == "data.export"
	input.action.params.rows <= 1000
}

approval contains {"groups": ["sre"], "quorum": 1, "reason": "large export"} if {
	input.action.name == "data.export"
	input.action.params.rows > 1000
}
"#;

/// Revision B: small exports are frozen; the rest is as in A.
const B: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.run"

deny contains "small exports are frozen" if {
	input.action.name == "data.export"
	input.action.params.rows <= 1000
}

approval contains {"groups": ["sre"], "quorum": 1, "reason": "large export"} if {
	input.action.name == "data.export"
	input.action.params.rows > 1000
}
"#;

fn write_bundle(dir: &Path, revision: &str, rego: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(".manifest"),
        format!(r#"{{"revision": "{revision}"}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("policy.rego"), rego).unwrap();
}

/// The serve config, shared by the server and the CLI; `store_url` None means SQLite.
fn write_config(dir: &Path, store_url: Option<&str>) -> std::path::PathBuf {
    let config = dir.join("tollgate.yaml");
    let store = store_url.map_or(String::new(), |u| format!("store: {{url: \"{u}\"}}\n"));
    std::fs::write(
        &config,
        format!(
            "grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
data_dir: {data}
bundle: {{path: {bundle}, watch: false}}
log: {{format: json}}
{store}
auth:
  mode: static_tokens
  tokens:
    - {{token: agent, id: \"agent:exporter\", kind: agent, owner: \"team:growth\"}}
    - {{token: sre, id: \"user:sre\", kind: user, groups: [sre]}}
    - {{token: admin, id: \"user:admin\", kind: user, groups: [tollgate-admins]}}
    - {{token: executor, id: \"service:executor\", kind: service}}
",
            data = dir.join("data").display(),
            bundle = dir.join("bundle").display(),
        ),
    )
    .unwrap();
    config
}

fn export(rows: u64, request_id: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            id: "agent:exporter".into(),
            kind: "agent".into(),
            owner: "team:growth".into(),
            ..Default::default()
        }),
        action: Some(pb::Action {
            name: "data.export".into(),
            params: strukt(serde_json::json!({"rows": rows, "table": "users"})),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "users-eu".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            request_id: request_id.into(),
            ..Default::default()
        }),
    }
}

fn probe() -> pb::AuthorizeRequest {
    let mut r = export(0, "");
    r.action = Some(pb::Action {
        name: "probe.run".into(),
        params: None,
    });
    r
}

async fn decide(channel: &Channel, req: pb::AuthorizeRequest) -> pb::AuthorizeResponse {
    AuthorizerClient::new(channel.clone())
        .authorize(as_user("agent", req))
        .await
        .unwrap()
        .into_inner()
}

async fn cli(config: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("TOLLGATE_DATA_DIR")
        .env_remove("TOLLGATE_STORE_URL")
        .env_remove("TOLLGATE_CONFIG");
    Run::of(command).await
}

/// The decisions made under A: (small export ids, the pending export's decision id).
struct UnderA {
    small: Vec<String>,
    probe: String,
    pending: String,
}

/// Under A: a probe, two small exports (ALLOW) and one large export approved by the SRE and
/// redeemed by the executor.
async fn decisions_under_a(channel: &Channel) -> UnderA {
    let probe_answer = decide(channel, probe()).await;
    assert_eq!(probe_answer.effect(), Effect::Allow);
    let mut small = Vec::new();
    for rows in [10, 20] {
        let r = decide(channel, export(rows, "")).await;
        assert_eq!(
            (r.effect(), r.bundle_revision.as_str()),
            (Effect::Allow, "A")
        );
        small.push(r.decision_id);
    }
    let big = export(5000, "big-1");
    let pending = decide(channel, big.clone()).await;
    assert_eq!(pending.effect(), Effect::PendingApproval);
    let approvals = ApprovalsClient::new(channel.clone());
    let approved = approvals
        .clone()
        .approve(as_user(
            "sre",
            pb::ApproveRequest {
                approval_id: pending.approval_id.clone(),
                verdict: Verdict::Approve as i32,
                reason: "ticket checked".into(),
                params: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state(), pb::ApprovalState::Approved);
    // Only the requester sees the capability.
    let approved = approvals
        .clone()
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: pending.approval_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!approved.capability.is_empty());
    let redeemed = ApprovalsClient::new(channel.clone())
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: approved.capability,
                request: Some(big),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(redeemed.allowed, "{redeemed:?}");
    UnderA {
        small,
        probe: probe_answer.decision_id,
        pending: pending.decision_id,
    }
}

#[tokio::test]
async fn replay_impact_export_and_show_after_a_bundle_swap() {
    scenario(None).await;
}

#[tokio::test]
async fn the_same_on_postgresql() {
    if let Some(url) = fresh_pg_database("tg_cli_audit_").await {
        scenario(Some(&url)).await;
    }
}

async fn scenario(store_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle, "A", A);
    let candidate = dir.path().join("candidate-b");
    write_bundle(&candidate, "B", B);
    let config = write_config(dir.path(), store_url);
    let server = spawn_serve(&config, &[]).await;
    let channel = server.channel.clone();

    let a = decisions_under_a(&channel).await;

    // Hot swap to B.
    write_bundle(&bundle, "B", B);
    let status = PolicyAdminClient::new(channel.clone())
        .reload_bundle(as_user("admin", pb::ReloadBundleRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.active_revision, "B");
    let under_b = decide(&channel, export(10, "")).await;
    assert_eq!(under_b.effect(), Effect::Deny);

    // Replay: an A decision still replays as A's answer, though B now serves.
    let run = cli(&config, &["audit", "replay", &a.small[0]]).await;
    let out = run.ok();
    assert!(out.contains("bundle A"), "{out}");
    assert!(
        out.contains("recorded: ALLOW") && out.contains("replayed: ALLOW"),
        "{out}"
    );
    assert!(
        out.contains("REPRODUCED") && !out.contains("NOT REPRODUCED"),
        "{out}"
    );
    let run = cli(
        &config,
        &["audit", "replay", &under_b.decision_id, "--format", "json"],
    )
    .await;
    let replayed: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(replayed["bundle_revision"], "B");
    assert_eq!(replayed["replayed"]["effect"], "DENY");
    assert_eq!(replayed["reproduced"], true);
    assert_eq!(
        cli(&config, &["audit", "replay", "no-such-decision"])
            .await
            .code,
        2
    );

    // Impact of B over everything recorded: exactly the two small A exports change.
    let run = cli(
        &config,
        &[
            "bundle",
            "impact",
            "--candidate",
            candidate.to_str().unwrap(),
            "--since",
            "1h",
            "--format",
            "json",
        ],
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(report["candidate_revision"], "B");
    assert_eq!(report["total"], 5, "{report}");
    assert_eq!(report["changed"], 2, "{report}");
    assert_eq!(report["unreplayable"], 0, "{report}");
    let transitions = report["transitions"].as_array().unwrap();
    assert_eq!(transitions.len(), 1, "{report}");
    assert_eq!(
        (
            transitions[0]["from"].as_str(),
            transitions[0]["to"].as_str()
        ),
        (Some("ALLOW"), Some("DENY"))
    );
    let examples: BTreeSet<&str> = transitions[0]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(examples, a.small.iter().map(String::as_str).collect());
    assert!(!examples.contains(a.probe.as_str()));
    let text = cli(
        &config,
        &[
            "bundle",
            "impact",
            "--candidate",
            candidate.to_str().unwrap(),
        ],
    )
    .await;
    assert!(text.ok().contains("ALLOW -> DENY: 2"), "{}", text.stdout);

    // Export: every record, seq gap-free from 1, each linked to the one before.
    let run = cli(
        &config,
        &["audit", "export", "--since", "1h", "--format", "jsonl"],
    )
    .await;
    let lines: Vec<serde_json::Value> = run
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.len() >= 5 + 5,
        "five decisions and the approval flow: {}",
        lines.len()
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], i as u64 + 1, "{line}");
        assert!(line["event"]["kind"].is_string() && line["hash"].is_string());
        if i > 0 {
            assert_eq!(line["prev_hash"], lines[i - 1]["hash"]);
        }
    }
    let decisions: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["event"]["kind"] == "decision")
        .map(|l| l["event"]["decision_id"].as_str().unwrap())
        .collect();
    for id in a
        .small
        .iter()
        .chain([&a.probe, &a.pending, &under_b.decision_id])
    {
        assert!(decisions.contains(id.as_str()), "{id} not exported");
    }

    // Show: the approval flow of the large export, in order.
    let run = cli(&config, &["audit", "show", &a.pending]).await;
    let shown = run.ok();
    let mut at = 0;
    for kind in [
        "decision",
        "approval.requested",
        "approval.approved",
        "capability.issued",
        "capability.redeemed",
    ] {
        let found = shown[at..]
            .find(&format!(" {kind} "))
            .unwrap_or_else(|| panic!("{kind} missing or out of order in\n{shown}"));
        at += found + 1;
    }
    assert!(shown.contains("ticket checked"), "{shown}");
    let run = cli(&config, &["audit", "show", &a.pending, "--format", "json"]).await;
    let events: Vec<serde_json::Value> = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(events[0]["event"]["kind"], "decision");
    assert!(events
        .iter()
        .all(|e| e["event"]["decision_id"] == a.pending.as_str()
            || e["event"]["approval_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty())));
    drop(server);
}
