//! Errors to `Status`, in exactly one place. Callers get a stable message and, for bad input,
//! a `BadRequest` detail naming the field; internal detail, with its whole cause chain, goes
//! to the log.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::pb;
use crate::{
    approval::WorkflowError,
    domain::InvalidField,
    identity::AuthError,
    service::{DecideError, ServiceError},
    store::StoreError,
    telemetry::ErrorChain,
};

/// `InvalidArgument` naming the field, with a machine-readable field violation.
pub fn invalid(f: &InvalidField) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        f.to_string(),
        ErrorDetails::with_bad_request_violation(f.field.clone(), f.message.clone()),
    )
}

/// The status for a refused caller.
pub fn auth(e: &AuthError) -> Status {
    tracing::warn!(error = %e, "caller refused");
    Status::unauthenticated(e.to_string())
}

/// The status for a use case that gave no answer.
pub fn service(e: &ServiceError) -> Status {
    match e {
        ServiceError::Invalid(f) => invalid(f),
        ServiceError::Decide(d) => decide(d),
        ServiceError::Workflow(w) => workflow(w),
        ServiceError::Forbidden(_) => Status::permission_denied(e.to_string()),
        ServiceError::NarrowedDenied(_) => Status::failed_precondition(e.to_string()),
        ServiceError::Commit(_) => not_committed(e),
        ServiceError::Capability(_) => {
            tracing::error!(error = %ErrorChain(e), "capability signing failed");
            Status::internal("approval workflow failed; nothing was decided")
        }
        ServiceError::AuditRead(_) => {
            tracing::error!(error = %ErrorChain(e), "audit store read failed");
            Status::unavailable("audit store unavailable; retry")
        }
        ServiceError::OutboxRead(_) => {
            tracing::error!(error = %ErrorChain(e), "notification outbox read failed");
            Status::unavailable("notification outbox unavailable; retry")
        }
        // The bundle is the operator's own, so the reason is returned in full.
        ServiceError::Load(l @ crate::policy::LoadError::History(_)) => Status::unavailable(
            format!("bundle not activated, active revision unchanged: {l}"),
        ),
        ServiceError::Load(l) => {
            Status::failed_precondition(format!("bundle rejected, active revision unchanged: {l}"))
        }
        ServiceError::Limited(l) => {
            let s = Status::resource_exhausted(l.to_string());
            match l.retry_after() {
                Some(after) => with_retry_after(s, after),
                None => s,
            }
        }
        ServiceError::ReloadTask(_) => {
            tracing::error!(error = %ErrorChain(e), "reload task failed");
            Status::internal("reload task failed")
        }
    }
}

fn decide(e: &DecideError) -> Status {
    match e {
        DecideError::Invalid(f) => invalid(f),
        DecideError::NoBundle => Status::unavailable(
            "no policy bundle is loaded; nothing can be decided (see PolicyAdmin/GetBundleStatus)",
        ),
        DecideError::SubjectMismatch { .. } => Status::permission_denied(e.to_string()),
    }
}

/// Store and signing failures are logged in full and answered with a stable message: the
/// caller must retry, never proceed.
fn workflow(e: &WorkflowError) -> Status {
    match e {
        WorkflowError::NotFound(_) => Status::not_found(e.to_string()),
        WorkflowError::Ineligible(_)
        | WorkflowError::NotRequester(_)
        | WorkflowError::NotAudience => Status::permission_denied(e.to_string()),
        WorkflowError::NotPending(_) => Status::failed_precondition(e.to_string()),
        WorkflowError::NotNarrower(n) => invalid(&InvalidField::new(
            n.path.replacen("action.params", "params", 1),
            n.message.clone(),
        )),
        WorkflowError::KeyReused => Status::already_exists(e.to_string()),
        WorkflowError::Store(StoreError::QuotaExceeded { .. }) => {
            Status::resource_exhausted(e.to_string())
        }
        WorkflowError::Store(StoreError::Conflict { .. }) => Status::aborted(
            "another reviewer changed this request at the same time; read it again and retry",
        ),
        WorkflowError::Store(_) => {
            tracing::error!(error = %ErrorChain(e), "approval store failed");
            Status::unavailable("approval store unavailable; nothing was decided, retry")
        }
        WorkflowError::Audit(_) => not_committed(e),
        WorkflowError::Corrupt { .. } | WorkflowError::Capability(_) => {
            tracing::error!(error = %ErrorChain(e), "approval workflow failed");
            Status::internal("approval workflow failed; nothing was decided")
        }
    }
}

/// The answer was withheld because its audit record could not be committed (fail closed).
fn not_committed(e: &(dyn std::error::Error + 'static)) -> Status {
    tracing::error!(error = %ErrorChain(e), "audit record not committed; answer withheld");
    Status::unavailable("audit log unavailable; nothing was decided, retry")
}

/// `s` with a `RetryInfo` detail saying when to try again.
fn with_retry_after(s: Status, after: std::time::Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(after));
    Status::with_error_details(s.code(), s.message(), details)
}

/// The error of batch item `index`: the field path within the batch, the code and message
/// the same call alone would have had.
pub fn item_error(index: usize, e: &ServiceError) -> pb::ItemError {
    let prefix = format!("requests[{index}]");
    let field = match e {
        ServiceError::Invalid(f) | ServiceError::Decide(DecideError::Invalid(f)) => {
            format!("{prefix}.{}", f.field)
        }
        ServiceError::Decide(DecideError::SubjectMismatch { field, .. }) => {
            format!("{prefix}.{field}")
        }
        _ => prefix,
    };
    let s = service(e);
    pb::ItemError {
        code: s.code() as i32,
        field,
        message: s.message().to_string(),
    }
}
