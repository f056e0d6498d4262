//! The service side of the trail: [`Auditor`] masks requests, builds the events the workflow
//! and the gRPC services record, and sends the ones that change no other state to the group
//! commit. Events that go with a state change are handed to the store with that change.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{mask::mask, AuditError, AuditEvent, AuditKind, AuditWriter};
use crate::{
    domain::{unix_millis, Approval, AuthzRequest, Capability, Decision},
    store::StoreError,
};

/// Why a capability was not issued: it was not stored, or not recorded.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The capability (with the audit disabled) could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The capability and its records could not be committed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The actor of events the service causes itself (expiry, bundle reloads).
pub const SERVICE_ACTOR: &str = "tollgate";

/// Who caused an event and in which trace, passed down by the protocol layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// The verified caller (requester, reviewer, executor).
    pub actor: String,
    /// The W3C `traceparent` the call carried, "" when none.
    pub trace_parent: String,
}

impl AuditContext {
    /// A context for `actor` in the trace `trace_parent` (may be "").
    pub fn new(actor: impl Into<String>, trace_parent: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            trace_parent: trace_parent.into(),
        }
    }

    /// The service acting on its own, in the trace of `trace_parent` (e.g. the decision that
    /// created an approval it now expires).
    pub fn service(trace_parent: impl Into<String>) -> Self {
        Self::new(SERVICE_ACTOR, trace_parent)
    }

    /// The trace id (32 hex) of `trace_parent`, "" when it is absent or malformed.
    pub fn trace_id(&self) -> String {
        trace_id_of(&self.trace_parent)
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), "" if it is not one.
pub fn trace_id_of(trace_parent: &str) -> String {
    let mut parts = trace_parent.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(v), Some(id), Some(span), Some(_))
            if v.len() == 2
                && id.len() == 32
                && span.len() == 16
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && id.bytes().any(|b| b != b'0') =>
        {
            id.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

struct Inner {
    writer: AuditWriter,
    mask: Vec<String>,
}

/// Records events, or (disabled) records nothing. Cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("enabled", &self.inner.is_some())
            .finish()
    }
}

impl Auditor {
    /// Records through `writer`, masking `mask` paths (config `audit.mask`) in every input
    /// besides the policy's own mask paths.
    pub fn new(writer: AuditWriter, mask: Vec<String>) -> Self {
        Self {
            inner: Some(Arc::new(Inner { writer, mask })),
        }
    }

    /// Records nothing (config `audit.enabled: false`, and tools that need no trail).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Commits `event` through the group commit; returns once it is durable. Disabled: at once.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        match &self.inner {
            Some(inner) => inner.writer.record(event).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// Stores `capability` with `events` in the next group commit (an ALLOW answer's
    /// capability: nothing else depends on it, so it need not wait for its own transaction).
    /// Disabled: stores it alone in `store`, recording nothing.
    pub async fn issue(
        &self,
        store: &dyn crate::store::Store,
        capability: Capability,
        events: Vec<AuditEvent>,
    ) -> Result<(), IssueError> {
        match &self.inner {
            Some(inner) => {
                inner.writer.issue(capability, events).await?;
            }
            None => store.insert_capability(&capability, &[]).await?,
        }
        Ok(())
    }

    /// `events` when enabled, none when disabled: what to hand the store with a state change.
    pub fn events(&self, events: impl FnOnce() -> Vec<AuditEvent>) -> Vec<AuditEvent> {
        if self.is_enabled() {
            events()
        } else {
            Vec::new()
        }
    }

    /// `req` as recorded: the policy's `policy_mask` and the configured paths replaced by
    /// `[masked]`; returns it and the paths that matched.
    pub fn masked_input(&self, req: &AuthzRequest, policy_mask: &[String]) -> (Value, Vec<String>) {
        let mut input = serde_json::to_value(req).unwrap_or(Value::Null);
        let configured = self
            .inner
            .as_ref()
            .map(|i| i.mask.as_slice())
            .unwrap_or(&[]);
        let paths = policy_mask.iter().chain(configured).map(String::as_str);
        let masked = mask(&mut input, paths);
        (input, masked)
    }

    /// The `decision` event for `decision` on `req` by `ctx`.
    pub fn decision(
        &self,
        ctx: &AuditContext,
        decision: &Decision,
        req: &AuthzRequest,
    ) -> AuditEvent {
        let (input, masked) = self.masked_input(req, &decision.verdict.mask);
        let v = &decision.verdict;
        let mut e = about(
            AuditKind::Decision,
            ctx,
            unix_millis(decision.decided_at),
            req,
        );
        e.effect = v.effect.as_str().to_string();
        e.reasons = v.reasons.clone();
        e.decision_id = decision.id.clone();
        e.bundle_revision = decision.revision.to_string();
        e.input = input;
        e.detail = json!({
            "bundle_digest": &*decision.bundle_digest,
            "masked": masked,
            "risk": v.risk,
            "requirements": v.requirements,
            "obligations": v.obligations,
            "cached": decision.cached,
        });
        e
    }

    /// An event about a stored approval (requested, reviewed, decided, expired, cancelled, a
    /// capability minted for it), at `at`. The input is left out: the approval's decision
    /// record holds it, masked.
    pub fn approval_event(
        &self,
        kind: AuditKind,
        ctx: &AuditContext,
        at: i64,
        approval: &Approval,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(kind, at, ctx.actor.clone());
        e.subject_id = approval.subject_id.clone();
        e.action = approval.action.clone();
        let resource = &approval.request["resource"];
        e.resource_type = resource["type"].as_str().unwrap_or_default().to_string();
        e.resource_id = resource["id"].as_str().unwrap_or_default().to_string();
        e.decision_id = approval.decision_id.clone();
        e.approval_id = approval.id.clone();
        e.bundle_revision = approval.bundle_revision.clone();
        e.trace_id = ctx.trace_id();
        e
    }

    /// An event about a request presented without a decision (a redemption): its subject,
    /// action and resource, and its binding hash, but not its input: the policy's mask paths
    /// for it are not known here, so nothing of it that could be a secret is recorded.
    pub fn request_event(
        &self,
        kind: AuditKind,
        ctx: &AuditContext,
        at: i64,
        req: &AuthzRequest,
    ) -> AuditEvent {
        let mut e = about(kind, ctx, at, req);
        e.detail = json!({ "request_hash": req.binding_hash() });
        e
    }
}

/// An event of `kind` about `req` (subject, action, resource) by `ctx` at `at`.
fn about(kind: AuditKind, ctx: &AuditContext, at: i64, req: &AuthzRequest) -> AuditEvent {
    let mut e = AuditEvent::new(kind, at, ctx.actor.clone());
    e.subject_id = req.subject.id.clone();
    e.action = req.action.name.clone();
    e.resource_type = req.resource.kind.clone();
    e.resource_id = req.resource.id.clone();
    e.trace_id = ctx.trace_id();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(trace_id_of(tp), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(
            AuditContext::new("a", tp).trace_id(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        for bad in [
            "",
            "garbage",
            "00-0af7651916cd43dd-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
        ] {
            assert_eq!(trace_id_of(bad), "", "{bad}");
        }
    }

    #[test]
    fn disabled_records_nothing() {
        let a = Auditor::disabled();
        assert!(a
            .events(|| vec![AuditEvent::new(AuditKind::Decision, 1, "x")])
            .is_empty());
    }

    #[tokio::test]
    async fn inputs_are_masked_by_policy_and_config_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SqliteStore::open(dir.path().join("t.db"))
            .await
            .unwrap();
        let (writer, _task) = AuditWriter::spawn(Arc::new(store), 8, None, std::future::pending());
        let a = Auditor::new(writer, vec!["subject.attributes.token".into()]);
        let mut req = AuthzRequest::default();
        req.subject
            .attributes
            .insert("token".into(), "t0k3n".into());
        req.action
            .params
            .insert("password".into(), "hunter2".into());
        req.action.params.insert("table".into(), "users".into());
        let (input, masked) = a.masked_input(&req, &["action.params.password".into()]);
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
