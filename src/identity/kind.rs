//! The kind of a verified identity, as the identity building blocks (tokens, certificates)
//! report it.
//!
//! This mirrors `SubjectKind` of the domain refactor (issue 8) so these modules stand alone;
//! when the domain type is wired in, this file becomes `pub use crate::domain::SubjectKind;`
//! and nothing else changes.

use serde::{Deserialize, Serialize};

/// What kind of identity acts. Only people review: agents, services and pipelines are
/// automation.
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
