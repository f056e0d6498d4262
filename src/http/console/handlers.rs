//! The console's pages: each identifies the reviewer from the session cookie, calls the
//! domain, and renders the answer. A missing session sends the browser to sign in; a
//! refused review is shown on the detail page with the service's own message.

use std::{collections::HashMap, sync::Arc, time::SystemTime};

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::{Map, Value};

use super::{
    pages::{self, Banner, DetailExtras},
    session::{cookie, Session, SESSION_COOKIE},
    Console,
};
use crate::{
    domain::{ApprovalFilter, ApprovalState, InvalidField, Page, ReviewVerdict, UnixMillis},
    http::error::HttpError,
    service::{ApprovalQuery, Call, ReviewRequest},
};

pub(super) fn now() -> UnixMillis {
    UnixMillis::from_time(SystemTime::now())
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(super) fn message(
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    html(
        status,
        pages::page(title, None, &pages::message(title, text, link)),
    )
}

impl Console {
    /// The session of a signed, unexpired cookie that was not signed out. A store fault
    /// counts as signed out (fail closed: the reviewer signs in again).
    pub(super) async fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let session: Session =
            cookie(headers, SESSION_COOKIE).and_then(|v| self.keys.verify_session(v))?;
        if session.development && !self.development_sign_in() {
            tracing::warn!(reviewer = %session.id, "a development console session outside development mode; refused");
            return None;
        }
        match self.nonces.was_used(&session.revocation_key(), now()).await {
            Ok(false) => Some(session),
            Ok(true) => None,
            Err(e) => {
                tracing::error!(error = %crate::telemetry::ErrorChain(&e), "console session check failed; treating the session as signed out");
                None
            }
        }
    }

    pub(super) fn sign_in_first(next: &str) -> Response {
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
    let Some(session) = console.session(&headers).await else {
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
    let Some(session) = console.session(&headers).await else {
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
    let caller = session.caller();
    match console.tollgate.get(&caller, id).await {
        Ok(view) => {
            let history = match console.tollgate.approval_history(&caller, id).await {
                Ok(history) => Some(history),
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::ErrorChain(&e), approval = %id, "console history unavailable");
                    None
                }
            };
            let now = console.tollgate.workflow().now();
            let extras = DetailExtras {
                csrf: &session.csrf,
                banner,
                history: history.as_deref(),
            };
            let body = pages::detail(&view, extras, now);
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
pub(super) struct ReviewForm {
    /// The CSRF token.
    pub(super) csrf: String,
    verdict: String,
    reason: String,
    params: String,
}

pub(super) fn parse_review(body: &str) -> ReviewForm {
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
    let Some(session) = console.session(&headers).await else {
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

/// The icon, so browsers do not ask for a `/favicon.ico` the HTTP port does not serve.
pub async fn icon() -> Response {
    asset("image/svg+xml", include_str!("assets/favicon.svg"))
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
