//! The development sign-in: in insecure development mode (loopback only) with no identity
//! provider configured, `/console/login` is a form to sign in as one of the configured static
//! identities (`auth.tokens`; their tokens are never shown). Anywhere else the form is not
//! served and its POST is 404. A development session never passes step-up, and is refused
//! by a server not in development mode (see `Console::session`).

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::Response,
};

use super::{
    handlers::{html, message, now},
    keys::random_token,
    pages,
    session::{cookie, safe_next, set_cookie, LoginState, LOGIN_COOKIE},
    signin::start_session,
    Console,
};
use crate::domain::Caller;

/// How long the form may stay open.
const FORM_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The form: one choice per static identity, its state bound to this browser by a cookie.
pub(super) fn form(console: &Console, next: Option<&str>) -> Response {
    let next = safe_next(next);
    let signed = random_token().ok().and_then(|state| {
        let login = LoginState {
            state: state.clone(),
            nonce: String::new(),
            verifier: String::new(),
            next: next.clone(),
        };
        let value = console.keys.sign_login(&login, now().plus(FORM_TTL)).ok()?;
        Some((state, value))
    });
    let Some((state, value)) = signed else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "Try again.",
            None,
        );
    };
    let choices: String = console
        .auth
        .static_principals()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let groups = p.groups.join(", ");
            format!(
                "<p><input type=\"radio\" name=\"id\" id=\"who{i}\" value=\"{id}\"{checked}> \
                 <label for=\"who{i}\">{id} ({kind}{sep}{groups})</label></p>",
                id = pages::esc(&p.id),
                kind = p.kind,
                sep = if groups.is_empty() { "" } else { "; " },
                groups = pages::esc(&groups),
                checked = if i == 0 { " checked" } else { "" },
            )
        })
        .collect();
    let body = if choices.is_empty() {
        "<h1>Development sign-in</h1><p>No static identities are configured \
         (<code>auth.tokens</code>): add one to sign in.</p>"
            .to_string()
    } else {
        format!(
            "<h1>Development sign-in</h1><p>Insecure development mode, no identity provider: \
             sign in as a configured static identity. Never use this mode beyond your own \
             machine.</p><form method=\"post\" action=\"/console/login\"><fieldset>\
             <legend>Sign in as</legend>{choices}</fieldset>\
             <input type=\"hidden\" name=\"state\" value=\"{}\">\
             <p><button type=\"submit\">Sign in</button></p></form>",
            pages::esc(&state)
        )
    };
    let mut response = html(
        StatusCode::OK,
        pages::page("Development sign-in", None, &body),
    );
    if let Some(c) = set_cookie(
        LOGIN_COOKIE,
        &value,
        FORM_TTL.as_secs(),
        "Strict",
        console.secure,
    ) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `POST /console/login`: signs in as the chosen static identity; 404 outside development
/// mode.
pub async fn submit(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !console.development_sign_in() {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page.",
            None,
        );
    }
    let (mut id, mut state) = (String::new(), String::new());
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "id" => id = v.into_owned(),
            "state" => state = v.into_owned(),
            _ => {}
        }
    }
    let login: Option<LoginState> =
        cookie(&headers, LOGIN_COOKIE).and_then(|v| console.keys.verify_login(v));
    let Some(login) = login.filter(|l| !state.is_empty() && l.state == state) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The sign-in could not be matched to this browser; sign in again.",
            Some(("/console/login", "Sign in")),
        );
    };
    let Some(principal) = console
        .auth
        .static_principals()
        .into_iter()
        .find(|p| p.id == id)
    else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "Choose one of the configured static identities.",
            Some(("/console/login", "Sign in")),
        );
    };
    tracing::warn!(reviewer = %principal.id, "development console sign-in as a static identity");
    start_session(&console, &Caller::Verified(principal), &login.next, true)
}
