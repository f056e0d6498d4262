//! Separation of duties and quorum: who may review an approval request, and when the
//! reviews given so far decide it. Pure functions over domain types; the workflow that
//! stores reviews and moves states calls them inside its transaction.
//!
//! Rules, enforced here and not left to policy:
//! - the requester, the human it acts for (`on_behalf_of`), its owner, and any non-human
//!   identity (agent, service, pipeline) can never review; identities are compared in their
//!   canonical form, and a look-alike of a party (same confusable skeleton) is that party;
//! - a reviewer must be verified, and in one of a requirement's groups (empty groups: any
//!   eligible reviewer);
//! - **a reviewer counts once**, toward one requirement slot in all: two requirements need
//!   two different people even if one person is in both groups (the strict reading of
//!   "every requirement must be satisfied"); the tally finds an assignment by bipartite
//!   matching, so the order reviews arrive in does not matter;
//! - a requirement that asks for step-up counts only reviews made with a fresh strong
//!   authentication;
//! - a deny by an eligible reviewer ends the request.

pub mod workflow;

pub use workflow::{ApprovalView, Clock, Narrowed, Redemption, Workflow, WorkflowError};

use crate::domain::{
    owner_held_by, same_identity, same_party, AuthzRequest, Caller, IdentityId, Principal,
    Requirement, Review, ReviewVerdict,
};

/// A person allowed to review one request: verified, of kind `user`, not a party to the
/// request, in a group that may approve it, not yet counted. The only way to get one is
/// [`eligible_reviewer`], so the compiler, not a string comparison, keeps agents, services
/// and pipelines from reviewing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    id: String,
    groups: Vec<String>,
    stepped_up: bool,
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

    /// Whether the reviewer has just authenticated strongly (step-up).
    pub fn stepped_up(&self) -> bool {
        self.stepped_up
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
    /// The caller does not hold the review role.
    #[error("caller may not review (role review)")]
    NoReviewRole,
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
    /// Every requirement this reviewer could fill asks for step-up, and the reviewer's
    /// authentication is not fresh and strong enough.
    #[error("{0}")]
    StepUpRequired(String),
    /// The reviewer already reviewed this request.
    #[error("reviewer has already reviewed this request")]
    AlreadyReviewed,
}

/// What the service knows about a would-be reviewer beyond its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Whether it holds the review role.
    pub review_role: bool,
    /// Whether its authentication passes step-up (`Err`: why not, and how to get it).
    pub step_up: Result<(), String>,
}

impl Standing {
    /// A reviewer with the role and a fresh strong authentication (for read checks, where
    /// step-up does not matter).
    pub fn full() -> Self {
        Self {
            review_role: true,
            step_up: Ok(()),
        }
    }
}

/// The reviewer `caller` may be for `request` under `requirements`, given who has already
/// reviewed and its `standing`: the parties to the request first (so the requester hears
/// that it is the requester), then personhood, the role, groups, step-up and a second review.
pub fn eligible_reviewer(
    caller: &Caller,
    request: &AuthzRequest,
    requirements: &[Requirement],
    already_reviewed: &[String],
    standing: Standing,
) -> Result<Reviewer, Ineligible> {
    let Standing {
        review_role,
        step_up,
    } = standing;
    let Some(p) = caller.principal().filter(|p| !p.id.is_empty()) else {
        return Err(Ineligible::Unverified);
    };
    not_a_party(p, request)?;
    if !p.kind.is_person() {
        return Err(Ineligible::NotAPerson { kind: p.kind });
    }
    if !review_role {
        return Err(Ineligible::NoReviewRole);
    }
    let reviewer = Reviewer {
        id: p.id.clone(),
        groups: p.groups.clone(),
        stepped_up: step_up.is_ok(),
    };
    let fillable: Vec<&Requirement> = requirements
        .iter()
        .filter(|r| in_groups(&reviewer.groups, r))
        .collect();
    if fillable.is_empty() {
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
    if let Err(why) = step_up {
        if fillable.iter().all(|r| r.step_up) {
            return Err(Ineligible::StepUpRequired(why));
        }
    }
    if already_reviewed.iter().any(|r| same_party(r, &reviewer.id)) {
        return Err(Ineligible::AlreadyReviewed);
    }
    Ok(reviewer)
}

/// The requester, the human it acts for and its owner (directly, or through a group that
/// holds a team owner) are parties, never reviewers; look-alikes of them too.
fn not_a_party(p: &Principal, request: &AuthzRequest) -> Result<(), Ineligible> {
    let s = &request.subject;
    if same_party(&p.id, &s.id) {
        return Err(Ineligible::Requester);
    }
    if !s.on_behalf_of.is_empty() && same_party(&p.id, &s.on_behalf_of) {
        return Err(Ineligible::OnBehalfOf);
    }
    if p.acting_for
        .as_deref()
        .is_some_and(|a| same_party(a, &s.id))
    {
        // A person acting through the requester's own delegation is the requester.
        return Err(Ineligible::Requester);
    }
    if !s.owner.is_empty() && holds_owner(p, &s.owner) {
        return Err(Ineligible::Owner);
    }
    Ok(())
}

/// Whether `p` holds `owner`, by the one owner rule ([`owner_held_by`]); an owner or an
/// identity that is not a valid identity is compared as it is.
fn holds_owner(p: &Principal, owner: &str) -> bool {
    let (Ok(owner_id), Ok(id)) = (IdentityId::parse(owner), IdentityId::parse(&p.id)) else {
        return p.id == owner || p.groups.iter().any(|g| g == owner);
    };
    let groups: Vec<IdentityId> = p
        .groups
        .iter()
        .filter_map(|g| IdentityId::parse(g).ok())
        .collect();
    owner_held_by(&owner_id, &id, &groups) || p.groups.iter().any(|g| g == owner)
}

/// Whether a reviewer in `groups` may fill `requirement` (empty groups: anyone eligible): a
/// group grants, so only the same group counts, never a look-alike.
fn in_groups(groups: &[String], requirement: &Requirement) -> bool {
    requirement.groups.is_empty()
        || requirement
            .groups
            .iter()
            .any(|g| groups.iter().any(|mine| same_identity(mine, g)))
}

/// Whether `review` may fill `requirement`: the reviewer's groups then, and step-up when the
/// requirement asks for it.
fn can_fill(review: &Review, requirement: &Requirement) -> bool {
    in_groups(&review.groups, requirement) && (!requirement.step_up || review.stepped_up)
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
    // One person counts once: a look-alike of an earlier approver is that approver.
    let mut approvers: Vec<&Review> = Vec::new();
    for r in reviews.iter().filter(|r| r.verdict != ReviewVerdict::Deny) {
        if !approvers
            .iter()
            .any(|a| same_party(&a.reviewer_id, &r.reviewer_id))
        {
            approvers.push(r);
        }
    }
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
fn max_matching(slots: &[&Requirement], reviewers: &[&Review]) -> usize {
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
    reviewers: &[&Review],
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
            acting_for: None,
            authentication: crate::domain::Authentication::default(),
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
            stepped_up: false,
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
        let check =
            |rev: Caller| eligible_reviewer(&rev, &r, &reqs, &[], Standing::full()).map(|_| ());
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
                &["user:bob".into()],
                Standing::full()
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

    #[test]
    fn aliases_of_every_party_are_that_party() {
        let reqs = [req(&["security"], 1)];
        let r = request();
        let check = |id: &str| {
            eligible_reviewer(&person(id, &["security"]), &r, &reqs, &[], Standing::full())
                .map(|_| ())
        };
        for alias in [
            "Agent:Exporter",
            " agent:exporter ",
            "ａｇｅｎｔ:ｅｘｐｏｒｔｅｒ",
            "agent:\u{0435}xporter",
            "agent:exp\u{043e}rter",
        ] {
            assert_eq!(check(alias), Err(Ineligible::Requester), "{alias:?}");
        }
        for alias in ["USER:ALICE", "user:\u{0430}lice", "user:ａlice"] {
            assert_eq!(check(alias), Err(Ineligible::OnBehalfOf), "{alias:?}");
        }
        assert_eq!(check("Team:Growth"), Err(Ineligible::Owner));
        // A team owner held through an identity-provider group, with or without the prefix.
        let team = eligible_reviewer(
            &person("user:dan", &["security", "growth"]),
            &r,
            &reqs,
            &[],
            Standing::full(),
        );
        assert_eq!(team.map(|_| ()), Err(Ineligible::Owner));
        // A second review by a look-alike of someone who already reviewed.
        let again = eligible_reviewer(
            &person("user:b\u{043e}b", &["security"]),
            &r,
            &reqs,
            &["user:bob".into()],
            Standing::full(),
        );
        assert_eq!(again.map(|_| ()), Err(Ineligible::AlreadyReviewed));
    }

    fn weak(why: &str) -> Standing {
        Standing {
            review_role: true,
            step_up: Err(why.into()),
        }
    }

    #[test]
    fn step_up_requirements_count_only_stepped_up_reviews() {
        let mut strong = req(&["security"], 1);
        strong.step_up = true;
        let reqs = [strong.clone()];
        let r = request();
        let refused = eligible_reviewer(
            &person("user:bob", &["security"]),
            &r,
            &reqs,
            &[],
            weak("step-up required: stale"),
        );
        assert_eq!(
            refused,
            Err(Ineligible::StepUpRequired("step-up required: stale".into()))
        );
        let ok = eligible_reviewer(
            &person("user:bob", &["security"]),
            &r,
            &reqs,
            &[],
            Standing::full(),
        );
        assert!(ok.unwrap().stepped_up());
        // Mixed: a weak review may fill the plain requirement, never the step-up one.
        let mixed = [strong, req(&["security"], 1)];
        assert!(eligible_reviewer(
            &person("user:bob", &["security"]),
            &r,
            &mixed,
            &[],
            weak("x")
        )
        .is_ok());
        let mut weak = approve("u:1", &["security"]);
        let mut fresh = approve("u:2", &["security"]);
        fresh.stepped_up = true;
        assert_eq!(
            tally(&mixed, &[weak.clone()]),
            Tally::Pending { missing: 1 }
        );
        assert_eq!(
            tally(&mixed, &[weak.clone(), fresh.clone()]),
            Tally::Approved
        );
        weak.stepped_up = false;
        assert_eq!(tally(&mixed[..1], &[weak]), Tally::Pending { missing: 1 });
        assert_eq!(tally(&mixed[..1], &[fresh]), Tally::Approved);
    }

    #[test]
    fn look_alike_approvers_count_once() {
        let reqs = [req(&["sre"], 2)];
        let bob = approve("user:bob", &["sre"]);
        let cyrillic = approve("user:b\u{043e}b", &["sre"]);
        assert_eq!(
            tally(&reqs, &[bob, cyrillic]),
            Tally::Pending { missing: 1 }
        );
    }
}
