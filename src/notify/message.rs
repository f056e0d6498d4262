//! What every channel shows about an approval: one [`Notice`], built from the approval as it
//! stands when the message is sent (so an edited Slack message always shows the latest
//! state), rendered by `slack.rs`, `teams.rs` and `webhook.rs`.

use serde::Serialize;
use serde_json::Value;

use crate::{
    approval::{tally, ApprovalView, Tally},
    domain::{ApprovalState, NotifyKind, ReviewVerdict, UnixMillis},
};

/// One review as a notification shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewLine {
    /// Who.
    pub reviewer: String,
    /// Approve, deny or modify.
    pub verdict: &'static str,
    /// Why.
    pub reason: String,
    /// Whether it was made with a fresh strong authentication.
    pub stepped_up: bool,
}

/// Everything a reviewer needs to decide, and where the request stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The approval.
    pub approval_id: String,
    /// What happened (the event this message is for).
    pub event: NotifyKind,
    /// Where the request stands now.
    pub state: ApprovalState,
    /// The verified requester.
    pub requester: String,
    /// The human it acts for ("" when none).
    pub on_behalf_of: String,
    /// Why the requester says it needs this.
    pub intent: String,
    /// The environment ("" when not given).
    pub environment: String,
    /// The action.
    pub action: String,
    /// `type/id` of the resource.
    pub resource: String,
    /// The action's parameters, with the configured audit mask applied.
    pub params: Value,
    /// The highest risk of the requirements ("" when none is labelled).
    pub risk: String,
    /// The policy's reasons, then each requirement's.
    pub reasons: Vec<String>,
    /// The deadline.
    pub expires_at: UnixMillis,
    /// Approvals still needed at least (0 once decided).
    pub missing: u32,
    /// Whether every requirement asks for step-up: chat buttons lead to the console.
    pub step_up_only: bool,
    /// Reviews so far.
    pub reviews: Vec<ReviewLine>,
    /// The console page of this approval.
    pub console_url: String,
    /// How it ended, in a sentence, once it has ("" while pending).
    pub outcome: String,
    /// Whom to mention (channel-specific ids).
    #[serde(skip)]
    pub mention: Vec<String>,
}

/// What [`Notice::build`] needs beyond the approval.
#[derive(Debug, Clone, Copy)]
pub struct NoticeContext<'a> {
    /// The event being sent.
    pub event: NotifyKind,
    /// The policy's reasons, from the request's first event.
    pub policy_reasons: &'a [String],
    /// Dotted input paths to mask (`audit.mask`).
    pub mask: &'a [String],
    /// The console's base URL, e.g. `https://tollgate.example.com`.
    pub console_base: &'a str,
    /// Whom to mention.
    pub mention: &'a [String],
    /// When a capability was redeemed (for that event).
    pub redeemed_at: Option<UnixMillis>,
}

impl Notice {
    /// The notice of `view` for `ctx.event`.
    pub fn build(view: &ApprovalView, ctx: NoticeContext<'_>) -> Self {
        let r = &view.request;
        let mut masked = serde_json::json!({ "action": { "params": r.action.params } });
        crate::audit::mask(&mut masked, ctx.mask.iter().map(String::as_str));
        let params = masked["action"]["params"].take();
        let missing = match tally(&view.requirements, &view.reviews) {
            Tally::Pending { missing } if view.approval.state == ApprovalState::Pending => missing,
            _ => 0,
        };
        let mut reasons: Vec<String> = ctx.policy_reasons.to_vec();
        for req in &view.requirements {
            if !req.reason.is_empty() && !reasons.contains(&req.reason) {
                reasons.push(req.reason.clone());
            }
        }
        let reviews: Vec<ReviewLine> = view
            .reviews
            .iter()
            .map(|rv| ReviewLine {
                reviewer: rv.reviewer_id.clone(),
                verdict: rv.verdict.as_str(),
                reason: rv.reason.clone(),
                stepped_up: rv.stepped_up,
            })
            .collect();
        let approval = &view.approval;
        let outcome = outcome(view, ctx.event, ctx.redeemed_at);
        Self {
            approval_id: approval.id.clone(),
            event: ctx.event,
            state: approval.state,
            requester: r.subject.id.clone(),
            on_behalf_of: r.subject.on_behalf_of.clone(),
            intent: r.context.intent.clone(),
            environment: r.context.environment.clone(),
            action: r.action.name.clone(),
            resource: format!("{}/{}", r.resource.kind, r.resource.id),
            params,
            risk: super::route::highest_risk(&view.requirements),
            reasons,
            expires_at: approval.expires_at,
            missing,
            step_up_only: !view.requirements.is_empty()
                && view.requirements.iter().all(|q| q.step_up),
            reviews,
            console_url: console_url(ctx.console_base, &approval.id),
            outcome,
            mention: ctx.mention.to_vec(),
        }
    }

    /// A one-line summary (notification fallbacks, logs).
    pub fn summary(&self) -> String {
        let head = match self.event {
            NotifyKind::Requested | NotifyKind::Reviewed | NotifyKind::Modified => {
                "Approval needed"
            }
            NotifyKind::Reminder => "Reminder: approval still needed",
            _ => "Approval request",
        };
        let mut s = format!(
            "{head}: {} on {} by {}",
            self.action, self.resource, self.requester
        );
        if !self.outcome.is_empty() {
            s.push_str(" (");
            s.push_str(&self.outcome);
            s.push(')');
        }
        s
    }

    /// The parameters as indented JSON, cut to `max` bytes on a character boundary.
    pub fn params_text(&self, max: usize) -> String {
        let text = serde_json::to_string_pretty(&self.params).unwrap_or_default();
        if text.len() <= max {
            return text;
        }
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}\n…", &text[..end])
    }
}

/// The console page of approval `id` under `base`.
pub fn console_url(base: &str, id: &str) -> String {
    format!("{}/console/approvals/{id}", base.trim_end_matches('/'))
}

/// How the request ended (or what just happened to an ended one), in a sentence.
fn outcome(view: &ApprovalView, event: NotifyKind, redeemed_at: Option<UnixMillis>) -> String {
    let by = |verdicts: &[ReviewVerdict]| {
        view.reviews
            .iter()
            .filter(|r| verdicts.contains(&r.verdict))
            .map(|r| r.reviewer_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ended = match view.approval.state {
        ApprovalState::Pending => return String::new(),
        ApprovalState::Approved => {
            let modified = if view.original_request.is_some() {
                " (narrowed by a reviewer)"
            } else {
                ""
            };
            format!(
                "Approved by {}{modified}",
                by(&[ReviewVerdict::Approve, ReviewVerdict::Modify])
            )
        }
        ApprovalState::Denied => {
            let reason = view
                .reviews
                .iter()
                .find(|r| r.verdict == ReviewVerdict::Deny)
                .map(|r| format!(": {}", r.reason))
                .unwrap_or_default();
            format!("Denied by {}{reason}", by(&[ReviewVerdict::Deny]))
        }
        ApprovalState::Expired => "Expired before enough reviewers approved".to_string(),
        ApprovalState::Cancelled => "Cancelled by the requester".to_string(),
    };
    match (event, redeemed_at) {
        (NotifyKind::Redeemed, Some(at)) => format!(
            "{ended}; capability redeemed at {}",
            humantime::format_rfc3339_seconds(at.to_time())
        ),
        (NotifyKind::Redeemed, None) => format!("{ended}; capability redeemed"),
        _ => ended,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{AuthzRequest, NewApproval, Requirement, Review};
    use std::time::Duration;

    /// A pending two-approval PII export with one review, for the renderers' tests.
    pub(crate) fn view() -> ApprovalView {
        let request: AuthzRequest = serde_json::from_value(serde_json::json!({
            "subject": {"id": "agent:billing-exporter", "kind": "agent",
                        "on_behalf_of": "user:alice@example.com", "owner": "team:growth"},
            "action": {"name": "data.export",
                       "params": {"table": "users", "rows": 250000, "token": "s3cret"}},
            "resource": {"type": "dataset", "id": "users-eu"},
            "context": {"intent": "quarterly churn analysis <TICKET-812>", "environment": "prod"}
        }))
        .unwrap();
        let requirements = vec![Requirement {
            groups: vec!["security".into()],
            quorum: 2,
            ttl: Duration::from_secs(900),
            capability_ttl: Duration::from_secs(300),
            risk: "high".into(),
            step_up: false,
            reason: "PII leaves the EU region".into(),
        }];
        let approval = NewApproval {
            id: "0190-a".into(),
            decision_id: "d".into(),
            subject_id: request.subject.id.clone(),
            request_id: String::new(),
            action: "data.export".into(),
            request: serde_json::to_value(&request).unwrap(),
            request_hash: "h".into(),
            requirements: serde_json::to_value(&requirements).unwrap(),
            bundle_revision: "r1".into(),
            bundle_digest: "sha256:d".into(),
            created_at: UnixMillis(1_700_000_000_000),
            expires_at: UnixMillis(1_700_000_900_000),
            trace_parent: String::new(),
            requested_by: String::new(),
            capability_audience: vec![],
            on_behalf_of_proven: false,
        }
        .into_pending();
        ApprovalView {
            approval,
            request,
            requirements,
            reviews: vec![Review {
                approval_id: "0190-a".into(),
                reviewer_id: "user:rita@example.com".into(),
                verdict: ReviewVerdict::Approve,
                reason: "ticket checked".into(),
                groups: vec!["security".into()],
                at: UnixMillis(1_700_000_100_000),
                stepped_up: false,
            }],
            capability: None,
            original_request: None,
            changes: vec![],
        }
    }

    pub(crate) fn notice(view: &ApprovalView, event: NotifyKind) -> Notice {
        Notice::build(
            view,
            NoticeContext {
                event,
                policy_reasons: &["export of PII".to_string()],
                mask: &["action.params.token".to_string()],
                console_base: "https://tollgate.example.com/",
                mention: &["S0SEC".to_string()],
                redeemed_at: None,
            },
        )
    }

    #[test]
    fn a_notice_has_the_context_masked_params_and_remaining_quorum() {
        let n = notice(&view(), NotifyKind::Requested);
        assert_eq!(n.requester, "agent:billing-exporter");
        assert_eq!(n.on_behalf_of, "user:alice@example.com");
        assert_eq!(n.resource, "dataset/users-eu");
        assert_eq!(n.params["token"], crate::audit::MASKED);
        assert_eq!(n.params["rows"], 250000);
        assert_eq!(n.missing, 1);
        assert_eq!(n.risk, "high");
        assert_eq!(n.reasons, ["export of PII", "PII leaves the EU region"]);
        assert_eq!(
            n.console_url,
            "https://tollgate.example.com/console/approvals/0190-a"
        );
        assert_eq!(n.outcome, "");
        assert!(n.summary().starts_with("Approval needed: data.export"));
    }

    #[test]
    fn outcomes_say_who_ended_it() {
        let mut v = view();
        v.approval.state = ApprovalState::Approved;
        assert_eq!(
            notice(&v, NotifyKind::Approved).outcome,
            "Approved by user:rita@example.com"
        );
        assert_eq!(notice(&v, NotifyKind::Approved).missing, 0);
        v.approval.state = ApprovalState::Denied;
        v.reviews[0].verdict = ReviewVerdict::Deny;
        assert_eq!(
            notice(&v, NotifyKind::Denied).outcome,
            "Denied by user:rita@example.com: ticket checked"
        );
        v.approval.state = ApprovalState::Expired;
        assert!(notice(&v, NotifyKind::Expired)
            .outcome
            .starts_with("Expired"));
        v.approval.state = ApprovalState::Cancelled;
        assert!(notice(&v, NotifyKind::Cancelled)
            .outcome
            .contains("requester"));
    }
}
