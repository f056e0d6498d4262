//! The operations, written once and stamped out per backend by [`store_backend!`]: the two
//! sqlx drivers have different connection and row types but, with the statements in `sql.rs`,
//! the same code. A macro rather than generics keeps the sqlx trait bounds out of sight.
//!
//! `ops` (`approval_ops.rs`) and `audit_ops` (`audit_ops.rs`) hold one small function per
//! statement, each taking `&mut Connection`, so a caller holding a transaction (which derefs to
//! a connection) composes them: the trait impls below build every transaction from them, the
//! audit append last, just before the commit.

/// Implements the store traits for `$store` (a struct with a `pool: Pool<$db>` field) over
/// database `$db`, starting write transactions with `$begin`, taking the statement locks
/// `$locks` (a `sql::RowLocks`) and writing in `WITH` if `$writes_in_with` (see
/// `approval_ops!`); the audit append writes its rows as `$db`'s `audit_ops::AppendRows` does.
macro_rules! store_backend {
    ($store:ty, $db:ty, $begin:expr, $locks:expr, $writes_in_with:expr) => {
        $crate::store::audit_ops::audit_ops!($db);

        $crate::store::approval_ops::approval_ops!($db, $locks, $writes_in_with);

        $crate::store::notify_ops::notify_ops!($store, $db, $begin);

        /// Finishes a one-change transaction: an applied change records `audit` and commits;
        /// one that did not apply is rolled back (it may have written before finding so).
        async fn finish(
            mut tx: sqlx::Transaction<'_, $db>,
            applied: bool,
            audit: &[$crate::domain::AuditEvent],
            notify: bool,
        ) -> Result<(), $crate::store::StoreError> {
            if applied {
                audit_ops::append(&mut tx, audit.to_vec(), notify).await?;
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(())
        }

        $crate::store::change_ops::change_ops!();

        impl $store {
            /// Whether appends write notification events (`OutboxStore::write_events`).
            fn notifies(&self) -> bool {
                self.notify.load(std::sync::atomic::Ordering::Relaxed)
            }

            /// A write transaction begun in this store's turn to write (`write_turn`), which
            /// it holds until dropped (after the transaction, which drops first).
            async fn begin_write(
                &self,
            ) -> Result<
                (
                    Option<tokio::sync::OwnedMutexGuard<()>>,
                    sqlx::Transaction<'static, $db>,
                ),
                $crate::store::StoreError,
            > {
                let turn = self.write_turn().await;
                Ok((turn, self.pool.begin_with($begin).await?))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ApprovalStore for $store {
            async fn create_approval(
                &self,
                new: &$crate::domain::NewApproval,
                max_pending: Option<u32>,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<($crate::domain::Approval, bool), $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                let (out, applied) = change::create_approval(&mut tx, new, max_pending).await?;
                finish(tx, applied, audit, self.notifies()).await?;
                Ok(out)
            }

            async fn get_approval(
                &self,
                id: &str,
                now: $crate::domain::UnixMillis,
            ) -> Result<Option<$crate::domain::Approval>, $crate::store::StoreError> {
                let found = self.read_approval(id).await?;
                Ok(found.map(|a| a.observed_at(now)))
            }

            async fn get_reviewed(
                &self,
                id: &str,
                now: $crate::domain::UnixMillis,
            ) -> Result<Option<$crate::store::ApprovalSnapshot>, $crate::store::StoreError> {
                let found = self.read_reviewed(id).await?;
                Ok(found.map(|s| $crate::store::ApprovalSnapshot {
                    approval: s.approval.observed_at(now),
                    reviews: s.reviews,
                    capability: s.capability.map(|c| c.observed_at(now)),
                }))
            }

            async fn list_approvals(
                &self,
                filter: &$crate::domain::ApprovalFilter,
                page: &$crate::domain::Page,
                now: $crate::domain::UnixMillis,
            ) -> Result<$crate::store::ApprovalListing, $crate::store::StoreError> {
                let limit = page.limit.max(1);
                let mut conn = self.pool.acquire().await?;
                // One row more than asked says whether another page exists.
                let mut items =
                    ops::list_approvals(&mut conn, filter, page, i64::from(limit) + 1, now).await?;
                let more = items.len() > limit as usize;
                items.truncate(limit as usize);
                let next = if more {
                    items.last().map(|a| a.id.clone())
                } else {
                    None
                };
                let ids: Vec<&str> = items.iter().map(|a| a.id.as_str()).collect();
                let reviews = ops::reviews_of_many(&mut conn, &ids).await?;
                let capabilities = ops::capabilities_by_ids(&mut conn, &ids)
                    .await?
                    .into_iter()
                    .map(|c| c.observed_at(now))
                    .collect();
                let items = items.into_iter().map(|a| a.observed_at(now)).collect();
                Ok($crate::store::ApprovalListing {
                    page: $crate::domain::ApprovalPage { items, next },
                    reviews,
                    capabilities,
                })
            }

            async fn add_review(
                &self,
                review: &$crate::domain::Review,
                change: Option<&$crate::domain::RequestChange>,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<$crate::domain::ReviewOutcome, $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                let ((out, _, _), applied) =
                    change::add_review(&mut tx, review, change, None).await?;
                finish(tx, applied, audit, self.notifies()).await?;
                Ok(out)
            }

            async fn review_and_settle(
                &self,
                review: &$crate::domain::Review,
                change: Option<&$crate::domain::RequestChange>,
                audit: &[$crate::domain::AuditEvent],
                settle: &$crate::store::Settle,
            ) -> Result<
                (
                    $crate::domain::ReviewOutcome,
                    Option<$crate::domain::ApprovalState>,
                ),
                $crate::store::StoreError,
            > {
                let (_turn, mut tx) = self.begin_write().await?;
                let ((out, settled, more), applied) =
                    change::add_review(&mut tx, review, change, Some(settle)).await?;
                if applied {
                    let events: Vec<_> = audit.iter().chain(&more).cloned().collect();
                    audit_ops::append(&mut tx, events, self.notifies()).await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok((out, settled))
            }

            async fn reviews(
                &self,
                approval_id: &str,
            ) -> Result<Vec<$crate::domain::Review>, $crate::store::StoreError> {
                self.read_reviews(approval_id).await
            }

            async fn transition(
                &self,
                id: &str,
                from: $crate::domain::ApprovalState,
                to: $crate::domain::ApprovalState,
                now: $crate::domain::UnixMillis,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<bool, $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                let (moved, applied) = change::transition(&mut tx, id, from, to, now).await?;
                finish(tx, applied, audit, self.notifies()).await?;
                Ok(moved)
            }

            async fn approve_with_capability(
                &self,
                id: &str,
                cap: &$crate::domain::Capability,
                now: $crate::domain::UnixMillis,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<bool, $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                let (moved, applied) =
                    change::approve_with_capability(&mut tx, id, cap, now).await?;
                finish(tx, applied, audit, self.notifies()).await?;
                Ok(moved)
            }

            async fn expire_due(
                &self,
                now: $crate::domain::UnixMillis,
                audit: &$crate::store::ExpiryAudit<'_>,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                // The rows in the shared lock order (`sql::RowLocks`), the head last.
                ops::lock_due(&mut tx, now).await?;
                let expired = ops::expire_approvals(&mut tx, now).await?;
                ops::expire_capabilities(&mut tx, now).await?;
                let events: Vec<_> = expired.iter().flat_map(|a| audit(a)).collect();
                audit_ops::append(&mut tx, events, self.notifies()).await?;
                tx.commit().await?;
                Ok(expired.into_iter().map(|a| a.id).collect())
            }

            async fn count_pending(
                &self,
                now: $crate::domain::UnixMillis,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::count_pending(&mut conn, now).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::CapabilityStore for $store {
            async fn get_capability(
                &self,
                id: &str,
                now: $crate::domain::UnixMillis,
            ) -> Result<Option<$crate::domain::Capability>, $crate::store::StoreError> {
                let found = self.read_capability(id).await?;
                Ok(found.map(|c| c.observed_at(now)))
            }

            async fn redeem_capability(
                &self,
                id: &str,
                request_hash: &str,
                now: $crate::domain::UnixMillis,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<$crate::domain::RedeemOutcome, $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                let (out, applied) = change::redeem(&mut tx, id, request_hash, now).await?;
                finish(tx, applied, audit, self.notifies()).await?;
                Ok(out)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Liveness for $store {
            async fn probe(&self) -> Result<(), $crate::store::StoreError> {
                self.writer_alive()?;
                let _turn = self.write_turn().await;
                sqlx::query($crate::store::sql::PROBE)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::PolicyHistory for $store {
            async fn raise_floor(
                &self,
                sequence: i64,
                digest: &str,
                revision: &str,
                at: $crate::domain::UnixMillis,
            ) -> Result<Result<(), $crate::store::PolicyFloor>, $crate::store::StoreError> {
                let _turn = self.write_turn().await;
                let done = sqlx::query($crate::store::sql::RAISE_POLICY_FLOOR)
                    .bind(sequence)
                    .bind(digest)
                    .bind(revision)
                    .bind(at.0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 1 {
                    return Ok(Ok(()));
                }
                Ok(Err(self.floor().await?))
            }

            async fn floor(&self) -> Result<$crate::store::PolicyFloor, $crate::store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query($crate::store::sql::POLICY_FLOOR)
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::store::PolicyFloor {
                    sequence: row.try_get("sequence")?,
                    digest: row.try_get("digest")?,
                    revision: row.try_get("revision")?,
                    allowed_digest: row.try_get("allow_digest")?,
                })
            }

            async fn allow_rollback(
                &self,
                digest: &str,
                audit: &[$crate::domain::AuditEvent],
            ) -> Result<(), $crate::store::StoreError> {
                let (_turn, mut tx) = self.begin_write().await?;
                sqlx::query($crate::store::sql::ALLOW_POLICY_ROLLBACK)
                    .bind(digest)
                    .execute(&mut *tx)
                    .await?;
                audit_ops::append(&mut tx, audit.to_vec(), self.notifies()).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::AuditLog for $store {
            async fn query(
                &self,
                filter: &$crate::domain::AuditFilter,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::domain::AuditRecord>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::query(&mut conn, filter, after_seq, limit).await
            }

            async fn range(
                &self,
                from_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::domain::AuditRecord>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::range(&mut conn, from_seq, limit).await
            }

            async fn head(&self) -> Result<(i64, String), $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::head(&mut conn).await
            }

            async fn insert_checkpoint(
                &self,
                checkpoint: &$crate::domain::Checkpoint,
            ) -> Result<bool, $crate::store::StoreError> {
                let _turn = self.write_turn().await;
                let mut conn = self.pool.acquire().await?;
                audit_ops::insert_checkpoint(&mut conn, checkpoint).await
            }

            async fn checkpoints(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Checkpoint>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::checkpoints(&mut conn, after_seq, limit).await
            }

            async fn last_checkpoint(
                &self,
            ) -> Result<Option<$crate::domain::Checkpoint>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::last_checkpoint(&mut conn).await
            }

            async fn index_fault(&self) -> Result<Option<i64>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::index_fault(&mut conn).await
            }
        }
    };
}

pub(super) use store_backend;
