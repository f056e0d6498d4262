//! The approval workflow: turns PENDING_APPROVAL decisions into durable requests, applies
//! reviews under the separation-of-duties rules, mints the capability on approval, redeems
//! capabilities once, expires what nobody decided, and wakes waiters.
//!
//! Every state change is a compare-and-set in the store, so racing reviewers, redeemers and
//! replicas get exactly one outcome; this module only decides *which* change to ask for.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::broadcast;

use super::Ineligible;
use crate::{
    audit::{AuditContext, AuditError, AuditKind, Auditor},
    capability::{CapabilityError, CapabilityKey, Grant},
    domain::{
        narrowing, unix_millis, Approval, ApprovalState, AuthzRequest, Capability, CapabilityState,
        Decision, NewApproval, NotNarrower, ParamChange, Requirement, Review,
    },
    store::{ApprovalFilter, ApprovalPage, ChangeFeed, Page, Store, StoreError},
    telemetry::metrics::{CapabilityEvent, Metrics, Resolution},
};

mod redeem;
mod review;

/// Where the workflow reads the time; tests substitute a controlled clock.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why a workflow step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// No approval with this id.
    #[error("approval {0} not found")]
    NotFound(String),
    /// The reviewer may not review this request.
    #[error(transparent)]
    Ineligible(#[from] Ineligible),
    /// The approval is no longer pending.
    #[error("approval is {0}, not pending")]
    NotPending(&'static str),
    /// Only the requester may do this.
    #[error("only the requester may {0}")]
    NotRequester(&'static str),
    /// A modification would widen or change the request, not narrow it.
    #[error(transparent)]
    NotNarrower(#[from] NotNarrower),
    /// The same idempotency key was used for a different request.
    #[error("context.request_id was already used for a different request")]
    KeyReused,
    /// Stored data does not parse.
    #[error("stored approval {id} is unreadable: {message}")]
    Corrupt {
        /// The approval.
        id: String,
        /// What failed.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Minting the capability failed.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// The audit record could not be committed, so nothing is answered.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// An approval with its reviews, and its capability when the viewer may have it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalView {
    /// The stored request.
    pub approval: Approval,
    /// The request under review.
    pub request: AuthzRequest,
    /// What reviewers must satisfy.
    pub requirements: Vec<Requirement>,
    /// Reviews so far.
    pub reviews: Vec<Review>,
    /// The capability token and its expiry (approved, and shown to the requester only).
    pub capability: Option<(String, SystemTime)>,
    /// The request as first asked, when a reviewer narrowed it.
    pub original_request: Option<AuthzRequest>,
    /// What the narrowing changed.
    pub changes: Vec<ParamChange>,
}

/// A reviewer's narrowing, already checked against the policy by the caller: the narrowed
/// request and the requirements the policy gives it (empty when it would be allowed).
#[derive(Debug, Clone, PartialEq)]
pub struct Narrowed {
    /// The request with the reviewer's params.
    pub request: AuthzRequest,
    /// Its approval requirements.
    pub requirements: Vec<Requirement>,
}

/// The outcome of a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    /// True only for the first valid use.
    pub allowed: bool,
    /// Why not.
    pub reason: String,
    /// The capability's approval, if any.
    pub approval_id: Option<String>,
    /// The capability id, when the token was readable.
    pub capability_id: String,
    /// The `traceparent` of the decision behind the capability's approval ("" if none), so
    /// the redemption's span can link back to it.
    pub trace_parent: String,
}

/// The workflow. Cheap to clone.
#[derive(Clone)]
pub struct Workflow {
    store: Arc<dyn Store>,
    key: Arc<CapabilityKey>,
    clock: Clock,
    changes: broadcast::Sender<String>,
    feed: Option<Arc<dyn ChangeFeed>>,
    auditor: Auditor,
    metrics: Metrics,
}

fn millis_to_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl Workflow {
    /// A workflow over `store`, signing with `key`.
    pub fn new(store: Arc<dyn Store>, key: Arc<CapabilityKey>, clock: Clock) -> Self {
        Self {
            store,
            key,
            clock,
            changes: broadcast::channel(1024).0,
            feed: None,
            auditor: Auditor::disabled(),
            metrics: Metrics::new(),
        }
    }

    /// Counts capabilities and approval outcomes in `metrics` (by default, in a private set
    /// nobody scrapes).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Observes that an approval created at `created_at` (ms) reached `outcome` at `now`.
    fn resolved(&self, outcome: Resolution, created_at: i64, now: SystemTime) {
        let took = now
            .duration_since(millis_to_time(created_at))
            .unwrap_or(Duration::ZERO);
        self.metrics.observe_resolution(outcome, took);
    }

    /// Records every step through `auditor` (the default records nothing).
    pub fn with_auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// Shares changes with other replicas through `feed` and wakes local waiters for theirs.
    pub async fn with_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Result<Self, WorkflowError> {
        let mut remote = feed.subscribe().await?;
        let local = self.changes.clone();
        tokio::spawn(async move {
            while let Some(id) = remote.recv().await {
                // No local waiters is fine.
                let _ = local.send(id);
            }
        });
        self.feed = Some(feed);
        Ok(self)
    }

    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Approval ids as they change (created, reviewed, decided, expired, cancelled).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    async fn changed(&self, id: &str) {
        // No receivers is fine: nobody is waiting.
        let _ = self.changes.send(id.to_string());
        if let Some(feed) = &self.feed {
            // The change is committed; a lost announcement only delays remote waiters until
            // their next re-read, so it is logged, not failed.
            if let Err(e) = feed.publish(id).await {
                tracing::warn!(error = %e, approval.id = %id, "could not announce an approval change to other replicas");
            }
        }
    }

    /// Makes `decision` (PENDING_APPROVAL for `req`) a durable approval request, or returns
    /// the existing one for the same subject and `context.request_id`. The decision and the
    /// request are recorded in the same transaction as the approval (a replay records only
    /// its decision, pointing at the existing approval).
    pub async fn request_approval(
        &self,
        decision: &Decision,
        req: &AuthzRequest,
        ctx: &AuditContext,
    ) -> Result<Approval, WorkflowError> {
        let now = unix_millis(self.now());
        let requirements = &decision.verdict.requirements;
        let ttl = requirements
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(Duration::from_secs(3600));
        let corrupt = |e: serde_json::Error| WorkflowError::Corrupt {
            id: decision.id.clone(),
            message: e.to_string(),
        };
        let new = NewApproval {
            id: uuid::Uuid::now_v7().to_string(),
            decision_id: decision.id.clone(),
            subject_id: req.subject.id.clone(),
            request_id: req.context.request_id.clone(),
            action: req.action.name.clone(),
            request: serde_json::to_value(req).map_err(corrupt)?,
            request_hash: req.binding_hash(),
            requirements: serde_json::to_value(requirements).map_err(corrupt)?,
            bundle_revision: decision.revision.to_string(),
            created_at: now,
            expires_at: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            trace_parent: ctx.trace_parent.clone(),
        };
        let events = self.auditor.events(|| {
            let mut decided = self.auditor.decision(ctx, decision, req);
            decided.approval_id.clone_from(&new.id);
            let mut requested = self.auditor.approval_event(
                AuditKind::ApprovalRequested,
                ctx,
                now,
                &new.clone().into_pending(),
            );
            requested.effect = ApprovalState::Pending.as_str().into();
            requested.reasons.clone_from(&decided.reasons);
            requested.detail = serde_json::json!({
                "requirements": requirements,
                "expires_at": new.expires_at,
                "request_hash": new.request_hash,
            });
            vec![decided, requested]
        });
        let (approval, created) = self.store.create_approval(&new, &events).await?;
        if !created && approval.request_hash != new.request_hash {
            return Err(WorkflowError::KeyReused);
        }
        if !created && self.auditor.is_enabled() {
            let mut decided = self.auditor.decision(ctx, decision, req);
            decided.approval_id.clone_from(&approval.id);
            self.auditor.record(decided).await?;
        }
        if created {
            tracing::info!(approval.id = %approval.id, decision.id = %decision.id, "approval requested");
            self.changed(&approval.id).await;
        }
        Ok(approval)
    }

    /// Records a decision that stores nothing else (a DENY, or an ALLOW without a capability)
    /// through the group commit; it returns once the record is durable, so the caller may
    /// answer. PENDING and capability-carrying answers are recorded with what they store.
    pub async fn record_decision(
        &self,
        decision: &Decision,
        req: &AuthzRequest,
        ctx: &AuditContext,
    ) -> Result<(), WorkflowError> {
        if self.auditor.is_enabled() {
            self.auditor
                .record(self.auditor.decision(ctx, decision, req))
                .await?;
        }
        Ok(())
    }

    /// A capability for an ALLOW whose policy asked for one (obligation `capability`); the
    /// decision and the issue are recorded in the same transaction as the capability, a group
    /// commit shared with other answers.
    pub async fn capability_for_allow(
        &self,
        decision: &Decision,
        req: &AuthzRequest,
        ttl: Duration,
        ctx: &AuditContext,
    ) -> Result<(String, SystemTime), WorkflowError> {
        let mut grant = Grant::for_request(req, None, &decision.revision, self.now(), ttl);
        grant.id = decision.id.clone();
        let cap = capability_record(&grant);
        let events = self.auditor.events(|| {
            let mut decided = self.auditor.decision(ctx, decision, req);
            decided.capability_id.clone_from(&cap.id);
            let mut issued = decided.clone();
            issued.id = uuid::Uuid::now_v7().to_string();
            issued.kind = AuditKind::CapabilityIssued;
            issued.effect = CapabilityState::Issued.as_str().into();
            issued.reasons = Vec::new();
            issued.input = serde_json::Value::Null;
            issued.detail = capability_detail(&cap);
            vec![decided, issued]
        });
        // Nothing else waits on this capability: it joins the group commit with its records.
        match self.auditor.issue(self.store.as_ref(), cap, events).await {
            Ok(()) => {}
            Err(crate::audit::IssueError::Store(e)) => return Err(e.into()),
            Err(crate::audit::IssueError::Audit(e)) => return Err(e.into()),
        }
        self.metrics.observe_capability(CapabilityEvent::Issued);
        Ok((self.key.mint(&grant)?, grant.expires_at))
    }

    fn parse(
        &self,
        approval: &Approval,
    ) -> Result<(AuthzRequest, Vec<Requirement>), WorkflowError> {
        let corrupt = |e: serde_json::Error| WorkflowError::Corrupt {
            id: approval.id.clone(),
            message: e.to_string(),
        };
        Ok((
            serde_json::from_value(approval.request.clone()).map_err(corrupt)?,
            serde_json::from_value(approval.requirements.clone()).map_err(corrupt)?,
        ))
    }

    /// The approval as `viewer` may see it: the capability only for the requester.
    pub async fn view(
        &self,
        id: &str,
        viewer: Option<&str>,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = self.now();
        let approval = self
            .store
            .get_approval(id, unix_millis(now))
            .await?
            .ok_or_else(|| WorkflowError::NotFound(id.to_string()))?;
        self.view_of(approval, viewer).await
    }

    async fn view_of(
        &self,
        approval: Approval,
        viewer: Option<&str>,
    ) -> Result<ApprovalView, WorkflowError> {
        let (request, requirements) = self.parse(&approval)?;
        let original_request: Option<AuthzRequest> = match &approval.original_request {
            Some(v) => {
                Some(
                    serde_json::from_value(v.clone()).map_err(|e| WorkflowError::Corrupt {
                        id: approval.id.clone(),
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let changes = original_request
            .as_ref()
            .and_then(|o| narrowing("action.params", &o.action.params, &request.action.params).ok())
            .unwrap_or_default();
        let reviews = self.store.reviews(&approval.id).await?;
        let is_requester = viewer.is_none_or(|v| v == approval.subject_id);
        let capability = if approval.state == ApprovalState::Approved && is_requester {
            self.reissue(&approval, &request, &requirements).await?
        } else {
            None
        };
        Ok(ApprovalView {
            approval,
            request,
            requirements,
            reviews,
            capability,
            original_request,
            changes,
        })
    }

    /// The approval's capability token, signed again from its stored record (the token is
    /// a pure function of the record; single use is the record's state, not the token's).
    async fn reissue(
        &self,
        approval: &Approval,
        request: &AuthzRequest,
        _requirements: &[Requirement],
    ) -> Result<Option<(String, SystemTime)>, WorkflowError> {
        let Some(cap) = self
            .store
            .get_capability(&approval.id, unix_millis(self.now()))
            .await?
        else {
            return Ok(None);
        };
        let grant = Grant {
            id: cap.id.clone(),
            subject: request.subject.id.clone(),
            approval_id: Some(approval.id.clone()),
            request_hash: cap.request_hash.clone(),
            revision: approval.bundle_revision.clone(),
            issued_at: millis_to_time(cap.issued_at),
            expires_at: millis_to_time(cap.expires_at),
        };
        Ok(Some((self.key.mint(&grant)?, grant.expires_at)))
    }

    /// The pending request, for a reviewer about to narrow it (the caller re-evaluates the
    /// narrowed form with the policy and passes it to [`Self::review`]).
    pub async fn narrow(
        &self,
        approval_id: &str,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> Result<AuthzRequest, WorkflowError> {
        let view = self.view(approval_id, None).await?;
        if view.approval.state != ApprovalState::Pending {
            return Err(WorkflowError::NotPending(view.approval.state.as_str()));
        }
        narrowing("action.params", &view.request.action.params, &params)?;
        let mut narrowed = view.request;
        narrowed.action.params = params;
        Ok(narrowed)
    }

    /// Withdraws a pending request; only its requester may. Recorded with the transition.
    pub async fn cancel(
        &self,
        caller_id: Option<&str>,
        approval_id: &str,
        ctx: &AuditContext,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = unix_millis(self.now());
        let approval = self
            .store
            .get_approval(approval_id, now)
            .await?
            .ok_or_else(|| WorkflowError::NotFound(approval_id.to_string()))?;
        if caller_id.is_some_and(|c| c != approval.subject_id) {
            return Err(WorkflowError::NotRequester("cancel"));
        }
        let events = self.auditor.events(|| {
            let mut e =
                self.auditor
                    .approval_event(AuditKind::ApprovalCancelled, ctx, now, &approval);
            e.effect = ApprovalState::Cancelled.as_str().into();
            vec![e]
        });
        if !self
            .store
            .transition(
                approval_id,
                ApprovalState::Pending,
                ApprovalState::Cancelled,
                now,
                &events,
            )
            .await?
        {
            let state = self
                .store
                .get_approval(approval_id, now)
                .await?
                .map(|a| a.state.as_str())
                .unwrap_or("gone");
            return Err(WorkflowError::NotPending(state));
        }
        self.resolved(
            Resolution::Cancelled,
            approval.created_at,
            millis_to_time(now),
        );
        self.changed(approval_id).await;
        self.view(approval_id, caller_id).await
    }

    /// Approvals matching `filter`.
    pub async fn list(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
    ) -> Result<ApprovalPage, WorkflowError> {
        Ok(self
            .store
            .list_approvals(filter, page, unix_millis(self.now()))
            .await?)
    }

    /// How many approvals are pending now (deadlines enforced), for the pending gauge.
    pub async fn count_pending(&self) -> Result<u64, WorkflowError> {
        Ok(self.store.count_pending(unix_millis(self.now())).await?)
    }

    /// The store (for tooling and tests).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// The server-side record of `grant`, issued.
fn capability_record(grant: &Grant) -> Capability {
    Capability {
        id: grant.id.clone(),
        approval_id: grant.approval_id.clone(),
        request_hash: grant.request_hash.clone(),
        state: CapabilityState::Issued,
        issued_at: unix_millis(grant.issued_at),
        expires_at: unix_millis(grant.expires_at),
        redeemed_at: None,
    }
}

/// What a `capability.issued` event says about the capability (never its token).
fn capability_detail(cap: &Capability) -> serde_json::Value {
    serde_json::json!({
        "request_hash": cap.request_hash,
        "issued_at": cap.issued_at,
        "expires_at": cap.expires_at,
    })
}

/// When a pending approval's deadline passes, as a tokio instant (for waiters).
pub fn deadline(approval: &Approval) -> tokio::time::Instant {
    let at = millis_to_time(approval.expires_at);
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    // Cap the wait so a far deadline cannot overflow the timer; waiters re-read anyway.
    tokio::time::Instant::now() + left.min(Duration::from_secs(24 * 3600))
}
