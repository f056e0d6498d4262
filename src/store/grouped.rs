//! [`Grouped`]: the approval and capability stores with every compare-and-set state change
//! sent through the group commit, so concurrent approval flows share transactions and fsyncs
//! instead of committing (and taking the chain head) one at a time. Reads, the expiry sweep
//! and counts go straight to the database.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    ApprovalListing, ApprovalSnapshot, ApprovalStore, CapabilityStore, Change, Changed,
    ExpiryAudit, GroupCommit, Settle, StoreError,
};
use crate::domain::{
    Approval, ApprovalFilter, ApprovalState, AuditEvent, Capability, NewApproval, Page,
    RedeemOutcome, RequestChange, Review, ReviewOutcome, UnixMillis,
};

/// Approvals and capabilities whose writes go through a [`GroupCommit`] over the same
/// database as `approvals` and `capabilities`.
#[derive(Clone, Debug)]
pub struct Grouped {
    approvals: Arc<dyn ApprovalStore>,
    capabilities: Arc<dyn CapabilityStore>,
    commit: GroupCommit,
}

impl Grouped {
    /// Reads from `approvals` and `capabilities`; writes through `commit`, which must commit
    /// to the same database.
    pub fn new(
        approvals: Arc<dyn ApprovalStore>,
        capabilities: Arc<dyn CapabilityStore>,
        commit: GroupCommit,
    ) -> Self {
        Self {
            approvals,
            capabilities,
            commit,
        }
    }
}

/// The group commit answered a change with another change's kind of outcome: a bug, never
/// data; the caller fails closed.
fn mismatched(what: &'static str) -> StoreError {
    StoreError::Corrupt {
        column: "group commit outcome",
        value: what.to_owned(),
    }
}

#[async_trait]
impl ApprovalStore for Grouped {
    async fn create_approval(
        &self,
        new: &NewApproval,
        max_pending: Option<u32>,
        audit: &[AuditEvent],
    ) -> Result<(Approval, bool), StoreError> {
        let change = Change::CreateApproval {
            new: new.clone(),
            max_pending,
            audit: audit.to_vec(),
        };
        match self.commit.change(change).await? {
            Changed::Approval(approval, created) => Ok((*approval, created)),
            _ => Err(mismatched("create_approval")),
        }
    }

    async fn get_approval(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<Approval>, StoreError> {
        self.approvals.get_approval(id, now).await
    }

    async fn get_reviewed(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<ApprovalSnapshot>, StoreError> {
        self.approvals.get_reviewed(id, now).await
    }

    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
        now: UnixMillis,
    ) -> Result<ApprovalListing, StoreError> {
        self.approvals.list_approvals(filter, page, now).await
    }

    async fn add_review(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
    ) -> Result<ReviewOutcome, StoreError> {
        let change = Change::AddReview {
            review: review.clone(),
            change: change.cloned(),
            audit: audit.to_vec(),
            settle: None,
        };
        match self.commit.change(change).await? {
            Changed::Review(outcome, _) => Ok(outcome),
            _ => Err(mismatched("add_review")),
        }
    }

    async fn review_and_settle(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
        settle: &Settle,
    ) -> Result<(ReviewOutcome, Option<ApprovalState>), StoreError> {
        let change = Change::AddReview {
            review: review.clone(),
            change: change.cloned(),
            audit: audit.to_vec(),
            settle: Some(settle.clone()),
        };
        match self.commit.change(change).await? {
            Changed::Review(outcome, settled) => Ok((outcome, settled)),
            _ => Err(mismatched("review_and_settle")),
        }
    }

    async fn reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError> {
        self.approvals.reviews(approval_id).await
    }

    async fn transition(
        &self,
        id: &str,
        from: ApprovalState,
        to: ApprovalState,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let change = Change::Transition {
            id: id.to_owned(),
            from,
            to,
            now,
            audit: audit.to_vec(),
        };
        match self.commit.change(change).await? {
            Changed::Moved(moved) => Ok(moved),
            _ => Err(mismatched("transition")),
        }
    }

    async fn approve_with_capability(
        &self,
        id: &str,
        cap: &Capability,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let change = Change::ApproveWithCapability {
            id: id.to_owned(),
            capability: cap.clone(),
            now,
            audit: audit.to_vec(),
        };
        match self.commit.change(change).await? {
            Changed::Moved(moved) => Ok(moved),
            _ => Err(mismatched("approve_with_capability")),
        }
    }

    async fn expire_due(
        &self,
        now: UnixMillis,
        audit: &ExpiryAudit<'_>,
    ) -> Result<Vec<String>, StoreError> {
        self.approvals.expire_due(now, audit).await
    }

    async fn count_pending(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.approvals.count_pending(now).await
    }
}

#[async_trait]
impl CapabilityStore for Grouped {
    async fn get_capability(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<Capability>, StoreError> {
        self.capabilities.get_capability(id, now).await
    }

    async fn redeem_capability(
        &self,
        id: &str,
        request_hash: &str,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<RedeemOutcome, StoreError> {
        let change = Change::Redeem {
            id: id.to_owned(),
            request_hash: request_hash.to_owned(),
            now,
            audit: audit.to_vec(),
        };
        match self.commit.change(change).await? {
            Changed::Redeemed(outcome) => Ok(outcome),
            _ => Err(mismatched("redeem_capability")),
        }
    }
}
