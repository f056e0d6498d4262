//! Console sessions: a signed cookie (HS256 under the console secret, its own audience) that
//! holds the verified principal of the sign-in and the session's CSRF token. A session ends
//! at its `exp`, or at sign-out: the browser drops the cookie AND the session is recorded as
//! revoked in the store (`used_nonces`, until its `exp`), so a copy of the cookie is refused
//! on every replica. Cookies are `HttpOnly`, `SameSite=Strict` (the sign-in state cookie `Lax`, as it
//! must survive the identity provider's redirect back), `Path=/console` and `Secure` on TLS.

use axum::http::{header, HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{AuthMethod, Authentication, Caller, Principal, SubjectKind, UnixMillis};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tollgate_console";
/// The sign-in state cookie's name.
pub const LOGIN_COOKIE: &str = "tollgate_console_login";

/// What a session cookie holds: who signed in, how, and the CSRF token of its forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The verified identity.
    pub id: String,
    /// Its kind.
    pub kind: SubjectKind,
    /// Its groups.
    pub groups: Vec<String>,
    /// Its owner ("" when none).
    pub owner: String,
    /// The issuer that signed the ID token.
    pub issuer: String,
    /// When the person authenticated (`auth_time`, Unix ms), for step-up.
    pub auth_time: Option<i64>,
    /// `acr`, for step-up.
    pub acr: Option<String>,
    /// `amr`, for step-up.
    pub amr: Vec<String>,
    /// The token every POST of this session must carry.
    pub csrf: String,
    /// Signed in with the development form as a configured static identity (insecure mode
    /// only, and only honoured there): never an identity provider's sign-in, never step-up.
    #[serde(default)]
    pub development: bool,
}

impl Session {
    /// The session for a verified caller; `None` unless it proved itself with an
    /// identity-provider token (only such a sign-in is a person's).
    pub fn of(caller: &Caller, csrf: String) -> Option<Self> {
        let p = caller.principal()?;
        let AuthMethod::Token { issuer } = &p.authentication.method else {
            return None;
        };
        Some(Self {
            id: p.id.clone(),
            kind: p.kind,
            groups: p.groups.clone(),
            owner: p.owner.clone(),
            issuer: issuer.clone(),
            auth_time: p.authentication.auth_time.map(|t| t.0),
            acr: p.authentication.acr.clone(),
            amr: p.authentication.amr.clone(),
            csrf,
            development: false,
        })
    }

    /// The development session of a configured static identity (the development sign-in
    /// form); `None` for any other caller.
    pub fn development(caller: &Caller, csrf: String) -> Option<Self> {
        let p = caller.principal()?;
        if p.authentication.method != AuthMethod::StaticToken {
            return None;
        }
        Some(Self {
            id: p.id.clone(),
            kind: p.kind,
            groups: p.groups.clone(),
            owner: p.owner.clone(),
            issuer: String::new(),
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            csrf,
            development: true,
        })
    }

    /// The caller this session speaks for: the principal of its sign-in, as the gRPC API
    /// would see the same ID token.
    pub fn caller(&self) -> Caller {
        Caller::Verified(Principal {
            id: self.id.clone(),
            kind: self.kind,
            groups: self.groups.clone(),
            owner: self.owner.clone(),
            asserts_subjects: false,
            acting_for: None,
            authentication: Authentication {
                method: if self.development {
                    AuthMethod::StaticToken
                } else {
                    AuthMethod::Token {
                        issuer: self.issuer.clone(),
                    }
                },
                auth_time: self.auth_time.map(UnixMillis),
                acr: self.acr.clone(),
                amr: self.amr.clone(),
                development_step_up: false,
            },
        })
    }

    /// The key under which this session's sign-out is recorded: its CSRF token is random and
    /// unique per sign-in; only its digest is stored.
    pub fn revocation_key(&self) -> String {
        use sha2::Digest as _;
        format!(
            "console-session:{}",
            hex::encode(Sha256::digest(self.csrf.as_bytes()))
        )
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(b"tollgate-console-csrf") else {
            return false;
        };
        mac.update(self.csrf.as_bytes());
        let expected = mac.finalize().into_bytes();
        let Ok(mut check) = Hmac::<Sha256>::new_from_slice(b"tollgate-console-csrf") else {
            return false;
        };
        check.update(presented.as_bytes());
        !self.csrf.is_empty() && check.verify_slice(&expected).is_ok()
    }
}

/// What the sign-in state cookie holds between the redirect to the provider and back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// The `state` parameter sent.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The console path to land on afterwards.
    pub next: String,
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: `max_age` 0 deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: u64,
    same_site: &str,
    secure: bool,
) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; Max-Age={max_age_secs}; HttpOnly; SameSite={same_site}{secure}"
    ))
    .ok()
}

/// `next` if it is a console path (never another origin: no open redirect), else the list.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/console/approvals/a1")),
            "/console/approvals/a1"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/console//evil",
            "/x",
            "/console/\\evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console/", "{bad}");
        }
        assert_eq!(safe_next(None), "/console/");
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let session = Session {
            id: "user:rita@example.com".into(),
            kind: SubjectKind::User,
            groups: vec![],
            owner: String::new(),
            issuer: "http://op".into(),
            auth_time: None,
            acr: None,
            amr: vec![],
            csrf: "abc".into(),
            development: false,
        };
        assert!(session.csrf_matches("abc"));
        assert!(!session.csrf_matches("abd"));
        assert!(!session.csrf_matches(""));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tollgate_console=xyz"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
    }
}
