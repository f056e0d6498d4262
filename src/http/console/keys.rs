//! The console's secret and what it signs: session cookies and the deep links a Slack click
//! yields when a review needs step-up. Both are JWTs (HS256, `jsonwebtoken`) under keys
//! derived from one 32-byte secret file (0600, generated on first start; replicas sharing a
//! database share it, like the capability key), each with its own audience so one can never
//! be presented as the other.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::UnixMillis;

/// The audience of session cookies.
pub const SESSION_AUDIENCE: &str = "tollgate-console-session";
/// The audience of deep links.
pub const LINK_AUDIENCE: &str = "tollgate-console-link";
/// The audience of the sign-in state cookie (PKCE verifier, state, nonce).
pub const LOGIN_AUDIENCE: &str = "tollgate-console-login";

/// Why the console's key could not be loaded or a token not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("console secret {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold 64 hex digits.
    #[error("console secret {0}: must hold 64 hex digits")]
    Malformed(PathBuf),
    /// The operating system gave no randomness.
    #[error("no randomness available: {0}")]
    Random(String),
    /// Signing failed.
    #[error("signing failed")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

/// A random URL-safe token of 32 bytes (state, nonce, CSRF, ids).
pub fn random_token() -> Result<String, KeyError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// Signs and verifies the console's tokens.
#[derive(Clone)]
pub struct ConsoleKeys {
    session: ([u8; 32], &'static str),
    link: ([u8; 32], &'static str),
    login: ([u8; 32], &'static str),
}

impl std::fmt::Debug for ConsoleKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleKeys(..)")
    }
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    // HMAC accepts any key length; `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(label.as_bytes());
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Claims every console token carries besides its own.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    aud: String,
    exp: u64,
    #[serde(flatten)]
    body: T,
}

impl ConsoleKeys {
    /// Keys derived from `secret`.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            session: (derive(secret, "session"), SESSION_AUDIENCE),
            link: (derive(secret, "deep-link"), LINK_AUDIENCE),
            login: (derive(secret, "login"), LOGIN_AUDIENCE),
        }
    }

    /// Loads the secret from `path`, generating it (mode 0600) if missing.
    pub fn load_or_generate(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim())
                    .ok()
                    .filter(|b| b.len() == 32)
                    .ok_or_else(|| KeyError::Malformed(path.to_path_buf()))?;
                Ok(Self::from_secret(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = random_bytes::<32>()?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                match options.open(path) {
                    Ok(mut f) => {
                        f.write_all(hex::encode(secret).as_bytes()).map_err(io)?;
                        f.sync_all().map_err(io)?;
                        Ok(Self::from_secret(&secret))
                    }
                    // Another replica (or process) wrote it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_generate(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn sign<T: Serialize>(
        key: &([u8; 32], &'static str),
        body: T,
        expires_at: UnixMillis,
    ) -> Result<String, KeyError> {
        let envelope = Envelope {
            aud: key.1.to_string(),
            exp: u64::try_from(expires_at.0.div_euclid(1000)).unwrap_or(0),
            body,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &envelope,
            &EncodingKey::from_secret(&key.0),
        )
        .map_err(KeyError::Sign)
    }

    fn verify<T: DeserializeOwned>(key: &([u8; 32], &'static str), token: &str) -> Option<T> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[key.1]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Envelope<T>>(token, &DecodingKey::from_secret(&key.0), &validation)
            .ok()
            .map(|d| d.claims.body)
    }

    /// A session cookie value holding `session` until `expires_at`.
    pub fn sign_session<T: Serialize>(
        &self,
        session: T,
        expires_at: UnixMillis,
    ) -> Result<String, KeyError> {
        Self::sign(&self.session, session, expires_at)
    }

    /// The session in a cookie value, if it is ours and unexpired.
    pub fn verify_session<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        Self::verify(&self.session, token)
    }

    /// A deep link token for `link` until `expires_at`.
    pub fn sign_link<T: Serialize>(
        &self,
        link: T,
        expires_at: UnixMillis,
    ) -> Result<String, KeyError> {
        Self::sign(&self.link, link, expires_at)
    }

    /// The deep link in `token`, if it is ours and unexpired (single use is the caller's
    /// nonce check).
    pub fn verify_link<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        Self::verify(&self.link, token)
    }

    /// The sign-in state cookie value.
    pub fn sign_login<T: Serialize>(
        &self,
        login: T,
        expires_at: UnixMillis,
    ) -> Result<String, KeyError> {
        Self::sign(&self.login, login, expires_at)
    }

    /// The sign-in state in a cookie value, if ours and unexpired.
    pub fn verify_login<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        Self::verify(&self.login, token)
    }
}

/// A signed, short-lived, single-use link to review one approval in the console with a fresh
/// strong sign-in; what a Slack click yields when the review needs step-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLink {
    /// The approval.
    pub approval: String,
    /// What the reviewer clicked: `approve` or `deny`.
    pub verdict: String,
    /// The identity the Slack user maps to (a login hint; the review is by whoever signs in).
    pub identity: String,
    /// The link's id: it is accepted once.
    pub jti: String,
}

/// How long a deep link is valid by default.
pub const DEEP_LINK_TTL: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> DeepLink {
        DeepLink {
            approval: "a1".into(),
            verdict: "approve".into(),
            identity: "user:rita@example.com".into(),
            jti: "j1".into(),
        }
    }

    fn later() -> UnixMillis {
        UnixMillis::from_time(std::time::SystemTime::now()).plus(Duration::from_secs(60))
    }

    #[test]
    fn tokens_verify_only_under_their_own_key_and_audience() {
        let keys = ConsoleKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = keys.sign_link(link(), later()).unwrap();
        assert_eq!(keys.verify_link::<DeepLink>(&token), Some(link()));
        // A link is not a session, and another secret's link is not ours.
        assert_eq!(keys.verify_session::<DeepLink>(&token), None);
        let other = ConsoleKeys::from_secret(b"another secret, another console!");
        assert_eq!(other.verify_link::<DeepLink>(&token), None);
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 5, 'x');
        assert_eq!(keys.verify_link::<DeepLink>(&tampered), None);
        let past = UnixMillis::from_time(std::time::SystemTime::now()).plus(Duration::ZERO);
        let expired = keys.sign_link(link(), UnixMillis(past.0 - 5_000)).unwrap();
        assert_eq!(keys.verify_link::<DeepLink>(&expired), None);
    }

    #[test]
    fn the_secret_file_is_generated_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.key");
        let a = ConsoleKeys::load_or_generate(&path).unwrap();
        let b = ConsoleKeys::load_or_generate(&path).unwrap();
        let token = a.sign_session(link(), later()).unwrap();
        assert_eq!(b.verify_session::<DeepLink>(&token), Some(link()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(ConsoleKeys::load_or_generate(&path).is_err());
    }
}
