//! Who may do what: the roles (administer bundles, read the audit trail) and who may read or
//! withdraw which approval. Every use case asks here; no surface decides this on its own.
//!
//! In insecure development mode the unauthenticated caller is trusted with everything (it is
//! the developer at the keyboard, and the server says so loudly at start-up).

use serde::{Deserialize, Serialize};

use super::ServiceError;
use crate::{
    approval::WorkflowError,
    domain::{Approval, Caller, Viewer},
};

/// The groups that carry roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    /// Members may reload bundles and read everything.
    pub admin_group: String,
    /// Members may read the audit trail, which holds every request.
    pub auditor_group: String,
}

impl Default for Roles {
    fn default() -> Self {
        Self {
            admin_group: "tollgate-admins".into(),
            auditor_group: "tollgate-auditors".into(),
        }
    }
}

impl Roles {
    /// Roles from the configured group names, defaults where unset.
    pub fn new(admin_group: Option<&str>, auditor_group: Option<&str>) -> Self {
        let defaults = Self::default();
        Self {
            admin_group: admin_group.map_or(defaults.admin_group, str::to_string),
            auditor_group: auditor_group.map_or(defaults.auditor_group, str::to_string),
        }
    }

    /// Whether `caller` may administer bundles.
    pub fn is_admin(&self, caller: &Caller) -> bool {
        caller
            .principal()
            .is_none_or(|p| p.groups.contains(&self.admin_group))
    }

    /// Whether `caller` may read the audit trail: auditors and admins.
    pub fn is_auditor(&self, caller: &Caller) -> bool {
        self.is_admin(caller)
            || caller
                .principal()
                .is_some_and(|p| p.groups.contains(&self.auditor_group))
    }

    /// Refuses callers who may not administer.
    pub fn require_admin(&self, caller: &Caller) -> Result<(), ServiceError> {
        if self.is_admin(caller) {
            return Ok(());
        }
        tracing::warn!(caller = %caller.actor(), "admin call refused: not an admin");
        Err(ServiceError::Forbidden("caller is not in the admin group"))
    }

    /// Refuses callers who may not read the audit trail.
    pub fn require_auditor(&self, caller: &Caller) -> Result<(), ServiceError> {
        if self.is_auditor(caller) {
            return Ok(());
        }
        tracing::warn!(caller = %caller.actor(), "audit query refused: not an auditor");
        Err(ServiceError::Forbidden(
            "caller is not in the auditor or admin group",
        ))
    }

    /// How much of `approval` `caller` may see; `None` when it may not see it at all. The
    /// capability is the requester's alone.
    pub fn viewer(&self, caller: &Caller, approval: &Approval) -> Option<Viewer> {
        match caller {
            Caller::Unauthenticated => Some(Viewer::Requester),
            Caller::Verified(p) if p.id == approval.subject_id => Some(Viewer::Requester),
            Caller::Verified(_) => Some(Viewer::Party),
        }
    }

    /// Refuses anyone but the requester withdrawing `approval`.
    pub fn require_requester(
        &self,
        caller: &Caller,
        approval: &Approval,
        what: &'static str,
    ) -> Result<(), ServiceError> {
        match caller {
            Caller::Unauthenticated => Ok(()),
            Caller::Verified(p) if p.id == approval.subject_id => Ok(()),
            Caller::Verified(_) => Err(WorkflowError::NotRequester(what).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, SubjectKind};

    fn member(groups: &[&str]) -> Caller {
        Caller::Verified(Principal {
            id: "user:x".into(),
            kind: SubjectKind::User,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            owner: String::new(),
            asserts_subjects: false,
        })
    }

    #[test]
    fn roles_follow_groups_and_insecure_mode_is_trusted() {
        let roles = Roles::default();
        assert!(roles.is_admin(&member(&["tollgate-admins"])));
        assert!(roles.is_auditor(&member(&["tollgate-admins"])));
        assert!(roles.is_auditor(&member(&["tollgate-auditors"])));
        assert!(!roles.is_admin(&member(&["tollgate-auditors"])));
        assert!(!roles.is_auditor(&member(&["sre"])));
        assert!(roles.is_admin(&Caller::Unauthenticated));
        let custom = Roles::new(Some("ops"), None);
        assert!(custom.is_admin(&member(&["ops"])));
        assert!(!custom.is_admin(&member(&["tollgate-admins"])));
    }
}
