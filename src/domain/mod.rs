//! The product's vocabulary: what is asked ([`AuthzRequest`]), by whom ([`Caller`]), what the
//! policy said ([`PolicyOutcome`]), what is answered ([`Decision`]), the approval and
//! capability records, and what the audit trail records ([`AuditEvent`]). Pure data and pure
//! functions: no protocol types, no policy engine, no storage.

mod approval;
mod audit;
mod binding;
mod canonical;
mod decision;
mod identity;
mod listing;
mod narrow;
mod notify;
mod request;
mod time;
mod validate;

pub use approval::{
    Approval, ApprovalState, Capability, CapabilityState, NewApproval, RedeemOutcome,
    RedeemRefusal, RequestChange, Review, ReviewOutcome, ReviewVerdict,
};
pub use audit::{
    canonicalize, chain, chain_canonical, link, trace_id_of, AuditContext, AuditEvent, AuditFilter,
    AuditKind, AuditRecord, Canonical, Checkpoint, Narrowing, RecordedInput, RedeemedCapability,
    GENESIS_HASH, SERVICE_ACTOR,
};
pub use binding::Bound;
pub use canonical::{
    first_forbidden, owner_held_by, CharClass, IdentityError, IdentityId, MAX_IDENTITY_BYTES,
    TEAM_PREFIX,
};
pub use decision::{
    decide, Decided, Decision, Delegation, Effect, EvalFailure, FailureKind, PolicyOutcome,
    Requirement, Verdict,
};
pub use identity::{
    canonical_id, same_identity, same_party, AuthMethod, Authentication, Caller, Principal,
    SubjectKind, Viewer, UNAUTHENTICATED_ACTOR,
};
pub use listing::{ApprovalFilter, ApprovalPage, Page};
pub use narrow::{narrowing, NotNarrower, ParamChange};
pub use notify::{
    Delivery, DeliveryOutcome, DeliveryState, DeliveryStats, NewDelivery, NotifyEvent, NotifyKind,
    Routed,
};
pub use request::{Action, AuthzRequest, Context, Resource, Subject};
pub use time::UnixMillis;
pub use validate::{InputLimits, InvalidField};
