use std::{fs, path::Path, sync::Arc};

use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header};

use super::*;
use crate::policy::{EvalLimits, LoadError, ActivePolicy, RequirementDefaults};

/// A test-only Ed25519 key pair derived from `seed`: (signing key, public key PEM).
fn keypair(seed: u8) -> (EncodingKey, String) {
    let secret = [seed; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    // PKCS#8 and SPKI wrappers for Ed25519 (RFC 8410) are fixed prefixes.
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

fn config(dir: &Path, pem: &str) -> VerificationConfig {
    let path = dir.join("bundle-signing.pem");
    fs::write(&path, pem).unwrap();
    VerificationConfig {
        public_key_file: path,
        key_id: "release".into(),
        algorithm: SigningAlgorithm::EdDSA,
        scope: None,
    }
}

/// Signs the bundle in `dir` the way `opa sign` does and writes its `.signatures.json`.
fn sign(dir: &Path, key: &EncodingKey, kid: &str, scope: &str) {
    let _ = fs::remove_file(dir.join(SIGNATURES_FILE));
    let bundle = crate::policy::Bundle::load(dir).unwrap();
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
        scope: scope.into(),
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid.into());
    let token = jsonwebtoken::encode(&header, &payload, key).unwrap();
    let json = serde_json::json!({ "signatures": [token] });
    fs::write(dir.join(SIGNATURES_FILE), json.to_string()).unwrap();
}

fn write_bundle(dir: &Path, revision: &str) {
    fs::create_dir_all(dir.join("tollgate")).unwrap();
    fs::write(
        dir.join(".manifest"),
        format!("{{\"revision\": \"{revision}\",\n  \"roots\": [\"tollgate\"]}}"),
    )
    .unwrap();
    fs::write(
        dir.join("policy.rego"),
        "package tollgate\n\nallow if data.tollgate.open\n",
    )
    .unwrap();
    fs::write(dir.join("tollgate/data.json"), r#"{ "open" : true }"#).unwrap();
}

struct Fixture {
    _tmp: tempfile::TempDir,
    bundle: std::path::PathBuf,
    key: EncodingKey,
    store: Arc<ActivePolicy>,
}

/// A store requiring signatures by key 1, serving a bundle signed by it.
fn serving() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    write_bundle(&bundle, "v1");
    let (key, pem) = keypair(1);
    sign(&bundle, &key, "release", "");
    let verifier = BundleVerifier::from_config(&config(tmp.path(), &pem)).unwrap();
    let store = Arc::new(
        ActivePolicy::new(
            bundle.clone(),
            EvalLimits::default(),
            RequirementDefaults::default(),
        )
        .with_verifier(verifier),
    );
    store.reload().unwrap();
    assert_eq!(&*store.current().unwrap().revision, "v1");
    Fixture {
        _tmp: tmp,
        bundle,
        key,
        store,
    }
}

/// Reloads, expecting a signature error, and checks v1 still serves.
fn rejected(f: &Fixture) -> SignatureError {
    let before = f.store.status().rejections;
    let err = match f.store.reload() {
        Err(LoadError::Signature(e)) => e,
        other => panic!("expected a signature error, got {other:?}"),
    };
    assert_eq!(&*f.store.current().unwrap().revision, "v1");
    assert_eq!(f.store.status().rejections, before + 1);
    err
}

#[test]
fn a_signed_bundle_activates_and_a_re_signed_change_too() {
    let f = serving();
    write_bundle(&f.bundle, "v2");
    sign(&f.bundle, &f.key, "release", "");
    f.store.reload().unwrap();
    assert_eq!(&*f.store.current().unwrap().revision, "v2");
}

#[test]
fn a_tampered_file_is_rejected_naming_it() {
    let f = serving();
    fs::write(
        f.bundle.join("policy.rego"),
        "package tollgate\n\nallow := true\n",
    )
    .unwrap();
    let err = rejected(&f);
    assert!(
        matches!(&err, SignatureError::Digest { file, .. } if file == "policy.rego"),
        "{err}"
    );
}

#[test]
fn an_extra_file_is_rejected() {
    let f = serving();
    fs::write(
        f.bundle.join("backdoor.rego"),
        "package tollgate\n\nallow := true\n",
    )
    .unwrap();
    let err = rejected(&f);
    assert!(
        matches!(&err, SignatureError::Unlisted(p) if p == "backdoor.rego"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_rejected() {
    let f = serving();
    fs::remove_file(f.bundle.join("tollgate/data.json")).unwrap();
    let err = rejected(&f);
    assert!(
        matches!(&err, SignatureError::Missing(p) if p == "tollgate/data.json"),
        "{err}"
    );
}

#[test]
fn a_signature_by_another_key_is_rejected() {
    let f = serving();
    let (other, _) = keypair(2);
    write_bundle(&f.bundle, "v2");
    sign(&f.bundle, &other, "release", "");
    let err = rejected(&f);
    assert!(matches!(err, SignatureError::BadSignature { .. }), "{err}");
}

#[test]
fn an_unsigned_bundle_is_rejected_when_signatures_are_required() {
    let f = serving();
    fs::remove_file(f.bundle.join(SIGNATURES_FILE)).unwrap();
    let err = rejected(&f);
    assert!(matches!(err, SignatureError::Unsigned), "{err}");
}

#[test]
fn key_id_and_scope_must_match() {
    let f = serving();
    sign(&f.bundle, &f.key, "someone-else", "");
    assert!(matches!(rejected(&f), SignatureError::KeyId { .. }));
    sign(&f.bundle, &f.key, "release", "staging");
    assert!(matches!(rejected(&f), SignatureError::Scope { .. }));
}

#[test]
fn malformed_signature_files_are_rejected() {
    let (_, pem) = keypair(1);
    let tmp = tempfile::tempdir().unwrap();
    let v = BundleVerifier::from_config(&config(tmp.path(), &pem)).unwrap();
    for bad in [
        &b"not json"[..],
        br#"{"signatures": []}"#,
        br#"{"signatures": ["a.b.c", "d.e.f"]}"#,
        br#"{"signatures": ["not-a-jwt"]}"#,
    ] {
        let err = v.verify(Some(bad), &[]).unwrap_err();
        assert!(matches!(err, SignatureError::Malformed(_)), "{err}");
    }
    // A key of the wrong family fails at configuration time.
    let mut rsa = config(tmp.path(), &pem);
    rsa.algorithm = SigningAlgorithm::RS256;
    assert!(matches!(
        BundleVerifier::from_config(&rsa),
        Err(SignatureError::Key { .. })
    ));
}

#[test]
fn structured_files_hash_in_opas_canonical_form() {
    // Keys sorted, no whitespace, number literals kept, strings escaped as Go does.
    let raw = br#"{ "b": [1.50, true, null], "a": {"y": "x\u2028<>", "x": -0} }"#;
    let canonical = canonical_json(raw).unwrap();
    assert_eq!(
        String::from_utf8(canonical).unwrap(),
        r#"{"a":{"x":-0,"y":"x\u2028<>"},"b":[1.50,true,null]}"#
    );
    let reordered = br#"{"a": {"x": -0, "y": "x\u2028<>"}, "b": [1.50, true, null]}"#;
    assert_eq!(
        file_hash("data.json", raw, "SHA-256").unwrap(),
        file_hash("x/data.json", reordered, "SHA-256").unwrap()
    );
    // Policy files are hashed as bytes.
    assert_eq!(
        file_hash("p.rego", b"abc", "SHA-256").unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(matches!(
        file_hash("p.rego", b"abc", "MD5"),
        Err(SignatureError::HashAlgorithm { .. })
    ));
}
