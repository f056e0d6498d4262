//! Who is asking, as the identity layer verified it, and what kind of identity it is. The
//! separation-of-duties and read rules rest on these types, not on string comparisons.

use serde::{Deserialize, Serialize};

use super::{IdentityId, UnixMillis};

/// What kind of identity acts. Only people review: agents, services and pipelines are
/// automation and can never approve anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// An AI agent or agent runtime.
    Agent,
    /// A long-running service.
    Service,
    /// A CI/CD or data pipeline.
    Pipeline,
    /// A person.
    User,
}

impl SubjectKind {
    /// Every kind, for parsing and error messages.
    pub const ALL: [SubjectKind; 4] = [Self::Agent, Self::Service, Self::Pipeline, Self::User];

    /// The wire, config and policy spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Service => "service",
            Self::Pipeline => "pipeline",
            Self::User => "user",
        }
    }

    /// Parses the spelling of [`Self::as_str`]; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for people, the only identities that may review.
    pub fn is_person(self) -> bool {
        self == Self::User
    }

    /// The spellings, comma-separated, for error messages.
    pub fn spellings() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified identity: what its credentials prove. Every identity string in it is in the
/// canonical form (see `identity::canonical`), so comparing them is comparing identities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Identity, e.g. `agent:billing-exporter` or `user:bob@example.com`.
    pub id: String,
    /// What kind of identity it is.
    pub kind: SubjectKind,
    /// Group memberships.
    pub groups: Vec<String>,
    /// Accountable owner ("" when none).
    pub owner: String,
    /// A trusted gateway (an agent runtime, Envoy) that may ask about other subjects.
    pub asserts_subjects: bool,
    /// The human this caller provably acts for (token delegation, RFC 8693 `act`).
    pub acting_for: Option<String>,
    /// How the caller proved who it is.
    pub authentication: Authentication,
}

/// How a caller authenticated, as far as step-up needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Authentication {
    /// The credential.
    pub method: AuthMethod,
    /// When the person last actually authenticated (OIDC `auth_time`).
    pub auth_time: Option<UnixMillis>,
    /// Authentication context class (OIDC `acr`).
    pub acr: Option<String>,
    /// Authentication methods (OIDC `amr`, RFC 8176).
    pub amr: Vec<String>,
    /// A development token configured to count as a fresh strong authentication (only
    /// accepted on loopback-only servers; see `identity::TokenIdentity::step_up`).
    pub development_step_up: bool,
}

/// Which kind of credential proved the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A static bearer token from the configuration (development, service accounts).
    #[default]
    StaticToken,
    /// A signed token (OIDC / JWT) from `issuer`.
    Token {
        /// The issuer that signed it.
        issuer: String,
    },
    /// A client certificate (mTLS).
    Certificate,
    /// A chat platform vouching for one of its users (a Slack button click): who clicked is
    /// known, but not that they just authenticated, so it never passes step-up.
    Chat {
        /// The platform, e.g. `slack`.
        platform: String,
    },
}

/// The caller of one request, as the identity layer found it.
// One per request, passed by reference: boxing the principal would add an allocation to
// every call to save stack space in the rare insecure case.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Insecure development mode without credentials: nobody is verified and the request
    /// body is trusted as is. Never produced outside that mode.
    Unauthenticated,
    /// A verified identity.
    Verified(Principal),
}

/// The audit actor of a call nobody authenticated (insecure development mode): the trail
/// says so rather than naming whoever the body claims to be.
pub const UNAUTHENTICATED_ACTOR: &str = "unauthenticated";

impl Caller {
    /// The verified identity, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Verified(p) => Some(p),
            Self::Unauthenticated => None,
        }
    }

    /// Whether the request body's subject is trusted as is: gateways, and everything in
    /// insecure development mode.
    pub fn asserts_subjects(&self) -> bool {
        self.principal().is_none_or(|p| p.asserts_subjects)
    }

    /// Who the audit trail names for this call.
    pub fn actor(&self) -> &str {
        self.principal()
            .map_or(UNAUTHENTICATED_ACTOR, |p| p.id.as_str())
    }

    /// True when this caller's verified id is `id`.
    pub fn is(&self, id: &str) -> bool {
        self.principal().is_some_and(|p| p.id == id)
    }
}

/// The canonical form of identity `raw` (see [`IdentityId`]), or why it is not one.
pub fn canonical_id(raw: &str) -> Result<String, super::IdentityError> {
    IdentityId::canonical_form(raw)
}

/// Whether identities `a` and `b` must be treated as one party: the same canonical form, or
/// look-alikes (the same confusable skeleton). Identities that are not valid ones are only
/// equal to themselves.
pub fn same_party(a: &str, b: &str) -> bool {
    match (IdentityId::parse(a), IdentityId::parse(b)) {
        (Ok(a), Ok(b)) => a.same_party(&b),
        _ => a == b,
    }
}

/// Whether `a` and `b` are one identity: the same canonical form (case, width and
/// normalisation folded), look-alikes NOT included. Use it wherever a match grants something
/// (a role, a group, reading, the capability, cancelling); [`same_party`] is for where a match
/// refuses (separation of duties). Identities that are not valid ones are only equal to
/// themselves.
pub fn same_identity(a: &str, b: &str) -> bool {
    match (IdentityId::canonical_form(a), IdentityId::canonical_form(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// How much of an approval a reader may see, as the read rules decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The requester (or, in insecure development mode, the unauthenticated developer):
    /// everything, the capability included.
    Requester,
    /// Another party allowed to read it (a reviewer, an auditor, an admin): everything but
    /// the capability, which only the requester may hold.
    Party,
}

impl Viewer {
    /// Whether this reader may receive the approval's capability.
    pub fn sees_capability(self) -> bool {
        self == Self::Requester
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_their_spelling_only_and_only_users_are_people() {
        for k in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(SubjectKind::parse("User"), None);
        assert_eq!(SubjectKind::parse(""), None);
        let people: Vec<_> = SubjectKind::ALL
            .into_iter()
            .filter(|k| k.is_person())
            .collect();
        assert_eq!(people, [SubjectKind::User]);
    }

    #[test]
    fn the_unauthenticated_caller_is_named_so_and_trusted_only_in_its_mode() {
        assert_eq!(Caller::Unauthenticated.actor(), UNAUTHENTICATED_ACTOR);
        assert!(Caller::Unauthenticated.asserts_subjects());
        let p = Principal {
            id: "agent:a".into(),
            kind: SubjectKind::Agent,
            groups: vec![],
            owner: String::new(),
            asserts_subjects: false,
            acting_for: None,
            authentication: Authentication::default(),
        };
        let c = Caller::Verified(p);
        assert_eq!(c.actor(), "agent:a");
        assert!(!c.asserts_subjects());
        assert!(c.is("agent:a") && !c.is("agent:b"));
        assert!(!Caller::Unauthenticated.is(""));
    }
}
