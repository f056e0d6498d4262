//! The service side of the trail: [`Auditor`] masks requests and sends the events that change
//! no other state to the group commit. Events that go with a state change are handed to the
//! store with that change.

use std::sync::Arc;

use crate::{
    domain::{AuditContext, AuditEvent, AuthzRequest, Capability, Decision, RecordedInput},
    store::{Batch, CommitError, GroupCommit},
};

use super::mask::mask;

/// Records events through the group commit, or (disabled) records none while still storing
/// what must be stored (capabilities). Cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    commit: GroupCommit,
    mask: Arc<[String]>,
    enabled: bool,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Auditor {
    /// Records through `commit`, masking `mask` paths (config `audit.mask`) in every input
    /// besides the policy's own mask paths.
    pub fn new(commit: GroupCommit, mask: Vec<String>) -> Self {
        Self {
            commit,
            mask: mask.into(),
            enabled: true,
        }
    }

    /// Records nothing (config `audit.enabled: false`); capabilities still go through
    /// `commit`.
    pub fn disabled(commit: GroupCommit) -> Self {
        Self {
            commit,
            mask: Arc::from([]),
            enabled: false,
        }
    }

    /// The group commit it records through, which state changes share (see
    /// [`crate::store::Stores::grouped`]).
    pub fn group_commit(&self) -> &GroupCommit {
        &self.commit
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Commits `event` through the group commit; returns once it is durable. Disabled: at once.
    pub async fn record(&self, event: AuditEvent) -> Result<(), CommitError> {
        if !self.enabled {
            return Ok(());
        }
        self.commit
            .submit(Batch {
                capabilities: Vec::new(),
                events: vec![event],
            })
            .await
            .map(|_| ())
    }

    /// Stores `capability` with `events` (when enabled) in the next group commit: an ALLOW
    /// answer's capability, which nothing else depends on, need not wait for its own
    /// transaction.
    pub async fn issue(
        &self,
        capability: Capability,
        events: Vec<AuditEvent>,
    ) -> Result<(), CommitError> {
        let batch = Batch {
            capabilities: vec![capability],
            events: if self.enabled { events } else { Vec::new() },
        };
        self.commit.submit(batch).await.map(|_| ())
    }

    /// `events` when enabled, none when disabled: what to hand the store with a state change.
    pub fn events(&self, events: impl FnOnce() -> Vec<AuditEvent>) -> Vec<AuditEvent> {
        if self.enabled {
            events()
        } else {
            Vec::new()
        }
    }

    /// `req` as recorded: the policy's `policy_mask` and the configured paths replaced by
    /// `[masked]`, with the paths that matched.
    pub fn masked_input(&self, req: &AuthzRequest, policy_mask: &[String]) -> RecordedInput {
        let mut input = serde_json::to_value(req).unwrap_or(serde_json::Value::Null);
        let paths = policy_mask
            .iter()
            .chain(self.mask.iter())
            .map(String::as_str);
        let masked = mask(&mut input, paths);
        RecordedInput { input, masked }
    }

    /// The `decision` event for `decision` on `req` by `ctx`, its input masked.
    pub fn decision(
        &self,
        ctx: &AuditContext,
        decision: &Decision,
        req: &AuthzRequest,
    ) -> AuditEvent {
        let recorded = self.masked_input(req, &decision.verdict.mask);
        AuditEvent::decision(ctx, decision, req, recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditKind, UnixMillis};
    use crate::store::SqliteStore;

    async fn commit() -> (GroupCommit, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).await.unwrap();
        let (commit, _task) = GroupCommit::spawn(Arc::new(store), 8, None, std::future::pending());
        (commit, dir)
    }

    #[tokio::test]
    async fn disabled_records_nothing() {
        let (commit, _dir) = commit().await;
        let a = Auditor::disabled(commit);
        assert!(a
            .events(|| vec![AuditEvent::new(AuditKind::Decision, UnixMillis(1), "x")])
            .is_empty());
    }

    #[tokio::test]
    async fn inputs_are_masked_by_policy_and_config_paths() {
        let (commit, _dir) = commit().await;
        let a = Auditor::new(commit, vec!["subject.attributes.token".into()]);
        let mut req = AuthzRequest::default();
        req.subject
            .attributes
            .insert("token".into(), "t0k3n".into());
        req.action
            .params
            .insert("password".into(), "hunter2".into());
        req.action.params.insert("table".into(), "users".into());
        let RecordedInput { input, masked } =
            a.masked_input(&req, &["action.params.password".into()]);
        assert_eq!(
            masked,
            ["action.params.password", "subject.attributes.token"]
        );
        let text = input.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("t0k3n"),
            "{text}"
        );
        assert_eq!(input["action"]["params"]["table"], "users");
    }
}
