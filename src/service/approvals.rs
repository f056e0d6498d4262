//! The approval use cases: review (approve, deny, modify), read one, list, withdraw, watch
//! until decided, follow every change the caller may read, and redeem a capability.

use std::{pin::Pin, time::Duration};

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::{wrappers::ReceiverStream, Stream};
use tracing::{Instrument as _, Span};

use super::{spans, Call, Role, Roles, ServiceError, Tollgate};
use crate::{
    approval::{
        workflow::{RedeemChecks, Verdict},
        ApprovalView, Narrowed, Redemption, Standing, Workflow,
    },
    domain::{
        ApprovalFilter, ApprovalState, AuthzRequest, Caller, Effect, IdentityId, InvalidField,
        Page, Review, ReviewVerdict, UnixMillis, Viewer,
    },
    identity::{jwt::check_authentication, limits::LimitedCall},
    store::ApprovalSnapshot,
};

/// Longest accepted review reason, in bytes.
pub const MAX_REASON_BYTES: usize = 2048;

/// A reviewer's answer to one approval request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRequest {
    /// The approval answered.
    pub approval_id: String,
    /// Approve, deny or modify.
    pub verdict: ReviewVerdict,
    /// Why (required).
    pub reason: String,
    /// For a modify: the narrowed `action.params`, complete.
    pub params: Option<Map<String, Value>>,
}

impl ReviewRequest {
    /// Checks what every surface must send; the error names the field.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check_review_text(&self.approval_id, &self.reason)?;
        if self.verdict == ReviewVerdict::Modify && self.params.is_none() {
            return Err(InvalidField::new(
                "params",
                "is required for VERDICT_MODIFY",
            ));
        }
        Ok(())
    }
}

/// Which approvals to list, one page at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalQuery {
    /// What to match.
    pub filter: ApprovalFilter,
    /// Which page (its `limit` at most [`Page::MAX_LIMIT`]).
    pub page: Page,
}

/// A page of approvals as the caller may see them.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalList {
    /// The approvals, oldest first.
    pub approvals: Vec<ApprovalView>,
    /// The cursor of the next page, `None` on the last.
    pub next: Option<String>,
}

/// The approval now, then every change until it is terminal.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<ApprovalView, ServiceError>> + Send>>;

/// One approval changed, as a reader of it may learn it: which one, its state, how many
/// reviews it has and who decided it. Never its request or params: a live update only says
/// "look again", and the page then shows the rest under the same read rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalChange {
    /// The approval.
    pub approval_id: String,
    /// Its state now.
    pub state: ApprovalState,
    /// How many reviews it has now.
    pub reviews: usize,
    /// Who decided it: the approving reviewers of an approved request, the denying one of a
    /// denied request; empty otherwise.
    pub decided_by: Vec<String>,
}

/// What [`Tollgate::changes`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeEvent {
    /// An approval the caller may read changed.
    Changed(ApprovalChange),
    /// The follower fell behind and changes were dropped: read everything again.
    Missed,
}

/// Every change the caller may read, as it happens, until the caller stops reading.
pub type ChangeStream = Pin<Box<dyn Stream<Item = ChangeEvent> + Send>>;

/// The longest a watcher sleeps before re-reading an approval whose deadline is far off.
const MAX_WATCH_SLEEP: Duration = Duration::from_secs(24 * 3600);

impl Tollgate {
    /// Applies `caller`'s review. A modify is first decided by the serving policy: a DENY
    /// refuses it, a PENDING gives the narrowed request its requirements, an ALLOW needs no
    /// more approvals. The answer is the approval as a reviewer sees it.
    pub async fn review(
        &self,
        caller: &Caller,
        review: ReviewRequest,
        call: &Call,
    ) -> Result<ApprovalView, ServiceError> {
        review.validate()?;
        if let Some(id) = caller
            .principal()
            .and_then(|p| IdentityId::parse(&p.id).ok())
        {
            self.inner.limits.check(LimitedCall::Approve, &id)?;
        }
        let ReviewRequest {
            approval_id,
            verdict,
            reason,
            params,
        } = review;
        let narrowed = match params.filter(|_| verdict == ReviewVerdict::Modify) {
            Some(params) => Some(self.narrowed(&approval_id, params).await?),
            None => None,
        };
        let answer = Verdict {
            verdict,
            reason,
            narrowed,
            standing: Standing {
                review_role: self.roles_of(caller).contains(Role::Review),
                step_up: self.step_up(caller),
            },
        };
        let ctx = call.audit(caller);
        let view = self
            .inner
            .workflow
            .review(caller, &approval_id, answer, &ctx)
            .await?;
        spans::record_approval(&Span::current(), &view);
        Ok(view)
    }

    /// Whether `caller` has just authenticated strongly enough for step-up requirements, and
    /// if not, why and how to.
    fn step_up(&self, caller: &Caller) -> Result<(), String> {
        let Some(p) = caller.principal() else {
            return Err("step-up required: the caller is not authenticated".into());
        };
        let now = self.inner.workflow.now().to_time();
        check_authentication(&p.authentication, &self.inner.step_up, now)
            .map_err(|refusal| format!("{refusal}; {}", refusal.remedy()))
    }

    /// A reviewer's narrowing, decided by the serving policy.
    async fn narrowed(
        &self,
        approval_id: &str,
        params: Map<String, Value>,
    ) -> Result<Narrowed, ServiceError> {
        let request = self.inner.workflow.narrow(approval_id, params).await?;
        // The stored request's subject is already the verified requester.
        let decided = self.inner.decider.decide_stored(request).await?;
        let verdict = decided.decision.verdict;
        let requirements = match verdict.effect {
            Effect::Deny => return Err(ServiceError::NarrowedDenied(verdict.reasons)),
            Effect::PendingApproval => verdict.requirements,
            Effect::Allow => Vec::new(),
        };
        Ok(Narrowed {
            request: decided.request,
            requirements,
        })
    }

    /// One approval, as `caller` may see it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ApprovalView, ServiceError> {
        required("approval_id", id)?;
        let (read, viewer) = self.readable(caller, id).await?;
        let view = self.inner.workflow.view_of(read, viewer)?;
        spans::record_approval(&Span::current(), &view);
        Ok(view)
    }

    /// Approvals matching `query` that `caller` may see, as it may see them.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ApprovalQuery,
    ) -> Result<ApprovalList, ServiceError> {
        let ApprovalQuery { filter, page } = query;
        if page.limit > Page::MAX_LIMIT {
            let message = format!("at most {}", Page::MAX_LIMIT);
            return Err(InvalidField::new("page_size", message).into());
        }
        let held = self.roles_of(caller);
        let (approvals, next) = self
            .inner
            .workflow
            .list(&filter, &page, |a, request, requirements, reviews| {
                Roles::viewer(caller, held, a, (request, requirements), reviews)
            })
            .await?;
        Ok(ApprovalList { approvals, next })
    }

    /// Withdraws a pending request; only its requester may.
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: &str,
        call: &Call,
    ) -> Result<ApprovalView, ServiceError> {
        required("approval_id", id)?;
        let (ApprovalSnapshot { approval, .. }, _) = self.readable(caller, id).await?;
        Roles::require_requester(caller, &approval, "cancel")?;
        let view = self
            .inner
            .workflow
            .cancel(&approval, &call.audit(caller))
            .await?;
        spans::record_approval(&Span::current(), &view);
        Ok(view)
    }

    /// The approval now, then every change (a review, a decision, the deadline) until it is
    /// terminal or the watcher leaves. Deadlines are read from the workflow's clock. The
    /// current span lasts as long as the stream: the wait is the call.
    pub async fn watch(&self, caller: &Caller, id: &str) -> Result<WatchStream, ServiceError> {
        required("approval_id", id)?;
        let workflow = self.inner.workflow.clone();
        // Subscribe before the first read, so no change between the two is missed.
        let changes = workflow.subscribe();
        let (read, viewer) = self.readable(caller, id).await?;
        let first = workflow.view_of(read, viewer)?;
        spans::record_approval(&Span::current(), &first);
        let (tx, rx) = mpsc::channel(8);
        let watcher = Watcher {
            workflow,
            id: id.to_string(),
            viewer,
            tx,
        };
        tokio::spawn(watcher.run(first, changes).instrument(Span::current()));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    /// Every change to an approval `caller` may read (created, reviewed, decided, expired,
    /// cancelled, on this replica or another), from now on. Each change is checked against
    /// the caller's read authorization when it happens, exactly as [`Self::get`] would: an
    /// approval the caller may not read is never mentioned, and a read that fails mentions
    /// nothing (fail closed). Only ids, states and deciders leave; never params.
    pub fn changes(&self, caller: &Caller) -> ChangeStream {
        // Subscribed before returning, so no change after this call is missed.
        let feed = self.inner.workflow.subscribe();
        let state = (self.clone(), caller.clone(), feed);
        Box::pin(futures::stream::unfold(
            state,
            |(this, caller, mut feed)| async move {
                loop {
                    let event = match feed.recv().await {
                        Ok(id) => match this.change_of(&caller, &id).await {
                            Some(change) => ChangeEvent::Changed(change),
                            None => continue,
                        },
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, caller = %caller.actor(), "change follower fell behind");
                            ChangeEvent::Missed
                        }
                        Err(RecvError::Closed) => return None,
                    };
                    return Some((event, (this, caller, feed)));
                }
            },
        ))
    }

    /// Approval `id` as a change `caller` may learn of, or `None` when it may not read it
    /// (or the read failed: logged, and nothing is said).
    async fn change_of(&self, caller: &Caller, id: &str) -> Option<ApprovalChange> {
        let read = match self.readable(caller, id).await {
            Ok((read, _)) => read,
            Err(ServiceError::Workflow(crate::approval::WorkflowError::NotFound(_))) => {
                return None
            }
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::ErrorChain(&e), approval.id = %id, "approval change not checked; not announced");
                return None;
            }
        };
        // Only the reviews are read from the view; a party never sees the capability.
        let view = match self.inner.workflow.view_of(read, Viewer::Party) {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::ErrorChain(&e), approval.id = %id, "approval change not read; not announced");
                return None;
            }
        };
        let state = view.approval.state;
        Some(ApprovalChange {
            approval_id: view.approval.id,
            state,
            reviews: view.reviews.len(),
            decided_by: decided_by(state, &view.reviews),
        })
    }

    /// Verifies `token` for `req` (the request about to be executed, in full) and marks it
    /// used, once: only by its audience, only for exactly the request, bundle and approval it
    /// is bound to, and only while the serving policy still does not deny that request.
    pub async fn redeem(
        &self,
        caller: &Caller,
        token: &str,
        mut req: AuthzRequest,
        call: &Call,
    ) -> Result<Redemption, ServiceError> {
        required("capability", token)?;
        self.require(caller, Role::Redeem)?;
        req.canonicalize_identities()?;
        let in_audience = |audience: &[String]| Roles::in_audience(caller, audience);
        let decider = &self.inner.decider;
        let redecide = |req: AuthzRequest| -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async move {
                match decider.decide_stored(req).await {
                    Ok(d) if d.decision.verdict.effect == Effect::Deny => {
                        Err(d.decision.verdict.reasons.join("; "))
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            })
        };
        let checks = RedeemChecks {
            in_audience: &in_audience,
            redecide: &redecide,
        };
        let redemption = self
            .inner
            .workflow
            .redeem(token, &req, &call.audit(caller), checks)
            .await?;
        spans::record_redemption(&Span::current(), &redemption);
        Ok(redemption)
    }

    /// The approval `id` with its reviews and capability (read together) and how much of it
    /// `caller` may see; an approval the caller may not see reads as not found, so its
    /// existence is not disclosed either.
    pub(super) async fn readable(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(ApprovalSnapshot, Viewer), ServiceError> {
        let read = self.inner.workflow.get_reviewed(id).await?;
        let (request, requirements) = self.inner.workflow.parse(&read.approval)?;
        let held = self.roles_of(caller);
        let parsed = (&request, requirements.as_slice());
        match Roles::viewer(caller, held, &read.approval, parsed, &read.reviews) {
            Some(viewer) => Ok((read, viewer)),
            None => Err(crate::approval::WorkflowError::NotFound(id.to_string()).into()),
        }
    }
}

/// Who decided a request that ended in `state`, by its reviews.
fn decided_by(state: ApprovalState, reviews: &[Review]) -> Vec<String> {
    let deny = match state {
        ApprovalState::Approved => false,
        ApprovalState::Denied => true,
        _ => return Vec::new(),
    };
    reviews
        .iter()
        .filter(|r| (r.verdict == ReviewVerdict::Deny) == deny)
        .map(|r| r.reviewer_id.clone())
        .collect()
}

/// One `watch`: sends the approval each time its state or reviews change.
struct Watcher {
    workflow: Workflow,
    id: String,
    viewer: Viewer,
    tx: mpsc::Sender<Result<ApprovalView, ServiceError>>,
}

impl Watcher {
    async fn run(self, first: ApprovalView, mut changes: tokio::sync::broadcast::Receiver<String>) {
        let mut view = first;
        loop {
            let terminal = view.approval.state.is_terminal();
            let deadline = view.approval.expires_at;
            if self.tx.send(Ok(view.clone())).await.is_err() || terminal {
                return;
            }
            match self.next_change(&view, deadline, &mut changes).await {
                Some(next) => view = next,
                None => return,
            }
        }
    }

    /// Waits for a change to this approval (or its deadline); `None` when the watcher left,
    /// the feed closed or a read failed (the failure is sent first).
    async fn next_change(
        &self,
        view: &ApprovalView,
        deadline: UnixMillis,
        changes: &mut tokio::sync::broadcast::Receiver<String>,
    ) -> Option<ApprovalView> {
        let reviews = view.reviews.len();
        loop {
            let left = deadline.since(self.workflow.now()).min(MAX_WATCH_SLEEP);
            tokio::select! {
                changed = changes.recv() => match changed {
                    Ok(changed) if changed != self.id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(left) => {}
                () = self.tx.closed() => return None,
            }
            match self.workflow.view(&self.id, self.viewer).await {
                Ok(next)
                    if next.approval.state != view.approval.state
                        || next.reviews.len() != reviews =>
                {
                    return Some(next)
                }
                Ok(_) => continue,
                Err(e) => {
                    let _ = self.tx.send(Err(e.into())).await;
                    return None;
                }
            }
        }
    }
}

/// The approval id and reason every review must carry: checked first by every surface, before
/// anything surface-specific, so a bad review names the same field wherever it came from.
pub fn check_review_text(approval_id: &str, reason: &str) -> Result<(), InvalidField> {
    required("approval_id", approval_id)?;
    required("reason", reason)?;
    if reason.len() > MAX_REASON_BYTES {
        let message = format!("longer than {MAX_REASON_BYTES} bytes");
        return Err(InvalidField::new("reason", message));
    }
    Ok(())
}

pub(super) fn required(field: &str, value: &str) -> Result<(), InvalidField> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "is required"));
    }
    Ok(())
}
