//! Reviewer notifications as stored records: which events notify anyone, the durable event
//! rows the store writes beside their audit records, and the per-channel deliveries the
//! outbox worker makes of them. Pure data; the store keeps them, `crate::notify` sends them.

use serde::{Deserialize, Serialize};

use super::{AuditEvent, AuditKind, UnixMillis};

/// What a notification is about. Every kind but [`NotifyKind::Reminder`] is an audit event
/// kind; a reminder is the outbox's own event, written once per approval before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyKind {
    /// A request is waiting for reviewers.
    #[serde(rename = "approval.requested")]
    Requested,
    /// A reviewer approved or denied (the request may still be pending).
    #[serde(rename = "approval.reviewed")]
    Reviewed,
    /// A reviewer narrowed the request.
    #[serde(rename = "approval.modified")]
    Modified,
    /// The reviews met every requirement.
    #[serde(rename = "approval.approved")]
    Approved,
    /// An eligible reviewer denied.
    #[serde(rename = "approval.denied")]
    Denied,
    /// Nobody decided before the deadline.
    #[serde(rename = "approval.expired")]
    Expired,
    /// The requester withdrew the request.
    #[serde(rename = "approval.cancelled")]
    Cancelled,
    /// The capability an approval minted was used.
    #[serde(rename = "capability.redeemed")]
    Redeemed,
    /// The deadline is near and the request is still pending.
    #[serde(rename = "approval.reminder")]
    Reminder,
}

impl NotifyKind {
    /// Every kind, for parsing and exhaustive tests.
    pub const ALL: [NotifyKind; 9] = [
        Self::Requested,
        Self::Reviewed,
        Self::Modified,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Cancelled,
        Self::Redeemed,
        Self::Reminder,
    ];

    /// The stored spelling (the audit kind's, or `approval.reminder`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "approval.requested",
            Self::Reviewed => "approval.reviewed",
            Self::Modified => "approval.modified",
            Self::Approved => "approval.approved",
            Self::Denied => "approval.denied",
            Self::Expired => "approval.expired",
            Self::Cancelled => "approval.cancelled",
            Self::Redeemed => "capability.redeemed",
            Self::Reminder => "approval.reminder",
        }
    }

    /// Parses [`Self::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The notification `event` calls for, if any: approval events, and redemptions of a
    /// capability an approval minted (an ALLOW's capability concerns no reviewer).
    pub fn of(event: &AuditEvent) -> Option<Self> {
        let kind = match event.kind {
            AuditKind::ApprovalRequested => Self::Requested,
            AuditKind::ApprovalReviewed => Self::Reviewed,
            AuditKind::ApprovalModified => Self::Modified,
            AuditKind::ApprovalApproved => Self::Approved,
            AuditKind::ApprovalDenied => Self::Denied,
            AuditKind::ApprovalExpired => Self::Expired,
            AuditKind::ApprovalCancelled => Self::Cancelled,
            AuditKind::CapabilityRedeemed => Self::Redeemed,
            _ => return None,
        };
        (!event.approval_id.is_empty()).then_some(kind)
    }

    /// Whether the request is over once this happened (the original message says how).
    pub fn ends_request(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Denied | Self::Expired | Self::Cancelled
        )
    }
}

/// One event that notifies, as the store keeps it until every channel has it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyEvent {
    /// The audit event's id (`reminder:<approval id>` for a reminder): unique, so an event is
    /// enqueued once however often it is retried.
    pub id: String,
    /// What happened.
    pub kind: NotifyKind,
    /// The approval it concerns.
    pub approval_id: String,
    /// When it happened.
    pub at: UnixMillis,
    /// The event as JSON: the audit event (without input), or the reminder's facts.
    pub body: serde_json::Value,
}

impl NotifyEvent {
    /// The notification of audit `event`, if it calls for one.
    pub fn of(event: &AuditEvent) -> Option<Self> {
        let kind = NotifyKind::of(event)?;
        let mut body = serde_json::to_value(event).unwrap_or_default();
        if let Some(o) = body.as_object_mut() {
            // The approval's notifications show the request as stored; the input (present
            // only on decisions) never goes to a chat channel from here.
            o.remove("input");
        }
        Some(Self {
            id: event.id.clone(),
            kind,
            approval_id: event.approval_id.clone(),
            at: event.at,
            body,
        })
    }

    /// The reminder of approval `approval_id`, due at `at`, which expires at `expires_at`.
    pub fn reminder(approval_id: &str, at: UnixMillis, expires_at: UnixMillis) -> Self {
        Self {
            id: format!("reminder:{approval_id}"),
            kind: NotifyKind::Reminder,
            approval_id: approval_id.to_string(),
            at,
            body: serde_json::json!({ "approval_id": approval_id, "expires_at": expires_at }),
        }
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet (maybe being tried, maybe waiting for its next attempt).
    Pending,
    /// The channel accepted it.
    Delivered,
    /// Given up on: the channel refused it for good or every attempt failed.
    Dead,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Dead];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parses [`Self::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A delivery about to be created when an event is routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The configured channel's name.
    pub channel: String,
    /// First attempt not before this.
    pub next_attempt_at: UnixMillis,
}

/// An event and the deliveries routing gave it (none when no channel wants it).
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// The event, marked routed.
    pub event: NotifyEvent,
    /// Its deliveries, created unless they exist.
    pub deliveries: Vec<NewDelivery>,
}

/// One event on its way to one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event.
    pub event: NotifyEvent,
    /// The configured channel's name.
    pub channel: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far (a claim counts as one).
    pub attempts: u32,
    /// Next attempt not before this.
    pub next_attempt_at: UnixMillis,
    /// When the channel accepted it.
    pub delivered_at: Option<UnixMillis>,
    /// The last failure, for logs and the console ("" when none).
    pub last_error: String,
    /// What the channel returned that later messages refer to (a Slack message's channel and
    /// `ts`), "" when none.
    pub external_ref: String,
}

/// How one attempt at a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Accepted, with the channel's reference to it ("" when none).
    Delivered {
        /// See [`Delivery::external_ref`].
        external_ref: String,
    },
    /// Failed; try again at `at`.
    Retry {
        /// Next attempt not before this.
        at: UnixMillis,
        /// Why it failed.
        error: String,
    },
    /// Failed for good.
    Dead {
        /// Why.
        error: String,
    },
    /// Not attempted: an earlier message it refers to is not there yet; try at `at` without
    /// counting the attempt.
    Deferred {
        /// Next attempt not before this.
        at: UnixMillis,
    },
}

/// How many deliveries are in each state, and the newest failures (metrics, the console).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryStats {
    /// Waiting or being tried.
    pub pending: u64,
    /// Given up on.
    pub dead: u64,
    /// Pending deliveries that have failed at least once.
    pub failing: u64,
    /// The most recent dead or failing deliveries, newest first.
    pub recent_failures: Vec<Delivery>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AuditContext;

    #[test]
    fn spellings_round_trip_and_match_the_audit_kinds() {
        for k in NotifyKind::ALL {
            assert_eq!(NotifyKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            if k != NotifyKind::Reminder {
                assert_eq!(AuditKind::parse(k.as_str()).unwrap().as_str(), k.as_str());
            }
        }
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert!(NotifyKind::Expired.ends_request());
        assert!(!NotifyKind::Reviewed.ends_request());
    }

    #[test]
    fn only_approval_events_notify_and_never_with_an_input() {
        let ctx = AuditContext::service(String::new());
        let mut e = AuditEvent::bundle_activated(UnixMillis(1), "r1", None, 1);
        assert_eq!(NotifyEvent::of(&e), None);
        e.kind = AuditKind::CapabilityRedeemed;
        // A redemption of an ALLOW's capability names no approval.
        assert_eq!(NotifyEvent::of(&e), None);
        e.approval_id = "a1".into();
        e.input = serde_json::json!({"secret": 1});
        let n = NotifyEvent::of(&e).unwrap();
        assert_eq!(n.kind, NotifyKind::Redeemed);
        assert!(n.body.get("input").is_none());
        assert_eq!(n.body["approval_id"], "a1");
        let r = NotifyEvent::reminder("a1", UnixMillis(5), UnixMillis(9));
        assert_eq!(r.id, "reminder:a1");
        assert_eq!(r.body["expires_at"], 9);
        let _ = ctx;
    }
}
