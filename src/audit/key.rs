//! The audit key: an Ed25519 key, separate from the capability key, that signs checkpoints.
//! Same mechanism as the capability key ([`crate::keyfile`]): a PASERK `k4.secret` in a 0600 file in the data
//! directory (or `audit.key_file`, shared by replicas), generated on first start. Verifiers
//! need only the public half: a PASERK `k4.public` file or the JWK published at
//! `/.well-known/jwks.json`.

use std::path::Path;

use base64::Engine as _;
use pasetors::{
    keys::{AsymmetricPublicKey, AsymmetricSecretKey},
    token::UntrustedToken,
    version4::{PublicToken, V4},
    Public,
};
use serde_json::Value;

use crate::keyfile::{Ed25519Key, KeyFileError, Origin};

/// The JWK `purpose` of the audit key, so JWKS consumers tell it from the capability key.
pub const AUDIT_KEY_PURPOSE: &str = "audit-checkpoint";

/// Why the audit key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    /// The key file could not be read or written.
    #[error("audit key {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no usable key, or is readable by others.
    #[error("audit key {path}: {message}")]
    Invalid {
        /// The key file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The PASETO library refused (generation, signing), or this key cannot sign.
    #[error("audit signing: {0}")]
    Crypto(String),
    /// A token is malformed or its signature does not verify with this key.
    #[error("signature does not verify with the audit key: {0}")]
    BadSignature(String),
}

impl From<KeyFileError> for AuditKeyError {
    fn from(e: KeyFileError) -> Self {
        match e {
            KeyFileError::Io { path, source } => Self::Io { path, source },
            KeyFileError::Invalid { path, message } => Self::Invalid { path, message },
            KeyFileError::Crypto(message) => Self::Crypto(message),
        }
    }
}

/// The checkpoint key: both halves when serving, the public half when verifying.
pub struct AuditKey {
    key: Ed25519Key,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("kid", &self.key.kid())
            .field("can_sign", &self.key.secret().is_some())
            .finish_non_exhaustive()
    }
}

fn crypto(e: impl std::fmt::Display) -> AuditKeyError {
    AuditKeyError::Crypto(e.to_string())
}

impl AuditKey {
    /// A new random key (not persisted).
    pub fn generate() -> Result<Self, AuditKeyError> {
        Ok(Self {
            key: Ed25519Key::generate()?,
        })
    }

    fn from_secret(secret: AsymmetricSecretKey<V4>) -> Result<Self, AuditKeyError> {
        Ok(Self {
            key: Ed25519Key::from_secret(secret)?,
        })
    }

    fn from_public(public: AsymmetricPublicKey<V4>) -> Result<Self, AuditKeyError> {
        Ok(Self {
            key: Ed25519Key::from_public(public)?,
        })
    }

    /// Loads the signing key at `path`, or creates it (mode 0600) if the file does not exist.
    /// A key file that others can read is refused rather than trusted.
    pub fn load_or_generate(path: &Path) -> Result<Self, AuditKeyError> {
        let (key, origin) = Ed25519Key::load_or_generate(path)?;
        if origin == Origin::Generated {
            tracing::info!(path = %path.display(), kid = %key.kid(), "generated audit checkpoint key");
        }
        Ok(Self { key })
    }

    /// A key to verify with, from a PASERK `k4.secret` or `k4.public` file, or a JWK or JWK
    /// Set (the audit key of the server's `/.well-known/jwks.json`).
    pub fn load_verifier(path: &Path) -> Result<Self, AuditKeyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuditKeyError::Io {
            path: shown.clone(),
            source,
        })?;
        let invalid = |message: &str| AuditKeyError::Invalid {
            path: shown.clone(),
            message: message.into(),
        };
        let text = text.trim();
        if text.starts_with("k4.secret.") {
            let secret = AsymmetricSecretKey::<V4>::try_from(text)
                .map_err(|_| invalid("not a PASERK k4.secret key"))?;
            return Self::from_secret(secret);
        }
        if text.starts_with("k4.public.") {
            let public = AsymmetricPublicKey::<V4>::try_from(text)
                .map_err(|_| invalid("not a PASERK k4.public key"))?;
            return Self::from_public(public);
        }
        let json: Value =
            serde_json::from_str(text).map_err(|_| invalid("neither PASERK nor JSON"))?;
        let jwk = match json.get("keys").and_then(Value::as_array) {
            Some(keys) => keys
                .iter()
                .find(|k| k["purpose"] == AUDIT_KEY_PURPOSE)
                .ok_or_else(|| invalid("the JWK Set has no audit-checkpoint key"))?,
            None => &json,
        };
        let x = jwk["x"]
            .as_str()
            .and_then(|x| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(x)
                    .ok()
            })
            .ok_or_else(|| invalid("the JWK has no Ed25519 \"x\""))?;
        let public = AsymmetricPublicKey::<V4>::from(&x).map_err(|_| invalid("bad Ed25519 key"))?;
        Self::from_public(public)
    }

    /// The key id (PASERK `k4.pid.`), carried in every checkpoint's footer.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// Signs `payload` as a PASETO v4.public token with the key id in the footer.
    pub fn sign(&self, payload: &[u8]) -> Result<String, AuditKeyError> {
        let secret = self
            .key
            .secret()
            .ok_or_else(|| crypto("this audit key has no secret half"))?;
        PublicToken::sign(secret, payload, Some(self.key.footer().as_bytes()), None).map_err(crypto)
    }

    /// The payload of `token` if its signature verifies with this key.
    pub fn verify(&self, token: &str) -> Result<String, AuditKeyError> {
        let bad = |m: &str| AuditKeyError::BadSignature(m.to_string());
        let untrusted = UntrustedToken::<Public, V4>::try_from(token)
            .map_err(|_| bad("not a v4.public token"))?;
        let trusted = PublicToken::verify(self.key.public(), &untrusted, None, None)
            .map_err(|_| bad("signature rejected"))?;
        Ok(trusted.payload().to_string())
    }

    /// The public key as one JWK (OKP / Ed25519) marked `purpose: audit-checkpoint`, with its
    /// PASERK form alongside, for the JWKS endpoint and for anchoring.
    pub fn jwk(&self) -> Value {
        self.key.jwk(Some(AUDIT_KEY_PURPOSE))
    }

    /// The public key as a PASERK `k4.public` string (for `--public-key` files).
    pub fn public_paserk(&self) -> String {
        self.key.public_paserk()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_other_keys() {
        let key = AuditKey::generate().unwrap();
        let token = key.sign(br#"{"seq":1}"#).unwrap();
        assert_eq!(key.verify(&token).unwrap(), r#"{"seq":1}"#);
        let other = AuditKey::generate().unwrap();
        assert!(matches!(
            other.verify(&token),
            Err(AuditKeyError::BadSignature(_))
        ));
    }

    #[test]
    fn a_generated_key_file_is_private_and_loads_as_verifier_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.paserk");
        let key = AuditKey::load_or_generate(&path).unwrap();
        let again = AuditKey::load_or_generate(&path).unwrap();
        assert_eq!(key.kid(), again.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let token = key.sign(b"x").unwrap();
        let public = dir.path().join("audit.pub");
        std::fs::write(&public, key.public_paserk()).unwrap();
        let jwks = dir.path().join("jwks.json");
        std::fs::write(
            &jwks,
            json!({"keys": [{"purpose": "x"}, key.jwk()]}).to_string(),
        )
        .unwrap();
        for p in [&path, &public, &jwks] {
            let v = AuditKey::load_verifier(p).unwrap();
            assert_eq!(
                (v.kid(), v.verify(&token).unwrap().as_str()),
                (key.kid(), "x")
            );
        }
        let verifier = AuditKey::load_verifier(&public).unwrap();
        assert!(verifier.sign(b"x").is_err(), "a public key cannot sign");
    }
}
