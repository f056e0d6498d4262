//! Approval requests, reviews and one-time capabilities as stored records: pure data and the
//! state machines' rules, with no SQL.
//!
//! Times are [`UnixMillis`] throughout; the caller passes `now` explicitly so tests control
//! the clock.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::UnixMillis;

/// Where an approval request is in its life. Pending is the only non-terminal state: every
/// other state is final, so a decided request can never be decided again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for reviewers.
    Pending,
    /// Reviewers approved; a capability may be minted.
    Approved,
    /// An eligible reviewer denied.
    Denied,
    /// The deadline passed before a decision.
    Expired,
    /// The requester withdrew it.
    Cancelled,
}

impl ApprovalState {
    /// Every state, for exhaustive tests and parsing.
    pub const ALL: [ApprovalState; 5] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Cancelled,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling; anything else is `None` (a corrupt row, not a default).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// True when no further transition is allowed.
    pub fn is_terminal(self) -> bool {
        self != Self::Pending
    }

    /// Whether `self -> to` is an edge of the state machine: only Pending moves, and only to a
    /// terminal state.
    pub fn can_become(self, to: ApprovalState) -> bool {
        self == Self::Pending && to.is_terminal()
    }
}

/// Where a one-time capability is in its life. Issued is the only state that redeems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityState {
    /// Minted and not yet used.
    Issued,
    /// Used once; never usable again.
    Redeemed,
    /// Its deadline passed unused.
    Expired,
    /// Withdrawn before use.
    Revoked,
}

impl CapabilityState {
    /// Every state, for exhaustive tests and parsing.
    pub const ALL: [CapabilityState; 4] =
        [Self::Issued, Self::Redeemed, Self::Expired, Self::Revoked];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Redeemed => "redeemed",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the stored spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// True when the capability can never be redeemed.
    pub fn is_terminal(self) -> bool {
        self != Self::Issued
    }
}

/// What a reviewer answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// Approve the request as asked.
    Approve,
    /// Refuse it; an eligible deny ends the request.
    Deny,
    /// Approve a narrowed version of it.
    Modify,
}

impl ReviewVerdict {
    /// Every verdict, for exhaustive tests and parsing.
    pub const ALL: [ReviewVerdict; 3] = [Self::Approve, Self::Deny, Self::Modify];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Modify => "modify",
        }
    }

    /// Parses the stored spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// An approval request about to be stored. The caller chooses the id (a UUID v7, so ids sort
/// by creation time and serve as a pagination cursor) and computes the request hash.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApproval {
    /// UUID v7.
    pub id: String,
    /// The decision that asked for approval.
    pub decision_id: String,
    /// The verified requester.
    pub subject_id: String,
    /// The client's idempotency key; empty means "no key", so every create is new.
    pub request_id: String,
    /// The action name, kept as a column so reviewers can filter on it.
    pub action: String,
    /// The `AuthzRequest` as JSON.
    pub request: Value,
    /// [`AuthzRequest::request_hash`](super::AuthzRequest::request_hash) of the request.
    pub request_hash: String,
    /// The policy's approval requirements as JSON.
    pub requirements: Value,
    /// Bundle revision that decided, for replay.
    pub bundle_revision: String,
    /// Digest of the bundle that decided: part of the capability binding.
    pub bundle_digest: String,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Absolute deadline.
    pub expires_at: UnixMillis,
    /// The W3C `traceparent` of the decision that asked, so the approval's later events join
    /// that trace ("" when the call carried none).
    pub trace_parent: String,
    /// The verified caller that asked (the requester itself, or the gateway that asked for
    /// it): a party that may read the approval and hold its capability.
    pub requested_by: String,
    /// Who may redeem the capability approval mints: identities and `group:` entries.
    pub capability_audience: Vec<String>,
    /// Whether the requester's credentials proved the request's `on_behalf_of` (RFC 8693
    /// `act`): only a proven human may read the request as a party.
    pub on_behalf_of_proven: bool,
}

/// A stored approval request.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// UUID v7.
    pub id: String,
    /// The decision that asked for approval.
    pub decision_id: String,
    /// The verified requester.
    pub subject_id: String,
    /// The client's idempotency key (may be empty).
    pub request_id: String,
    /// The action name.
    pub action: String,
    /// The `AuthzRequest` as JSON.
    pub request: Value,
    /// Hex SHA-256 of the canonical request.
    pub request_hash: String,
    /// The policy's approval requirements as JSON.
    pub requirements: Value,
    /// Bundle revision that decided.
    pub bundle_revision: String,
    /// Digest of the bundle that decided: part of the capability binding.
    pub bundle_digest: String,
    /// Current state, as observed by the read that returned it (see [`Approval::observed_at`]).
    pub state: ApprovalState,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Absolute deadline.
    pub expires_at: UnixMillis,
    /// Time of the last state change.
    pub updated_at: UnixMillis,
    /// The request as first asked, when a reviewer narrowed it (`request` is then the
    /// narrowed one, and the capability binds to it).
    pub original_request: Option<Value>,
    /// The W3C `traceparent` of the decision that asked ("" when none).
    pub trace_parent: String,
    /// The verified caller that asked (the requester, or its gateway).
    pub requested_by: String,
    /// Who may redeem the capability approval mints.
    pub capability_audience: Vec<String>,
    /// Whether the request's `on_behalf_of` was proven by the requester's credentials.
    pub on_behalf_of_proven: bool,
}

/// A reviewer's narrowing of a pending request: the new request, its binding hash and the
/// requirements the policy gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestChange {
    /// The narrowed `AuthzRequest` as JSON.
    pub request: Value,
    /// Its binding hash.
    pub request_hash: String,
    /// Its approval requirements as JSON.
    pub requirements: Value,
    /// The binding hash of the request the reviewer narrowed; the change applies only if the
    /// approval still holds that request.
    pub previous_hash: String,
}

impl NewApproval {
    /// The record as first stored: pending, never updated.
    pub fn into_pending(self) -> Approval {
        let NewApproval {
            id,
            decision_id,
            subject_id,
            request_id,
            action,
            request,
            request_hash,
            requirements,
            bundle_revision,
            bundle_digest,
            created_at,
            expires_at,
            trace_parent,
            requested_by,
            capability_audience,
            on_behalf_of_proven,
        } = self;
        Approval {
            id,
            decision_id,
            subject_id,
            request_id,
            action,
            request,
            request_hash,
            requirements,
            bundle_revision,
            bundle_digest,
            state: ApprovalState::Pending,
            created_at,
            expires_at,
            updated_at: created_at,
            original_request: None,
            trace_parent,
            requested_by,
            capability_audience,
            on_behalf_of_proven,
        }
    }
}

impl Approval {
    /// The request under review, as stored.
    pub fn parsed_request(&self) -> Result<super::AuthzRequest, serde_json::Error> {
        serde_json::from_value(self.request.clone())
    }

    /// The requirements reviewers must satisfy, as stored.
    pub fn parsed_requirements(&self) -> Result<Vec<super::Requirement>, serde_json::Error> {
        serde_json::from_value(self.requirements.clone())
    }

    /// The approval as seen at `now`: a pending request past its deadline reads as Expired even
    /// before the sweeper has written that down, so no reader can act on a stale Pending.
    pub fn observed_at(mut self, now: UnixMillis) -> Self {
        if self.state == ApprovalState::Pending && self.expires_at <= now {
            self.state = ApprovalState::Expired;
        }
        self
    }

    /// This pending approval as a review at `at` leaves it once committed: narrowed by
    /// `change` (the first request kept as the original), then moved to `settled`. What the
    /// store's `NARROW_REQUEST` and transition statements write, so the reviewer's answer needs
    /// no second read.
    pub fn reviewed(
        mut self,
        change: Option<&RequestChange>,
        settled: Option<ApprovalState>,
        at: UnixMillis,
    ) -> Self {
        if let Some(change) = change {
            let first = std::mem::replace(&mut self.request, change.request.clone());
            self.original_request.get_or_insert(first);
            self.request_hash.clone_from(&change.request_hash);
            self.requirements = change.requirements.clone();
            self.updated_at = at;
        }
        if let Some(state) = settled {
            self.state = state;
            self.updated_at = at;
        }
        self
    }
}

/// One reviewer's answer to one approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The approval answered.
    pub approval_id: String,
    /// The verified reviewer; counts once per approval.
    pub reviewer_id: String,
    /// What they answered.
    pub verdict: ReviewVerdict,
    /// Why (required by the service).
    pub reason: String,
    /// The reviewer's groups when they answered, for quorum checks and audit.
    pub groups: Vec<String>,
    /// When.
    pub at: UnixMillis,
    /// Whether the reviewer had just authenticated strongly (step-up): only such reviews
    /// count toward a requirement that asks for step-up.
    pub stepped_up: bool,
}

/// A single-use capability's server-side record: the signed token carries the same id (`jti`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// Unique id, the token's `jti`.
    pub id: String,
    /// The approval it was minted for; `None` for capabilities attached to an ALLOW.
    pub approval_id: Option<String>,
    /// Hex SHA-256 of the canonical request it is bound to.
    pub request_hash: String,
    /// Current state, as observed by the read that returned it.
    pub state: CapabilityState,
    /// Mint time.
    pub issued_at: UnixMillis,
    /// Absolute deadline.
    pub expires_at: UnixMillis,
    /// When it was redeemed.
    pub redeemed_at: Option<UnixMillis>,
    /// Who may redeem it: identities and `group:` entries.
    pub audience: Vec<String>,
}

impl Capability {
    /// The capability as seen at `now`: an issued one past its deadline reads as Expired.
    pub fn observed_at(mut self, now: UnixMillis) -> Self {
        if self.state == CapabilityState::Issued && self.expires_at <= now {
            self.state = CapabilityState::Expired;
        }
        self
    }
}

/// The result of presenting a capability for redemption. Exactly one presenter ever sees
/// `Redeemed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedeemOutcome {
    /// This call used it; the action may proceed.
    Redeemed,
    /// It was used before.
    AlreadyRedeemed,
    /// Its deadline has passed.
    Expired,
    /// It was withdrawn.
    Revoked,
    /// The presented request is not the one it was minted for.
    HashMismatch,
    /// No such capability.
    NotFound,
}

impl RedeemOutcome {
    /// Why a stored capability refused a presentation, judged in a fixed order (state, then
    /// deadline, then binding) so the answer does not depend on timing. `Redeemed` is never
    /// returned: only the atomic update may say that.
    pub fn refusal(cap: &Capability, request_hash: &str, now: UnixMillis) -> Self {
        match cap.state {
            CapabilityState::Redeemed => Self::AlreadyRedeemed,
            CapabilityState::Revoked => Self::Revoked,
            CapabilityState::Expired => Self::Expired,
            CapabilityState::Issued if cap.expires_at <= now => Self::Expired,
            CapabilityState::Issued if cap.request_hash != request_hash => Self::HashMismatch,
            // Issued, in time and bound to this request, yet the update did not take it: a
            // concurrent redeemer won between the update and this read.
            CapabilityState::Issued => Self::AlreadyRedeemed,
        }
    }
}

/// Why a redemption was refused, as a value a caller can act on (a gateway tells a used-up
/// approval, after which an identical call asks anew, from a call that is simply wrong); the
/// refusal's text stays for people and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedeemRefusal {
    /// The token is malformed, signed by another key, or its claims are not ours.
    Invalid,
    /// No such capability is stored.
    NotFound,
    /// It was used before (by this caller or a concurrent one).
    AlreadyRedeemed,
    /// Its deadline has passed.
    Expired,
    /// It was withdrawn.
    Revoked,
    /// The presented request is not the one it was minted for.
    RequestMismatch,
    /// Its approval is no longer approved (e.g. withdrawn after the capability was minted).
    ApprovalNotInForce,
    /// The serving policy now denies the presented request.
    PolicyDenies,
}

/// The result of recording a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Recorded; every review of the approval so far, oldest first.
    Recorded(Vec<Review>),
    /// This reviewer already answered this approval; they count once.
    Duplicate,
    /// The approval no longer takes reviews (its state as observed now).
    NotPending(ApprovalState),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in ApprovalState::ALL {
            assert_eq!(ApprovalState::parse(s.as_str()), Some(s));
        }
        for s in CapabilityState::ALL {
            assert_eq!(CapabilityState::parse(s.as_str()), Some(s));
        }
        for v in ReviewVerdict::ALL {
            assert_eq!(ReviewVerdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(ApprovalState::parse("PENDING"), None);
        assert_eq!(CapabilityState::parse(""), None);
        assert_eq!(ReviewVerdict::parse("approved"), None);
    }

    #[test]
    fn only_pending_moves_and_only_to_terminal_states() {
        for from in ApprovalState::ALL {
            for to in ApprovalState::ALL {
                let expected = from == ApprovalState::Pending && to != ApprovalState::Pending;
                assert_eq!(from.can_become(to), expected, "{from:?} -> {to:?}");
            }
        }
        assert!(!ApprovalState::Pending.is_terminal());
        assert!(ApprovalState::Cancelled.is_terminal());
        assert!(!CapabilityState::Issued.is_terminal());
        assert!(CapabilityState::Redeemed.is_terminal());
    }

    fn approval(expires_at: i64) -> Approval {
        let expires_at = UnixMillis(expires_at);
        NewApproval {
            id: "a".into(),
            decision_id: "d".into(),
            subject_id: "agent:x".into(),
            request_id: String::new(),
            action: "data.export".into(),
            request: Value::Null,
            request_hash: "h".into(),
            requirements: Value::Null,
            bundle_revision: "r1".into(),
            bundle_digest: "sha256:d".into(),
            created_at: UnixMillis(10),
            expires_at,
            trace_parent: String::new(),
            requested_by: String::new(),
            capability_audience: Vec::new(),
            on_behalf_of_proven: false,
        }
        .into_pending()
    }

    #[test]
    fn pending_reads_as_expired_at_and_after_its_deadline() {
        assert_eq!(
            approval(100).observed_at(UnixMillis(99)).state,
            ApprovalState::Pending
        );
        assert_eq!(
            approval(100).observed_at(UnixMillis(100)).state,
            ApprovalState::Expired
        );
        let mut denied = approval(100);
        denied.state = ApprovalState::Denied;
        assert_eq!(
            denied.observed_at(UnixMillis(500)).state,
            ApprovalState::Denied
        );
        assert_eq!(approval(100).updated_at, UnixMillis(10));
    }

    fn cap(state: CapabilityState) -> Capability {
        Capability {
            id: "c".into(),
            approval_id: None,
            request_hash: "h".into(),
            state,
            issued_at: UnixMillis(0),
            expires_at: UnixMillis(100),
            redeemed_at: None,
            audience: Vec::new(),
        }
    }

    #[test]
    fn refusal_reasons_follow_state_then_deadline_then_binding() {
        use RedeemOutcome as R;
        assert_eq!(
            R::refusal(&cap(CapabilityState::Redeemed), "x", UnixMillis(500)),
            R::AlreadyRedeemed
        );
        assert_eq!(
            R::refusal(&cap(CapabilityState::Revoked), "h", UnixMillis(0)),
            R::Revoked
        );
        assert_eq!(
            R::refusal(&cap(CapabilityState::Expired), "h", UnixMillis(0)),
            R::Expired
        );
        assert_eq!(
            R::refusal(&cap(CapabilityState::Issued), "x", UnixMillis(100)),
            R::Expired
        );
        assert_eq!(
            R::refusal(&cap(CapabilityState::Issued), "x", UnixMillis(99)),
            R::HashMismatch
        );
        assert_eq!(
            R::refusal(&cap(CapabilityState::Issued), "h", UnixMillis(99)),
            R::AlreadyRedeemed
        );
        assert_eq!(
            cap(CapabilityState::Issued)
                .observed_at(UnixMillis(100))
                .state,
            CapabilityState::Expired
        );
    }
}
