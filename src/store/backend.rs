//! The operations, written once and stamped out per backend by [`store_backend!`]: the two
//! sqlx drivers have different connection and row types but, with the statements in `sql.rs`,
//! the same code. A macro rather than generics keeps the sqlx trait bounds out of sight.
//!
//! `ops` holds one small function per statement, each taking `&mut Connection`, so a caller
//! holding a transaction (which derefs to a connection) can add its own statements, such as an
//! audit insert, before the commit. The `Store` impl composes them into transactions.

/// Implements `Store` for `$store` (a struct with a `pool: Pool<$db>` field) over database
/// `$db`, starting write transactions with `$begin`.
macro_rules! store_backend {
    ($store:ty, $db:ty, $begin:expr) => {
        $crate::store::audit_ops::audit_ops!($db);

        /// The per-statement functions; each joins whatever transaction its connection is in.
        mod ops {
            use sqlx::{types::Json, Row};

            use crate::domain::{
                Approval, ApprovalState, Capability, CapabilityState, NewApproval, Review,
                ReviewVerdict,
            };
            use crate::store::{sql, ApprovalFilter, Page, StoreError};

            pub(super) type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn corrupt(column: &'static str, value: &str) -> StoreError {
                StoreError::Corrupt {
                    column,
                    value: value.to_owned(),
                }
            }

            fn approval(row: &DbRow) -> Result<Approval, StoreError> {
                let state: String = row.try_get("state")?;
                Ok(Approval {
                    id: row.try_get("id")?,
                    decision_id: row.try_get("decision_id")?,
                    subject_id: row.try_get("subject_id")?,
                    request_id: row.try_get("request_id")?,
                    action: row.try_get("action")?,
                    request: row.try_get::<Json<serde_json::Value>, _>("request")?.0,
                    request_hash: row.try_get("request_hash")?,
                    requirements: row.try_get::<Json<serde_json::Value>, _>("requirements")?.0,
                    bundle_revision: row.try_get("bundle_revision")?,
                    state: ApprovalState::parse(&state)
                        .ok_or_else(|| corrupt("approvals.state", &state))?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    updated_at: row.try_get("updated_at")?,
                    original_request: row
                        .try_get::<Option<Json<serde_json::Value>>, _>("original_request")?
                        .map(|j| j.0),
                    trace_parent: row.try_get("trace_parent")?,
                })
            }

            fn review(row: &DbRow) -> Result<Review, StoreError> {
                let verdict: String = row.try_get("verdict")?;
                Ok(Review {
                    approval_id: row.try_get("approval_id")?,
                    reviewer_id: row.try_get("reviewer_id")?,
                    verdict: ReviewVerdict::parse(&verdict)
                        .ok_or_else(|| corrupt("reviews.verdict", &verdict))?,
                    reason: row.try_get("reason")?,
                    groups: row.try_get::<Json<Vec<String>>, _>("reviewer_groups")?.0,
                    at: row.try_get("reviewed_at")?,
                })
            }

            fn capability(row: &DbRow) -> Result<Capability, StoreError> {
                let state: String = row.try_get("state")?;
                Ok(Capability {
                    id: row.try_get("id")?,
                    approval_id: row.try_get("approval_id")?,
                    request_hash: row.try_get("request_hash")?,
                    state: CapabilityState::parse(&state)
                        .ok_or_else(|| corrupt("capabilities.state", &state))?,
                    issued_at: row.try_get("issued_at")?,
                    expires_at: row.try_get("expires_at")?,
                    redeemed_at: row.try_get("redeemed_at")?,
                })
            }

            /// True if inserted; false if the id or the idempotency key exists.
            pub(super) async fn insert_approval(
                conn: &mut Conn,
                new: &NewApproval,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_APPROVAL)
                    .bind(&new.id)
                    .bind(&new.decision_id)
                    .bind(&new.subject_id)
                    .bind(&new.request_id)
                    .bind(&new.action)
                    .bind(Json(&new.request))
                    .bind(&new.request_hash)
                    .bind(Json(&new.requirements))
                    .bind(&new.bundle_revision)
                    .bind(new.created_at)
                    .bind(new.expires_at)
                    .bind(&new.trace_parent)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) async fn approval_by_id(
                conn: &mut Conn,
                id: &str,
            ) -> Result<Option<Approval>, StoreError> {
                let row = sqlx::query(sql::APPROVAL_BY_ID)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.as_ref().map(approval).transpose()
            }

            pub(super) async fn approval_by_key(
                conn: &mut Conn,
                subject_id: &str,
                request_id: &str,
            ) -> Result<Option<Approval>, StoreError> {
                let row = sqlx::query(sql::APPROVAL_BY_KEY)
                    .bind(subject_id)
                    .bind(request_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.as_ref().map(approval).transpose()
            }

            /// Up to `limit` matching rows, in id order.
            pub(super) async fn list_approvals(
                conn: &mut Conn,
                filter: &ApprovalFilter,
                page: &Page,
                limit: i64,
                now: i64,
            ) -> Result<Vec<Approval>, StoreError> {
                let rows = sqlx::query(sql::LIST_APPROVALS)
                    .bind(filter.state.map(ApprovalState::as_str))
                    .bind(now)
                    .bind(filter.subject_id.as_deref())
                    .bind(filter.action.as_deref())
                    .bind(filter.reviewer_id.as_deref())
                    .bind(page.after_id.as_deref())
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(approval).collect()
            }

            /// True if the approval is pending and in time at `now`; locks its row.
            pub(super) async fn lock_pending(
                conn: &mut Conn,
                id: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::LOCK_PENDING)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Replaces the pending request by `change`; true if it was still pending.
            pub(super) async fn narrow_request(
                conn: &mut Conn,
                id: &str,
                change: &crate::domain::RequestChange,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::NARROW_REQUEST)
                    .bind(id)
                    .bind(Json(&change.request))
                    .bind(&change.request_hash)
                    .bind(Json(&change.requirements))
                    .bind(now)
                    .bind(&change.previous_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// True if inserted; false if this reviewer already reviewed this approval.
            pub(super) async fn insert_review(
                conn: &mut Conn,
                review: &Review,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_REVIEW)
                    .bind(&review.approval_id)
                    .bind(&review.reviewer_id)
                    .bind(review.verdict.as_str())
                    .bind(&review.reason)
                    .bind(Json(&review.groups))
                    .bind(review.at)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) async fn reviews_of(
                conn: &mut Conn,
                approval_id: &str,
            ) -> Result<Vec<Review>, StoreError> {
                let rows = sqlx::query(sql::REVIEWS_OF)
                    .bind(approval_id)
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(review).collect()
            }

            /// The compare-and-set; the caller has checked the edge is legal.
            pub(super) async fn transition(
                conn: &mut Conn,
                id: &str,
                from: ApprovalState,
                to: ApprovalState,
                now: i64,
            ) -> Result<bool, StoreError> {
                let statement = if to == ApprovalState::Expired {
                    sql::TRANSITION_OVERDUE
                } else {
                    sql::TRANSITION_IN_TIME
                };
                let done = sqlx::query(statement)
                    .bind(id)
                    .bind(from.as_str())
                    .bind(to.as_str())
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// The approvals it expired, sorted by id.
            pub(super) async fn expire_approvals(
                conn: &mut Conn,
                now: i64,
            ) -> Result<Vec<Approval>, StoreError> {
                let rows = sqlx::query(sql::EXPIRE_APPROVALS)
                    .bind(now)
                    .fetch_all(&mut *conn)
                    .await?;
                let mut expired = rows.iter().map(approval).collect::<Result<Vec<_>, _>>()?;
                expired.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(expired)
            }

            pub(super) async fn expire_capabilities(
                conn: &mut Conn,
                now: i64,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::EXPIRE_CAPABILITIES)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(super) async fn insert_capability(
                conn: &mut Conn,
                cap: &Capability,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::INSERT_CAPABILITY)
                    .bind(&cap.id)
                    .bind(cap.approval_id.as_deref())
                    .bind(&cap.request_hash)
                    .bind(cap.state.as_str())
                    .bind(cap.issued_at)
                    .bind(cap.expires_at)
                    .bind(cap.redeemed_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| match e.as_database_error() {
                        Some(db) if db.is_unique_violation() => StoreError::Conflict {
                            kind: "capability",
                            id: cap.id.clone(),
                        },
                        Some(db) if db.is_foreign_key_violation() => StoreError::NotFound {
                            kind: "approval",
                            id: cap.approval_id.clone().unwrap_or_default(),
                        },
                        _ => StoreError::Database(e),
                    })?;
                Ok(())
            }

            pub(super) async fn capability_by_id(
                conn: &mut Conn,
                id: &str,
            ) -> Result<Option<Capability>, StoreError> {
                let row = sqlx::query(sql::CAPABILITY_BY_ID)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.as_ref().map(capability).transpose()
            }

            /// True if this call redeemed it.
            pub(super) async fn redeem(
                conn: &mut Conn,
                id: &str,
                request_hash: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REDEEM)
                    .bind(id)
                    .bind(request_hash)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn create_approval(
                &self,
                new: &$crate::domain::NewApproval,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<($crate::domain::Approval, bool), $crate::store::StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                if ops::insert_approval(&mut tx, new).await? {
                    audit_ops::append(&mut tx, audit).await?;
                    tx.commit().await?;
                    return Ok((new.clone().into_pending(), true));
                }
                let existing = if new.request_id.is_empty() {
                    None
                } else {
                    ops::approval_by_key(&mut tx, &new.subject_id, &new.request_id).await?
                };
                tx.commit().await?;
                match existing {
                    Some(approval) => Ok((approval.observed_at(new.created_at), false)),
                    None => Err($crate::store::StoreError::Conflict {
                        kind: "approval",
                        id: new.id.clone(),
                    }),
                }
            }

            async fn get_approval(
                &self,
                id: &str,
                now: i64,
            ) -> Result<Option<$crate::domain::Approval>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let found = ops::approval_by_id(&mut conn, id).await?;
                Ok(found.map(|a| a.observed_at(now)))
            }

            async fn list_approvals(
                &self,
                filter: &$crate::store::ApprovalFilter,
                page: &$crate::store::Page,
                now: i64,
            ) -> Result<$crate::store::ApprovalPage, $crate::store::StoreError> {
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
                let items = items.into_iter().map(|a| a.observed_at(now)).collect();
                Ok($crate::store::ApprovalPage { items, next })
            }

            async fn add_review(
                &self,
                review: &$crate::domain::Review,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<$crate::domain::ReviewOutcome, $crate::store::StoreError> {
                self.add_review_narrowing(review, None, audit).await
            }

            async fn add_review_narrowing(
                &self,
                review: &$crate::domain::Review,
                change: Option<&$crate::domain::RequestChange>,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<$crate::domain::ReviewOutcome, $crate::store::StoreError> {
                use $crate::domain::ReviewOutcome;
                let mut tx = self.pool.begin_with($begin).await?;
                if !ops::lock_pending(&mut tx, &review.approval_id, review.at).await? {
                    let found = ops::approval_by_id(&mut tx, &review.approval_id).await?;
                    tx.rollback().await?;
                    return match found {
                        Some(a) => Ok(ReviewOutcome::NotPending(a.observed_at(review.at).state)),
                        None => Err($crate::store::StoreError::NotFound {
                            kind: "approval",
                            id: review.approval_id.clone(),
                        }),
                    };
                }
                if !ops::insert_review(&mut tx, review).await? {
                    tx.rollback().await?;
                    return Ok(ReviewOutcome::Duplicate);
                }
                if let Some(change) = change {
                    // The row is locked and pending (checked above, same transaction).
                    if !ops::narrow_request(&mut tx, &review.approval_id, change, review.at).await?
                    {
                        tx.rollback().await?;
                        return Ok(ReviewOutcome::NotPending(
                            $crate::domain::ApprovalState::Expired,
                        ));
                    }
                }
                let reviews = ops::reviews_of(&mut tx, &review.approval_id).await?;
                audit_ops::append(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(ReviewOutcome::Recorded(reviews))
            }

            async fn reviews(
                &self,
                approval_id: &str,
            ) -> Result<Vec<$crate::domain::Review>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                ops::reviews_of(&mut conn, approval_id).await
            }

            async fn transition(
                &self,
                id: &str,
                from: $crate::domain::ApprovalState,
                to: $crate::domain::ApprovalState,
                now: i64,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<bool, $crate::store::StoreError> {
                if !from.can_become(to) {
                    return Err($crate::store::StoreError::InvalidTransition { from, to });
                }
                let mut tx = self.pool.begin_with($begin).await?;
                if !ops::transition(&mut tx, id, from, to, now).await? {
                    tx.rollback().await?;
                    return Ok(false);
                }
                audit_ops::append(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn approve_with_capability(
                &self,
                id: &str,
                cap: &$crate::domain::Capability,
                now: i64,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::domain::ApprovalState;
                let mut tx = self.pool.begin_with($begin).await?;
                // Lock the row while it is pending and in time before inserting, so a losing
                // racer finds it decided instead of colliding on the capability id.
                if !ops::lock_pending(&mut tx, id, now).await? {
                    tx.rollback().await?;
                    return Ok(false);
                }
                ops::insert_capability(&mut tx, cap).await?;
                if !ops::transition(
                    &mut tx,
                    id,
                    ApprovalState::Pending,
                    ApprovalState::Approved,
                    now,
                )
                .await?
                {
                    tx.rollback().await?;
                    return Ok(false);
                }
                audit_ops::append(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn expire_due(
                &self,
                now: i64,
                audit: &$crate::store::ExpiryAudit<'_>,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let expired = ops::expire_approvals(&mut tx, now).await?;
                ops::expire_capabilities(&mut tx, now).await?;
                let events: Vec<_> = expired.iter().flat_map(|a| audit(a)).collect();
                audit_ops::append(&mut tx, &events).await?;
                tx.commit().await?;
                Ok(expired.into_iter().map(|a| a.id).collect())
            }

            async fn insert_capability(
                &self,
                cap: &$crate::domain::Capability,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                ops::insert_capability(&mut tx, cap).await?;
                audit_ops::append(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_capability(
                &self,
                id: &str,
                now: i64,
            ) -> Result<Option<$crate::domain::Capability>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let found = ops::capability_by_id(&mut conn, id).await?;
                Ok(found.map(|c| c.observed_at(now)))
            }

            async fn redeem_capability(
                &self,
                id: &str,
                request_hash: &str,
                now: i64,
                audit: &[$crate::audit::AuditEvent],
            ) -> Result<$crate::domain::RedeemOutcome, $crate::store::StoreError> {
                use $crate::domain::RedeemOutcome;
                let mut tx = self.pool.begin_with($begin).await?;
                if ops::redeem(&mut tx, id, request_hash, now).await? {
                    audit_ops::append(&mut tx, audit).await?;
                    tx.commit().await?;
                    return Ok(RedeemOutcome::Redeemed);
                }
                let found = ops::capability_by_id(&mut tx, id).await?;
                tx.rollback().await?;
                Ok(match found {
                    Some(cap) => RedeemOutcome::refusal(&cap, request_hash, now),
                    None => RedeemOutcome::NotFound,
                })
            }

            async fn count_pending(&self, now: i64) -> Result<u64, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::count_pending(&mut conn, now).await
            }

            async fn append_audit(
                &self,
                events: &[$crate::audit::AuditEvent],
            ) -> Result<Vec<$crate::audit::AuditRecord>, $crate::store::StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let records = audit_ops::append(&mut tx, events).await?;
                tx.commit().await?;
                Ok(records)
            }

            async fn query_audit(
                &self,
                filter: &$crate::audit::AuditFilter,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::audit::AuditRecord>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::query(&mut conn, filter, after_seq, limit).await
            }

            async fn audit_range(
                &self,
                from_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::audit::AuditRecord>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::range(&mut conn, from_seq, limit).await
            }

            async fn audit_head(&self) -> Result<(i64, String), $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::head(&mut conn).await
            }

            async fn insert_checkpoint(
                &self,
                checkpoint: &$crate::audit::Checkpoint,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::insert_checkpoint(&mut conn, checkpoint).await
            }

            async fn checkpoints(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::audit::Checkpoint>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::checkpoints(&mut conn, after_seq, limit).await
            }

            async fn last_checkpoint(
                &self,
            ) -> Result<Option<$crate::audit::Checkpoint>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                audit_ops::last_checkpoint(&mut conn).await
            }
        }
    };
}

pub(super) use store_backend;
