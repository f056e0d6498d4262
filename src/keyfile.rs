//! Ed25519 key files, the one mechanism behind both the capability key and the audit
//! checkpoint key: a PASERK `k4.secret` in a 0600 file, generated on first start, named by its
//! PASERK id (`k4.pid.`) and published as a JWK. Each key wraps [`Ed25519Key`] with its own
//! error enum, log line, purpose and token format; only the file and key handling live here.

use std::{io::Write, path::Path};

use base64::Engine as _;
use pasetors::{
    keys::{AsymmetricKeyPair, AsymmetricPublicKey, AsymmetricSecretKey, Generate},
    paserk::{FormatAsPaserk, Id},
    version4::V4,
};
use serde_json::{json, Value};

/// Why a key file could not be read, created or used. Each key maps these onto its own error
/// enum, which names the key in the message.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no usable key, or is readable by others.
    #[error("{path}: {message}")]
    Invalid {
        /// The key file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The PASETO library refused (generation, PASERK formatting).
    #[error("{0}")]
    Crypto(String),
}

fn crypto(e: impl std::fmt::Display) -> KeyFileError {
    KeyFileError::Crypto(e.to_string())
}

/// Whether [`Ed25519Key::load_or_generate`] read an existing file or wrote a new one, so the
/// caller can log a generation in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The file existed and held a private, valid key.
    Loaded,
    /// There was no file; a new key was generated and written.
    Generated,
}

/// An Ed25519 key and its PASERK id: both halves when signing, the public half when verifying.
pub struct Ed25519Key {
    secret: Option<AsymmetricSecretKey<V4>>,
    public: AsymmetricPublicKey<V4>,
    kid: String,
    /// `{"kid":...}`, the footer of every token it signs: made once, with the key.
    footer: String,
}

impl Ed25519Key {
    /// A new random key (not persisted).
    pub fn generate() -> Result<Self, KeyFileError> {
        let pair = AsymmetricKeyPair::<V4>::generate().map_err(crypto)?;
        Self::from_secret(pair.secret)
    }

    /// The key whose secret half is `secret`.
    pub fn from_secret(secret: AsymmetricSecretKey<V4>) -> Result<Self, KeyFileError> {
        let public = AsymmetricPublicKey::<V4>::try_from(&secret).map_err(crypto)?;
        let mut key = Self::from_public(public)?;
        key.secret = Some(secret);
        Ok(key)
    }

    /// A verify-only key.
    pub fn from_public(public: AsymmetricPublicKey<V4>) -> Result<Self, KeyFileError> {
        let mut kid = String::new();
        Id::from(&public).fmt(&mut kid).map_err(crypto)?;
        Ok(Self {
            secret: None,
            public,
            footer: json!({ "kid": kid }).to_string(),
            kid,
        })
    }

    /// Loads the signing key at `path`, or creates it (mode 0600) if the file does not exist.
    /// A key file that others can read is refused rather than trusted.
    pub fn load_or_generate(path: &Path) -> Result<(Self, Origin), KeyFileError> {
        let shown = path.display().to_string();
        let io = |source| KeyFileError::Io {
            path: shown.clone(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path).map_err(|message| KeyFileError::Invalid {
                    path: shown.clone(),
                    message,
                })?;
                let secret = AsymmetricSecretKey::<V4>::try_from(text.trim()).map_err(|_| {
                    KeyFileError::Invalid {
                        path: shown.clone(),
                        message: "not a PASERK k4.secret key".into(),
                    }
                })?;
                Ok((Self::from_secret(secret)?, Origin::Loaded))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                let mut text = String::new();
                if let Some(secret) = &key.secret {
                    secret.fmt(&mut text).map_err(crypto)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok((key, Origin::Generated))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key id (PASERK `k4.pid.`), carried in the footer of every token it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The footer of every token it signs, `{"kid":...}`.
    pub fn footer(&self) -> &str {
        &self.footer
    }

    /// The secret half; `None` for a verify-only key.
    pub fn secret(&self) -> Option<&AsymmetricSecretKey<V4>> {
        self.secret.as_ref()
    }

    /// The public half.
    pub fn public(&self) -> &AsymmetricPublicKey<V4> {
        &self.public
    }

    /// The public key as a PASERK `k4.public` string.
    pub fn public_paserk(&self) -> String {
        let mut paserk = String::new();
        let _ = self.public.fmt(&mut paserk);
        paserk
    }

    /// The public key as one JWK (OKP / Ed25519), marked with `purpose` when given, with its
    /// PASERK form alongside, so a verifier needs nothing but the JWKS.
    pub fn jwk(&self, purpose: Option<&str>) -> Value {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public.as_bytes());
        let mut jwk = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        });
        if let Some(fields) = jwk.as_object_mut() {
            if let Some(purpose) = purpose {
                fields.insert("purpose".into(), purpose.into());
            }
            fields.insert("paserk".into(), self.public_paserk().into());
            fields.insert("token_format".into(), "PASETO v4.public".into());
        }
        jwk
    }
}

/// Refuses a key file that the group or others can read.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "readable by group or others (mode {:o}); run chmod 600",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_file_is_private_and_loads_back_as_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.paserk");
        let (a, origin) = Ed25519Key::load_or_generate(&path).unwrap();
        assert_eq!(origin, Origin::Generated);
        let (b, origin) = Ed25519Key::load_or_generate(&path).unwrap();
        assert_eq!((origin, b.kid()), (Origin::Loaded, a.kid()));
        assert!(b.secret().is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let err = Ed25519Key::load_or_generate(&path).err().unwrap();
            assert!(
                err.to_string()
                    .ends_with("readable by group or others (mode 640); run chmod 600"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_jwk_carries_purpose_only_when_given() {
        let key = Ed25519Key::generate().unwrap();
        let plain = key.jwk(None);
        assert!(plain.get("purpose").is_none());
        assert_eq!(plain["paserk"], key.public_paserk());
        let marked = key.jwk(Some("audit-checkpoint"));
        assert_eq!(marked["purpose"], "audit-checkpoint");
        assert_eq!(marked["kid"], key.kid());
    }
}
