//! Errors to HTTP answers, in exactly one place for the HTTP surfaces: a status code and a
//! JSON body `{"error": {"code", "message", "field"}}` with a stable message; internal detail
//! (with its cause chain) goes to the log, as for gRPC.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{
    approval::WorkflowError,
    domain::InvalidField,
    identity::AuthError,
    service::{DecideError, ServiceError},
    store::StoreError,
    telemetry::ErrorChain,
};

/// An HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The status code.
    pub status: StatusCode,
    /// A short machine-readable code (`invalid_argument`, `permission_denied`, ...).
    pub code: &'static str,
    /// What went wrong, safe to show.
    pub message: String,
    /// The offending field, for bad input.
    pub field: Option<String>,
}

impl HttpError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// Bad input naming the field.
    pub fn invalid(f: &InvalidField) -> Self {
        Self {
            field: Some(f.field.clone()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_argument", f.to_string())
        }
    }

    /// A refused caller.
    pub fn unauthenticated(e: &AuthError) -> Self {
        tracing::warn!(error = %e, "caller refused");
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
    }

    /// A use case that gave no answer.
    pub fn service(e: &ServiceError) -> Self {
        use StatusCode as S;
        match e {
            ServiceError::Invalid(f) | ServiceError::Decide(DecideError::Invalid(f)) => {
                Self::invalid(f)
            }
            ServiceError::Decide(DecideError::NoBundle) => {
                Self::new(S::SERVICE_UNAVAILABLE, "unavailable", e.to_string())
            }
            ServiceError::Decide(DecideError::SubjectMismatch { .. })
            | ServiceError::Forbidden(_) => {
                Self::new(S::FORBIDDEN, "permission_denied", e.to_string())
            }
            ServiceError::NarrowedDenied(_) => {
                Self::new(S::CONFLICT, "failed_precondition", e.to_string())
            }
            ServiceError::Limited(_) => {
                Self::new(S::TOO_MANY_REQUESTS, "resource_exhausted", e.to_string())
            }
            ServiceError::Load(_) => Self::new(S::CONFLICT, "failed_precondition", e.to_string()),
            ServiceError::Workflow(w) => Self::workflow(w),
            ServiceError::Commit(_) | ServiceError::AuditRead(_) | ServiceError::OutboxRead(_) => {
                tracing::error!(error = %ErrorChain(e), "store unavailable");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "store unavailable; retry",
                )
            }
            ServiceError::Capability(_) | ServiceError::ReloadTask(_) => {
                tracing::error!(error = %ErrorChain(e), "internal failure");
                Self::new(S::INTERNAL_SERVER_ERROR, "internal", "internal failure")
            }
        }
    }

    fn workflow(e: &WorkflowError) -> Self {
        use StatusCode as S;
        match e {
            WorkflowError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", e.to_string()),
            WorkflowError::Ineligible(_)
            | WorkflowError::NotRequester(_)
            | WorkflowError::NotAudience => {
                Self::new(S::FORBIDDEN, "permission_denied", e.to_string())
            }
            WorkflowError::NotPending(_) => {
                Self::new(S::CONFLICT, "failed_precondition", e.to_string())
            }
            WorkflowError::NotNarrower(n) => Self::invalid(&InvalidField::new(
                n.path.replacen("action.params", "params", 1),
                n.message.clone(),
            )),
            WorkflowError::KeyReused => Self::new(S::CONFLICT, "already_exists", e.to_string()),
            WorkflowError::Store(StoreError::QuotaExceeded { .. }) => {
                Self::new(S::TOO_MANY_REQUESTS, "resource_exhausted", e.to_string())
            }
            WorkflowError::Store(StoreError::Conflict { .. }) => Self::new(
                S::CONFLICT,
                "aborted",
                "changed concurrently; read it again and retry",
            ),
            WorkflowError::Store(_) | WorkflowError::Audit(_) => {
                tracing::error!(error = %ErrorChain(e), "store unavailable");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "store unavailable; retry",
                )
            }
            WorkflowError::Corrupt { .. } | WorkflowError::Capability(_) => {
                tracing::error!(error = %ErrorChain(e), "approval workflow failed");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "approval workflow failed",
                )
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        (self.status, Json(body)).into_response()
    }
}
