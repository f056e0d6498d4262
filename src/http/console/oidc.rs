//! Sign-in with the configured OpenID Provider: authorization code with PKCE (S256), `state`
//! and `nonce`; the ID token is verified by the same verifier as bearer tokens on the API
//! ([`crate::identity::Authenticator`]), so the session's principal is exactly the one the
//! `Approve` RPC would see for that token. Step-up asks for `prompt=login` and `max_age` (and
//! the configured `acr_values`), so the new `auth_time`/`amr` satisfy `auth.step_up`.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::config::ConsoleOidc;
use crate::{
    domain::Caller,
    identity::{AuthError, Authenticator, Credentials},
};

/// Why a sign-in failed. Shown to the person as a short message; the cause goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider's discovery document or token endpoint could not be used.
    #[error("the identity provider could not be reached")]
    Provider(#[source] reqwest::Error),
    /// The provider answered something unusable.
    #[error("the identity provider's answer is not usable: {0}")]
    Protocol(String),
    /// The ID token did not verify.
    #[error("the identity provider's token was refused")]
    Token(#[source] AuthError),
    /// The `state`, `nonce` or sign-in cookie does not match: a forged or stale callback.
    #[error("the sign-in could not be matched to this browser; sign in again")]
    Mismatch,
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
}

/// The console's OIDC client.
pub struct OidcClient {
    config: ConsoleOidc,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
}

/// What the sign-in asks for besides the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Reuse the provider's session if it has one.
    Any,
    /// A new authentication (`prompt=login`, `max_age`, `acr_values`): for step-up.
    StepUp {
        /// `max_age`, from `auth.step_up.max_age`.
        max_age: Duration,
    },
}

/// The PKCE S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OidcClient {
    /// A client for `config`; discovery happens on first use.
    pub fn new(config: ConsoleOidc, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            discovery: OnceCell::new(),
        }
    }

    async fn discovery(&self) -> Result<&Discovery, SignInError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let response = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(SignInError::Provider)?;
                let bytes = response.bytes().await.map_err(SignInError::Provider)?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| SignInError::Protocol(format!("discovery document: {e}")))
            })
            .await
    }

    /// Where to send the browser to sign in.
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
        freshness: Freshness,
    ) -> Result<String, SignInError> {
        let endpoint = &self.discovery().await?.authorization_endpoint;
        let mut url = url::Url::parse(endpoint)
            .map_err(|e| SignInError::Protocol(format!("authorization_endpoint: {e}")))?;
        let scope = format!("openid {}", self.config.scopes);
        let challenge = challenge(verifier);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", scope.trim())
                .append_pair("state", state)
                .append_pair("nonce", nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Freshness::StepUp { max_age } = freshness {
                q.append_pair("prompt", "login")
                    .append_pair("max_age", &max_age.as_secs().to_string());
                if !self.config.step_up_acr_values.is_empty() {
                    q.append_pair("acr_values", &self.config.step_up_acr_values);
                }
            }
        }
        Ok(url.into())
    }

    /// Redeems `code` and verifies the ID token (signature, issuer, audience, expiry, and
    /// `nonce`); the answer is the verified caller.
    pub async fn redeem(
        &self,
        auth: &Authenticator,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Caller, SignInError> {
        let endpoint = &self.discovery().await?.token_endpoint;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &self.config.client_id)
            .append_pair("code_verifier", verifier)
            .finish();
        let mut request = self
            .http
            .post(endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        if !self.config.client_secret.is_empty() {
            request = request.basic_auth(&self.config.client_id, Some(&self.config.client_secret));
        }
        let response = request.send().await.map_err(SignInError::Provider)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(SignInError::Provider)?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(SignInError::Protocol(format!(
                "token endpoint: {status} {text}"
            )));
        }
        #[derive(Deserialize)]
        struct Tokens {
            id_token: String,
        }
        let tokens: Tokens = serde_json::from_slice(&bytes)
            .map_err(|e| SignInError::Protocol(format!("token response: {e}")))?;
        let bearer = format!("Bearer {}", tokens.id_token);
        let caller = auth
            .authenticate(Credentials {
                authorization: Some(&bearer),
                certificate: None,
            })
            .await
            .map_err(SignInError::Token)?;
        // The signature is verified above; the nonce binds the token to this browser's
        // sign-in, so a token from another sign-in cannot be injected.
        if nonce_of(&tokens.id_token).as_deref() != Some(nonce) {
            return Err(SignInError::Mismatch);
        }
        Ok(caller)
    }
}

/// The `nonce` claim of a (verified) JWT.
fn nonce_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("nonce")?.as_str().map(str::to_string)
}
