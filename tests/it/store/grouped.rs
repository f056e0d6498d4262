//! The store contract through the group commit: [`GroupedDb`] sends every approval and
//! capability state change through a [`GroupCommit`] (as the server does), so concurrent
//! changes in the contract's race tests share one transaction, each in its own savepoint.

use std::sync::Arc;

use async_trait::async_trait;
use tollgate::domain::{
    Approval, ApprovalFilter, ApprovalState, AuditEvent, AuditFilter, AuditRecord, Capability,
    Checkpoint, NewApproval, Page, RedeemOutcome, RequestChange, Review, ReviewOutcome, UnixMillis,
};
use tollgate::store::{
    ApprovalListing, ApprovalStore, AuditLog, Batch, BatchStore, CapabilityStore, Change,
    Committed, ExpiryAudit, GroupCommit, Grouped, Settle, StoreError,
};

use super::Db;

/// `inner` with its state changes through a group commit over `inner` itself.
#[derive(Debug)]
pub(crate) struct GroupedDb {
    grouped: Grouped,
    inner: Arc<dyn Db>,
}

impl GroupedDb {
    /// Starts a group commit over `inner` (stopped when the last handle is dropped).
    pub(crate) fn over(inner: Arc<dyn Db>) -> Arc<dyn Db> {
        // `Db` has each store trait as a supertrait: the same object, seen through each.
        let batches: Arc<dyn BatchStore> = inner.clone();
        let (commit, _task) = GroupCommit::spawn(batches, 64, None, std::future::pending());
        Arc::new(Self {
            grouped: Grouped::new(inner.clone(), inner.clone(), commit),
            inner,
        })
    }
}

#[async_trait]
impl ApprovalStore for GroupedDb {
    async fn create_approval(
        &self,
        new: &NewApproval,
        max_pending: Option<u32>,
        audit: &[AuditEvent],
    ) -> Result<(Approval, bool), StoreError> {
        self.grouped.create_approval(new, max_pending, audit).await
    }
    async fn get_approval(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<Approval>, StoreError> {
        self.grouped.get_approval(id, now).await
    }
    async fn get_reviewed(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<tollgate::store::ApprovalSnapshot>, StoreError> {
        self.grouped.get_reviewed(id, now).await
    }
    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
        now: UnixMillis,
    ) -> Result<ApprovalListing, StoreError> {
        self.grouped.list_approvals(filter, page, now).await
    }
    async fn add_review(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
    ) -> Result<ReviewOutcome, StoreError> {
        self.grouped.add_review(review, change, audit).await
    }
    async fn review_and_settle(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
        settle: &Settle,
    ) -> Result<(ReviewOutcome, Option<ApprovalState>), StoreError> {
        self.grouped
            .review_and_settle(review, change, audit, settle)
            .await
    }
    async fn reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError> {
        self.grouped.reviews(approval_id).await
    }
    async fn transition(
        &self,
        id: &str,
        from: ApprovalState,
        to: ApprovalState,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        self.grouped.transition(id, from, to, now, audit).await
    }
    async fn approve_with_capability(
        &self,
        id: &str,
        cap: &Capability,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        self.grouped
            .approve_with_capability(id, cap, now, audit)
            .await
    }
    async fn expire_due(
        &self,
        now: UnixMillis,
        audit: &ExpiryAudit<'_>,
    ) -> Result<Vec<String>, StoreError> {
        self.grouped.expire_due(now, audit).await
    }
    async fn count_pending(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.grouped.count_pending(now).await
    }
}

#[async_trait]
impl CapabilityStore for GroupedDb {
    async fn get_capability(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<Capability>, StoreError> {
        self.grouped.get_capability(id, now).await
    }
    async fn redeem_capability(
        &self,
        id: &str,
        request_hash: &str,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<RedeemOutcome, StoreError> {
        self.grouped
            .redeem_capability(id, request_hash, now, audit)
            .await
    }
}

#[async_trait]
impl BatchStore for GroupedDb {
    async fn commit_all(
        &self,
        changes: Vec<Change>,
        batch: Batch,
    ) -> Result<Committed, StoreError> {
        self.inner.commit_all(changes, batch).await
    }

    fn commits_in_flight(&self) -> usize {
        self.inner.commits_in_flight()
    }
}

#[async_trait]
impl AuditLog for GroupedDb {
    async fn query(
        &self,
        filter: &AuditFilter,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.query(filter, after_seq, limit).await
    }
    async fn range(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.range(from_seq, limit).await
    }
    async fn head(&self) -> Result<(i64, String), StoreError> {
        self.inner.head().await
    }
    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError> {
        self.inner.insert_checkpoint(checkpoint).await
    }
    async fn checkpoints(&self, after_seq: i64, limit: u32) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.checkpoints(after_seq, limit).await
    }
    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.last_checkpoint().await
    }
    async fn index_fault(&self) -> Result<Option<i64>, StoreError> {
        self.inner.index_fault().await
    }
}
