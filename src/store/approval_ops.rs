//! The approval, review and capability statements, stamped out per backend by
//! [`approval_ops!`] (like `audit_ops.rs`): one small function per statement, each taking a
//! connection, so a caller holding a transaction composes them.

/// Generates `mod ops` for database `$db`, taking the statement locks `$locks` (a
/// `sql::RowLocks`), writing in `WITH` if `$writes_in_with` (`sql::PG_WRITES_IN_WITH`,
/// `sql::SQLITE_WRITES_IN_WITH`).
macro_rules! approval_ops {
    ($db:ty, $locks:expr, $writes_in_with:expr) => {
        /// The per-statement functions; each joins whatever transaction its connection is in.
        mod ops {
            use sqlx::{types::Json, Row};

            use crate::domain::{
                Approval, ApprovalFilter, ApprovalState, Capability, CapabilityState, NewApproval,
                Page, Review, ReviewVerdict, UnixMillis,
            };
            use crate::store::{sql, ApprovalSnapshot, ReviewWrite, StoreError};

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
                    created_at: UnixMillis(row.try_get("created_at")?),
                    expires_at: UnixMillis(row.try_get("expires_at")?),
                    updated_at: UnixMillis(row.try_get("updated_at")?),
                    original_request: row
                        .try_get::<Option<Json<serde_json::Value>>, _>("original_request")?
                        .map(|j| j.0),
                    trace_parent: row.try_get("trace_parent")?,
                    requested_by: row.try_get("requested_by")?,
                    bundle_digest: row.try_get("bundle_digest")?,
                    capability_audience: row
                        .try_get::<Json<Vec<String>>, _>("capability_audience")?
                        .0,
                    on_behalf_of_proven: row.try_get("on_behalf_of_proven")?,
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
                    at: UnixMillis(row.try_get("reviewed_at")?),
                    stepped_up: row.try_get("stepped_up")?,
                })
            }

            fn capability(row: &DbRow) -> Result<Capability, StoreError> {
                capability_named(row, sql::CAPABILITY_NAMES)
            }

            /// The capability in `row`'s columns named `names` (in `capability_columns!`
            /// order).
            fn capability_named(row: &DbRow, names: [&str; 8]) -> Result<Capability, StoreError> {
                let [id, approval_id, request_hash, state, issued_at, expires_at, redeemed_at, audience] =
                    names;
                let state: String = row.try_get(state)?;
                Ok(Capability {
                    id: row.try_get(id)?,
                    approval_id: row.try_get(approval_id)?,
                    request_hash: row.try_get(request_hash)?,
                    state: CapabilityState::parse(&state)
                        .ok_or_else(|| corrupt("capabilities.state", &state))?,
                    issued_at: UnixMillis(row.try_get(issued_at)?),
                    expires_at: UnixMillis(row.try_get(expires_at)?),
                    redeemed_at: row.try_get::<Option<i64>, _>(redeemed_at)?.map(UnixMillis),
                    audience: row.try_get::<Json<Vec<String>>, _>(audience)?.0,
                })
            }

            /// True if inserted; false if the id or the idempotency key exists.
            pub(super) async fn insert_approval(
                conn: &mut Conn,
                new: &NewApproval,
            ) -> Result<bool, StoreError> {
                let done = bind_new_approval(sqlx::query(sql::INSERT_APPROVAL), new)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Subject's pending approvals at `new`'s creation, and whether `new` was
            /// inserted: only while they are fewer than `limit` (and its id and idempotency
            /// key are free). Transactions that open approvals for one subject serialize from
            /// here to their end, so the count stays true until the insert commits: where the
            /// database writes in `WITH` (PostgreSQL), one statement that takes the subject's
            /// lock, then counts ([`sql::COUNT_THEN_INSERT_APPROVAL`]); elsewhere (SQLite) the
            /// write transaction holds the whole database already.
            pub(super) async fn count_then_insert(
                conn: &mut Conn,
                new: &NewApproval,
                limit: u32,
            ) -> Result<(u64, bool), StoreError> {
                if !$writes_in_with {
                    let pending = count_pending_of(conn, &new.subject_id, new.created_at).await?;
                    let inserted = pending < u64::from(limit) && insert_approval(conn, new).await?;
                    return Ok((pending, inserted));
                }
                let row = bind_new_approval(sqlx::query(sql::COUNT_THEN_INSERT_APPROVAL), new)
                    .bind(i64::from(limit))
                    .fetch_one(&mut *conn)
                    .await?;
                let n: i64 = row.try_get("n")?;
                let inserted: i64 = row.try_get("inserted")?;
                Ok((u64::try_from(n).unwrap_or(0), inserted == 1))
            }

            /// `q` with `new`'s values bound next, as [`sql::INSERT_APPROVAL`] takes them.
            fn bind_new_approval<'q>(
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                new: &'q NewApproval,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                q.bind(&new.id)
                    .bind(&new.decision_id)
                    .bind(&new.subject_id)
                    .bind(&new.request_id)
                    .bind(&new.action)
                    .bind(Json(&new.request))
                    .bind(&new.request_hash)
                    .bind(Json(&new.requirements))
                    .bind(&new.bundle_revision)
                    .bind(new.created_at.0)
                    .bind(new.expires_at.0)
                    .bind(&new.trace_parent)
                    .bind(&new.requested_by)
                    .bind(Json(&new.capability_audience))
                    .bind(&new.bundle_digest)
                    .bind(new.on_behalf_of_proven)
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

            /// The approval `id` with its reviews, oldest first, and its capability, read by
            /// one statement (as stored: the caller observes them).
            #[allow(
                dead_code,
                reason = "SQLite's point reads run on its reader thread (sqlite_writer.rs)"
            )]
            pub(super) async fn approval_with_reviews(
                conn: &mut Conn,
                id: &str,
            ) -> Result<Option<ApprovalSnapshot>, StoreError> {
                let rows = sqlx::query(sql::APPROVAL_WITH_REVIEWS)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let mut reviews = Vec::with_capacity(rows.len());
                for row in &rows {
                    if row.try_get::<Option<String>, _>("reviewer_id")?.is_some() {
                        reviews.push(review(row)?);
                    }
                }
                let capability = match first.try_get::<Option<String>, _>("cap_id")? {
                    Some(_) => Some(capability_named(first, sql::MINTED_NAMES)?),
                    None => None,
                };
                Ok(Some(ApprovalSnapshot {
                    approval: approval(first)?,
                    reviews,
                    capability,
                }))
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
                now: UnixMillis,
            ) -> Result<Vec<Approval>, StoreError> {
                let rows = sqlx::query(sql::LIST_APPROVALS)
                    .bind(filter.state.map(ApprovalState::as_str))
                    .bind(now.0)
                    .bind(filter.subject_id.as_deref())
                    .bind(filter.action.as_deref())
                    .bind(filter.reviewer_id.as_deref())
                    .bind(page.after_id.as_deref())
                    .bind(limit)
                    .bind(filter.text.as_deref().map(sql::contains_pattern))
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(approval).collect()
            }

            /// True if the approval is pending and in time at `now`; locks its row.
            pub(super) async fn lock_pending(
                conn: &mut Conn,
                id: &str,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                const LOCKS: sql::RowLocks = $locks;
                // `rows_affected` counts the rows an `UPDATE` changed or a `SELECT` returned.
                let done = sqlx::query(LOCKS.pending)
                    .bind(id)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Replaces the pending request by `change`; true if it was still pending.
            pub(super) async fn narrow_request(
                conn: &mut Conn,
                id: &str,
                change: &crate::domain::RequestChange,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::NARROW_REQUEST)
                    .bind(id)
                    .bind(Json(&change.request))
                    .bind(&change.request_hash)
                    .bind(Json(&change.requirements))
                    .bind(now.0)
                    .bind(&change.previous_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// True if inserted; false if this reviewer already reviewed this approval.
            async fn insert_review(
                conn: &mut Conn,
                review: &Review,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_REVIEW)
                    .bind(&review.approval_id)
                    .bind(&review.reviewer_id)
                    .bind(review.verdict.as_str())
                    .bind(&review.reason)
                    .bind(Json(&review.groups))
                    .bind(review.at.0)
                    .bind(review.stepped_up)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Locks approval `given.approval_id` if it is pending and in time at the review's
            /// time, records `given` unless its reviewer has reviewed already, then reads
            /// every review of the approval, oldest first, as of after the lock (a review
            /// committed by the transaction this one waited for counts). One statement where
            /// the backend has one (`RowLocks::review_if_pending`).
            pub(super) async fn review_if_pending(
                conn: &mut Conn,
                given: &Review,
            ) -> Result<ReviewWrite, StoreError> {
                const LOCKS: sql::RowLocks = $locks;
                let Some(statement) = LOCKS.review_if_pending else {
                    if !lock_pending(conn, &given.approval_id, given.at).await? {
                        return Ok(ReviewWrite::NotPending);
                    }
                    if !insert_review(conn, given).await? {
                        return Ok(ReviewWrite::Repeat);
                    }
                    return reviews_of(conn, &given.approval_id)
                        .await
                        .map(ReviewWrite::Recorded);
                };
                let rows = sqlx::query(statement)
                    .bind(&given.approval_id)
                    .bind(&given.reviewer_id)
                    .bind(given.verdict.as_str())
                    .bind(&given.reason)
                    .bind(Json(&given.groups))
                    .bind(given.at.0)
                    .bind(given.stepped_up)
                    .fetch_all(&mut *conn)
                    .await?;
                if rows.is_empty() {
                    return Ok(ReviewWrite::NotPending);
                }
                let mut added = false;
                for row in &rows {
                    added |= row.try_get::<bool, _>("added")?;
                }
                if !added {
                    return Ok(ReviewWrite::Repeat);
                }
                rows.iter()
                    .map(review)
                    .collect::<Result<_, _>>()
                    .map(ReviewWrite::Recorded)
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

            /// `select WHERE column IN (ids...)`, every id a bind; `column` is a constant.
            fn in_list(
                select: &'static str,
                column: &'static str,
                ids: &[&str],
            ) -> sqlx::QueryBuilder<$db> {
                let mut q = sqlx::QueryBuilder::<$db>::new(select);
                q.push(" WHERE ").push(column).push(" IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(id.to_string());
                }
                q.push(")");
                q
            }

            /// Locks what the sweep at `now` will expire, in the shared lock order
            /// (`sql::RowLocks`), before its `UPDATE`s lock them in scan order.
            pub(super) async fn lock_due(
                conn: &mut Conn,
                now: UnixMillis,
            ) -> Result<(), StoreError> {
                const LOCKS: sql::RowLocks = $locks;
                for statement in LOCKS.due.into_iter().flatten() {
                    sqlx::query(statement)
                        .bind(now.0)
                        .fetch_all(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// `subject`'s pending approvals still in time at `now` (SQLite's running count,
            /// [`sql::COUNT_PENDING_OF`]; PostgreSQL counts inside its insert).
            pub(super) async fn count_pending_of(
                conn: &mut Conn,
                subject: &str,
                now: UnixMillis,
            ) -> Result<u64, StoreError> {
                let row = sqlx::query(sql::COUNT_PENDING_OF)
                    .bind(subject)
                    .bind(now.0)
                    .fetch_one(&mut *conn)
                    .await?;
                sql::pending_count(row.try_get("n")?)
            }

            /// The reviews of every approval in `ids`, each approval's oldest first.
            pub(super) async fn reviews_of_many(
                conn: &mut Conn,
                ids: &[&str],
            ) -> Result<Vec<Review>, StoreError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = in_list(sql::REVIEWS_SELECT, "approval_id", ids);
                q.push(" ORDER BY approval_id, reviewed_at, reviewer_id");
                let rows = q.build().fetch_all(&mut *conn).await?;
                rows.iter().map(review).collect()
            }

            /// The capabilities whose ids are in `ids` (an approval's capability has its id).
            pub(super) async fn capabilities_by_ids(
                conn: &mut Conn,
                ids: &[&str],
            ) -> Result<Vec<Capability>, StoreError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = in_list(sql::CAPABILITIES_SELECT, "id", ids);
                let rows = q.build().fetch_all(&mut *conn).await?;
                rows.iter().map(capability).collect()
            }

            /// The compare-and-set; the caller has checked the edge is legal.
            pub(super) async fn transition(
                conn: &mut Conn,
                id: &str,
                from: ApprovalState,
                to: ApprovalState,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let statement = sql::transition_to(to);
                let done = sqlx::query(statement)
                    .bind(id)
                    .bind(from.as_str())
                    .bind(to.as_str())
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// The approvals it expired, sorted by id.
            pub(super) async fn expire_approvals(
                conn: &mut Conn,
                now: UnixMillis,
            ) -> Result<Vec<Approval>, StoreError> {
                let rows = sqlx::query(sql::EXPIRE_APPROVALS)
                    .bind(now.0)
                    .fetch_all(&mut *conn)
                    .await?;
                let mut expired = rows.iter().map(approval).collect::<Result<Vec<_>, _>>()?;
                expired.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(expired)
            }

            pub(super) async fn expire_capabilities(
                conn: &mut Conn,
                now: UnixMillis,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::EXPIRE_CAPABILITIES)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(super) async fn insert_capability(
                conn: &mut Conn,
                cap: &Capability,
            ) -> Result<(), StoreError> {
                bind_capability(sqlx::query(sql::INSERT_CAPABILITY), cap)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| capability_error(e, std::slice::from_ref(cap)))?;
                Ok(())
            }

            /// Inserts `cap` and moves approval `id` from pending to approved in time at
            /// `now`; whether it moved (see `sql::APPROVE_MINTING`). Where the database writes
            /// in `WITH`, one statement.
            pub(super) async fn approve_minting(
                conn: &mut Conn,
                id: &str,
                cap: &Capability,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                if !$writes_in_with {
                    insert_capability(conn, cap).await?;
                    let (from, to) = (ApprovalState::Pending, ApprovalState::Approved);
                    return transition(conn, id, from, to, now).await;
                }
                let minting = sqlx::query(sql::APPROVE_MINTING).bind(id).bind(now.0);
                let done = bind_capability(minting, cap)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| capability_error(e, std::slice::from_ref(cap)))?;
                Ok(done.rows_affected() == 1)
            }

            /// `q` with `cap`'s columns bound next, in `capability_columns!` order.
            fn bind_capability<'q>(
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                cap: &'q Capability,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                q.bind(&cap.id)
                    .bind(cap.approval_id.as_deref())
                    .bind(&cap.request_hash)
                    .bind(cap.state.as_str())
                    .bind(cap.issued_at.0)
                    .bind(cap.expires_at.0)
                    .bind(cap.redeemed_at.map(|t| t.0))
                    .bind(Json(&cap.audience))
            }

            /// The store's error for a failed insert of `caps`: a collision names the id
            /// (or the batch), a missing approval names it.
            pub(super) fn capability_error(e: sqlx::Error, caps: &[Capability]) -> StoreError {
                let Some(first) = caps.first() else {
                    return StoreError::Database(e);
                };
                match e.as_database_error() {
                    Some(db) if db.is_unique_violation() => StoreError::Conflict {
                        kind: "capability",
                        id: match caps {
                            [one] => one.id.clone(),
                            _ => format!("among {} ({}, ...)", caps.len(), first.id),
                        },
                    },
                    Some(db) if db.is_foreign_key_violation() => StoreError::NotFound {
                        kind: "approval",
                        id: caps
                            .iter()
                            .filter_map(|c| c.approval_id.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                    _ => StoreError::Database(e),
                }
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
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REDEEM)
                    .bind(id)
                    .bind(request_hash)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(super) use approval_ops;
