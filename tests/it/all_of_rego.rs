//! All of Rego serves: a bundle the VM compiler refuses (`with`) loads, the interpreter
//! answers its decisions, and every status surface says which engine serves and why; a
//! reload to a VM-compilable bundle switches back to the VM.

use std::process::Command;

use crate::common::*;
use tollgate::grpc::pb::{self, Effect};

fn with_bundle(dir: &std::path::Path) {
    copy_dir(&repo().join("tests/golden/bundles/rego_with"), dir);
}

fn batch(steps: &[&str]) -> pb::AuthorizeRequest {
    let mut req = request("batch.run", "dataset");
    req.action = Some(pb::Action {
        name: "batch.run".into(),
        params: strukt(serde_json::json!({ "steps": steps })),
    });
    req
}

async fn engine_status(server: &TestServer) -> (String, String, serde_json::Value) {
    let status = server
        .admin()
        .get_bundle_status(pb::GetBundleStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    let (code, body) = http_get(server.running.http_addr, "/v1/status").await;
    assert_eq!(code, 200, "{body}");
    let http: serde_json::Value = serde_json::from_str(&body).unwrap();
    (status.engine, status.engine_reason, http)
}

#[tokio::test]
async fn a_bundle_using_with_is_served_by_the_interpreter_and_says_so() {
    let server = start(with_bundle, |_| {}).await;
    let mut client = server.authorizer();

    let reads = client
        .authorize(batch(&["dataset.read", "vm.describe"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reads.effect(), Effect::Allow, "{reads:?}");
    let write = client
        .authorize(batch(&["dataset.read", "data.export"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(write.effect(), Effect::Deny, "{write:?}");
    assert_eq!(write.reasons, ["batch step data.export is not a read"]);

    let (engine, reason, http) = engine_status(&server).await;
    assert_eq!(engine, "interpreter");
    assert!(reason.contains("with"), "{reason}");
    assert_eq!(http["engine"], "interpreter");
    assert_eq!(http["engine_reason"], reason.as_str());

    // A reload to a bundle the VM compiles switches the engine back.
    for file in ["policy.rego", "data.yaml"] {
        std::fs::remove_file(server.bundle_dir().join(file)).unwrap();
    }
    write_probe_bundle(&server.bundle_dir(), "vm-again", true);
    server
        .admin()
        .reload_bundle(pb::ReloadBundleRequest {})
        .await
        .unwrap();
    let (engine, reason, http) = engine_status(&server).await;
    assert_eq!((engine.as_str(), reason.as_str()), ("vm", ""));
    assert_eq!(http["engine"], "vm");
    assert!(http["engine_reason"].is_null(), "{http}");
    server.stop().await;
}

#[tokio::test]
async fn eval_reports_the_serving_engine() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        r#"{"subject": {"id": "agent:probe", "kind": "agent", "owner": "team:qa"},
            "action": {"name": "batch.run", "params": {"steps": ["dataset.read"]}},
            "resource": {"type": "dataset", "id": "d"},
            "context": {"environment": "dev", "intent": "eval engine test"}}"#,
    )
    .unwrap();
    let eval = |bundle: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        c.current_dir(repo())
            .args(["eval", "--engine", "both", "--bundle", bundle, "--input"])
            .arg(&input);
        c
    };
    let run = Run::of(eval("tests/golden/bundles/rego_with")).await;
    let out: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(out["effect"], "ALLOW", "{out}");
    assert_eq!(out["engine"], "interpreter");
    assert!(
        out["engine_reason"].as_str().unwrap().contains("with"),
        "{out}"
    );
    assert_eq!(out["engines_agree"], true);

    let run = Run::of(eval("policies")).await;
    let out: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(out["engine"], "vm", "{out}");
    assert!(out["engine_reason"].is_null(), "{out}");
}
