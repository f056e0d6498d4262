//! HTTP (axum): health and bundle status for load balancers and operators, Prometheus
//! metrics, the capability key as JWKS for executors, and the AuthZEN API for PEPs
//! ([`authzen`]). The reviewer console and chat
//! callbacks join here; they identify callers with [`auth`] and answer errors with [`error`],
//! and call the domain ([`crate::service::Tollgate`]) for everything else.

pub mod auth;
pub mod authzen;
pub mod console;
pub mod error;
pub mod slack;
pub mod trace;

use std::{future::Future, sync::Arc, time::SystemTime};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::{
    policy::ActivePolicy,
    telemetry::{metrics::CONTENT_TYPE, Metrics},
};

/// What the HTTP handlers read.
#[derive(Clone)]
pub struct HttpState {
    /// The policy store (health, status).
    pub policies: Arc<ActivePolicy>,
    /// The capability verification key as a JWK Set, computed once.
    pub jwks: Arc<serde_json::Value>,
    /// The process's metrics, encoded on each scrape.
    pub metrics: Metrics,
    /// Insecure development mode: callers without credentials are trusted, and health says
    /// so to anyone who looks.
    pub insecure: bool,
    /// The domain API every HTTP surface calls.
    pub tollgate: crate::service::Tollgate,
    /// Identifies callers, as for gRPC.
    pub auth: Arc<crate::identity::Authenticator>,
    /// Whether the store commits (health).
    pub store_health: crate::store::health::StoreHealth,
    /// Slack interactivity, when a signing secret is configured (else the endpoint is absent).
    pub slack: Option<Arc<slack::SlackInteractions>>,
    /// The externally visible base URL of this port (`public_url`), for links in answers
    /// (AuthZEN metadata, approval pages); unset: taken from the request's `Host`.
    pub public_url: Option<String>,
    /// The reviewer console, unless `console.enabled` is false.
    pub console: Option<Arc<console::Console>>,
}

/// The HTTP routes.
pub fn router(state: HttpState) -> Router {
    let slack = state.slack.clone();
    let console = state.console.clone();
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/status", get(status))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/metrics", get(metrics))
        .merge(authzen::routes())
        .with_state(state);
    if let Some(slack) = slack {
        router = router.merge(
            Router::new()
                .route("/slack/interactions", post(slack::interactions))
                .with_state(slack),
        );
    }
    if let Some(console) = console {
        router = router.merge(console::routes(console));
    }
    router
}

/// Where the HTTP server accepts requests: plaintext (loopback only) or TLS.
pub enum Listener {
    /// Plaintext TCP.
    Tcp(TcpListener),
    /// TLS (mutual when a client CA is configured).
    Tls(crate::identity::tls::TlsIncoming),
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: Listener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router(state);
    match listener {
        Listener::Tcp(tcp) => {
            // Small JSON answers must not wait for the client's delayed ACK.
            let tcp = tcp.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "could not set TCP_NODELAY");
                }
            });
            axum::serve(tcp, app).with_graceful_shutdown(shutdown).await
        }
        Listener::Tls(tls) => {
            let app = app.into_make_service_with_connect_info::<crate::identity::tls::PeerInfo>();
            axum::serve(tls, app).with_graceful_shutdown(shutdown).await
        }
    }
}

/// The key executors use to verify capabilities offline.
async fn jwks(State(state): State<HttpState>) -> Json<serde_json::Value> {
    Json(serde_json::Value::clone(&state.jwks))
}

/// Every series in the OpenMetrics text format. Bundle series are brought up to date from
/// the policy store at scrape time, so a scrape never shows a stale revision.
async fn metrics(State(state): State<HttpState>) -> Response {
    // Attempts first: see `Metrics::observe_bundle`.
    let attempts = *state.policies.subscribe_attempts().borrow();
    state
        .metrics
        .observe_bundle(attempts, &state.policies.status());
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What `/healthz` adds in insecure development mode.
pub const INSECURE_NOTICE: &str =
    "INSECURE DEVELOPMENT MODE: callers without credentials are not authenticated and request \
     bodies are trusted";

/// 200 while a bundle is serving and the store commits, 503 with the reason otherwise; in
/// insecure development mode it says so.
async fn healthz(State(state): State<HttpState>) -> (StatusCode, String) {
    let down = state.store_health.down_reason();
    let (code, text) = if state.policies.current().is_none() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no policy bundle loaded".to_string(),
        )
    } else if let Some(reason) = down {
        (StatusCode::SERVICE_UNAVAILABLE, reason)
    } else {
        (StatusCode::OK, "serving".to_string())
    };
    if state.insecure {
        (code, format!("{text}\n{INSECURE_NOTICE}\n"))
    } else {
        (code, format!("{text}\n"))
    }
}

#[derive(Serialize)]
struct StatusBody {
    serving: bool,
    active_revision: Option<String>,
    active_digest: Option<String>,
    activated_at: Option<String>,
    source: String,
    last_result: Option<String>,
    last_error: Option<String>,
    last_attempt_at: Option<String>,
    activations: u64,
    rejections: u64,
    /// "vm" or "interpreter": which evaluator serves the active bundle.
    engine: Option<&'static str>,
    /// Why the VM does not serve it, when it does not.
    engine_reason: Option<String>,
}

fn rfc3339(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| humantime::format_rfc3339_millis(t).to_string())
}

/// The load status as JSON: what serves, and how the last reload went.
async fn status(State(state): State<HttpState>) -> Json<StatusBody> {
    let policies = &state.policies;
    let s = policies.status();
    Json(StatusBody {
        serving: s.active_revision.is_some(),
        active_revision: s.active_revision.as_deref().map(str::to_string),
        active_digest: s.active_digest,
        activated_at: rfc3339(s.activated_at),
        source: policies.source().display().to_string(),
        last_result: s.last_result.as_ref().map(|r| match r {
            Ok(()) => "ok".to_string(),
            Err(_) => "rejected".to_string(),
        }),
        last_error: s.last_result.and_then(Result::err),
        last_attempt_at: rfc3339(s.last_attempt_at),
        activations: s.activations,
        rejections: s.rejections,
        engine: s.engine.as_ref().map(|e| e.as_str()),
        engine_reason: s
            .engine
            .as_ref()
            .and_then(|e| e.vm_refusal())
            .map(str::to_string),
    })
}
