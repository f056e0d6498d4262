//! Signed bundles through a running server: with `bundle.verification` configured, a signed
//! bundle serves, and a tampered, extended, unsigned or foreign-signed one is refused by
//! `PolicyAdmin/ReloadBundle` with the precise reason while the last good revision keeps
//! answering.

use std::path::Path;

use crate::common::{request, start, write_probe_bundle};
use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header};
use tollgate::{
    grpc::pb::{self, Effect},
    policy::signature::{
        file_hash, SignaturePayload, SignedFile, SigningAlgorithm, VerificationConfig,
        SIGNATURES_FILE,
    },
};
use tonic::Code;

/// A test-only Ed25519 key pair from a fixed seed: (signing key, public key PEM).
fn keypair(seed: u8) -> (EncodingKey, String) {
    let secret = [seed; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    let mut pkcs8 = hex::decode("302e020100300506032b657004220420").unwrap();
    pkcs8.extend_from_slice(&secret);
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&public);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(spki)
    );
    (EncodingKey::from_ed_der(&pkcs8), pem)
}

/// Writes `.signatures.json` over the bundle's files, as `opa sign` would.
fn sign(dir: &Path, key: &EncodingKey) {
    let _ = std::fs::remove_file(dir.join(SIGNATURES_FILE));
    let bundle = tollgate::policy::Bundle::load(dir).unwrap();
    let files = bundle
        .files
        .iter()
        .map(|(name, bytes)| SignedFile {
            name: name.clone(),
            hash: file_hash(name, bytes, "SHA-256").unwrap(),
            algorithm: "SHA-256".into(),
        })
        .collect();
    let payload = SignaturePayload {
        files,
        keyid: String::new(),
        scope: String::new(),
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("release".into());
    let token = jsonwebtoken::encode(&header, &payload, key).unwrap();
    std::fs::write(
        dir.join(SIGNATURES_FILE),
        serde_json::json!({ "signatures": [token] }).to_string(),
    )
    .unwrap();
}

/// Serve only bundles signed by the key in `pem_file` (EdDSA, key id `release`).
fn verification(pem_file: &Path) -> VerificationConfig {
    VerificationConfig {
        public_key_file: pem_file.to_path_buf(),
        key_id: "release".into(),
        algorithm: SigningAlgorithm::EdDSA,
        scope: None,
    }
}

#[tokio::test]
async fn only_correctly_signed_bundles_replace_the_serving_one() {
    let (key, pem) = keypair(7);
    let keys = tempfile::tempdir().unwrap();
    let pem_file = keys.path().join("bundle-signing.pem");
    std::fs::write(&pem_file, pem).unwrap();
    let server = start(
        |b| {
            write_probe_bundle(b, "v1", true);
            sign(b, &key);
        },
        |c| c.bundle.verification = Some(verification(&pem_file)),
    )
    .await;
    let bundle = server.bundle_dir();
    let probe = || async {
        server
            .authorizer()
            .authorize(request("probe.run", "probe"))
            .await
            .unwrap()
            .into_inner()
    };
    let reload = || async {
        server
            .admin()
            .reload_bundle(pb::ReloadBundleRequest {})
            .await
    };
    assert_eq!(probe().await.effect(), Effect::Allow);

    // A tampered policy file.
    write_probe_bundle(&bundle, "v1", false);
    let refused = reload().await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("policy.rego: digest mismatch"),
        "{}",
        refused.message()
    );
    // An extra file next to correctly signed ones.
    write_probe_bundle(&bundle, "v1", true);
    std::fs::write(bundle.join("extra.rego"), "package tollgate.extra\n").unwrap();
    let refused = reload().await.unwrap_err();
    assert!(
        refused.message().contains("extra.rego is not included"),
        "{}",
        refused.message()
    );
    std::fs::remove_file(bundle.join("extra.rego")).unwrap();
    // Signed by another key.
    write_probe_bundle(&bundle, "v2", false);
    sign(&bundle, &keypair(8).0);
    let refused = reload().await.unwrap_err();
    assert!(
        refused.message().contains("does not verify"),
        "{}",
        refused.message()
    );
    // Not signed at all.
    std::fs::remove_file(bundle.join(SIGNATURES_FILE)).unwrap();
    let refused = reload().await.unwrap_err();
    assert!(
        refused.message().contains("not signed"),
        "{}",
        refused.message()
    );
    // Through all of that, v1 kept answering.
    let answer = probe().await;
    assert_eq!(
        (answer.effect(), answer.bundle_revision.as_str()),
        (Effect::Allow, "v1")
    );
    // Signed with the right key, v2 activates.
    sign(&bundle, &key);
    let status = reload().await.unwrap().into_inner();
    assert_eq!(status.active_revision, "v2");
    assert_eq!(status.rejections, 4);
    assert_eq!(probe().await.effect(), Effect::Deny);

    // `bundle impact` under the same config says whether a candidate would pass.
    let config = keys.path().join("tollgate.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {}\nbundle:\n  verification: {{public_key_file: {}, key_id: release, algorithm: EdDSA}}\n",
            server.dir.path().join("data").display(),
            pem_file.display()
        ),
    )
    .unwrap();
    let impact = |candidate: std::path::PathBuf| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["bundle", "impact", "--candidate"])
            .arg(candidate)
            .arg("--config")
            .arg(&config)
            .env_remove("TOLLGATE_DATA_DIR")
            .env_remove("TOLLGATE_STORE_URL")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(impact(bundle.clone()).contains("signature: verified"));
    std::fs::remove_file(bundle.join(SIGNATURES_FILE)).unwrap();
    let unsigned = impact(bundle.clone());
    assert!(
        unsigned.contains("signature: this server would REJECT it: bundle is not signed"),
        "{unsigned}"
    );
    server.stop().await;
}

/// Runs the real `tollgate` binary; panics with its output when it fails.
fn tollgate_cli(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .env_remove("TOLLGATE_DATA_DIR")
        .env_remove("TOLLGATE_STORE_URL")
        .env_remove("TOLLGATE_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "tollgate {args:?}: {text}");
    text
}

/// Builds release `sequence` of the probe bundle in `dir` (allowing or denying the probe) and
/// signs it with `key_pem`, all with the real CLI.
fn release(dir: &Path, key_pem: &Path, sequence: u64, allow: bool) {
    write_probe_bundle(dir, "placeholder", allow);
    let seq = sequence.to_string();
    tollgate_cli(&[
        "bundle".as_ref(),
        "build".as_ref(),
        dir.as_os_str(),
        "--sequence".as_ref(),
        seq.as_ref(),
    ]);
    tollgate_cli(&[
        "bundle".as_ref(),
        "sign".as_ref(),
        dir.as_os_str(),
        "--signing-key".as_ref(),
        key_pem.as_os_str(),
        "--key-id".as_ref(),
        "release".as_ref(),
    ]);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// No rollback by replay: release 1 allows the probe, release 2 denies it. Once 2 has served,
/// a replayed, correctly signed release 1 is refused (the weaker rule never serves again), and
/// so is a signed bundle with no sequence; an admin's `bundle allow-rollback` lets release 1
/// serve once, on purpose.
#[tokio::test]
async fn a_replayed_older_signed_release_is_refused_unless_an_admin_allows_it() {
    let (_, pem) = keypair(9);
    let keys = tempfile::tempdir().unwrap();
    let pem_file = keys.path().join("bundle-signing.pem");
    std::fs::write(&pem_file, pem).unwrap();
    let mut pkcs8 = hex::decode("302e020100300506032b657004220420").unwrap();
    pkcs8.extend_from_slice(&[9u8; 32]);
    let private = keys.path().join("bundle-signing-key.pem");
    std::fs::write(
        &private,
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8)
        ),
    )
    .unwrap();
    let old_release = keys.path().join("release-1");
    let server = start(
        |b| {
            release(b, &private, 1, true);
            copy_dir(b, &old_release);
        },
        |c| c.bundle.verification = Some(verification(&pem_file)),
    )
    .await;
    let bundle = server.bundle_dir();
    let probe = || async {
        server
            .authorizer()
            .authorize(request("probe.run", "probe"))
            .await
            .unwrap()
            .into_inner()
    };
    let reload = || async {
        server
            .admin()
            .reload_bundle(pb::ReloadBundleRequest {})
            .await
    };
    assert_eq!(probe().await.effect(), Effect::Allow);
    release(&bundle, &private, 2, false);
    assert_eq!(reload().await.unwrap().into_inner().active_revision, "2");
    assert_eq!(probe().await.effect(), Effect::Deny);

    // The attacker replays release 1, signature and all.
    for entry in std::fs::read_dir(&bundle).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    copy_dir(&old_release, &bundle);
    let refused = reload().await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("rollback refused: bundle 1 (sequence 1")
            && refused
                .message()
                .contains("older than release 2 (sequence 2)"),
        "{}",
        refused.message()
    );
    assert_eq!(
        probe().await.effect(),
        Effect::Deny,
        "release 2 keeps serving"
    );

    // A signed bundle with its sequence stripped is refused too.
    write_probe_bundle(&bundle, "unnumbered", true);
    sign(&bundle, &keypair(9).0);
    let refused = reload().await.unwrap_err();
    assert!(
        refused.message().contains("no sequence"),
        "{}",
        refused.message()
    );
    assert_eq!(probe().await.effect(), Effect::Deny);

    // An admin rolls back on purpose.
    for entry in std::fs::read_dir(&bundle).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    copy_dir(&old_release, &bundle);
    let digest = tollgate::policy::Bundle::load(&bundle).unwrap().digest;
    let data = server.dir.path().join("data");
    let out = tollgate_cli(&[
        "bundle".as_ref(),
        "allow-rollback".as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
        "--digest".as_ref(),
        digest.as_ref(),
    ]);
    assert!(out.contains("may now serve once"), "{out}");
    assert_eq!(reload().await.unwrap().into_inner().active_revision, "1");
    assert_eq!(probe().await.effect(), Effect::Allow);

    // The rollback is in the trail, with the bundle it let through and the floor it passed.
    let out = tollgate_cli(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let records: Vec<serde_json::Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].clone())
        .filter(|e| e["kind"] == "bundle.rollback_allowed")
        .collect();
    assert_eq!(records.len(), 1, "{out}");
    let detail = &records[0]["detail"];
    assert_eq!(detail["bundle_digest"], digest.as_str(), "{out}");
    assert_eq!(detail["floor_revision"], "2", "{out}");
    assert!(
        records[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("operator:")),
        "{out}"
    );
    server.stop().await;
}
