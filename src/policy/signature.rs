//! Signed bundles: OPA's `.signatures.json` format, verified before a bundle may serve.
//!
//! The file holds `{"signatures": ["<JWT>"]}`: exactly one compact JWS whose payload lists
//! every bundle file with its hash, `{"files": [{"name", "hash", "algorithm"}], "keyid",
//! "scope"}`. A bundle verifies when the JWT's signature checks out with the configured public
//! key and algorithm, its key id and scope match the configuration, and the bundle's files are
//! exactly the listed ones with exactly the listed hashes: nothing extra, nothing missing,
//! nothing changed.
//!
//! Hashes follow OPA: `.rego` files are hashed as bytes; structured files (`.manifest`,
//! `data.json`, `data.yaml`) are parsed and hashed in a canonical compact JSON form with
//! object keys sorted, so whitespace and key order do not matter. JSON number literals are
//! kept as written (as OPA's `json.Number` does); YAML data is converted to JSON first, so a
//! YAML number may only verify in its plain form.

use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The signatures file's name at the bundle root.
pub const SIGNATURES_FILE: &str = ".signatures.json";

/// JWT algorithms accepted for bundle signatures (public-key algorithms only: a shared HMAC
/// secret on every replica would let any replica sign policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (OPA's default).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::RS384 => Algorithm::RS384,
            Self::RS512 => Algorithm::RS512,
            Self::PS256 => Algorithm::PS256,
            Self::PS384 => Algorithm::PS384,
            Self::PS512 => Algorithm::PS512,
            Self::ES256 => Algorithm::ES256,
            Self::ES384 => Algorithm::ES384,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// `bundle.verification`: when set, only bundles signed with this key may serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// PEM public key (`PUBLIC KEY`, or `RSA PUBLIC KEY` for RSA).
    pub public_key_file: PathBuf,
    /// The key's id; a token naming another key id (header `kid` or claim `keyid`) is refused.
    pub key_id: String,
    /// The JWT algorithm the key signs with.
    pub algorithm: SigningAlgorithm,
    /// The scope the token must carry; unset means the token must carry none.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Why a bundle's signature does not verify. The bundle is rejected and the last good one
/// keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The configured public key could not be read or parsed.
    #[error("verification key {path}: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Verification is required and the bundle has no `.signatures.json`.
    #[error("bundle is not signed: no .signatures.json, and bundle.verification requires one")]
    Unsigned,
    /// `.signatures.json` is not the expected shape.
    #[error(".signatures.json: {0}")]
    Malformed(String),
    /// The token names a key other than the configured one.
    #[error("signature is by key {found:?}, expected key {expected:?}")]
    KeyId {
        /// The configured key id.
        expected: String,
        /// The key id the token names.
        found: String,
    },
    /// The JWT signature, algorithm or encoding is invalid for the configured key.
    #[error("signature does not verify with key {key_id:?}: {message}")]
    BadSignature {
        /// The configured key id.
        key_id: String,
        /// The verifier's reason.
        message: String,
    },
    /// The token's scope differs from the configured one.
    #[error("signature scope {found:?} does not match the configured scope {expected:?}")]
    Scope {
        /// The configured scope.
        expected: String,
        /// The token's scope.
        found: String,
    },
    /// A bundle file is not listed in the signature.
    #[error("file {0} is not included in the bundle signature")]
    Unlisted(String),
    /// A signed file is not in the bundle.
    #[error("signed file {0} is missing from the bundle")]
    Missing(String),
    /// A file's content differs from what was signed.
    #[error("file {file}: digest mismatch (signed {expected}, found {actual})")]
    Digest {
        /// The file.
        file: String,
        /// The signed hash.
        expected: String,
        /// The hash of the content found.
        actual: String,
    },
    /// A file entry names a hash algorithm we do not accept, or none.
    #[error("file {file}: unsupported hash algorithm {algorithm:?}")]
    HashAlgorithm {
        /// The file.
        file: String,
        /// The algorithm named.
        algorithm: String,
    },
    /// A structured file does not parse, so it cannot be hashed canonically.
    #[error("file {file}: cannot hash: {message}")]
    Unhashable {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct SignaturesFile {
    signatures: Vec<String>,
}

/// One file entry of a signature payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedFile {
    /// Path inside the bundle, `/`-separated (a leading `/` is ignored).
    pub name: String,
    /// Hex digest.
    pub hash: String,
    /// `SHA-256`, `SHA-384` or `SHA-512`.
    pub algorithm: String,
}

/// The JWT payload of a bundle signature (OPA's format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignaturePayload {
    /// Every file of the bundle and its hash.
    pub files: Vec<SignedFile>,
    /// The signing key's id (deprecated in OPA in favour of the header's `kid`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// What the signature is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// Checks bundle signatures against one configured public key.
pub struct BundleVerifier {
    key: DecodingKey,
    algorithm: SigningAlgorithm,
    key_id: String,
    scope: String,
}

impl std::fmt::Debug for BundleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleVerifier")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl BundleVerifier {
    /// Reads the configured key. Fails when the file is unreadable or not a PEM public key of
    /// the algorithm's family, so a misconfigured server does not start.
    pub fn from_config(config: &VerificationConfig) -> Result<Self, SignatureError> {
        let key_error = |message: String| SignatureError::Key {
            path: config.public_key_file.clone(),
            message,
        };
        let pem = std::fs::read(&config.public_key_file).map_err(|e| key_error(e.to_string()))?;
        Self::from_pem(&pem, config).map_err(|e| match e {
            SignatureError::Key { message, .. } => key_error(message),
            other => other,
        })
    }

    /// Like [`Self::from_config`] with the PEM given directly (tests, tooling).
    pub fn from_pem(pem: &[u8], config: &VerificationConfig) -> Result<Self, SignatureError> {
        // With exactly one backend compiled in jsonwebtoken picks it itself; installing it
        // explicitly keeps that true if another crate ever enables the other backend.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let key = match config.algorithm.jwt().family() {
            jsonwebtoken::AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            jsonwebtoken::AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            _ => DecodingKey::from_ed_pem(pem),
        }
        .map_err(|e| SignatureError::Key {
            path: config.public_key_file.clone(),
            message: format!("not a {:?} public key: {e}", config.algorithm),
        })?;
        Ok(Self {
            key,
            algorithm: config.algorithm,
            key_id: config.key_id.clone(),
            scope: config.scope.clone().unwrap_or_default(),
        })
    }

    /// Verifies `signatures` (the `.signatures.json` bytes, if the bundle has one) over
    /// `files`, the bundle's files as `(path, bytes)`.
    pub fn verify(
        &self,
        signatures: Option<&[u8]>,
        files: &[(String, Vec<u8>)],
    ) -> Result<(), SignatureError> {
        let signatures = signatures.ok_or(SignatureError::Unsigned)?;
        let parsed: SignaturesFile = serde_json::from_slice(signatures)
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
        let token = match parsed.signatures.as_slice() {
            [one] => one,
            [] => {
                return Err(SignatureError::Malformed(
                    "no JWT (expected exactly one)".into(),
                ))
            }
            _ => {
                return Err(SignatureError::Malformed(
                    "several JWTs (expected exactly one)".into(),
                ))
            }
        };
        let payload = self.verify_token(token)?;
        check_files(&payload.files, files)
    }

    fn verify_token(&self, token: &str) -> Result<SignaturePayload, SignatureError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| SignatureError::Malformed(format!("JWT header: {e}")))?;
        if let Some(kid) = header.kid.filter(|k| *k != self.key_id) {
            return Err(SignatureError::KeyId {
                expected: self.key_id.clone(),
                found: kid,
            });
        }
        let mut validation = Validation::new(self.algorithm.jwt());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<SignaturePayload>(token, &self.key, &validation)
            .map_err(|e| SignatureError::BadSignature {
                key_id: self.key_id.clone(),
                message: e.to_string(),
            })?;
        let payload = data.claims;
        if !payload.keyid.is_empty() && payload.keyid != self.key_id {
            return Err(SignatureError::KeyId {
                expected: self.key_id.clone(),
                found: payload.keyid,
            });
        }
        if payload.scope != self.scope {
            return Err(SignatureError::Scope {
                expected: self.scope.clone(),
                found: payload.scope,
            });
        }
        Ok(payload)
    }
}

/// Signs `files` (a bundle's files as `(path, bytes)`, `.signatures.json` excluded) the way
/// `opa sign` does: a JWT over every file's SHA-256, with `kid` in the header. Returns the
/// `.signatures.json` content.
pub fn sign_files(
    files: &[(String, Vec<u8>)],
    key: &jsonwebtoken::EncodingKey,
    algorithm: SigningAlgorithm,
    key_id: &str,
    scope: &str,
) -> Result<Vec<u8>, SignatureError> {
    let files = files
        .iter()
        .filter(|(name, _)| name != SIGNATURES_FILE)
        .map(|(name, bytes)| {
            Ok(SignedFile {
                name: name.clone(),
                hash: file_hash(name, bytes, "SHA-256")?,
                algorithm: "SHA-256".into(),
            })
        })
        .collect::<Result<Vec<_>, SignatureError>>()?;
    let payload = SignaturePayload {
        files,
        keyid: String::new(),
        scope: scope.to_string(),
    };
    let mut header = jsonwebtoken::Header::new(algorithm.jwt());
    header.kid = Some(key_id.to_string());
    let token =
        jsonwebtoken::encode(&header, &payload, key).map_err(|e| SignatureError::BadSignature {
            key_id: key_id.to_string(),
            message: e.to_string(),
        })?;
    serde_json::to_vec(&serde_json::json!({ "signatures": [token] }))
        .map_err(|e| SignatureError::Malformed(e.to_string()))
}

/// Reads a PEM private key for `algorithm` (PKCS#8; `RSA PRIVATE KEY` or `EC PRIVATE KEY`
/// also accepted for those families).
pub fn signing_key(
    pem: &[u8],
    algorithm: SigningAlgorithm,
) -> Result<jsonwebtoken::EncodingKey, jsonwebtoken::errors::Error> {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    match algorithm.jwt().family() {
        jsonwebtoken::AlgorithmFamily::Rsa => jsonwebtoken::EncodingKey::from_rsa_pem(pem),
        jsonwebtoken::AlgorithmFamily::Ec => jsonwebtoken::EncodingKey::from_ec_pem(pem),
        _ => jsonwebtoken::EncodingKey::from_ed_pem(pem),
    }
}

/// The bundle's files must be exactly the signed ones, with the signed hashes.
fn check_files(signed: &[SignedFile], files: &[(String, Vec<u8>)]) -> Result<(), SignatureError> {
    let mut expected: BTreeMap<&str, &SignedFile> = signed
        .iter()
        .map(|f| (f.name.trim_start_matches('/'), f))
        .collect();
    for (path, bytes) in files {
        let entry = expected
            .remove(path.as_str())
            .ok_or_else(|| SignatureError::Unlisted(path.clone()))?;
        let actual = file_hash(path, bytes, &entry.algorithm)?;
        if !actual.eq_ignore_ascii_case(&entry.hash) {
            return Err(SignatureError::Digest {
                file: path.clone(),
                expected: entry.hash.clone(),
                actual,
            });
        }
    }
    match expected.into_keys().next() {
        Some(missing) => Err(SignatureError::Missing(missing.to_string())),
        None => Ok(()),
    }
}

/// The hex hash OPA signs for a bundle file: canonical JSON for structured files, raw bytes
/// otherwise.
pub fn file_hash(path: &str, bytes: &[u8], algorithm: &str) -> Result<String, SignatureError> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let content = match name {
        ".manifest" | "data.json" => canonical_json(bytes),
        "data.yaml" | "data.yml" => yaml_serde::from_slice::<serde_json::Value>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()))
            .and_then(|json| canonical_json(&json)),
        _ => Ok(bytes.to_vec()),
    }
    .map_err(|message| SignatureError::Unhashable {
        file: path.to_string(),
        message,
    })?;
    let digest = match algorithm {
        "SHA-256" => Sha256::digest(&content).to_vec(),
        "SHA-384" => Sha384::digest(&content).to_vec(),
        "SHA-512" => Sha512::digest(&content).to_vec(),
        other => {
            return Err(SignatureError::HashAlgorithm {
                file: path.to_string(),
                algorithm: other.to_string(),
            })
        }
    };
    Ok(hex::encode(digest))
}

/// OPA's canonical form: compact, object keys sorted, scalars as Go's encoder writes them
/// (numbers exactly as written in the source).
pub fn canonical_json(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let raw: Box<RawValue> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut out = String::new();
    write_canonical(&raw, &mut out)?;
    Ok(out.into_bytes())
}

fn write_canonical(raw: &RawValue, out: &mut String) -> Result<(), String> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'{') => {
            let map: BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out)?;
                out.push(':');
                write_canonical(v, out)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out)?;
            }
            out.push(']');
        }
        Some(b'"') => {
            let s: String = serde_json::from_str(text).map_err(|e| e.to_string())?;
            write_string(&s, out)?;
        }
        _ => out.push_str(text),
    }
    Ok(())
}

/// A string as Go's `json.Encoder` with HTML escaping off writes it.
fn write_string(s: &str, out: &mut String) -> Result<(), String> {
    let encoded = serde_json::to_string(s).map_err(|e| e.to_string())?;
    for c in encoded.chars() {
        match c {
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
