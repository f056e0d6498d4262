//! The reviewer console under `/console/` on the HTTP port: server-rendered pages (embedded
//! CSS and a small script, a strict Content-Security-Policy, no inline script) for the
//! pending requests a reviewer may see, reviewing one of them (with its audit history), a
//! searchable history ([`history`]), live updates when another reviewer acts ([`live`]), and
//! the outbox's failing deliveries for admins ([`deliveries`]).
//!
//! Every read and review goes through [`crate::service::Tollgate`] (`list`, `get`,
//! `review`): the same read authorization, roles, separation of duties and step-up checks
//! as the gRPC `Approve` RPC. The console adds only who the reviewer is: an OIDC sign-in
//! ([`oidc`]) whose verified principal is kept in a signed session cookie ([`session`]),
//! with a CSRF token every POST must carry. Its secret and tokens are in [`keys`].

pub mod config;
pub mod deliveries;
pub mod devlogin;
pub mod handlers;
pub mod history;
pub mod keys;
pub mod live;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod signin;

use std::{sync::Arc, time::Duration};

use axum::{
    http::{header, HeaderValue},
    response::Response,
    routing::{get, post},
    Router,
};

pub use self::config::{ConsoleConfig, ConsoleOidc};
use self::{keys::ConsoleKeys, oidc::OidcClient};
use crate::{identity::Authenticator, service::Tollgate, store::NonceStore};

/// The console's Content-Security-Policy: only its own scripts, styles and forms.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// What [`Console::new`] needs.
pub struct ConsoleParts {
    /// The domain API.
    pub tollgate: Tollgate,
    /// Verifies ID tokens, exactly as bearer tokens on the API.
    pub auth: Arc<Authenticator>,
    /// Signs sessions, sign-in state and deep links.
    pub keys: ConsoleKeys,
    /// The settings.
    pub config: ConsoleConfig,
    /// The console's externally visible base URL (redirect URI, links).
    pub base: String,
    /// Whether the port is TLS (cookies are then `Secure`).
    pub secure: bool,
    /// `auth.step_up.max_age`: the `max_age` of a step-up sign-in.
    pub step_up_max_age: Duration,
    /// Where deep-link ids are used once.
    pub nonces: Arc<dyn NonceStore>,
    /// For the identity provider's discovery and token endpoints.
    pub http: reqwest::Client,
    /// Becomes true when the server stops: live-update streams end then, so they never hold
    /// the HTTP server's graceful shutdown open.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

/// The console's state, shared by its handlers.
pub struct Console {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
    keys: ConsoleKeys,
    oidc: Option<OidcClient>,
    base: String,
    secure: bool,
    session_ttl: Duration,
    step_up_max_age: Duration,
    nonces: Arc<dyn NonceStore>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Console {
    /// The console, or `None` when `console.enabled` is false.
    pub fn new(parts: ConsoleParts) -> Option<Self> {
        let ConsoleParts {
            tollgate,
            auth,
            keys,
            config,
            base,
            secure,
            step_up_max_age,
            nonces,
            http,
            stop,
        } = parts;
        let ConsoleConfig {
            enabled,
            oidc,
            session_ttl,
        } = config;
        enabled.then(|| Self {
            tollgate,
            auth,
            keys,
            oidc: oidc.map(|o| OidcClient::new(o, http)),
            base: base.trim_end_matches('/').to_string(),
            secure,
            session_ttl,
            step_up_max_age,
            nonces,
            stop,
        })
    }
}

impl Console {
    /// Whether `/console/login` is the development form: insecure mode (which the
    /// configuration allows on loopback only) and no identity provider configured.
    pub(crate) fn development_sign_in(&self) -> bool {
        self.oidc.is_none() && self.auth.mode() == crate::identity::AuthMode::Insecure
    }
}

/// The console's routes, with its security headers on every answer.
pub fn routes(console: Arc<Console>) -> Router {
    Router::new()
        .route("/console", get(handlers::to_list))
        .route("/console/", get(handlers::list))
        .route("/console/approvals/{id}", get(handlers::detail))
        .route("/console/approvals/{id}/review", post(handlers::review))
        .route("/console/events", get(live::events))
        .route("/console/history", get(history::history))
        .route("/console/deliveries", get(deliveries::deliveries))
        .route("/console/login", get(signin::login).post(devlogin::submit))
        .route("/console/auth/callback", get(signin::callback))
        .route("/console/link", get(signin::link))
        .route("/console/logout", post(signin::logout))
        .route("/console/assets/console.css", get(handlers::css))
        .route("/console/assets/console.js", get(handlers::js))
        .route("/console/assets/favicon.svg", get(handlers::icon))
        .with_state(console)
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Deep-link tokens are in URLs: never leak them in a Referer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
