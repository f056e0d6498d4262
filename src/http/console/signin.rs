//! Sign-in and sign-out: the redirect to the identity provider, its callback (which starts
//! the session), the single-use deep links from Slack, and sign-out.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    handlers::{html, message, now, parse_review},
    keys::{random_token, DeepLink, DEEP_LINK_TTL},
    oidc::Freshness,
    pages,
    session::{cookie, safe_next, set_cookie, LoginState, Session, LOGIN_COOKIE, SESSION_COOKIE},
    Console,
};
use crate::telemetry::ErrorChain;

/// How long a sign-in may take between the redirect and the callback.
const LOGIN_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The sign-in request: `next` (a console path), `step_up=1` for a fresh strong sign-in.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    step_up: Option<String>,
}

/// Sends the browser to the identity provider (authorization code with PKCE).
pub async fn login(State(console): State<Arc<Console>>, Query(q): Query<LoginQuery>) -> Response {
    if console.development_sign_in() {
        return super::devlogin::form(&console, q.next.as_deref());
    }
    let Some(oidc) = &console.oidc else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "No identity provider is configured (console.oidc).",
            None,
        );
    };
    let tokens = (random_token(), random_token(), random_token());
    let (Ok(state), Ok(nonce), Ok(verifier)) = tokens else {
        tracing::error!("no randomness for a console sign-in");
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "Try again.",
            None,
        );
    };
    let freshness = if q.step_up.as_deref() == Some("1") {
        Freshness::StepUp {
            max_age: console.step_up_max_age,
        }
    } else {
        Freshness::Any
    };
    let redirect_uri = format!("{}/console/auth/callback", console.base);
    let url = match oidc
        .authorization_url(&redirect_uri, &state, &nonce, &verifier, freshness)
        .await
    {
        Ok(url) => url,
        Err(e) => {
            tracing::error!(error = %ErrorChain(&e), "console sign-in cannot start");
            return message(
                StatusCode::BAD_GATEWAY,
                "Sign-in unavailable",
                &e.to_string(),
                None,
            );
        }
    };
    let next = safe_next(q.next.as_deref());
    let login = LoginState {
        state,
        nonce,
        verifier,
        next,
    };
    let Ok(value) = console.keys.sign_login(&login, now().plus(LOGIN_TTL)) else {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in unavailable",
            "Try again.",
            None,
        );
    };
    let mut response = Redirect::to(&url).into_response();
    // Lax: the provider's redirect back is a cross-site navigation.
    if let Some(c) = set_cookie(
        LOGIN_COOKIE,
        &value,
        LOGIN_TTL.as_secs(),
        "Lax",
        console.secure,
    ) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// The provider's redirect back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Redeems the code, verifies the ID token and starts the session.
pub async fn callback(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = &console.oidc else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "No identity provider is configured (console.oidc).",
            None,
        );
    };
    if let Some(error) = q.error {
        let text = format!(
            "The identity provider refused the sign-in: {error} {}",
            q.error_description.unwrap_or_default()
        );
        return message(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            &text,
            Some(("/console/login", "Try again")),
        );
    }
    let login: Option<LoginState> =
        cookie(&headers, LOGIN_COOKIE).and_then(|v| console.keys.verify_login(v));
    let (Some(login), Some(code), Some(state)) = (login, q.code, q.state) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The sign-in could not be matched to this browser; sign in again.",
            Some(("/console/login", "Sign in")),
        );
    };
    if login.state != state {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The sign-in could not be matched to this browser; sign in again.",
            Some(("/console/login", "Sign in")),
        );
    }
    let redirect_uri = format!("{}/console/auth/callback", console.base);
    let caller = match oidc
        .redeem(
            &console.auth,
            &code,
            &redirect_uri,
            &login.verifier,
            &login.nonce,
        )
        .await
    {
        Ok(caller) => caller,
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), "console sign-in failed");
            return message(
                StatusCode::UNAUTHORIZED,
                "Sign-in failed",
                &e.to_string(),
                Some(("/console/login", "Try again")),
            );
        }
    };
    start_session(&console, &caller, &login.next, false)
}

/// The answer that starts a session for `caller` (a `development` one: a static identity
/// chosen on the development form) and continues to `next`.
pub(super) fn start_session(
    console: &Console,
    caller: &crate::domain::Caller,
    next: &str,
    development: bool,
) -> Response {
    let session = random_token().ok().and_then(|csrf| {
        if development {
            Session::development(caller, csrf)
        } else {
            Session::of(caller, csrf)
        }
    });
    let value = session.as_ref().and_then(|s| {
        console
            .keys
            .sign_session(s, now().plus(console.session_ttl))
            .ok()
    });
    let (Some(session), Some(value)) = (session, value) else {
        return message(
            StatusCode::FORBIDDEN,
            "Sign-in failed",
            "Only a person signed in with the identity provider may use the console.",
            None,
        );
    };
    tracing::info!(reviewer = %session.id, amr = ?session.amr, "console sign-in");
    // A page, not a redirect: the SameSite=Strict session cookie is then sent on the way on,
    // which a redirect chain begun by the provider's site would not do.
    let body = format!(
        "<h1>Signed in</h1><p>Signed in as <strong>{}</strong>.</p><p><a id=\"continue\" href=\"{}\">Continue</a></p>",
        pages::esc(&session.id),
        pages::esc(next)
    );
    let mut response = html(StatusCode::OK, pages::page("Signed in", None, &body));
    let h = response.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(&format!("0; url={next}")) {
        h.insert(header::REFRESH, v);
    }
    if let Some(c) = set_cookie(
        SESSION_COOKIE,
        &value,
        console.session_ttl.as_secs(),
        "Strict",
        console.secure,
    ) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = set_cookie(LOGIN_COOKIE, "", 0, "Lax", console.secure) {
        h.append(header::SET_COOKIE, c);
    }
    response
}

/// The deep link from Slack: used once, it leads to a fresh strong sign-in and then to the
/// request's detail page (what the reviewer clicked is not applied: they review there).
pub async fn link(
    State(console): State<Arc<Console>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(link) = q
        .get("t")
        .and_then(|t| console.keys.verify_link::<DeepLink>(t))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This review link is invalid or has expired; open the request from the list.",
            Some(("/console/", "Pending requests")),
        );
    };
    let now = now();
    match console
        .nonces
        .use_once(
            &format!("console-link:{}", link.jti),
            now,
            now.plus(DEEP_LINK_TTL * 2),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return message(
                StatusCode::CONFLICT,
                "Link already used",
                "This review link was already used; open the request from the list.",
                Some(("/console/", "Pending requests")),
            );
        }
        Err(e) => {
            tracing::error!(error = %ErrorChain(&e), "cannot record a console link's use");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The link could not be checked; try again.",
                None,
            );
        }
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", &format!("/console/approvals/{}", link.approval))
        .append_pair("step_up", "1")
        .finish();
    Redirect::to(&format!("/console/login?{query}")).into_response()
}

/// Ends the session (the cookie is dropped); needs the CSRF token like every POST.
pub async fn logout(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut response = message(
        StatusCode::OK,
        "Signed out",
        "You are signed out.",
        Some(("/console/", "Sign in again")),
    );
    if let Some(session) = console.session(&headers).await {
        if !session.csrf_matches(&parse_review(&body).csrf) {
            return message(
                StatusCode::FORBIDDEN,
                "Sign-out refused",
                "The form's CSRF token is missing or wrong.",
                None,
            );
        }
        // Revoked server-side until it would have expired anyway, so a copy of the cookie
        // (another tab, a stolen one) is dead too, on every replica.
        let until = now().plus(console.session_ttl);
        if let Err(e) = console
            .nonces
            .use_once(&session.revocation_key(), now(), until)
            .await
        {
            tracing::error!(error = %crate::telemetry::ErrorChain(&e), "console sign-out could not be recorded");
            response = message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-out not recorded",
                "The browser's session cookie is cleared, but the server could not record the \
                 sign-out: a copy of the cookie stays valid until it expires. Try again.",
                None,
            );
        }
    }
    if let Some(c) = set_cookie(SESSION_COOKIE, "", 0, "Strict", console.secure) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}
