//! Bundle events: every activation and rejection of a policy bundle, from whichever path
//! reloaded it (start-up, file watcher, SIGHUP, `PolicyAdmin/ReloadBundle`), recorded through
//! the group commit after the reload attempt completes.

use std::sync::Arc;

use serde_json::json;

use super::{AuditContext, AuditEvent, AuditKind, Auditor};
use crate::{
    domain::unix_millis,
    policy::{LoadStatus, ActivePolicy},
};

/// Records bundle activations and rejections until `shutdown`. Attempts are followed through
/// [`ActivePolicy::subscribe_attempts`]; attempts that complete faster than they are recorded
/// are coalesced into one event per kind, with the number it stands for in `detail.attempts`.
pub async fn record_bundle_events(
    policies: Arc<ActivePolicy>,
    auditor: Auditor,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut attempts = policies.subscribe_attempts();
    let (mut activations, mut rejections) = (0, 0);
    loop {
        let status = policies.status();
        for event in events(&status, activations, rejections) {
            if let Err(e) = auditor.record(event).await {
                tracing::error!(error = %e, "could not record a bundle event");
            }
        }
        (activations, rejections) = (status.activations, status.rejections);
        tokio::select! {
            () = &mut shutdown => return,
            changed = attempts.changed() => if changed.is_err() { return },
        }
    }
}

/// The events for what changed in `status` since `activations` and `rejections` were seen.
fn events(status: &LoadStatus, activations: u64, rejections: u64) -> Vec<AuditEvent> {
    let at = unix_millis(
        status
            .last_attempt_at
            .unwrap_or_else(std::time::SystemTime::now),
    );
    let ctx = AuditContext::service("");
    let revision = status
        .active_revision
        .as_deref()
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::new();
    if status.activations > activations {
        let mut e = AuditEvent::new(AuditKind::BundleActivated, at, ctx.actor.clone());
        e.effect = "activated".into();
        e.bundle_revision.clone_from(&revision);
        e.detail = json!({
            "bundle_digest": status.active_digest,
            "attempts": status.activations - activations,
        });
        out.push(e);
    }
    if status.rejections > rejections {
        let error = match &status.last_result {
            Some(Err(e)) => e.clone(),
            _ => String::new(),
        };
        let mut e = AuditEvent::new(AuditKind::BundleRejected, at, ctx.actor.clone());
        e.effect = "rejected".into();
        e.reasons = vec![error.clone()];
        e.bundle_revision = revision;
        e.detail = json!({
            "bundle_digest": status.active_digest,
            "error": error,
            "attempts": status.rejections - rejections,
        });
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_activations_and_rejections_become_events() {
        let status = LoadStatus {
            active_revision: Some("rev-2".into()),
            active_digest: Some("sha256:d".into()),
            last_result: Some(Err("syntax error".into())),
            activations: 2,
            rejections: 1,
            ..LoadStatus::default()
        };
        let all = events(&status, 1, 0);
        let kinds: Vec<_> = all.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [AuditKind::BundleActivated, AuditKind::BundleRejected]
        );
        assert_eq!(all[0].bundle_revision, "rev-2");
        assert_eq!(all[1].detail["error"], "syntax error");
        assert!(events(&status, 2, 1).is_empty());
    }
}
