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
    /// object sorted, so equal events give equal bytes. The event's own fields are written in
    /// key order by [`Sorted`]; `input` and `detail` are `serde_json::Value`s, whose maps are
    /// ordered (serde_json without `preserve_order`). The same bytes as serialising
    /// `serde_json::to_value(self)`, without building that copy of the event (the tests
    /// compare the two on generated events).
    pub fn canonical(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Sorted::of(self))
    }
}

/// An [`AuditEvent`]'s fields by reference, declared (so serialised) in key order.
#[derive(Serialize)]
struct Sorted<'a> {
    action: &'a str,
    actor: &'a str,
    approval_id: &'a str,
    at: UnixMillis,
    bundle_revision: &'a str,
    capability_id: &'a str,
    decision_id: &'a str,
    detail: &'a serde_json::Value,
    effect: &'a str,
    id: &'a str,
    input: &'a serde_json::Value,
    kind: AuditKind,
    reasons: &'a [String],
    resource_id: &'a str,
    resource_type: &'a str,
    subject_id: &'a str,
    trace_id: &'a str,
}

impl<'a> Sorted<'a> {
    fn of(event: &'a AuditEvent) -> Self {
        // Every field named: a field added to the event fails to compile here until it is
        // placed in key order above.
        let AuditEvent {
            id,
            at,
            kind,
            actor,
            subject_id,
            action,
            resource_type,
            resource_id,
            effect,
            reasons,
            decision_id,
            approval_id,
            capability_id,
            bundle_revision,
            trace_id,
            input,
            detail,
        } = event;
        Self {
            action,
            actor,
            approval_id,
            at: *at,
            bundle_revision,
            capability_id,
            decision_id,
            detail,
            effect,
            id,
            input,
            kind: *kind,
            reasons,
            resource_id,
            resource_type,
            subject_id,
            trace_id,
        }
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
    use proptest::prelude::*;
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

    /// The canonical form as it was first defined (and as every stored chain was hashed):
    /// the event through `serde_json::Value`.
    fn through_value(event: &AuditEvent) -> String {
        serde_json::to_string(&serde_json::to_value(event).unwrap()).unwrap()
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(".*", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    prop_compose! {
        fn event()(
            texts in prop::collection::vec(".*", 13),
            at in any::<i64>(),
            kind in prop::sample::select(AuditKind::ALL.to_vec()),
            reasons in prop::collection::vec(".*", 0..3),
            input in json_value(),
            detail in json_value(),
        ) -> AuditEvent {
            let mut t = texts.into_iter();
            let mut next = || t.next().unwrap_or_default();
            AuditEvent {
                id: next(),
                at: UnixMillis(at),
                kind,
                actor: next(),
                subject_id: next(),
                action: next(),
                resource_type: next(),
                resource_id: next(),
                effect: next(),
                reasons,
                decision_id: next(),
                approval_id: next(),
                capability_id: next(),
                bundle_revision: next(),
                trace_id: next(),
                input,
                detail,
            }
        }
    }

    proptest! {
        /// Every stored chain stays verifiable: the canonical form is byte for byte the one
        /// the chain was hashed with, for any event (every field set, any text, any JSON).
        #[test]
        fn canonical_form_is_the_events_json_through_value(event in event()) {
            prop_assert_eq!(event.canonical().unwrap(), through_value(&event));
        }
    }
}
