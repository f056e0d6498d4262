//! Errors to `Status`, in exactly one place. Callers get a stable message and, for bad input,
//! a `BadRequest` detail naming the field; internal detail stays in the log.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    approval::WorkflowError, audit::AuditError, domain::InvalidField, identity::AuthError,
    policy::LoadError, service::DecideError,
};

/// `InvalidArgument` naming the field, with a machine-readable field violation.
pub fn invalid(f: &InvalidField) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        f.to_string(),
        ErrorDetails::with_bad_request_violation(f.field.clone(), f.message.clone()),
    )
}

/// The status for a failed decision.
pub fn decide(e: &DecideError) -> Status {
    match e {
        DecideError::Invalid(f) => invalid(f),
        DecideError::NoBundle => Status::unavailable(
            "no policy bundle is loaded; nothing can be decided (see PolicyAdmin/GetBundleStatus)",
        ),
        DecideError::SubjectMismatch { .. } => Status::permission_denied(e.to_string()),
    }
}

/// The status for a refused caller.
pub fn auth(e: &AuthError) -> Status {
    tracing::warn!(error = %e, "caller refused");
    Status::unauthenticated(e.to_string())
}

/// The status for a rejected reload: the bundle is the operator's own, so the reason is
/// returned in full.
pub fn load(e: &LoadError) -> Status {
    Status::failed_precondition(format!("bundle rejected, active revision unchanged: {e}"))
}

/// The status for a caller who may not read the audit trail.
pub fn not_auditor(caller: &str) -> Status {
    tracing::warn!(caller = %caller, "audit query refused: not an auditor");
    Status::permission_denied("caller is not in the auditor or admin group")
}

/// The status for a failed store read. The detail goes to the log; the caller may retry.
pub fn store(e: &crate::store::StoreError) -> Status {
    tracing::error!(error = %e, "audit store read failed");
    Status::unavailable("audit store unavailable; retry")
}

/// The stable item error for a batch entry.
pub fn item_code(e: &DecideError) -> (i32, String) {
    let s = decide(e);
    (s.code() as i32, s.message().to_string())
}

/// The status for a failed workflow step. Store and signing failures are logged in full
/// and answered with a stable message: the caller must retry, never proceed.
pub fn workflow(e: &WorkflowError) -> Status {
    match e {
        WorkflowError::NotFound(_) => Status::not_found(e.to_string()),
        WorkflowError::Ineligible(_) | WorkflowError::NotRequester(_) => {
            Status::permission_denied(e.to_string())
        }
        WorkflowError::NotPending(_) => Status::failed_precondition(e.to_string()),
        WorkflowError::NotNarrower(n) => invalid(&InvalidField::new(
            n.path.replacen("action.params", "params", 1),
            n.message.clone(),
        )),
        WorkflowError::KeyReused => Status::already_exists(e.to_string()),
        WorkflowError::Store(crate::store::StoreError::Conflict { .. }) => Status::aborted(
            "another reviewer changed this request at the same time; read it again and retry",
        ),
        WorkflowError::Store(_) => {
            tracing::error!(error = %e, "approval store failed");
            Status::unavailable("approval store unavailable; nothing was decided, retry")
        }
        WorkflowError::Audit(a) => audit(a),
        WorkflowError::Corrupt { .. } | WorkflowError::Capability(_) => {
            tracing::error!(error = %e, "approval workflow failed");
            Status::internal("approval workflow failed; nothing was decided")
        }
    }
}

/// The status when the audit record of an answer could not be committed: the answer is
/// withheld (fail closed) and the caller retries.
pub fn audit(e: &AuditError) -> Status {
    tracing::error!(error = %e, "audit record not committed; answer withheld");
    Status::unavailable("audit log unavailable; nothing was decided, retry")
}
