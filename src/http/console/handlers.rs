//! The console's handlers: each identifies the reviewer from the session cookie, calls the
//! domain, and renders the answer. A missing session sends the browser to sign in; a
//! refused review is shown on the detail page with the service's own message.

use std::{collections::HashMap, sync::Arc, time::SystemTime};

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    keys::{random_token, DeepLink, DEEP_LINK_TTL},
    oidc::Freshness,
    pages::{self, Banner},
    session::{cookie, safe_next, set_cookie, LoginState, Session, LOGIN_COOKIE, SESSION_COOKIE},
    Console,
};
use crate::{
    domain::{ApprovalFilter, ApprovalState, InvalidField, Page, ReviewVerdict, UnixMillis},
    http::error::HttpError,
    service::{ApprovalQuery, Call, ReviewRequest},
    telemetry::ErrorChain,
};

/// How long a sign-in may take between the redirect and the callback.
const LOGIN_TTL: std::time::Duration = std::time::Duration::from_secs(600);

fn now() -> UnixMillis {
    UnixMillis::from_time(SystemTime::now())
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn message(status: StatusCode, title: &str, text: &str, link: Option<(&str, &str)>) -> Response {
    html(
        status,
        pages::page(title, None, &pages::message(title, text, link)),
    )
}

impl Console {
    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        cookie(headers, SESSION_COOKIE).and_then(|v| self.keys.verify_session(v))
    }

    fn sign_in_first(next: &str) -> Response {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        Redirect::to(&format!("/console/login?{query}")).into_response()
    }
}

/// `/console` -> `/console/`.
pub async fn to_list() -> Redirect {
    Redirect::permanent("/console/")
}

/// The pending requests the reviewer may see, oldest first.
pub async fn list(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(session) = console.session(&headers) else {
        return Console::sign_in_first("/console/");
    };
    let action = query
        .get("action")
        .map(|a| a.trim().to_string())
        .unwrap_or_default();
    let filter = ApprovalFilter {
        state: Some(ApprovalState::Pending),
        action: (!action.is_empty()).then(|| action.clone()),
        ..ApprovalFilter::default()
    };
    let query = ApprovalQuery {
        filter,
        page: Page {
            limit: Page::MAX_LIMIT,
            after_id: None,
        },
    };
    let who = Some((session.id.as_str(), session.csrf.as_str()));
    match console.tollgate.list(&session.caller(), query).await {
        Ok(found) => {
            let now = console.tollgate.workflow().now();
            let body = pages::list(&found.approvals, &action, now);
            html(StatusCode::OK, pages::page("Pending requests", who, &body))
        }
        Err(e) => {
            let e = HttpError::service(&e);
            html(
                e.status,
                pages::page(
                    "Error",
                    who,
                    &pages::message("Cannot list requests", &e.message, None),
                ),
            )
        }
    }
}

/// One approval with its context, requirements and reviews, and the review forms.
pub async fn detail(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(session) = console.session(&headers) else {
        return Console::sign_in_first(&format!("/console/approvals/{id}"));
    };
    let banner = if query.contains_key("reviewed") {
        Banner::Done("Your review was recorded.")
    } else {
        Banner::None
    };
    render_detail(&console, &session, &id, StatusCode::OK, banner).await
}

async fn render_detail(
    console: &Console,
    session: &Session,
    id: &str,
    status: StatusCode,
    banner: Banner<'_>,
) -> Response {
    let who = Some((session.id.as_str(), session.csrf.as_str()));
    match console.tollgate.get(&session.caller(), id).await {
        Ok(view) => {
            let now = console.tollgate.workflow().now();
            let body = pages::detail(&view, &session.csrf, banner, now);
            html(status, pages::page(&view.approval.action, who, &body))
        }
        Err(e) => {
            let e = HttpError::service(&e);
            // A refused review of a request the reviewer cannot read: the refusal first.
            let (status, text) = match banner {
                Banner::Refused(text, _) => (status, text.to_string()),
                _ => (e.status, e.message),
            };
            let body = pages::message(
                "Cannot show this request",
                &text,
                Some(("/console/", "Back to the list")),
            );
            html(status, pages::page("Error", who, &body))
        }
    }
}

/// The fields of the review form.
#[derive(Debug, Default)]
struct ReviewForm {
    csrf: String,
    verdict: String,
    reason: String,
    params: String,
}

fn parse_review(body: &str) -> ReviewForm {
    let mut form = ReviewForm::default();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "csrf" => form.csrf = v.into_owned(),
            "verdict" => form.verdict = v.into_owned(),
            "reason" => form.reason = v.into_owned(),
            "params" => form.params = v.into_owned(),
            _ => {}
        }
    }
    form
}

/// The review the form asks for, or the field that is wrong.
fn review_request(id: &str, form: ReviewForm) -> Result<ReviewRequest, InvalidField> {
    let verdict = match form.verdict.as_str() {
        "approve" => ReviewVerdict::Approve,
        "deny" => ReviewVerdict::Deny,
        "modify" => ReviewVerdict::Modify,
        _ => {
            return Err(InvalidField::new(
                "verdict",
                "must be approve, deny or modify",
            ))
        }
    };
    let params = if verdict == ReviewVerdict::Modify {
        match serde_json::from_str::<Value>(&form.params) {
            Ok(Value::Object(map)) => Some(map),
            _ => return Err(InvalidField::new("params", "must be a JSON object")),
        }
    } else {
        None::<Map<String, Value>>
    };
    Ok(ReviewRequest {
        approval_id: id.to_string(),
        verdict,
        reason: form.reason.trim().to_string(),
        params,
    })
}

/// Applies the reviewer's answer through `Tollgate::review` (the `Approve` RPC's path).
pub async fn review(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let Some(session) = console.session(&headers) else {
        let link = format!("/console/login?next=/console/approvals/{id}");
        return message(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "Your session has ended; sign in and review again.",
            Some((&link, "Sign in")),
        );
    };
    let form = parse_review(&body);
    if !session.csrf_matches(&form.csrf) {
        tracing::warn!(reviewer = %session.id, approval = %id, "console review without a valid CSRF token refused");
        return message(
            StatusCode::FORBIDDEN,
            "Review refused",
            "The form's CSRF token is missing or wrong: reload the page and review again.",
            None,
        );
    }
    let refusal = match review_request(&id, form) {
        Err(field) => HttpError::invalid(&field),
        Ok(request) => match console
            .tollgate
            .review(&session.caller(), request, &Call::default())
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!("/console/approvals/{id}?reviewed=1")).into_response()
            }
            Err(e) => HttpError::service(&e),
        },
    };
    tracing::info!(reviewer = %session.id, approval = %id, refusal = %refusal.message, "console review refused");
    let step_up = refusal.message.contains("step-up required").then(|| {
        let next = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &format!("/console/approvals/{id}"))
            .append_pair("step_up", "1")
            .finish();
        format!("/console/login?{next}")
    });
    let text = format!("Your review was refused: {}", refusal.message);
    render_detail(
        &console,
        &session,
        &id,
        refusal.status,
        Banner::Refused(&text, step_up.as_deref()),
    )
    .await
}

/// The sign-in request: `next` (a console path), `step_up=1` for a fresh strong sign-in.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    step_up: Option<String>,
}

/// Sends the browser to the identity provider (authorization code with PKCE).
pub async fn login(State(console): State<Arc<Console>>, Query(q): Query<LoginQuery>) -> Response {
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
    let session = random_token()
        .ok()
        .and_then(|csrf| Session::of(&caller, csrf));
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
        pages::esc(&login.next)
    );
    let mut response = html(StatusCode::OK, pages::page("Signed in", None, &body));
    let h = response.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(&format!("0; url={}", login.next)) {
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
    if let Some(session) = console.session(&headers) {
        if !session.csrf_matches(&parse_review(&body).csrf) {
            return message(
                StatusCode::FORBIDDEN,
                "Sign-out refused",
                "The form's CSRF token is missing or wrong.",
                None,
            );
        }
    }
    let mut response = message(
        StatusCode::OK,
        "Signed out",
        "You are signed out.",
        Some(("/console/", "Sign in again")),
    );
    if let Some(c) = set_cookie(SESSION_COOKIE, "", 0, "Strict", console.secure) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// The stylesheet.
pub async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

/// The script (time remaining, confirmations); the pages work without it.
pub async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        text,
    )
        .into_response()
}
