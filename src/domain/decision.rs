//! What the policy said and what tollgate answers, and the pure function between them.

use std::{sync::Arc, time::Duration, time::SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};

/// The answer's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Effect {
    /// The action may proceed.
    Allow,
    /// The action must not proceed.
    Deny,
    /// The action needs human approval first.
    PendingApproval,
}

impl Effect {
    /// The wire and log spelling: `ALLOW`, `DENY`, `PENDING_APPROVAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "ALLOW",
            Effect::Deny => "DENY",
            Effect::PendingApproval => "PENDING_APPROVAL",
        }
    }
}

/// One condition reviewers must meet; every requirement of a decision must be met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Requirement {
    /// Groups whose members may approve; empty means any eligible reviewer.
    pub groups: Vec<String>,
    /// Distinct eligible reviewers needed (at least 1).
    pub quorum: u32,
    /// How long the approval request stays open.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// How long a capability minted on approval stays valid.
    #[serde(with = "humantime_serde")]
    pub capability_ttl: Duration,
    /// Risk label shown to reviewers.
    pub risk: String,
    /// Reviewers must re-authenticate before approving.
    pub step_up: bool,
    /// Why approval is needed.
    pub reason: String,
}

/// What the policy's rules evaluated to, already checked against the contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyOutcome {
    /// Members of `deny`, sorted.
    pub deny: Vec<String>,
    /// Members of `approval`.
    pub approval: Vec<Requirement>,
    /// Value of `allow` (false when undefined).
    pub allow: bool,
    /// Value of `risk`, "" when undefined.
    pub risk: String,
    /// Members of `obligations`.
    pub obligations: Vec<Map<String, Value>>,
    /// Members of `mask`: input paths to redact from the audit trail.
    pub mask: Vec<String>,
}

/// Why an evaluation produced no usable outcome. Every kind denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A runtime error in the policy (strict builtin errors, conflicts that raise).
    Evaluation,
    /// A time, instruction, memory or regex-size limit was exceeded.
    Limit,
    /// A rule's value has the wrong shape for the contract.
    Contract,
}

/// A failed evaluation; `message` is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.reason())]
pub struct EvalFailure {
    /// Which fail-closed path this is.
    pub kind: FailureKind,
    /// Detail from the engine or the contract check.
    pub message: String,
}

impl EvalFailure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The reason stated in the DENY answer.
    pub fn reason(&self) -> String {
        let prefix = match self.kind {
            FailureKind::Evaluation => "policy evaluation error",
            FailureKind::Limit => "policy evaluation limit exceeded",
            FailureKind::Contract => "policy contract violation",
        };
        format!("{prefix}: {}", self.message)
    }
}

/// The reason stated when no rule denies, asks for approval or allows.
pub const NO_RULE_ALLOWED: &str = "no rule allowed the action (default deny)";

/// The policy part of a decision: effect, reasons and what came with them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// ALLOW, DENY or PENDING_APPROVAL.
    pub effect: Effect,
    /// Why, sorted and deduplicated.
    pub reasons: Vec<String>,
    /// Risk label, "" when none.
    pub risk: String,
    /// Obligations the caller must fulfil (empty unless ALLOW or PENDING_APPROVAL).
    pub obligations: Vec<Map<String, Value>>,
    /// Approval requirements (PENDING_APPROVAL only).
    pub requirements: Vec<Requirement>,
    /// Input paths to redact before the request is recorded.
    pub mask: Vec<String>,
}

/// Combines a policy result: deny overrides approval, approval overrides allow, and nothing
/// at all is DENY. A failed evaluation is DENY with its reason.
pub fn decide(outcome: Result<PolicyOutcome, EvalFailure>) -> Verdict {
    let outcome = match outcome {
        Ok(o) => o,
        Err(failure) => {
            return Verdict {
                effect: Effect::Deny,
                reasons: vec![failure.reason()],
                risk: String::new(),
                obligations: Vec::new(),
                requirements: Vec::new(),
                mask: Vec::new(),
            }
        }
    };
    let PolicyOutcome {
        deny,
        approval,
        allow,
        risk,
        obligations,
        mask,
    } = outcome;
    let (effect, mut reasons, obligations, requirements) = if !deny.is_empty() {
        (Effect::Deny, deny, Vec::new(), Vec::new())
    } else if !approval.is_empty() {
        let reasons = approval.iter().map(|r| r.reason.clone()).collect();
        (Effect::PendingApproval, reasons, obligations, approval)
    } else if allow {
        (Effect::Allow, Vec::new(), obligations, Vec::new())
    } else {
        (
            Effect::Deny,
            vec![NO_RULE_ALLOWED.to_string()],
            Vec::new(),
            Vec::new(),
        )
    };
    reasons.sort();
    reasons.dedup();
    Verdict {
        effect,
        reasons,
        risk,
        obligations,
        requirements,
        mask,
    }
}

/// A complete answer: the verdict plus who made it and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Unique id (UUIDv7), the key into the audit trail.
    pub id: String,
    /// The policy part.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The bundle revision that decided.
    pub revision: Arc<str>,
    /// The content digest of that bundle: what replay looks the archived bundle up by (a
    /// revision label may be reused, the digest cannot).
    pub bundle_digest: Arc<str>,
    /// When.
    pub decided_at: SystemTime,
    /// Whether the verdict came from the decision cache.
    pub cached: bool,
    /// Time spent evaluating policy (zero for a cache hit): what operators compare with
    /// the whole call's latency to see whether policy or storage is slow. Not part of the
    /// record: it describes this process's run, not the decision.
    #[serde(skip)]
    pub eval_duration: Duration,
    /// Whether the request's `on_behalf_of` was proven by the caller's credentials.
    pub on_behalf_of: Delegation,
}

/// How the human in a request's `subject.on_behalf_of` is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delegation {
    /// The request names nobody.
    #[default]
    None,
    /// The caller's token proves it acts for that human (RFC 8693 `act`).
    Verified,
    /// Only the request body says so (recorded as claimed; still a party for separation of
    /// duties).
    Claimed,
}

impl Delegation {
    /// The recorded spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Verified => "verified",
            Self::Claimed => "claimed",
        }
    }
}

/// A decision and the request it decided, the subject bound to the verified caller: the
/// request an approval or a capability is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// What was decided.
    pub decision: Decision,
    /// About which request, as decided.
    pub request: super::AuthzRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(reason: &str) -> Requirement {
        Requirement {
            groups: vec!["security".into()],
            quorum: 1,
            ttl: Duration::from_secs(900),
            capability_ttl: Duration::from_secs(300),
            risk: "high".into(),
            step_up: false,
            reason: reason.into(),
        }
    }

    #[test]
    fn deny_overrides_approval_and_allow() {
        let v = decide(Ok(PolicyOutcome {
            deny: vec!["b".into(), "a".into(), "a".into()],
            approval: vec![requirement("r")],
            allow: true,
            ..PolicyOutcome::default()
        }));
        assert_eq!(v.effect, Effect::Deny);
        assert_eq!(v.reasons, ["a", "b"]);
        assert!(v.requirements.is_empty());
    }

    #[test]
    fn approval_overrides_allow() {
        let v = decide(Ok(PolicyOutcome {
            approval: vec![requirement("needs review")],
            allow: true,
            ..PolicyOutcome::default()
        }));
        assert_eq!(v.effect, Effect::PendingApproval);
        assert_eq!(v.reasons, ["needs review"]);
        assert_eq!(v.requirements.len(), 1);
    }

    #[test]
    fn nothing_is_default_deny() {
        let v = decide(Ok(PolicyOutcome::default()));
        assert_eq!(v.effect, Effect::Deny);
        assert_eq!(v.reasons, [NO_RULE_ALLOWED]);
    }

    #[test]
    fn failures_deny_with_their_reason() {
        let v = decide(Err(EvalFailure::new(FailureKind::Limit, "time")));
        assert_eq!(v.effect, Effect::Deny);
        assert_eq!(v.reasons, ["policy evaluation limit exceeded: time"]);
    }

    #[test]
    fn allow_alone_allows() {
        let v = decide(Ok(PolicyOutcome {
            allow: true,
            ..PolicyOutcome::default()
        }));
        assert_eq!(v.effect, Effect::Allow);
        assert!(v.reasons.is_empty());
    }
}
