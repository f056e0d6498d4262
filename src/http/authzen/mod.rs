//! The OpenID AuthZEN Authorization API 1.0 on the HTTP port: the Access Evaluation API
//! (`POST /access/v1/evaluation`), the Access Evaluations API (`POST /access/v1/evaluations`,
//! with its `execute_all`, `deny_on_first_deny` and `permit_on_first_permit` semantics) and
//! the PDP metadata (`GET /.well-known/authzen-configuration`).
//!
//! Each handler identifies the caller ([`super::auth::identify`]), maps the body onto
//! tollgate's request ([`model`], which documents the mapping), makes one call into the
//! domain ([`crate::service::Tollgate::enforce`]) and converts the answer. A PEP asking about
//! other subjects must be a gateway identity, as over gRPC. Errors that concern the whole
//! payload are HTTP errors whose body is a message string (400 names the AuthZEN field, 401,
//! 403, 500, 503); an item of an evaluations request that cannot be decided is
//! `decision: false` with `context.error`. `X-Request-ID` is echoed.

pub mod model;

use std::time::Instant;

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::{header::HeaderValue, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use tracing::{Instrument as _, Span};

use self::model::{Evaluation, Evaluations, Links, Semantic};
use super::{error::HttpError, HttpState};
use crate::{
    domain::{Caller, InvalidField},
    service::{spans, Call, DecideError, ServiceError, MAX_BATCH},
    telemetry::metrics::Surface,
};

/// The request identifier header the specification recommends, echoed on every answer.
const REQUEST_ID: &str = "x-request-id";

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The AuthZEN routes.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/access/v1/evaluation", post(evaluation))
        .route("/access/v1/evaluations", post(evaluations))
        .route("/.well-known/authzen-configuration", get(configuration))
}

/// An AuthZEN error: the status, and a message string as the body.
struct AuthzenError(StatusCode, String);

impl AuthzenError {
    fn invalid(f: &InvalidField) -> Self {
        let field = model::authzen_field(&f.field);
        Self(StatusCode::BAD_REQUEST, format!("{field}: {}", f.message))
    }

    fn service(e: &ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) | ServiceError::Decide(DecideError::Invalid(f)) => {
                Self::invalid(f)
            }
            other => {
                let h = HttpError::service(other);
                Self(h.status, h.message)
            }
        }
    }

    /// The per-item form: `decision: false` with the error in the context.
    fn item(&self) -> Value {
        json!({"decision": false, "context": {"error": {"status": self.0.as_u16(), "message": self.1}}})
    }
}

impl From<HttpError> for AuthzenError {
    fn from(h: HttpError) -> Self {
        Self(h.status, h.message)
    }
}

/// `POST /access/v1/evaluation`.
async fn evaluation(State(state): State<HttpState>, request: Request) -> Response {
    let span = super::trace::server_span("authzen.evaluation", request.headers());
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let links = links(&state, Some(request.headers()));
    let started = Instant::now();
    let answer = evaluate_one(&state, &links, request)
        .instrument(span.clone())
        .await;
    let metrics = &state.metrics;
    metrics.observe_request(Surface::AuthZen, started.elapsed());
    respond(&span, request_id, answer)
}

async fn evaluate_one(
    state: &HttpState,
    links: &Links,
    request: Request,
) -> Result<Value, AuthzenError> {
    let (caller, call, body) = read(state, request).await?;
    let evaluation: Evaluation = parse(&body)?;
    decide(state, links, &caller, &call, evaluation)
        .await
        .map_err(|e| AuthzenError::service(&e))
}

/// `POST /access/v1/evaluations`.
async fn evaluations(State(state): State<HttpState>, request: Request) -> Response {
    let span = super::trace::server_span("authzen.evaluations", request.headers());
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let links = links(&state, Some(request.headers()));
    let started = Instant::now();
    let answer = evaluate_many(&state, &links, request)
        .instrument(span.clone())
        .await;
    let metrics = &state.metrics;
    metrics.observe_request(Surface::AuthZen, started.elapsed());
    respond(&span, request_id, answer)
}

async fn evaluate_many(
    state: &HttpState,
    links: &Links,
    request: Request,
) -> Result<Value, AuthzenError> {
    let (caller, call, body) = read(state, request).await?;
    let boxcar: Evaluations = parse(&body)?;
    let semantic = boxcar.semantic().map_err(|f| AuthzenError::invalid(&f))?;
    let items = boxcar.items();
    if items.is_empty() {
        // No items: the single evaluation of the top-level members.
        return decide(state, links, &caller, &call, boxcar.defaults)
            .await
            .map_err(|e| AuthzenError::service(&e));
    }
    if items.len() > MAX_BATCH {
        let f = InvalidField::new("evaluations", format!("at most {MAX_BATCH} items"));
        return Err(AuthzenError::invalid(&f));
    }
    let answers = match semantic {
        Semantic::ExecuteAll => {
            let each = items.into_iter().enumerate().map(|(i, item)| {
                let (caller, call) = (&caller, &call);
                async move { decide_item(state, links, caller, call, item, i).await }
            });
            futures::future::join_all(each).await
        }
        Semantic::DenyOnFirstDeny | Semantic::PermitOnFirstPermit => {
            let stop_on = semantic == Semantic::PermitOnFirstPermit;
            let mut answers = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let answer = decide_item(state, links, &caller, &call, item, i).await;
                let stop = answer["decision"].as_bool() == Some(stop_on);
                answers.push(answer);
                if stop {
                    break;
                }
            }
            answers
        }
    };
    Ok(json!({ "evaluations": answers }))
}

/// One item of an evaluations request, in its own span; an error is `decision: false`.
async fn decide_item(
    state: &HttpState,
    links: &Links,
    caller: &Caller,
    call: &Call,
    item: Evaluation,
    index: usize,
) -> Value {
    let span = spans::decision_span(index);
    match decide(state, links, caller, call, item)
        .instrument(span.clone())
        .await
    {
        Ok(decision) => decision,
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            AuthzenError::service(&e).item()
        }
    }
}

/// Maps, decides and converts one evaluation.
async fn decide(
    state: &HttpState,
    links: &Links,
    caller: &Caller,
    call: &Call,
    evaluation: Evaluation,
) -> Result<Value, ServiceError> {
    let mapped = model::to_request(evaluation)?;
    let enforced = state
        .tollgate
        .enforce(caller, mapped.request, mapped.capability.as_deref(), call)
        .await?;
    Ok(model::decision(&enforced, links))
}

/// The verified caller, how the call reached us, and the body.
async fn read(state: &HttpState, request: Request) -> Result<(Caller, Call, Bytes), AuthzenError> {
    let (parts, body) = request.into_parts();
    let (caller, call) = super::auth::identify(&state.auth, &parts).await?;
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            let f = InvalidField::new("body", format!("larger than {MAX_BODY_BYTES} bytes"));
            AuthzenError::invalid(&f)
        })?;
    Ok((caller, call, body))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AuthzenError> {
    serde_json::from_slice(body).map_err(|e| {
        AuthzenError(
            StatusCode::BAD_REQUEST,
            format!("the body is not a valid request: {e}"),
        )
    })
}

/// Where answers point: the configured public URL, else the request's `Host`.
fn links(state: &HttpState, headers: Option<&HeaderMap>) -> Links {
    if let Some(base) = &state.public_url {
        return Links {
            base: base.trim_end_matches('/').to_string(),
        };
    }
    let host = headers
        .and_then(|h| h.get(axum::http::header::HOST))
        .and_then(|h| h.to_str().ok());
    Links {
        base: host.map(|h| format!("http://{h}")).unwrap_or_default(),
    }
}

fn respond(
    span: &Span,
    request_id: Option<HeaderValue>,
    answer: Result<Value, AuthzenError>,
) -> Response {
    let mut response = match answer {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(AuthzenError(status, message)) => {
            (status, Json(Value::String(message))).into_response()
        }
    };
    super::trace::record_status(span, response.status());
    if let Some(id) = request_id {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    response
}

/// `GET /.well-known/authzen-configuration`: the PDP metadata.
async fn configuration(State(state): State<HttpState>, headers: HeaderMap) -> Json<Value> {
    let base = links(&state, Some(&headers)).base;
    Json(json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
    }))
}
