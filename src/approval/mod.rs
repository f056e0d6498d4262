//! Separation of duties and quorum: who may review an approval request, and when the
//! reviews given so far decide it. Pure functions over domain types; the workflow that
//! stores reviews and moves states calls them inside its transaction.
//!
//! Rules, enforced here and not left to policy:
//! - the requester, the human it acts for (`on_behalf_of`), its owner, and any non-human
//!   identity (agent, service, pipeline) can never review;
//! - a reviewer must be verified, and in one of a requirement's groups (empty groups: any
//!   eligible reviewer);
//! - **a reviewer counts once**, toward one requirement slot in all: two requirements need
//!   two different people even if one person is in both groups (the strict reading of
//!   "every requirement must be satisfied"); the tally finds an assignment by bipartite
//!   matching, so the order reviews arrive in does not matter;
//! - a deny by an eligible reviewer ends the request.

pub mod workflow;

pub use workflow::{ApprovalView, Clock, Narrowed, Redemption, Workflow, WorkflowError};

use crate::domain::{AuthzRequest, Requirement, ReviewVerdict};

/// Who is reviewing, as verified by the identity layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// Verified identity, e.g. `user:bob@example.com`.
    pub id: String,
    /// `user` for people; anything else is automation.
    pub kind: String,
    /// Verified groups.
    pub groups: Vec<String>,
    /// False for callers that were not authenticated (insecure mode).
    pub verified: bool,
}

/// Why a reviewer may not review this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// The reviewer's identity is not verified.
    #[error("reviewer identity is not verified")]
    Unverified,
    /// The reviewer asked for the action.
    #[error("the requester cannot review its own request")]
    Requester,
    /// The reviewer is the human the agent acts for.
    #[error("the user the request is made on behalf of cannot review it")]
    OnBehalfOf,
    /// The reviewer owns the requesting identity.
    #[error("the requester's owner cannot review its request")]
    Owner,
    /// Agents, services and pipelines never approve.
    #[error("only people can review ({kind} identities cannot)")]
    NotAPerson {
        /// The reviewer's kind.
        kind: String,
    },
    /// The reviewer is in none of the groups any requirement names.
    #[error("reviewer is in none of the groups that may approve ({groups})")]
    NotInGroups {
        /// The groups that may approve, comma-separated.
        groups: String,
    },
    /// The reviewer already reviewed this request.
    #[error("reviewer has already reviewed this request")]
    AlreadyReviewed,
}

/// Checks whether `reviewer` may review `request` under `requirements`, given who has
/// already reviewed.
pub fn check_eligible(
    reviewer: &Reviewer,
    request: &AuthzRequest,
    requirements: &[Requirement],
    already_reviewed: &[String],
) -> Result<(), Ineligible> {
    if !reviewer.verified || reviewer.id.is_empty() {
        return Err(Ineligible::Unverified);
    }
    let s = &request.subject;
    if reviewer.id == s.id {
        return Err(Ineligible::Requester);
    }
    if !s.on_behalf_of.is_empty() && reviewer.id == s.on_behalf_of {
        return Err(Ineligible::OnBehalfOf);
    }
    if !s.owner.is_empty() && (reviewer.id == s.owner || reviewer.groups.contains(&s.owner)) {
        return Err(Ineligible::Owner);
    }
    if reviewer.kind != "user" {
        return Err(Ineligible::NotAPerson {
            kind: reviewer.kind.clone(),
        });
    }
    if !requirements.iter().any(|r| can_fill(reviewer, r)) {
        let mut groups: Vec<&str> = requirements
            .iter()
            .flat_map(|r| r.groups.iter().map(String::as_str))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        return Err(Ineligible::NotInGroups {
            groups: groups.join(", "),
        });
    }
    if already_reviewed.contains(&reviewer.id) {
        return Err(Ineligible::AlreadyReviewed);
    }
    Ok(())
}

fn can_fill(reviewer: &Reviewer, requirement: &Requirement) -> bool {
    requirement.groups.is_empty()
        || requirement
            .groups
            .iter()
            .any(|g| reviewer.groups.contains(g))
}

/// Where a request stands after the reviews so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    /// Every requirement has its quorum of distinct reviewers.
    Approved,
    /// An eligible reviewer denied.
    Denied {
        /// Who denied.
        by: String,
    },
    /// Still waiting; `missing` approvals could still complete it.
    Pending {
        /// How many more distinct approvals are needed at least.
        missing: u32,
    },
}

/// Decides the request from eligible reviews (each `(reviewer, verdict)` already passed
/// [`check_eligible`]). A deny wins; otherwise approved when reviewers can be assigned to
/// requirement slots, each reviewer to one slot of a requirement they may fill.
pub fn tally(requirements: &[Requirement], reviews: &[(Reviewer, ReviewVerdict)]) -> Tally {
    if let Some((r, _)) = reviews.iter().find(|(_, v)| *v == ReviewVerdict::Deny) {
        return Tally::Denied { by: r.id.clone() };
    }
    let approvers: Vec<&Reviewer> = reviews
        .iter()
        .filter(|(_, v)| *v != ReviewVerdict::Deny)
        .map(|(r, _)| r)
        .collect();
    // One slot per required approval.
    let slots: Vec<&Requirement> = requirements
        .iter()
        .flat_map(|r| std::iter::repeat_n(r, r.quorum as usize))
        .collect();
    let matched = max_matching(&slots, &approvers);
    let needed = slots.len();
    if matched == needed {
        Tally::Approved
    } else {
        Tally::Pending {
            missing: u32::try_from(needed - matched).unwrap_or(u32::MAX),
        }
    }
}

/// Size of a maximum matching between slots and reviewers (Kuhn's augmenting paths; slots
/// are at most a few hundred).
fn max_matching(slots: &[&Requirement], reviewers: &[&Reviewer]) -> usize {
    let mut slot_of_reviewer: Vec<Option<usize>> = vec![None; reviewers.len()];
    let mut matched = 0;
    for slot in 0..slots.len() {
        let mut seen = vec![false; reviewers.len()];
        if augment(slot, slots, reviewers, &mut seen, &mut slot_of_reviewer) {
            matched += 1;
        }
    }
    matched
}

fn augment(
    slot: usize,
    slots: &[&Requirement],
    reviewers: &[&Reviewer],
    seen: &mut [bool],
    slot_of_reviewer: &mut [Option<usize>],
) -> bool {
    for (i, reviewer) in reviewers.iter().enumerate() {
        if seen[i] || !can_fill(reviewer, slots[slot]) {
            continue;
        }
        seen[i] = true;
        let free = match slot_of_reviewer[i] {
            None => true,
            Some(other) => augment(other, slots, reviewers, seen, slot_of_reviewer),
        };
        if free {
            slot_of_reviewer[i] = Some(slot);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn req(groups: &[&str], quorum: u32) -> Requirement {
        Requirement {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            quorum,
            ttl: Duration::from_secs(900),
            capability_ttl: Duration::from_secs(300),
            risk: "high".into(),
            step_up: false,
            reason: "r".into(),
        }
    }

    fn person(id: &str, groups: &[&str]) -> Reviewer {
        Reviewer {
            id: id.into(),
            kind: "user".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            verified: true,
        }
    }

    fn request() -> AuthzRequest {
        serde_json::from_value(serde_json::json!({
            "subject": {"id": "agent:exporter", "kind": "agent", "on_behalf_of": "user:alice",
                        "owner": "team:growth"},
            "action": {"name": "data.export"},
            "resource": {"type": "dataset"}
        }))
        .unwrap()
    }

    #[test]
    fn no_self_approval_through_any_identity_field() {
        let reqs = [req(&["security"], 1)];
        let r = request();
        let check = |rev: Reviewer| check_eligible(&rev, &r, &reqs, &[]);
        assert_eq!(
            check(person("agent:exporter", &["security"])),
            Err(Ineligible::Requester)
        );
        assert_eq!(
            check(person("user:alice", &["security"])),
            Err(Ineligible::OnBehalfOf)
        );
        assert_eq!(
            check(person("team:growth", &["security"])),
            Err(Ineligible::Owner)
        );
        assert_eq!(
            check(person("user:carol", &["security", "team:growth"])),
            Err(Ineligible::Owner)
        );
        let mut bot = person("agent:reviewer-bot", &["security"]);
        bot.kind = "agent".into();
        assert!(matches!(check(bot), Err(Ineligible::NotAPerson { .. })));
        let mut anon = person("user:bob", &["security"]);
        anon.verified = false;
        assert_eq!(check(anon), Err(Ineligible::Unverified));
        assert!(matches!(
            check(person("user:bob", &["sre"])),
            Err(Ineligible::NotInGroups { .. })
        ));
        assert_eq!(check(person("user:bob", &["security"])), Ok(()));
        assert_eq!(
            check_eligible(
                &person("user:bob", &["security"]),
                &r,
                &reqs,
                &["user:bob".into()]
            ),
            Err(Ineligible::AlreadyReviewed)
        );
    }

    #[test]
    fn quorum_needs_distinct_reviewers_and_every_requirement() {
        let reqs = [req(&["sre"], 2), req(&["security"], 1)];
        let a = |r: Reviewer| (r, ReviewVerdict::Approve);
        assert_eq!(
            tally(&reqs, &[a(person("u:1", &["sre"]))]),
            Tally::Pending { missing: 2 }
        );
        assert_eq!(
            tally(
                &reqs,
                &[a(person("u:1", &["sre"])), a(person("u:2", &["sre"]))]
            ),
            Tally::Pending { missing: 1 }
        );
        assert_eq!(
            tally(
                &reqs,
                &[
                    a(person("u:1", &["sre"])),
                    a(person("u:2", &["sre"])),
                    a(person("u:3", &["security"]))
                ]
            ),
            Tally::Approved
        );
    }

    #[test]
    fn one_person_in_both_groups_fills_one_slot_and_order_does_not_matter() {
        let reqs = [req(&["governance"], 1), req(&["security"], 1)];
        let both = person("u:both", &["governance", "security"]);
        let gov = person("u:gov", &["governance"]);
        let a = |r: &Reviewer| (r.clone(), ReviewVerdict::Approve);
        assert_eq!(tally(&reqs, &[a(&both)]), Tally::Pending { missing: 1 });
        // `both` first would greedily take governance; matching moves it to security.
        assert_eq!(tally(&reqs, &[a(&both), a(&gov)]), Tally::Approved);
        assert_eq!(tally(&reqs, &[a(&gov), a(&both)]), Tally::Approved);
    }

    #[test]
    fn an_eligible_deny_ends_it() {
        let reqs = [req(&[], 2)];
        let t = tally(
            &reqs,
            &[
                (person("u:1", &[]), ReviewVerdict::Approve),
                (person("u:2", &[]), ReviewVerdict::Deny),
                (person("u:3", &[]), ReviewVerdict::Approve),
            ],
        );
        assert_eq!(t, Tally::Denied { by: "u:2".into() });
    }
}
