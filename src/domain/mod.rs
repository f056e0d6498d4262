//! The product's vocabulary: what is asked ([`AuthzRequest`]), what the policy said
//! ([`PolicyOutcome`]) and what is answered ([`Decision`]). Pure data and pure functions: no
//! protocol types, no policy engine, no storage.

mod approval;
mod binding;
mod decision;
mod narrow;
mod request;
mod validate;

pub use approval::{
    unix_millis, Approval, ApprovalState, Capability, CapabilityState, NewApproval, RedeemOutcome,
    RequestChange, Review, ReviewOutcome, ReviewVerdict,
};
pub use decision::{
    decide, Decision, Effect, EvalFailure, FailureKind, PolicyOutcome, Requirement, Verdict,
};
pub use narrow::{narrowing, NotNarrower, ParamChange};
pub use request::{Action, AuthzRequest, Context, Resource, Subject};
pub use validate::{InputLimits, InvalidField};
