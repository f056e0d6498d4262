//! What the audit trail records: one [`AuditEvent`] per decision and per approval, capability
//! and bundle event, and the [`AuditRecord`] it becomes once chained.
//!
//! The event is the unit that is hashed: its canonical JSON ([`AuditEvent::canonical`]) is the
//! record's `body`. Canonical means every object's keys sorted at every depth, so the same event
//! always yields the same bytes and the verifier can re-derive the hash.

use serde::{Deserialize, Serialize};

use crate::domain::UnixMillis;

/// Which kind of event a record is. The stored and serialized spelling is [`Self::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditKind {
    /// An `Authorize` decision (ALLOW, DENY or PENDING_APPROVAL).
    #[serde(rename = "decision")]
    Decision,
    /// A PENDING_APPROVAL decision became a durable approval request.
    #[serde(rename = "approval.requested")]
    ApprovalRequested,
    /// A reviewer approved or denied.
    #[serde(rename = "approval.reviewed")]
    ApprovalReviewed,
    /// A reviewer narrowed the request.
    #[serde(rename = "approval.modified")]
    ApprovalModified,
    /// The reviews met every requirement.
    #[serde(rename = "approval.approved")]
    ApprovalApproved,
    /// An eligible reviewer denied: the request is over.
    #[serde(rename = "approval.denied")]
    ApprovalDenied,
    /// Nobody decided before the deadline.
    #[serde(rename = "approval.expired")]
    ApprovalExpired,
    /// The requester withdrew the request.
    #[serde(rename = "approval.cancelled")]
    ApprovalCancelled,
    /// A one-time capability was minted.
    #[serde(rename = "capability.issued")]
    CapabilityIssued,
    /// A capability was used, once.
    #[serde(rename = "capability.redeemed")]
    CapabilityRedeemed,
    /// A redemption was refused (reused, expired, wrong request, bad token).
    #[serde(rename = "capability.refused")]
    CapabilityRefused,
    /// A bundle revision started deciding.
    #[serde(rename = "bundle.activated")]
    BundleActivated,
    /// A bundle failed to load, verify or compile; the previous one stays.
    #[serde(rename = "bundle.rejected")]
    BundleRejected,
    /// An operator let a bundle older than the release floor serve once (a rollback).
    #[serde(rename = "bundle.rollback_allowed")]
    BundleRollbackAllowed,
}

impl AuditKind {
    /// Every kind, for exhaustive tests and parsing.
    pub const ALL: [AuditKind; 14] = [
        Self::Decision,
        Self::ApprovalRequested,
        Self::ApprovalReviewed,
        Self::ApprovalModified,
        Self::ApprovalApproved,
        Self::ApprovalDenied,
        Self::ApprovalExpired,
        Self::ApprovalCancelled,
        Self::CapabilityIssued,
        Self::CapabilityRedeemed,
        Self::CapabilityRefused,
        Self::BundleActivated,
        Self::BundleRejected,
        Self::BundleRollbackAllowed,
    ];

    /// The stored spelling (also the JSON one), e.g. `approval.requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::ApprovalRequested => "approval.requested",
            Self::ApprovalReviewed => "approval.reviewed",
            Self::ApprovalModified => "approval.modified",
            Self::ApprovalApproved => "approval.approved",
            Self::ApprovalDenied => "approval.denied",
            Self::ApprovalExpired => "approval.expired",
            Self::ApprovalCancelled => "approval.cancelled",
            Self::CapabilityIssued => "capability.issued",
            Self::CapabilityRedeemed => "capability.redeemed",
            Self::CapabilityRefused => "capability.refused",
            Self::BundleActivated => "bundle.activated",
            Self::BundleRejected => "bundle.rejected",
            Self::BundleRollbackAllowed => "bundle.rollback_allowed",
        }
    }

    /// Parses the stored spelling; anything else is `None` (a corrupt row, not a default).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing that happened, as recorded. Plain data: who built it decides what goes in, the
/// store only chains and stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Event id, a UUID v7.
    pub id: String,
    /// When.
    pub at: UnixMillis,
    /// What happened.
    pub kind: AuditKind,
    /// The verified caller, reviewer or executor; `tollgate` for the service itself.
    pub actor: String,
    /// The requester ("" for bundle events).
    pub subject_id: String,
    /// The action name.
    pub action: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// ALLOW, DENY or PENDING_APPROVAL for decisions; the event's outcome or "" otherwise.
    pub effect: String,
    /// Why (decision reasons, a refusal's reason, a review's reason).
    pub reasons: Vec<String>,
    /// The `Authorize` decision this event belongs to ("" for bundle events).
    pub decision_id: String,
    /// The approval, "" when none.
    pub approval_id: String,
    /// The capability, "" when none. Never the token itself.
    pub capability_id: String,
    /// The bundle revision that decided (or was activated / rejected).
    pub bundle_revision: String,
    /// The W3C trace id (32 hex) of the call that caused it, or "".
    pub trace_id: String,
    /// The request as `serde_json::to_value(&AuthzRequest)` after masking; `Null` for bundle
    /// events.
    pub input: serde_json::Value,
    /// Kind-specific facts (see the audit contract): for a decision `bundle_digest`, `masked`,
    /// `risk`, `requirements`, `obligations`, `cached`; for a review `verdict`, `reason`,
    /// `reviewer_groups`; for a modify `changes`; for bundle events `bundle_digest`, `error`.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event of `kind` at `at` by `actor` with a fresh id and every other field empty: the
    /// base of the per-kind constructors (`kinds.rs`), and what tests and tools use to forge
    /// raw records. Production code records events through the per-kind constructors.
    pub fn new(kind: AuditKind, at: UnixMillis, actor: impl Into<String>) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            kind,
            actor: actor.into(),
            subject_id: String::new(),
            action: String::new(),
            resource_type: String::new(),
            resource_id: String::new(),
            effect: String::new(),
            reasons: Vec::new(),
            decision_id: String::new(),
            approval_id: String::new(),
            capability_id: String::new(),
            bundle_revision: String::new(),
            trace_id: String::new(),
            input: serde_json::Value::Null,
            detail: serde_json::Value::Null,
        }
    }

    /// The canonical JSON that is stored as `body` and hashed: compact, with the keys of every
    /// object sorted (through `serde_json::Value`, whose maps are ordered without the
    /// `preserve_order` feature), so equal events give equal bytes.
    pub fn canonical(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&serde_json::to_value(self)?)
    }
}

/// An event as stored: its place in the chain and the hashes that pin it there.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The event. Read back from storage it is built from the row's columns (and `input`,
    /// `detail` and `reasons` from `body`) without checking them: the verifier does that.
    pub event: AuditEvent,
    /// The canonical JSON that was hashed.
    pub body: String,
    /// The previous record's hash ([`super::GENESIS_HASH`] for seq 1).
    pub prev_hash: String,
    /// Hex SHA-256 of `prev_hash + "\n" + body`.
    pub hash: String,
}

/// Which records to return; every `Some` must match (AND); `until` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Requester.
    pub subject_id: Option<String>,
    /// Action name.
    pub action: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Effect column (ALLOW, DENY, PENDING_APPROVAL for decisions).
    pub effect: Option<String>,
    /// Approval id.
    pub approval_id: Option<String>,
    /// Decision id.
    pub decision_id: Option<String>,
    /// Event kind.
    pub kind: Option<AuditKind>,
    /// At or after.
    pub since: Option<UnixMillis>,
    /// Before.
    pub until: Option<UnixMillis>,
}

/// A signed statement that the chain had `head_hash` at `seq`: exported elsewhere, it pins
/// everything up to `seq`, so a rewrite of history (or a truncation) shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last record it covers.
    pub seq: i64,
    /// That record's hash.
    pub head_hash: String,
    /// When it was signed.
    pub at: UnixMillis,
    /// PASETO v4.public over `{"seq","head","at"}`, signed with the audit key.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_round_trip_through_every_spelling() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, json!(kind.as_str()));
            assert_eq!(serde_json::from_value::<AuditKind>(json).unwrap(), kind);
        }
        assert_eq!(AuditKind::parse("decided"), None);
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let mut event = AuditEvent::new(AuditKind::Decision, UnixMillis(7), "agent:a");
        event.input = json!({"subject": {"id": "a", "attributes": {"z": 1, "a": 2}}, "action": {}});
        event.detail = json!({"risk": "high", "bundle_digest": "d"});
        let body = event.canonical().unwrap();
        let keys = |s: &str| {
            let mut at = Vec::new();
            for key in ["\"action\"", "\"actor\"", "\"approval_id\"", "\"at\""] {
                at.push(s.find(key).unwrap());
            }
            at
        };
        let positions = keys(&body);
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");
        assert!(body.find("\"a\":2").unwrap() < body.find("\"z\":1").unwrap());
        assert!(body.find("\"bundle_digest\"").unwrap() < body.find("\"risk\"").unwrap());
        assert!(!body.contains(' '), "compact: {body}");
        let back: AuditEvent = serde_json::from_str(&body).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.canonical().unwrap(), body);
    }
}
