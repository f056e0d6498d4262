//! Fuzz targets: one function per untrusted input surface, each taking raw bytes and required
//! never to panic (errors are fine, they are the point). The coverage-guided harness in
//! `fuzz/` (cargo-fuzz, `scripts/fuzz.sh`) and the property tests in `tests/it/fuzz_props.rs`
//! (run in CI) call the same functions, so what CI checks is what the fuzzer explored.

use std::time::{Duration, SystemTime};

use prost::Message as _;

use crate::{
    audit::{checkpoint, AuditKey},
    capability::CapabilityKey,
    config::Config,
    domain::{Checkpoint, InputLimits, UnixMillis},
    grpc::{convert, pb},
    policy::{
        signature::{BundleVerifier, SigningAlgorithm, VerificationConfig},
        Bundle, CompiledBundle, EvalLimits, RequirementDefaults,
    },
};

/// A protobuf `AuthorizeRequest` off the wire, converted to the policy input and validated,
/// as the gRPC handler does.
pub fn authorize_request(data: &[u8]) {
    let Ok(wire) = pb::AuthorizeRequest::decode(data) else {
        return;
    };
    let Ok(mut req) = convert::request(wire) else {
        return;
    };
    if req.canonicalize_identities().is_ok() {
        let _ = req.validate(&InputLimits::default());
        let _ = crate::policy::input::to_input(&req);
    }
}

/// A bundle from `(path, bytes)` pairs split out of `data`, loaded and compiled.
pub fn bundle_files(data: &[u8]) {
    let files = split_files(data);
    let Ok(bundle) = Bundle::from_files("fuzz".into(), files) else {
        return;
    };
    let _ = CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    );
}

/// A `.tar.gz` bundle, read as the server reads one.
pub fn bundle_tar_gz(data: &[u8]) {
    let path = std::path::Path::new("fuzz.tar.gz");
    if let Ok(files) = crate::policy::bundle::tar_gz_files(path, data) {
        let _ = Bundle::from_files(path.to_path_buf(), files);
    }
}

/// A `.signatures.json` over a fixed small bundle, checked by a verifier with a fixed key.
pub fn bundle_signature(data: &[u8]) {
    // The Ed25519 public key of the all-zero seed (RFC 8410 SPKI).
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAO2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\n-----END PUBLIC KEY-----\n";
    let config = VerificationConfig {
        public_key_file: "fuzz.pem".into(),
        key_id: "release".into(),
        algorithm: SigningAlgorithm::EdDSA,
        scope: None,
    };
    let Ok(verifier) = BundleVerifier::from_pem(PEM.as_bytes(), &config) else {
        return;
    };
    let files = vec![("policy.rego".to_string(), b"package tollgate\n".to_vec())];
    let _ = verifier.verify(Some(data), &files);
}

/// A capability token presented for redemption, verified against a fixed key.
pub fn capability_token(data: &[u8]) {
    thread_local! {
        static KEY: Option<CapabilityKey> = CapabilityKey::generate().ok();
    }
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    KEY.with(|k| {
        if let Some(k) = k {
            let _ = k.verify(
                token,
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            );
        }
    });
}

/// An anchored checkpoint line, parsed and verified as `tollgate audit verify` does.
pub fn checkpoint_line(data: &[u8]) {
    thread_local! {
        static KEY: Option<AuditKey> = AuditKey::generate().ok();
    }
    let Ok(cp) = serde_json::from_slice::<Checkpoint>(data) else {
        return;
    };
    KEY.with(|k| {
        if let Some(k) = k {
            let _ = checkpoint::verify(k, &cp);
        }
    });
    let _ = UnixMillis(cp.at.0).to_time();
}

/// A configuration file.
pub fn config_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = yaml_serde::from_str::<Config>(text) {
        let _ = config.validate();
    }
}

/// `data` as files: records of `path \0 content \0`, at most 16.
fn split_files(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut parts = data.split(|b| *b == 0);
    let mut files = Vec::new();
    while let (Some(path), Some(content)) = (parts.next(), parts.next()) {
        if files.len() == 16 {
            break;
        }
        files.push((String::from_utf8_lossy(path).into_owned(), content.to_vec()));
    }
    files
}
