//! The approval workflow: turns PENDING_APPROVAL decisions into durable requests, applies
//! reviews under the separation-of-duties rules, mints the capability on approval, redeems
//! capabilities once, expires what nobody decided, and wakes waiters.
//!
//! Every state change is a compare-and-set in the store, so racing reviewers, redeemers and
//! replicas get exactly one outcome; this module only decides *which* change to ask for. Who
//! may read or change which approval is decided by the caller ([`crate::service`]); this
//! module is told, as a [`Viewer`], how much a reader may see.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::broadcast;

use super::Ineligible;
use crate::{
    audit::Auditor,
    capability::{CapabilityError, CapabilityKey, Grant, IssuedCapability},
    domain::{
        narrowing, Approval, ApprovalFilter, ApprovalState, AuditContext, AuditEvent, AuthzRequest,
        Capability, Decided, NewApproval, NotNarrower, Page, ParamChange, RedeemRefusal,
        Requirement, Review, UnixMillis, Viewer,
    },
    store::{
        ApprovalSnapshot, ApprovalStore, CapabilityStore, ChangeFeed, CommitError, StoreError,
        Stores,
    },
    telemetry::{
        metrics::{Metrics, Resolution},
        ErrorChain,
    },
};

mod redeem;
mod review;

pub use redeem::RedeemChecks;
pub use review::Verdict;

/// Most store pages one listing reads looking for approvals the caller may see.
pub const MAX_LIST_SCAN: usize = 20;

/// Where the workflow reads the time; tests substitute a controlled clock.
pub type Clock = Arc<dyn Fn() -> std::time::SystemTime + Send + Sync>;

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
    /// The caller is not in the capability's audience; nothing was consumed.
    #[error("caller is not in the capability's audience; only its executor may redeem it")]
    NotAudience,
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
    Audit(#[from] CommitError),
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
    /// The capability (approved, and shown to the requester only).
    pub capability: Option<IssuedCapability>,
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
    /// Why not, as a value (`None` when allowed).
    pub refusal: Option<RedeemRefusal>,
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
    approvals: Arc<dyn ApprovalStore>,
    capabilities: Arc<dyn CapabilityStore>,
    key: Arc<CapabilityKey>,
    clock: Clock,
    changes: broadcast::Sender<String>,
    feed: Option<Arc<dyn ChangeFeed>>,
    auditor: Auditor,
    metrics: Metrics,
}

impl Workflow {
    /// A workflow over `stores`, signing with `key`, recording through `auditor`.
    pub fn new(stores: &Stores, key: Arc<CapabilityKey>, clock: Clock, auditor: Auditor) -> Self {
        Self {
            approvals: stores.approvals.clone(),
            capabilities: stores.capabilities.clone(),
            key,
            clock,
            changes: broadcast::channel(1024).0,
            feed: None,
            auditor,
            metrics: Metrics::new(),
        }
    }

    /// Counts capabilities and approval outcomes in `metrics` (by default, in a private set
    /// nobody scrapes).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Observes that an approval created at `created_at` reached `outcome` at `now`.
    fn resolved(&self, outcome: Resolution, created_at: UnixMillis, now: UnixMillis) {
        self.metrics
            .observe_resolution(outcome, now.since(created_at));
    }

    /// Shares changes with other replicas through `feed` and wakes local waiters for theirs.
    pub async fn with_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Result<Self, WorkflowError> {
        let mut remote = feed.subscribe().await?;
        // Weak: once the workflow is gone, the next change ends this task and with it the
        // feed's subscription.
        let local = self.changes.downgrade();
        tokio::spawn(async move {
            while let Some(id) = remote.recv().await {
                let Some(local) = local.upgrade() else {
                    return;
                };
                // No local waiters is fine.
                let _ = local.send(id);
            }
        });
        self.feed = Some(feed);
        Ok(self)
    }

    /// Now, by the workflow's clock.
    pub fn now(&self) -> UnixMillis {
        UnixMillis::from_time((self.clock)())
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
                tracing::warn!(error = %ErrorChain(&e), approval.id = %id, "could not announce an approval change to other replicas");
            }
        }
    }

    /// Makes `decided` (PENDING_APPROVAL) a durable approval request, whose capability
    /// `audience` may redeem, or returns the existing one for the same subject and
    /// `context.request_id`. The caller in `ctx` is recorded as who asked (the requester, or
    /// its gateway). The decision and the request are recorded in the same transaction as the
    /// approval (a replay records only its decision, pointing at the existing approval).
    pub async fn request_approval(
        &self,
        decided: &Decided,
        audience: Vec<String>,
        max_pending: Option<u32>,
        ctx: &AuditContext,
    ) -> Result<Approval, WorkflowError> {
        let Decided {
            decision,
            request: req,
        } = decided;
        let now = self.now();
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
            request_hash: req.request_hash(),
            requirements: serde_json::to_value(requirements).map_err(corrupt)?,
            bundle_revision: decision.revision.to_string(),
            bundle_digest: decision.bundle_digest.to_string(),
            created_at: now,
            expires_at: now.plus(ttl),
            trace_parent: ctx.trace_parent.clone(),
            requested_by: ctx.actor.clone(),
            capability_audience: audience,
            on_behalf_of_proven: decision.on_behalf_of == crate::domain::Delegation::Verified,
        };
        let events = self.auditor.events(|| {
            let pending = new.clone().into_pending();
            let reasons = &decision.verdict.reasons;
            vec![
                self.auditor
                    .decision(ctx, decision, req)
                    .for_approval(&new.id),
                AuditEvent::approval_requested(ctx, &pending, now, reasons, requirements),
            ]
        });
        let (approval, created) = self
            .approvals
            .create_approval(&new, max_pending, &events)
            .await?;
        if !created && !asks_for(&approval, &new.request_hash) {
            return Err(WorkflowError::KeyReused);
        }
        if !created {
            let replay = self
                .auditor
                .decision(ctx, decision, req)
                .for_approval(&approval.id);
            self.auditor.record(replay).await?;
        }
        if created {
            tracing::info!(approval.id = %approval.id, decision.id = %decision.id, "approval requested");
            self.changed(&approval.id).await;
        }
        Ok(approval)
    }

    /// The stored request and requirements of `approval`.
    pub fn parse(
        &self,
        approval: &Approval,
    ) -> Result<(AuthzRequest, Vec<Requirement>), WorkflowError> {
        let corrupt = |e: serde_json::Error| WorkflowError::Corrupt {
            id: approval.id.clone(),
            message: e.to_string(),
        };
        Ok((
            approval.parsed_request().map_err(corrupt)?,
            approval.parsed_requirements().map_err(corrupt)?,
        ))
    }

    /// The stored approval as of now (for the caller's access checks).
    pub async fn get(&self, id: &str) -> Result<Approval, WorkflowError> {
        self.approvals
            .get_approval(id, self.now())
            .await?
            .ok_or_else(|| WorkflowError::NotFound(id.to_string()))
    }

    /// The stored approval as of now with its reviews so far, oldest first, and the
    /// capability it minted, read together.
    pub async fn get_reviewed(&self, id: &str) -> Result<ApprovalSnapshot, WorkflowError> {
        self.approvals
            .get_reviewed(id, self.now())
            .await?
            .ok_or_else(|| WorkflowError::NotFound(id.to_string()))
    }

    /// `read` (one [`Self::get_reviewed`]) as `viewer` may see it: the capability only for
    /// the requester, and only once approved.
    pub fn view_of(
        &self,
        read: ApprovalSnapshot,
        viewer: Viewer,
    ) -> Result<ApprovalView, WorkflowError> {
        let ApprovalSnapshot {
            approval,
            reviews,
            capability,
        } = read;
        let capability = capability
            .filter(|_| approval.state == ApprovalState::Approved && viewer.sees_capability());
        let parsed = self.parse(&approval)?;
        self.assemble(approval, parsed, reviews, capability)
    }

    /// The approval `id` as `viewer` may see it.
    pub async fn view(&self, id: &str, viewer: Viewer) -> Result<ApprovalView, WorkflowError> {
        self.view_of(self.get_reviewed(id).await?, viewer)
    }

    /// Up to `page.limit` approvals matching `filter` that `viewer_of` lets the caller see,
    /// as it may see them, and the cursor after the last one. Each store call reads a page of
    /// approvals with their reviews and capabilities (never one read per row); pages the
    /// caller may see little of are read on, at most [`MAX_LIST_SCAN`] of them per call, so a
    /// caller who sees few approvals still gets full pages and a cursor that never skips.
    pub async fn list(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
        viewer_of: impl Fn(&Approval, &AuthzRequest, &[Requirement], &[Review]) -> Option<Viewer>,
    ) -> Result<(Vec<ApprovalView>, Option<String>), WorkflowError> {
        let limit = page.limit.max(1) as usize;
        let mut cursor = page.clone();
        let mut views = Vec::new();
        for _ in 0..MAX_LIST_SCAN {
            let listing = self
                .approvals
                .list_approvals(filter, &cursor, self.now())
                .await?;
            let mut reviews: HashMap<String, Vec<Review>> = HashMap::new();
            for r in listing.reviews {
                reviews.entry(r.approval_id.clone()).or_default().push(r);
            }
            let mut capabilities: HashMap<String, Capability> = listing
                .capabilities
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            let last = listing.page.items.last().map(|a| a.id.clone());
            for approval in listing.page.items {
                let (request, requirements) = self.parse(&approval)?;
                let reviews = reviews.remove(&approval.id).unwrap_or_default();
                let Some(viewer) = viewer_of(&approval, &request, &requirements, &reviews) else {
                    continue;
                };
                if views.len() == limit {
                    // Full: the next page starts after the last one returned.
                    let next = views.last().map(|v: &ApprovalView| v.approval.id.clone());
                    return Ok((views, next));
                }
                let capability = capabilities.remove(&approval.id).filter(|_| {
                    approval.state == ApprovalState::Approved && viewer.sees_capability()
                });
                let parsed = (request, requirements);
                views.push(self.assemble(approval, parsed, reviews, capability)?);
            }
            match listing.page.next {
                Some(_) if views.len() < limit => cursor.after_id = last,
                next => return Ok((views, next)),
            }
        }
        // Read enough for one call: the caller continues after what was read.
        Ok((views, cursor.after_id))
    }

    /// A view from what the store returned; the capability's token is signed again from its
    /// record (the token is a pure function of the record; single use is the record's state,
    /// not the token's).
    fn assemble(
        &self,
        approval: Approval,
        (request, requirements): (AuthzRequest, Vec<Requirement>),
        reviews: Vec<Review>,
        capability: Option<Capability>,
    ) -> Result<ApprovalView, WorkflowError> {
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
        let capability = match capability {
            Some(cap) => {
                let bundle = (
                    approval.bundle_revision.as_str(),
                    approval.bundle_digest.as_str(),
                );
                let grant = Grant::of_record(&cap, &request.subject.id, bundle);
                Some(self.key.issue(&grant)?)
            }
            None => None,
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

    /// The pending request with `params` in place of its own, refused unless it narrows (for
    /// a reviewer about to modify it: the caller re-evaluates it with the policy and passes it
    /// to [`Self::review`]).
    pub async fn narrow(
        &self,
        approval_id: &str,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> Result<AuthzRequest, WorkflowError> {
        let approval = self.get(approval_id).await?;
        if approval.state != ApprovalState::Pending {
            return Err(WorkflowError::NotPending(approval.state.as_str()));
        }
        let (request, _) = self.parse(&approval)?;
        narrowing("action.params", &request.action.params, &params)?;
        let mut narrowed = request;
        narrowed.action.params = params;
        Ok(narrowed)
    }

    /// Withdraws a pending request; the caller has checked that the requester asks.
    /// Recorded with the transition.
    pub async fn cancel(
        &self,
        approval: &Approval,
        ctx: &AuditContext,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = self.now();
        let events = self
            .auditor
            .events(|| vec![AuditEvent::approval_cancelled(ctx, approval, now)]);
        let from = ApprovalState::Pending;
        let to = ApprovalState::Cancelled;
        if !self
            .approvals
            .transition(&approval.id, from, to, now, &events)
            .await?
        {
            let state = self
                .approvals
                .get_approval(&approval.id, now)
                .await?
                .map(|a| a.state.as_str())
                .unwrap_or("gone");
            return Err(WorkflowError::NotPending(state));
        }
        self.resolved(Resolution::Cancelled, approval.created_at, now);
        self.changed(&approval.id).await;
        self.view(&approval.id, Viewer::Requester).await
    }

    /// How many approvals are pending now (deadlines enforced), for the pending gauge.
    pub async fn count_pending(&self) -> Result<u64, WorkflowError> {
        Ok(self.approvals.count_pending(self.now()).await?)
    }
}

/// Whether a stored approval was created for the request hashing to `hash`: its request, or
/// the request as first asked when a reviewer narrowed it (a retry repeats what it asked,
/// not what the reviewer allowed, and must find the same approval).
fn asks_for(approval: &Approval, hash: &str) -> bool {
    approval.request_hash == hash
        || approval
            .original_request
            .as_ref()
            .and_then(|v| serde_json::from_value::<AuthzRequest>(v.clone()).ok())
            .is_some_and(|o| o.request_hash() == hash)
}
