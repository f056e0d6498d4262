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

use super::{check_eligible, tally, Ineligible, Reviewer, Tally};
use crate::{
    capability::{CapabilityError, CapabilityKey, Grant},
    domain::{
        narrowing, unix_millis, Approval, ApprovalState, AuthzRequest, Capability, CapabilityState,
        Decision, NewApproval, NotNarrower, ParamChange, RedeemOutcome, RequestChange, Requirement,
        Review, ReviewOutcome, ReviewVerdict,
    },
    store::{ApprovalFilter, ApprovalPage, ChangeFeed, Page, Store, StoreError},
    telemetry::metrics::{CapabilityEvent, Metrics, Resolution},
};

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
    /// the existing one for the same subject and `context.request_id`. `trace_parent` is the
    /// decision's W3C `traceparent` ("" if none), so later events can link to its trace.
    pub async fn request_approval(
        &self,
        decision: &Decision,
        req: &AuthzRequest,
        trace_parent: &str,
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
            trace_parent: trace_parent.to_string(),
        };
        let (approval, created) = self.store.create_approval(&new, &[]).await?;
        if !created && approval.request_hash != new.request_hash {
            return Err(WorkflowError::KeyReused);
        }
        if created {
            tracing::info!(approval.id = %approval.id, decision.id = %decision.id, "approval requested");
            self.changed(&approval.id).await;
        }
        Ok(approval)
    }

    /// A capability for an ALLOW whose policy asked for one (obligation `capability`).
    pub async fn capability_for_allow(
        &self,
        decision: &Decision,
        req: &AuthzRequest,
        ttl: Duration,
    ) -> Result<(String, SystemTime), WorkflowError> {
        let mut grant = Grant::for_request(req, None, &decision.revision, self.now(), ttl);
        grant.id = decision.id.clone();
        self.issue(&grant).await
    }

    async fn issue(&self, grant: &Grant) -> Result<(String, SystemTime), WorkflowError> {
        self.store
            .insert_capability(
                &Capability {
                    id: grant.id.clone(),
                    approval_id: grant.approval_id.clone(),
                    request_hash: grant.request_hash.clone(),
                    state: CapabilityState::Issued,
                    issued_at: unix_millis(grant.issued_at),
                    expires_at: unix_millis(grant.expires_at),
                    redeemed_at: None,
                },
                &[],
            )
            .await?;
        self.metrics.observe_capability(CapabilityEvent::Issued);
        Ok((self.key.mint(grant)?, grant.expires_at))
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

    /// Records `reviewer`'s verdict (with `narrowed` for a modify); decides the request when
    /// the reviews are enough.
    pub async fn review(
        &self,
        reviewer: &Reviewer,
        approval_id: &str,
        verdict: ReviewVerdict,
        reason: &str,
        narrowed: Option<Narrowed>,
    ) -> Result<ApprovalView, WorkflowError> {
        let now = self.now();
        let approval = self
            .store
            .get_approval(approval_id, unix_millis(now))
            .await?
            .ok_or_else(|| WorkflowError::NotFound(approval_id.to_string()))?;
        if approval.state != ApprovalState::Pending {
            return Err(WorkflowError::NotPending(approval.state.as_str()));
        }
        let (mut request, mut requirements) = self.parse(&approval)?;
        let prior: Vec<String> = self
            .store
            .reviews(approval_id)
            .await?
            .into_iter()
            .map(|r| r.reviewer_id)
            .collect();
        check_eligible(reviewer, &request, &requirements, &prior)?;
        let review = Review {
            approval_id: approval_id.to_string(),
            reviewer_id: reviewer.id.clone(),
            verdict,
            reason: reason.to_string(),
            groups: reviewer.groups.clone(),
            at: unix_millis(now),
        };
        let change = match narrowed {
            Some(n) => {
                // Checked again here, against the request as stored, so a narrowing built from
                // a stale read cannot widen anything.
                narrowing(
                    "action.params",
                    &request.action.params,
                    &n.request.action.params,
                )?;
                let corrupt = |e: serde_json::Error| WorkflowError::Corrupt {
                    id: approval_id.to_string(),
                    message: e.to_string(),
                };
                let change = RequestChange {
                    request: serde_json::to_value(&n.request).map_err(corrupt)?,
                    request_hash: n.request.binding_hash(),
                    requirements: serde_json::to_value(&n.requirements).map_err(corrupt)?,
                    previous_hash: approval.request_hash.clone(),
                };
                request = n.request;
                requirements = n.requirements;
                Some(change)
            }
            None => None,
        };
        let reviews = match self
            .store
            .add_review_narrowing(&review, change.as_ref(), &[])
            .await?
        {
            ReviewOutcome::Recorded(all) => all,
            ReviewOutcome::Duplicate => return Err(Ineligible::AlreadyReviewed.into()),
            ReviewOutcome::NotPending(state) => {
                return Err(WorkflowError::NotPending(state.as_str()))
            }
        };
        tracing::info!(approval.id = %approval_id, reviewer = %reviewer.id, verdict = verdict.as_str(), "review recorded");
        let counted: Vec<(Reviewer, ReviewVerdict)> = reviews
            .iter()
            .map(|r| {
                (
                    Reviewer {
                        id: r.reviewer_id.clone(),
                        kind: "user".into(),
                        groups: r.groups.clone(),
                        verified: true,
                    },
                    r.verdict,
                )
            })
            .collect();
        match tally(&requirements, &counted) {
            Tally::Denied { .. } => {
                if self
                    .store
                    .transition(
                        approval_id,
                        ApprovalState::Pending,
                        ApprovalState::Denied,
                        unix_millis(now),
                        &[],
                    )
                    .await?
                {
                    self.resolved(Resolution::Denied, approval.created_at, now);
                }
            }
            Tally::Approved => {
                // Issue first, then flip the state: a reader never sees APPROVED without its
                // capability. If the flip loses a race (another reviewer, expiry), the record
                // stays unredeemable because redemption checks the approval below.
                let ttl = requirements
                    .iter()
                    .map(|r| r.capability_ttl)
                    .min()
                    .unwrap_or(Duration::from_secs(300));
                let grant = Grant {
                    id: approval_id.to_string(),
                    ..Grant::for_request(
                        &request,
                        Some(approval_id.to_string()),
                        &approval.bundle_revision,
                        now,
                        ttl,
                    )
                };
                match self.issue(&grant).await {
                    Ok(_) | Err(WorkflowError::Store(StoreError::Conflict { .. })) => {}
                    Err(e) => return Err(e),
                }
                if self
                    .store
                    .transition(
                        approval_id,
                        ApprovalState::Pending,
                        ApprovalState::Approved,
                        unix_millis(now),
                        &[],
                    )
                    .await?
                {
                    self.resolved(Resolution::Approved, approval.created_at, now);
                }
            }
            Tally::Pending { .. } => {}
        }
        self.changed(approval_id).await;
        self.view(approval_id, None).await.map(|mut v| {
            // The reviewer is not the requester: no capability in their answer.
            v.capability = None;
            v
        })
    }

    /// Withdraws a pending request; only its requester may.
    pub async fn cancel(
        &self,
        caller_id: Option<&str>,
        approval_id: &str,
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
        if !self
            .store
            .transition(
                approval_id,
                ApprovalState::Pending,
                ApprovalState::Cancelled,
                now,
                &[],
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

    /// Verifies `token` for `req` and marks it used, once.
    pub async fn redeem(
        &self,
        token: &str,
        req: &AuthzRequest,
    ) -> Result<Redemption, WorkflowError> {
        let redemption = self.try_redeem(token, req).await?;
        self.metrics.observe_capability(if redemption.allowed {
            CapabilityEvent::Redeemed
        } else {
            CapabilityEvent::Refused
        });
        Ok(redemption)
    }

    async fn try_redeem(
        &self,
        token: &str,
        req: &AuthzRequest,
    ) -> Result<Redemption, WorkflowError> {
        let now = self.now();
        let refuse = |reason: String, grant: Option<&Grant>| Redemption {
            allowed: false,
            reason,
            approval_id: grant.and_then(|g| g.approval_id.clone()),
            capability_id: grant.map(|g| g.id.clone()).unwrap_or_default(),
            trace_parent: String::new(),
        };
        let grant = match self.key.verify(token, now) {
            Ok(g) => g,
            Err(e) => return Ok(refuse(e.to_string(), None)),
        };
        if grant.subject != req.subject.id || grant.request_hash != req.binding_hash() {
            return Ok(refuse(
                CapabilityError::WrongRequest.to_string(),
                Some(&grant),
            ));
        }
        let mut trace_parent = String::new();
        if let Some(aid) = &grant.approval_id {
            let approval = self.store.get_approval(aid, unix_millis(now)).await?;
            trace_parent = approval
                .as_ref()
                .map(|a| a.trace_parent.clone())
                .unwrap_or_default();
            if !approval.is_some_and(|a| a.state == ApprovalState::Approved) {
                return Ok(Redemption {
                    trace_parent,
                    ..refuse("the approval is not in force".into(), Some(&grant))
                });
            }
        }
        let outcome = self
            .store
            .redeem_capability(&grant.id, &grant.request_hash, unix_millis(now), &[])
            .await?;
        let reason = match outcome {
            RedeemOutcome::Redeemed => {
                tracing::info!(capability.id = %grant.id, "capability redeemed");
                return Ok(Redemption {
                    allowed: true,
                    reason: String::new(),
                    approval_id: grant.approval_id.clone(),
                    capability_id: grant.id.clone(),
                    trace_parent,
                });
            }
            RedeemOutcome::AlreadyRedeemed => "capability already redeemed",
            RedeemOutcome::Expired => "capability expired",
            RedeemOutcome::Revoked => "capability revoked",
            RedeemOutcome::HashMismatch => "capability is bound to a different request",
            RedeemOutcome::NotFound => "capability unknown",
        };
        tracing::warn!(capability.id = %grant.id, reason, "capability redemption refused");
        Ok(Redemption {
            trace_parent,
            ..refuse(reason.into(), Some(&grant))
        })
    }

    /// Expires everything past its deadline and wakes the waiters; returns how many.
    pub async fn sweep(&self) -> Result<usize, WorkflowError> {
        let now = self.now();
        let ids = self
            .store
            .expire_due(unix_millis(now), &|_| Vec::new())
            .await?;
        for id in &ids {
            tracing::info!(approval.id = %id, "approval expired");
            // Only for the histogram; the expiry itself is already committed.
            if let Ok(Some(a)) = self.store.get_approval(id, unix_millis(now)).await {
                self.resolved(Resolution::Expired, a.created_at, now);
            }
            self.changed(id).await;
        }
        Ok(ids.len())
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

/// When a pending approval's deadline passes, as a tokio instant (for waiters).
pub fn deadline(approval: &Approval) -> tokio::time::Instant {
    let at = millis_to_time(approval.expires_at);
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    // Cap the wait so a far deadline cannot overflow the timer; waiters re-read anyway.
    tokio::time::Instant::now() + left.min(Duration::from_secs(24 * 3600))
}
