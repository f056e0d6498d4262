//! The console's settings (`console:`): the OpenID Provider reviewers sign in with, and how
//! long a session lasts. The ID token is verified by the issuer configured under
//! `auth.jwt.issuers` (its `audiences` must hold `client_id`), so the console trusts exactly
//! what the gRPC API trusts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `console:` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console under `/console/` (default true).
    pub enabled: bool,
    /// The OpenID Provider for sign-in; unset: nobody can sign in (the pages say so).
    pub oidc: Option<ConsoleOidc>,
    /// How long a session lasts after sign-in (default 8h); step-up freshness is judged from
    /// the sign-in's `auth_time`, not from this.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            oidc: None,
            session_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

/// The console as an OIDC client (authorization code with PKCE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleOidc {
    /// The issuer; its discovery document gives the endpoints. Must also be in
    /// `auth.jwt.issuers`.
    pub issuer: String,
    /// The console's client id (an audience of the issuer in `auth.jwt.issuers`).
    pub client_id: String,
    /// The client secret (sent with HTTP Basic to the token endpoint); empty for a public
    /// client, which PKCE alone protects.
    #[serde(default)]
    pub client_secret: String,
    /// Scopes asked for besides `openid` (default `email groups`).
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// `acr_values` asked for on a step-up sign-in (identity-provider specific; empty: none).
    #[serde(default)]
    pub step_up_acr_values: String,
}

fn default_scopes() -> String {
    "email groups".into()
}

impl ConsoleConfig {
    /// Checks what the fields cannot check alone; `issuers` are `auth.jwt.issuers`, which
    /// must verify the console's ID tokens (its issuer, with `client_id` as an audience).
    pub fn validate(&self, issuers: &[crate::identity::jwt::IssuerConfig]) -> Result<(), String> {
        let Self {
            enabled: _,
            oidc,
            session_ttl,
        } = self;
        if session_ttl.is_zero() {
            return Err("console.session_ttl must be positive".into());
        }
        if let Some(ConsoleOidc {
            issuer, client_id, ..
        }) = oidc
        {
            let url = url::Url::parse(issuer)
                .map_err(|e| format!("console.oidc.issuer: not a URL: {e}"))?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err("console.oidc.issuer: must be an http(s) URL".into());
            }
            if client_id.trim().is_empty() {
                return Err("console.oidc.client_id: must not be empty".into());
            }
            let verified = issuers
                .iter()
                .any(|i| &i.issuer == issuer && i.audiences.contains(client_id));
            if !verified {
                return Err(format!(
                    "console.oidc.issuer: {issuer} with audience {client_id} must be in auth.jwt.issuers, which verify the console's ID tokens"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_issuer_must_be_one_the_api_trusts_for_the_console_audience() {
        let config = ConsoleConfig {
            oidc: Some(ConsoleOidc {
                issuer: "https://login.example.com".into(),
                client_id: "tollgate-console".into(),
                client_secret: String::new(),
                scopes: default_scopes(),
                step_up_acr_values: String::new(),
            }),
            ..ConsoleConfig::default()
        };
        let err = config.validate(&[]).unwrap_err();
        assert!(err.contains("auth.jwt.issuers"), "{err}");
        let issuer: crate::identity::jwt::IssuerConfig = yaml_serde::from_str(
            "{issuer: 'https://login.example.com', audiences: [tollgate-console], algorithms: [RS256], jwks_file: /dev/null}",
        )
        .unwrap();
        config.validate(std::slice::from_ref(&issuer)).unwrap();
        let other = ConsoleConfig {
            oidc: config.oidc.clone().map(|o| ConsoleOidc {
                client_id: "other".into(),
                ..o
            }),
            ..config.clone()
        };
        assert!(other.validate(&[issuer]).is_err());
        assert!(ConsoleConfig::default().validate(&[]).is_ok());
    }
}
