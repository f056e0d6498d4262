//! The domain API: one entry per use case, the only thing a surface (gRPC, HTTP, the
//! console, chat callbacks, Envoy, AuthZEN, MCP) calls. Each entry takes the verified
//! [`Caller`] and a domain request and returns a domain answer; this is the only place that
//! checks roles and read authorization, so a rule enforced for one surface holds for all.
//!
//! - `authorize`: [`Tollgate::authorize`], [`Tollgate::authorize_batch`]
//! - `enforce`: [`Tollgate::enforce`], for enforcement points that retry with a capability
//! - `approvals`: [`Tollgate::review`], [`Tollgate::get`], [`Tollgate::list`],
//!   [`Tollgate::cancel`], [`Tollgate::watch`], [`Tollgate::changes`], [`Tollgate::redeem`]
//! - `audit`: [`Tollgate::query_audit`], [`Tollgate::approval_history`]
//! - `admin`: [`Tollgate::bundle_status`], [`Tollgate::reload`], [`Tollgate::deliveries`]
//! - [`access`]: roles and who may read which approval
//! - `decide`: the decision pipeline the use cases share ([`Decider`])

pub mod access;
mod admin;
mod approvals;
mod audit;
mod authorize;
mod decide;
mod enforce;
pub mod release;
pub mod spans;

use std::{sync::Arc, time::Duration};

pub use access::{Role, RoleSet, Roles, RolesConfig};
pub use admin::BundleStatus;
pub use approvals::{
    check_review_text, ApprovalChange, ApprovalList, ApprovalQuery, ChangeEvent, ChangeStream,
    ReviewRequest, WatchStream, MAX_REASON_BYTES,
};
pub use audit::{AuditPage, AuditQuery, HistoryEntry};
pub use authorize::{Answer, BatchAnswer, Mode, MAX_BATCH};
pub use decide::{DecideError, Decider};
pub use enforce::Enforced;

use crate::{
    approval::{Workflow, WorkflowError},
    audit::Auditor,
    capability::{CapabilityError, CapabilityKey},
    domain::{AuditContext, Caller, InvalidField},
    policy::LoadError,
    store::{AuditLog, CommitError, OutboxStore, StoreError},
    telemetry::Metrics,
};

/// Why a use case gave no answer. Mapped to a protocol status in exactly one place per
/// surface; the message is safe to show the caller, the source chain goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A request field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No decision could be made.
    #[error(transparent)]
    Decide(#[from] DecideError),
    /// An approval step was refused or failed.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A reviewer's narrowing is denied by the policy.
    #[error("the narrowed request is denied by policy: {}", .0.join("; "))]
    NarrowedDenied(Vec<String>),
    /// The answer's audit record (or capability) could not be committed: nothing answered.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// Signing a capability failed.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// Reading the audit trail failed.
    #[error("audit store unavailable")]
    AuditRead(#[source] StoreError),
    /// Reading the notification outbox failed.
    #[error("notification outbox unavailable")]
    OutboxRead(#[source] StoreError),
    /// A reload was refused; the serving bundle is unchanged.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The reload task died.
    #[error("the reload task failed")]
    ReloadTask(#[source] tokio::task::JoinError),
    /// The caller is over its rate limit.
    #[error(transparent)]
    Limited(#[from] crate::identity::limits::LimitError),
}

/// How a call reached the service: what the surface knows that the audit trail keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    /// The caller's own W3C `traceparent` ("" when it sent none): kept for the records when
    /// spans are not exported.
    pub inbound_traceparent: String,
}

impl Call {
    /// The audit context of `caller` making this call, in the trace of the current span (the
    /// surface's server span, or a batch item's span).
    fn audit(&self, caller: &Caller) -> AuditContext {
        let trace_parent = crate::telemetry::trace::traceparent(
            &tracing::Span::current(),
            &self.inbound_traceparent,
        );
        AuditContext::new(caller.actor(), trace_parent)
    }
}

/// What [`Tollgate::new`] needs.
pub struct Parts {
    /// The decision pipeline.
    pub decider: Decider,
    /// The approval workflow.
    pub workflow: Workflow,
    /// Records answers without a state change.
    pub auditor: Auditor,
    /// The audit trail, for queries.
    pub audit_log: Arc<dyn AuditLog>,
    /// The notification outbox, for the admins' view of failing deliveries.
    pub outbox: Arc<dyn OutboxStore>,
    /// Signs capabilities for ALLOW answers.
    pub key: Arc<CapabilityKey>,
    /// Who holds which role.
    pub roles: Roles,
    /// What counts as a fresh strong authentication for step-up requirements.
    pub step_up: crate::identity::jwt::StepUpPolicy,
    /// Per-identity rate limits and the pending quota.
    pub limits: Arc<crate::identity::limits::RateLimits>,
    /// Pending approval requests one subject may have open at once.
    pub max_pending_per_subject: u32,
    /// Lifetime of capabilities minted for ALLOW answers.
    pub allow_capability_ttl: Duration,
    /// Decision counters and latencies.
    pub metrics: Metrics,
}

/// The service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Tollgate {
    inner: Arc<Parts>,
    /// Each caller's roles per bundle digest, when a bundle decides them (`tollgate.api`).
    held: moka::sync::Cache<(String, crate::domain::Principal), RoleSet>,
}

/// How long a caller's roles decided by the bundle are remembered (a new bundle revision
/// decides afresh at once: its digest is part of the key).
const ROLES_TTL: Duration = Duration::from_secs(60);

impl Tollgate {
    /// The service over `parts`.
    pub fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(parts),
            held: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ROLES_TTL)
                .build(),
        }
    }

    /// The roles `caller` holds: all of them for the unauthenticated developer in insecure
    /// mode; the serving bundle's `tollgate.api` roles when it defines them (none at all if
    /// they fail to evaluate: fail closed); else the configured ones.
    fn roles_of(&self, caller: &Caller) -> RoleSet {
        let Some(p) = caller.principal() else {
            return RoleSet::ALL;
        };
        let Ok(bundle) = self.inner.decider.snapshot() else {
            return self.inner.roles.of(p);
        };
        // Keyed by the fields themselves (a superset of the roles rule's input), not by a
        // string joined from them, whose parts could run into each other.
        let key = (bundle.digest.clone(), p.clone());
        self.held.get_with(key, || match crate::policy::api::roles(&bundle, p) {
            Ok(Some(names)) => RoleSet::named(names.iter().map(String::as_str)),
            Ok(None) => self.inner.roles.of(p),
            Err(e) => {
                tracing::error!(error = %e, caller = %p.id, "tollgate.api roles failed to evaluate; the caller holds no role");
                RoleSet::NONE
            }
        })
    }

    /// Refuses `caller` unless it holds `role`; returns every role it holds.
    fn require(&self, caller: &Caller, role: Role) -> Result<RoleSet, ServiceError> {
        let held = self.roles_of(caller);
        Roles::require(caller, held, role)?;
        Ok(held)
    }

    /// The decision pipeline (health, status, batch snapshots).
    pub fn decider(&self) -> &Decider {
        &self.inner.decider
    }

    /// The approval workflow (the sweeper and the pending gauge run over it).
    pub fn workflow(&self) -> &Workflow {
        &self.inner.workflow
    }
}
