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

use crate::domain::{AuthzRequest, Caller, Principal, Requirement, Review, ReviewVerdict};

/// A person allowed to review one request: verified, of kind `user`, not a party to the
/// request, in a group that may approve it, not yet counted. The only way to get one is
/// [`eligible_reviewer`], so the compiler, not a string comparison, keeps agents, services
/// and pipelines from reviewing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    id: String,
    groups: Vec<String>,
}

impl Reviewer {
    /// The reviewer's verified identity.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The reviewer's verified groups.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
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
        kind: crate::domain::SubjectKind,
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

/// The reviewer `caller` may be for `request` under `requirements`, given who has already
/// reviewed: the parties to the request first (so the requester hears that it is the
/// requester), then personhood, groups and a second review.
pub fn eligible_reviewer(
    caller: &Caller,
    request: &AuthzRequest,
    requirements: &[Requirement],
    already_reviewed: &[String],
) -> Result<Reviewer, Ineligible> {
    let Some(p) = caller.principal().filter(|p| !p.id.is_empty()) else {
        return Err(Ineligible::Unverified);
    };
    not_a_party(p, request)?;
    if !p.kind.is_person() {
        return Err(Ineligible::NotAPerson { kind: p.kind });
    }
    let reviewer = Reviewer {
        id: p.id.clone(),
        groups: p.groups.clone(),
    };
    if !requirements.iter().any(|r| can_fill(&reviewer.groups, r)) {
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
    Ok(reviewer)
}

/// The requester, the human it acts for and its owner are parties, never reviewers.
fn not_a_party(p: &Principal, request: &AuthzRequest) -> Result<(), Ineligible> {
    let s = &request.subject;
    if p.id == s.id {
        return Err(Ineligible::Requester);
    }
    if !s.on_behalf_of.is_empty() && p.id == s.on_behalf_of {
        return Err(Ineligible::OnBehalfOf);
    }
    if !s.owner.is_empty() && (p.id == s.owner || p.groups.contains(&s.owner)) {
        return Err(Ineligible::Owner);
    }
    Ok(())
}

fn can_fill(groups: &[String], requirement: &Requirement) -> bool {
    requirement.groups.is_empty() || requirement.groups.iter().any(|g| groups.contains(g))
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

/// Decides the request from its recorded reviews (each made by an eligible reviewer, with the
/// groups they had then). A deny wins; otherwise approved when reviewers can be assigned to
/// requirement slots, each reviewer to one slot of a requirement they may fill.
pub fn tally(requirements: &[Requirement], reviews: &[Review]) -> Tally {
    if let Some(r) = reviews.iter().find(|r| r.verdict == ReviewVerdict::Deny) {
        return Tally::Denied {
            by: r.reviewer_id.clone(),
        };
    }
    let approvers: Vec<&[String]> = reviews
        .iter()
        .filter(|r| r.verdict != ReviewVerdict::Deny)
        .map(|r| r.groups.as_slice())
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
fn max_matching(slots: &[&Requirement], reviewers: &[&[String]]) -> usize {
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
    reviewers: &[&[String]],
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
    use crate::domain::SubjectKind;
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

    fn person(id: &str, groups: &[&str]) -> Caller {
        Caller::Verified(Principal {
            id: id.into(),
            kind: SubjectKind::User,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            owner: String::new(),
            asserts_subjects: false,
        })
    }

    fn approve(id: &str, groups: &[&str]) -> Review {
        reviewed(id, groups, ReviewVerdict::Approve)
    }

    fn reviewed(id: &str, groups: &[&str], verdict: ReviewVerdict) -> Review {
        Review {
            approval_id: "a".into(),
            reviewer_id: id.into(),
            verdict,
            reason: "r".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            at: crate::domain::UnixMillis(0),
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
        let check = |rev: Caller| eligible_reviewer(&rev, &r, &reqs, &[]).map(|_| ());
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
        if let Caller::Verified(p) = &mut bot {
            p.kind = SubjectKind::Agent;
        }
        assert!(matches!(check(bot), Err(Ineligible::NotAPerson { .. })));
        assert_eq!(check(Caller::Unauthenticated), Err(Ineligible::Unverified));
        assert!(matches!(
            check(person("user:bob", &["sre"])),
            Err(Ineligible::NotInGroups { .. })
        ));
        assert_eq!(check(person("user:bob", &["security"])), Ok(()));
        assert_eq!(
            eligible_reviewer(
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
        assert_eq!(
            tally(&reqs, &[approve("u:1", &["sre"])]),
            Tally::Pending { missing: 2 }
        );
        assert_eq!(
            tally(&reqs, &[approve("u:1", &["sre"]), approve("u:2", &["sre"])]),
            Tally::Pending { missing: 1 }
        );
        assert_eq!(
            tally(
                &reqs,
                &[
                    approve("u:1", &["sre"]),
                    approve("u:2", &["sre"]),
                    approve("u:3", &["security"])
                ]
            ),
            Tally::Approved
        );
    }

    #[test]
    fn one_person_in_both_groups_fills_one_slot_and_order_does_not_matter() {
        let reqs = [req(&["governance"], 1), req(&["security"], 1)];
        let both = approve("u:both", &["governance", "security"]);
        let gov = approve("u:gov", &["governance"]);
        assert_eq!(
            tally(&reqs, std::slice::from_ref(&both)),
            Tally::Pending { missing: 1 }
        );
        // `both` first would greedily take governance; matching moves it to security.
        assert_eq!(tally(&reqs, &[both.clone(), gov.clone()]), Tally::Approved);
        assert_eq!(tally(&reqs, &[gov, both]), Tally::Approved);
    }

    #[test]
    fn an_eligible_deny_ends_it() {
        let reqs = [req(&[], 2)];
        let t = tally(
            &reqs,
            &[
                approve("u:1", &[]),
                reviewed("u:2", &[], ReviewVerdict::Deny),
                approve("u:3", &[]),
            ],
        );
        assert_eq!(t, Tally::Denied { by: "u:2".into() });
    }
}
