//! One-time capabilities: short-lived PASETO v4.public tokens (Ed25519) bound to the exact
//! request an approval (or an ALLOW obligation) covers.
//!
//! A token proves *that* tollgate granted one action: its claims carry the binding hash
//! ([`AuthzRequest::binding_hash`]: everything the decision saw, the bundle that decided and
//! the approval, RFC 8785), the approval id, the bundle revision and digest, the audience and
//! an expiry.
//! Anyone can check the signature offline with the key published as JWKS; *single use* still
//! needs `RedeemCapability`, which marks the token redeemed atomically in the store.
//!
//! PASETO rather than JWT: no algorithm header to confuse, one fixed construction per
//! version. The key is a PASERK string in a 0600 file in the data directory, generated on
//! first start ([`crate::keyfile`]).

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use ed25519_dalek::SigningKey;
use pasetors::{
    claims::ClaimsValidationRules, public, token::UntrustedToken, version4::V4, Public,
};
use rusty_paseto::core as paseto;
use serde::Serialize;
use serde_json::{json, Value};

use crate::{
    domain::{AuthzRequest, Bound, Capability, CapabilityState, UnixMillis},
    keyfile::{Ed25519Key, KeyFileError, Origin},
};

/// The `iss` claim of every capability.
pub const ISSUER: &str = "tollgate";

/// Why a capability could not be minted or verified. Verification failures all refuse.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    /// The key file could not be read or written.
    #[error("capability key {path}: {source}")]
    KeyIo {
        /// The key file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file is not a PASERK v4 secret key, or is readable by others.
    #[error("capability key {path}: {message}")]
    KeyInvalid {
        /// The key file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The PASETO library refused (key generation, signing).
    #[error("capability signing: {0}")]
    Crypto(String),
    /// The token is malformed, signed by another key, or its claims are not ours.
    #[error("capability is not valid: {0}")]
    Invalid(String),
    /// The token's lifetime is over.
    #[error("capability expired")]
    Expired,
    /// The token was issued for a different request.
    #[error("capability is bound to a different request")]
    WrongRequest,
}

impl From<KeyFileError> for CapabilityError {
    fn from(e: KeyFileError) -> Self {
        match e {
            KeyFileError::Io { path, source } => Self::KeyIo { path, source },
            KeyFileError::Invalid { path, message } => Self::KeyInvalid { path, message },
            KeyFileError::Crypto(message) => Self::Crypto(message),
        }
    }
}

/// What a capability grants: one action, once, before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Unique token id (`jti`), the key of its single-use record.
    pub id: String,
    /// The subject that may act (`sub`).
    pub subject: String,
    /// The approval that granted it; `None` for an ALLOW obligation.
    pub approval_id: Option<String>,
    /// [`AuthzRequest::binding_hash`] of the granted request, bundle and approval.
    pub request_hash: String,
    /// Bundle revision that decided.
    pub revision: String,
    /// Digest of the bundle that decided (claim `bdg`): part of the binding.
    pub bundle_digest: String,
    /// Issue time, whole seconds.
    pub issued_at: SystemTime,
    /// Expiry, whole seconds.
    pub expires_at: SystemTime,
    /// Who may redeem it: identities and `group:` entries (claim `audience`).
    pub audience: Vec<String>,
}

impl Grant {
    /// A grant for `req` as decided by the bundle `revision` with `bundle_digest` (under
    /// `approval_id`), valid for `ttl` from `now`, with a fresh id.
    pub fn for_request(
        req: &Bound<'_>,
        approval_id: Option<String>,
        (revision, bundle_digest): (&str, &str),
        now: SystemTime,
        ttl: Duration,
    ) -> Self {
        let issued_at = whole_seconds(now);
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            subject: req.request().subject.id.clone(),
            request_hash: req.binding_hash(bundle_digest, approval_id.as_deref()),
            approval_id,
            revision: revision.to_string(),
            bundle_digest: bundle_digest.to_string(),
            issued_at,
            expires_at: issued_at + ttl,
            audience: Vec::new(),
        }
    }
}

impl Grant {
    /// The grant a stored capability record stands for, for `subject` and the bundle
    /// `revision` with `bundle_digest` (the record keeps none of them: they are the
    /// approval's).
    pub fn of_record(
        cap: &Capability,
        subject: &str,
        (revision, bundle_digest): (&str, &str),
    ) -> Self {
        Self {
            id: cap.id.clone(),
            subject: subject.to_string(),
            approval_id: cap.approval_id.clone(),
            request_hash: cap.request_hash.clone(),
            revision: revision.to_string(),
            bundle_digest: bundle_digest.to_string(),
            issued_at: cap.issued_at.to_time(),
            expires_at: cap.expires_at.to_time(),
            audience: cap.audience.clone(),
        }
    }

    /// The server-side record of this grant, issued and unused.
    pub fn record(&self) -> Capability {
        Capability {
            id: self.id.clone(),
            approval_id: self.approval_id.clone(),
            request_hash: self.request_hash.clone(),
            state: CapabilityState::Issued,
            issued_at: UnixMillis::from_time(self.issued_at),
            expires_at: UnixMillis::from_time(self.expires_at),
            redeemed_at: None,
            audience: self.audience.clone(),
        }
    }
}

impl Grant {
    /// Whether this grant is for exactly `req` (its identities in canonical form), decided by
    /// the grant's bundle under the grant's approval.
    pub fn binds(&self, req: &AuthzRequest) -> bool {
        self.subject == req.subject.id
            && self.request_hash
                == req.binding_hash(&self.bundle_digest, self.approval_id.as_deref())
    }
}

/// A signed capability as handed to its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCapability {
    /// The PASETO token.
    pub token: String,
    /// When it stops being redeemable.
    pub expires_at: SystemTime,
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The claims of a token, as [`CapabilityKey::mint`] writes them.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    jti: &'a str,
    iat: &'a str,
    nbf: &'a str,
    exp: &'a str,
    req: &'a str,
    rev: &'a str,
    bdg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aid: Option<&'a str>,
    audience: &'a [String],
}

/// The signing key pair.
pub struct CapabilityKey {
    key: Ed25519Key,
    /// The secret half as ed25519-dalek's key, built (and its public half checked against the
    /// key file's) once, not on every signature.
    signer: SigningKey,
}

impl std::fmt::Debug for CapabilityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CapabilityKey")
            .field("kid", &self.key.kid())
            .finish_non_exhaustive()
    }
}

impl CapabilityKey {
    /// A new random key (not persisted).
    pub fn generate() -> Result<Self, CapabilityError> {
        Self::from_key(Ed25519Key::generate()?)
    }

    /// `key` with its signer built from the secret half; a key without one, or whose public
    /// half is another key's, is refused here, once.
    fn from_key(key: Ed25519Key) -> Result<Self, CapabilityError> {
        let crypto = |m: String| CapabilityError::Crypto(m);
        let secret = key
            .secret()
            .ok_or_else(|| crypto("this capability key has no secret half".into()))?;
        let pair = <&[u8; 64]>::try_from(secret.as_bytes())
            .map_err(|_| crypto("the secret key is not 64 bytes".into()))?;
        let signer = SigningKey::from_keypair_bytes(pair).map_err(|e| crypto(e.to_string()))?;
        Ok(Self { key, signer })
    }

    /// Loads the key at `path`, or creates it (mode 0600) if the file does not exist. A key
    /// file that others can read is refused rather than trusted.
    pub fn load_or_generate(path: &Path) -> Result<Self, CapabilityError> {
        let (key, origin) = Ed25519Key::load_or_generate(path)?;
        if origin == Origin::Generated {
            tracing::info!(path = %path.display(), kid = %key.kid(), "generated capability signing key");
        }
        Self::from_key(key)
    }

    /// The key id (PASERK `k4.pid.`), carried in every token's footer.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// Signs `grant`: PASETO v4.public (ed25519-dalek through rusty_paseto, with the key
    /// built once: `vendor/PATCHES.md`), the key id in the footer. [`Self::verify`] checks it
    /// with pasetors, a second implementation.
    pub fn mint(&self, grant: &Grant) -> Result<String, CapabilityError> {
        let crypto = |e: &dyn std::fmt::Display| CapabilityError::Crypto(e.to_string());
        let (iat, exp) = (rfc3339(grant.issued_at), rfc3339(grant.expires_at));
        let claims = serde_json::to_string(&Claims {
            iss: ISSUER,
            sub: &grant.subject,
            jti: &grant.id,
            iat: &iat,
            nbf: &iat,
            exp: &exp,
            req: &grant.request_hash,
            rev: &grant.revision,
            bdg: &grant.bundle_digest,
            aid: grant.approval_id.as_deref(),
            audience: &grant.audience,
        })
        .map_err(|e| crypto(&e))?;
        paseto::Paseto::<paseto::V4, paseto::Public>::builder()
            .set_payload(paseto::Payload::from(claims.as_str()))
            .set_footer(paseto::Footer::from(self.key.footer()))
            .try_sign_with_signing_key(&self.signer)
            .map_err(|e| crypto(&e))
    }

    /// Signs `grant` for its holder.
    pub fn issue(&self, grant: &Grant) -> Result<IssuedCapability, CapabilityError> {
        Ok(IssuedCapability {
            token: self.mint(grant)?,
            expires_at: grant.expires_at,
        })
    }

    /// Checks signature, issuer and expiry against `now`; returns the grant. Binding to a
    /// request is checked by [`Self::verify_for`].
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Grant, CapabilityError> {
        let invalid = |m: &str| CapabilityError::Invalid(m.to_string());
        let untrusted = UntrustedToken::<Public, V4>::try_from(token)
            .map_err(|_| invalid("not a v4.public token"))?;
        let mut rules = ClaimsValidationRules::new();
        // Time is checked below against the caller's clock, so tests and replay control it.
        rules.disable_valid_at();
        rules.validate_issuer_with(ISSUER);
        let trusted = public::verify(self.key.public(), &untrusted, &rules, None, None)
            .map_err(|_| invalid("signature or claims rejected"))?;
        let claims = trusted
            .payload_claims()
            .ok_or_else(|| invalid("no claims"))?;
        let text = |k: &str| -> Result<String, CapabilityError> {
            claims
                .get_claim(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| CapabilityError::Invalid(format!("missing claim {k}")))
        };
        let time = |k: &str| -> Result<SystemTime, CapabilityError> {
            humantime::parse_rfc3339(&text(k)?)
                .map_err(|_| CapabilityError::Invalid(format!("bad time in claim {k}")))
        };
        let grant = Grant {
            id: text("jti")?,
            subject: text("sub")?,
            approval_id: claims
                .get_claim("aid")
                .and_then(Value::as_str)
                .map(str::to_string),
            request_hash: text("req")?,
            revision: text("rev")?,
            bundle_digest: text("bdg")?,
            issued_at: time("iat")?,
            expires_at: time("exp")?,
            audience: claims
                .get_claim("audience")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("missing claim audience"))?
                .iter()
                .map(|a| a.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("claim audience is not a list of strings"))?,
        };
        if now >= grant.expires_at {
            return Err(CapabilityError::Expired);
        }
        Ok(grant)
    }

    /// [`Self::verify`], and the token must be bound to exactly `req` (its identities in
    /// canonical form).
    pub fn verify_for(
        &self,
        token: &str,
        req: &AuthzRequest,
        now: SystemTime,
    ) -> Result<Grant, CapabilityError> {
        let grant = self.verify(token, now)?;
        if !grant.binds(req) {
            return Err(CapabilityError::WrongRequest);
        }
        Ok(grant)
    }

    /// The public key as a JWK Set (OKP / Ed25519), with the PASERK form alongside, so an
    /// executor can verify tokens offline.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.key.jwk(None)] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(rows: u64) -> AuthzRequest {
        serde_json::from_value(json!({
            "subject": {"id": "agent:a", "kind": "agent"},
            "action": {"name": "data.export", "params": {"rows": rows}},
            "resource": {"type": "dataset", "id": "users"}
        }))
        .unwrap()
    }

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn a_minted_capability_verifies_for_its_request_only() {
        let key = CapabilityKey::generate().unwrap();
        let req = request(10);
        let grant = Grant::for_request(
            &req.bound(),
            Some("ap-1".into()),
            ("rev-1", "sha256:d"),
            t(0),
            Duration::from_secs(300),
        );
        let token = key.mint(&grant).unwrap();
        assert!(token.starts_with("v4.public."));
        assert_eq!(key.verify_for(&token, &req, t(10)).unwrap(), grant);
        assert!(matches!(
            key.verify_for(&token, &request(11), t(10)),
            Err(CapabilityError::WrongRequest)
        ));
        assert!(matches!(
            key.verify(&token, t(300)),
            Err(CapabilityError::Expired)
        ));
    }

    #[test]
    fn every_claim_round_trips_and_the_footer_names_the_key() {
        let key = CapabilityKey::generate().unwrap();
        let req = request(10);
        let grant = Grant {
            audience: vec!["group:tollgate-executors".into(), "service:db".into()],
            ..Grant::for_request(
                &req.bound(),
                None,
                ("rev-2", "sha256:e"),
                t(0),
                Duration::from_secs(60),
            )
        };
        let token = key.mint(&grant).unwrap();
        assert_eq!(key.verify_for(&token, &req, t(10)).unwrap(), grant);
        let untrusted = UntrustedToken::<Public, V4>::try_from(token.as_str()).unwrap();
        let footer: Value = serde_json::from_slice(untrusted.untrusted_footer()).unwrap();
        assert_eq!(footer, json!({ "kid": key.kid() }));
    }

    /// A secret key whose public half belongs to another key signs nothing: the key file's
    /// loader refuses it, and so does the signer `mint` builds once from the pair (as
    /// rusty_paseto's own `try_sign` does on every signature).
    #[test]
    fn a_secret_key_with_another_keys_public_half_signs_nothing() {
        use pasetors::keys::{AsymmetricKeyPair, AsymmetricSecretKey, Generate};
        use rusty_paseto::core::PasetoAsymmetricPrivateKey;
        let (a, b) = (
            AsymmetricKeyPair::<V4>::generate().unwrap(),
            AsymmetricKeyPair::<V4>::generate().unwrap(),
        );
        let mut bytes = a.secret.as_bytes().to_vec();
        bytes[32..].copy_from_slice(b.public.as_bytes());
        assert!(AsymmetricSecretKey::<V4>::from(&bytes).is_err(), "loaded");
        let pair = <&[u8; 64]>::try_from(&bytes[..]).unwrap();
        assert!(
            SigningKey::from_keypair_bytes(pair).is_err(),
            "signer built"
        );
        let key =
            PasetoAsymmetricPrivateKey::<paseto::V4, paseto::Public>::try_from(&bytes[..]).unwrap();
        let signed = paseto::Paseto::<paseto::V4, paseto::Public>::builder()
            .set_payload(paseto::Payload::from("{}"))
            .try_sign(&key);
        assert!(signed.is_err(), "signed: {signed:?}");
    }

    /// The vendored patch's signer (a key built once) makes the very token rusty_paseto's own
    /// `try_sign` makes from the key bytes (Ed25519 signatures are deterministic), so the
    /// patch changes the cost of a signature, not one byte of it.
    #[test]
    fn the_prepared_signer_makes_rusty_pasetos_own_token() {
        use rusty_paseto::core::PasetoAsymmetricPrivateKey;
        let key = CapabilityKey::generate().unwrap();
        let grant = Grant::for_request(
            &request(3).bound(),
            Some("ap-3".into()),
            ("rev-3", "sha256:f"),
            t(0),
            Duration::from_secs(60),
        );
        let minted = key.mint(&grant).unwrap();
        let untrusted = UntrustedToken::<Public, V4>::try_from(minted.as_str()).unwrap();
        let claims = std::str::from_utf8(untrusted.untrusted_payload()).unwrap();
        let secret = key.key.secret().unwrap().as_bytes();
        let upstream = paseto::Paseto::<paseto::V4, paseto::Public>::builder()
            .set_payload(paseto::Payload::from(claims))
            .set_footer(paseto::Footer::from(key.key.footer()))
            .try_sign(&PasetoAsymmetricPrivateKey::try_from(secret).unwrap())
            .unwrap();
        assert_eq!(minted, upstream);
    }

    #[test]
    fn other_keys_and_tampering_are_refused() {
        let key = CapabilityKey::generate().unwrap();
        let other = CapabilityKey::generate().unwrap();
        let grant = Grant::for_request(
            &request(1).bound(),
            None,
            ("r", "sha256:d"),
            t(0),
            Duration::from_secs(60),
        );
        let token = key.mint(&grant).unwrap();
        assert!(matches!(
            other.verify(&token, t(1)),
            Err(CapabilityError::Invalid(_))
        ));
        let mut bytes = token.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            key.verify(&tampered, t(1)),
            Err(CapabilityError::Invalid(_))
        ));
        assert!(matches!(
            key.verify("v4.local.xyz", t(1)),
            Err(CapabilityError::Invalid(_))
        ));
    }

    #[test]
    fn the_key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capability.key");
        let a = CapabilityKey::load_or_generate(&path).unwrap();
        let b = CapabilityKey::load_or_generate(&path).unwrap();
        assert_eq!(a.kid(), b.kid());
        let grant = Grant::for_request(
            &request(1).bound(),
            None,
            ("r", "sha256:d"),
            t(0),
            Duration::from_secs(60),
        );
        b.verify(&a.mint(&grant).unwrap(), t(1)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                CapabilityKey::load_or_generate(&path),
                Err(CapabilityError::KeyInvalid { .. })
            ));
        }
        let jwks = a.jwks();
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(jwks["keys"][0]["kid"], a.kid());
    }
}
