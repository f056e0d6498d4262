//! Who may do what: the roles every RPC requires, who may read which approval, who may redeem
//! which capability. Every use case asks here; no surface decides this on its own.
//!
//! A role is held by its members, configured in `roles:` (see [`RolesConfig`]): a kind of
//! identity (`kind:agent`), a group (`group:sre`) or one identity (`service:payments`).
//! A bundle may take the decision over with a `tollgate.api` package (see
//! `crate::policy::api`): when it defines `roles`, that set is the caller's roles.
//!
//! In insecure development mode the unauthenticated caller is trusted with everything (it is
//! the developer at the keyboard, and the server says so loudly at start-up and on
//! `/healthz`).

use serde::{Deserialize, Serialize};

use super::ServiceError;
use crate::{
    approval::{eligible_reviewer, Standing, WorkflowError},
    domain::{
        canonical_id, same_identity, Approval, AuthzRequest, Caller, Principal, Requirement,
        Review, SubjectKind, Viewer,
    },
};

/// What a caller may do. Each RPC requires one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Ask `Authorize` about itself.
    Authorize,
    /// Ask `Authorize` about other subjects (agent runtimes, Envoy, the MCP gateway).
    Gateway,
    /// Review approval requests (separation of duties still applies per request).
    Review,
    /// Redeem capabilities (executors), within each capability's audience.
    Redeem,
    /// Read the audit trail and every approval.
    Audit,
    /// Reload bundles, read status; also reads everything an auditor reads.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Self::Authorize,
        Self::Gateway,
        Self::Review,
        Self::Redeem,
        Self::Audit,
        Self::Admin,
    ];

    /// The config and policy spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Gateway => "gateway",
            Self::Review => "review",
            Self::Redeem => "redeem",
            Self::Audit => "audit",
            Self::Admin => "admin",
        }
    }

    /// Parses [`Self::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The roles one caller holds, for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    /// Every role (the unauthenticated developer in insecure mode).
    pub const ALL: RoleSet = RoleSet(0b11_1111);
    /// No role (a bundle whose roles rule failed: fail closed).
    pub const NONE: RoleSet = RoleSet(0);

    fn bit(role: Role) -> u8 {
        1 << (role as u8)
    }

    /// This set with `role` added.
    pub fn with(self, role: Role) -> Self {
        Self(self.0 | Self::bit(role))
    }

    /// Whether `role` is held; admins hold the audit role too.
    pub fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
            || (role == Role::Audit && self.0 & Self::bit(Role::Admin) != 0)
    }

    /// The roles named in `names` (unknown names hold nothing).
    pub fn named<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names
            .into_iter()
            .filter_map(Role::parse)
            .fold(Self::NONE, Self::with)
    }
}

/// Whether `p` is the human `request` acts for, proven by the requester's credentials. The
/// same canonical identity only: a look-alike counts as a party where that refuses
/// something (separation of duties), never where it grants a read.
/// Whether `p` asked for `approval`: its subject, or the gateway that asked for it. Exactly
/// that identity: a look-alike reads nothing and never the capability.
fn is_requester(p: &Principal, approval: &Approval) -> bool {
    same_identity(&p.id, &approval.subject_id)
        || (!approval.requested_by.is_empty() && same_identity(&p.id, &approval.requested_by))
}

fn proven_human(p: &Principal, approval: &Approval, request: &AuthzRequest) -> bool {
    let human = &request.subject.on_behalf_of;
    approval.on_behalf_of_proven
        && p.kind == SubjectKind::User
        && !human.is_empty()
        && same_identity(&p.id, human)
}

/// Who holds each role (`roles:` in the configuration). Members are `kind:<kind>`,
/// `group:<group>` or an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    /// May call `Authorize` about themselves. Default: every kind.
    pub authorize: Vec<String>,
    /// May call `Authorize` about other subjects. Default: nobody (static tokens can also
    /// say `assert_subjects: true`).
    pub gateway: Vec<String>,
    /// May review. Default: `kind:user`.
    pub review: Vec<String>,
    /// May redeem capabilities (and is the default audience of every capability). Default:
    /// `group:tollgate-executors`.
    pub redeem: Vec<String>,
    /// May read the audit trail and every approval. Default: `group:tollgate-auditors`.
    pub audit: Vec<String>,
    /// May administer. Default: `group:tollgate-admins`.
    pub admin: Vec<String>,
}

impl Default for RolesConfig {
    fn default() -> Self {
        Self {
            authorize: SubjectKind::ALL
                .iter()
                .map(|k| format!("kind:{}", k.as_str()))
                .collect(),
            gateway: Vec::new(),
            review: vec!["kind:user".into()],
            redeem: vec!["group:tollgate-executors".into()],
            audit: vec!["group:tollgate-auditors".into()],
            admin: vec!["group:tollgate-admins".into()],
        }
    }
}

/// One holder of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// Every identity of this kind.
    Kind(SubjectKind),
    /// Every member of this group.
    Group(String),
    /// This identity.
    Identity(String),
}

impl Member {
    /// Parses `kind:<kind>`, `group:<group>` or an identity.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(kind) = s.strip_prefix("kind:") {
            return SubjectKind::parse(kind)
                .map(Self::Kind)
                .ok_or_else(|| format!("{s:?}: unknown kind (use {})", SubjectKind::spellings()));
        }
        if let Some(group) = s.strip_prefix("group:") {
            return canonical_id(group)
                .map(Self::Group)
                .map_err(|e| format!("{s:?}: {e}"));
        }
        canonical_id(s)
            .map(Self::Identity)
            .map_err(|e| format!("{s:?}: {e}"))
    }

    /// Whether `p` is this member.
    pub fn includes(&self, p: &Principal) -> bool {
        match self {
            Self::Kind(k) => p.kind == *k,
            // Granting: the same identity exactly, never a look-alike.
            Self::Group(g) => p.groups.iter().any(|mine| same_identity(mine, g)),
            Self::Identity(id) => same_identity(&p.id, id),
        }
    }
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kind(k) => write!(f, "kind:{k}"),
            Self::Group(g) => write!(f, "group:{g}"),
            Self::Identity(id) => f.write_str(id),
        }
    }
}

/// The configured roles, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    members: Vec<(Role, Vec<Member>)>,
}

impl Default for Roles {
    fn default() -> Self {
        Self::new(&RolesConfig::default()).unwrap_or(Self {
            members: Vec::new(),
        })
    }
}

impl Roles {
    /// Parses `config`; the error names the role and the member.
    pub fn new(config: &RolesConfig) -> Result<Self, String> {
        let RolesConfig {
            authorize,
            gateway,
            review,
            redeem,
            audit,
            admin,
        } = config;
        let mut members = Vec::new();
        for (role, list) in [
            (Role::Authorize, authorize),
            (Role::Gateway, gateway),
            (Role::Review, review),
            (Role::Redeem, redeem),
            (Role::Audit, audit),
            (Role::Admin, admin),
        ] {
            let parsed = list
                .iter()
                .map(|m| Member::parse(m).map_err(|e| format!("roles.{}: {e}", role.as_str())))
                .collect::<Result<Vec<_>, _>>()?;
            members.push((role, parsed));
        }
        Ok(Self { members })
    }

    /// The members of `role`.
    pub fn members(&self, role: Role) -> &[Member] {
        self.members
            .iter()
            .find(|(r, _)| *r == role)
            .map_or(&[], |(_, m)| m.as_slice())
    }

    /// The roles `p` holds by configuration.
    pub fn of(&self, p: &Principal) -> RoleSet {
        Role::ALL
            .into_iter()
            .filter(|&role| self.members(role).iter().any(|m| m.includes(p)))
            .fold(RoleSet::NONE, RoleSet::with)
    }

    /// Refuses `caller`, holding `held`, without `role`.
    pub fn require(caller: &Caller, held: RoleSet, role: Role) -> Result<(), ServiceError> {
        if held.contains(role) {
            return Ok(());
        }
        tracing::warn!(caller = %caller.actor(), role = role.as_str(), "call refused: role not held");
        Err(ServiceError::Forbidden(match role {
            Role::Authorize => "caller may not call Authorize (role authorize)",
            Role::Gateway => "caller may not ask about other subjects (role gateway)",
            Role::Review => "caller may not review (role review)",
            Role::Redeem => "caller may not redeem capabilities (role redeem)",
            Role::Audit => "caller is not in the auditor or admin group",
            Role::Admin => "caller is not in the admin group",
        }))
    }

    /// The audience of a capability whose policy names none: the redeem role's members.
    pub fn default_audience(&self) -> Vec<String> {
        self.members(Role::Redeem)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Whether `caller` is in `audience` (identities and `group:` entries).
    pub fn in_audience(caller: &Caller, audience: &[String]) -> bool {
        let Some(p) = caller.principal() else {
            return true;
        };
        audience
            .iter()
            .filter_map(|a| Member::parse(a).ok())
            .any(|m| m.includes(p))
    }

    /// How much of `approval` (for `request` under `requirements`) `caller` may see; `None`
    /// when it may not see it at all. The parties: the requester and the gateway that asked
    /// for it (everything, the capability included), reviewers eligible for it, auditors,
    /// admins, and the human the request acts for when the requester's credentials proved it
    /// (RFC 8693 `act`, recorded at the decision) (everything but the capability). A human
    /// the body merely claims is not told the request exists: anyone can name anyone.
    ///
    /// `reviews` are its reviews so far (or none, when the caller is known not to need them): a
    /// reviewer of record stays a party when a narrowing left the request needing nobody's
    /// review (else the reviewer who narrowed it could no longer read what they decided).
    pub fn viewer(
        caller: &Caller,
        held: RoleSet,
        approval: &Approval,
        (request, requirements): (&AuthzRequest, &[Requirement]),
        reviews: &[Review],
    ) -> Option<Viewer> {
        let Some(p) = caller.principal() else {
            return Some(Viewer::Requester);
        };
        if is_requester(p, approval) {
            return Some(Viewer::Requester);
        }
        if held.contains(Role::Audit) || proven_human(p, approval, request) {
            return Some(Viewer::Party);
        }
        let reviewer = held.contains(Role::Review)
            && (eligible_reviewer(caller, request, requirements, &[], Standing::full()).is_ok()
                || reviews.iter().any(|r| same_identity(&p.id, &r.reviewer_id)));
        reviewer.then_some(Viewer::Party)
    }

    /// Refuses anyone but the requester (or its gateway) withdrawing `approval`.
    pub fn require_requester(
        caller: &Caller,
        approval: &Approval,
        what: &'static str,
    ) -> Result<(), ServiceError> {
        match caller.principal() {
            None => Ok(()),
            Some(p) if is_requester(p, approval) => Ok(()),
            Some(_) => Err(WorkflowError::NotRequester(what).into()),
        }
    }
}
