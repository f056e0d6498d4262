//! The audit log's statements, stamped out per backend by [`audit_ops!`] like `backend.rs`:
//! each function takes a connection, so the append joins whatever transaction the caller has
//! open (a state change and its record commit together).

/// `events` chained after the head `(seq, hash)`, as every backend's append stores them (the
/// sqlx backends' `append_at` below and the SQLite writer's).
pub(super) fn chain_after(
    (seq, hash): (i64, String),
    events: &[crate::domain::AuditEvent],
) -> Result<Vec<crate::domain::AuditRecord>, super::StoreError> {
    crate::domain::chain(seq, &hash, events).map_err(|e| super::StoreError::Corrupt {
        column: "audit_log.body",
        value: e.to_string(),
    })
}

/// Generates `mod audit_ops` for database `$db`, which runs data-modifying statements in
/// `WITH` if `$writes_in_with` (`sql::PG_WRITES_IN_WITH`, `sql::SQLITE_WRITES_IN_WITH`).
macro_rules! audit_ops {
    ($db:ty, $writes_in_with:expr) => {
        /// The audit statements; each joins whatever transaction its connection is in.
        mod audit_ops {
            use sqlx::Row;

            use crate::domain::{
                AuditEvent, AuditFilter, AuditKind, AuditRecord, Checkpoint, NotifyEvent,
                UnixMillis,
            };
            use crate::store::{sql, StoreError};

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            /// Rows per INSERT: 18 binds each (notifications 6) stays far below both
            /// databases' bind limits, even with a statement's notifications and records.
            const ROWS_PER_INSERT: usize = 256;

            /// A stored record, read without trusting it: the indexed fields come from the
            /// columns, `reasons`, `input` and `detail` from `body` when it parses (empty when
            /// not). The verifier compares the two and re-derives the hash.
            fn record(row: &DbRow) -> Result<AuditRecord, StoreError> {
                let seq: i64 = row.try_get("seq")?;
                let body: String = row.try_get("body")?;
                let kind: String = row.try_get("kind")?;
                let parsed: serde_json::Value =
                    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                let field = |name: &str| parsed.get(name).cloned().unwrap_or_default();
                let event = AuditEvent {
                    id: row.try_get("id")?,
                    at: UnixMillis(row.try_get("at")?),
                    kind: AuditKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                        column: "audit_log.kind",
                        value: format!("seq {seq}: {kind}"),
                    })?,
                    actor: row.try_get("actor")?,
                    subject_id: row.try_get("subject_id")?,
                    action: row.try_get("action")?,
                    resource_type: row.try_get("resource_type")?,
                    resource_id: row.try_get("resource_id")?,
                    effect: row.try_get("effect")?,
                    reasons: serde_json::from_value(field("reasons")).unwrap_or_default(),
                    decision_id: row.try_get("decision_id")?,
                    approval_id: row.try_get("approval_id")?,
                    capability_id: row.try_get("capability_id")?,
                    bundle_revision: row.try_get("bundle_revision")?,
                    trace_id: row.try_get("trace_id")?,
                    input: field("input"),
                    detail: field("detail"),
                };
                Ok(AuditRecord {
                    seq,
                    event,
                    body,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            }

            fn checkpoint(row: &DbRow) -> Result<Checkpoint, StoreError> {
                Ok(Checkpoint {
                    seq: row.try_get("seq")?,
                    head_hash: row.try_get("head_hash")?,
                    at: UnixMillis(row.try_get("at")?),
                    token: row.try_get("token")?,
                })
            }

            /// Chains `events` after the head and stores them with their notifications; the
            /// head stays locked until the caller's transaction ends. Call it last in a
            /// transaction: the head is the one lock every append shares, so it is taken after
            /// every other (`sql::RowLocks`) and held for as short a time as possible.
            ///
            /// Where the database runs writes in `WITH` (`$writes_in_with`: PostgreSQL), the
            /// notifications, the records and the new head are one statement after the lock,
            /// so the append costs two round trips however many records it stores.
            pub(super) async fn append(
                conn: &mut Conn,
                events: &[AuditEvent],
            ) -> Result<Vec<AuditRecord>, StoreError> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                let notes: Vec<NotifyEvent> = events.iter().filter_map(NotifyEvent::of).collect();
                let (notes_before, notes_with) = split_for_head(&notes);
                // They need no seq, so they are written before the head is taken.
                for chunk in notes_before.chunks(ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("");
                    push_notes(&mut q, chunk);
                    q.build().execute(&mut *conn).await?;
                }
                let head = lock_head(conn).await?;
                let records = $crate::store::audit_ops::chain_after(head, events)?;
                let Some(last) = records.last() else {
                    return Ok(records);
                };
                let (records_before, records_with) = split_for_head(&records);
                for chunk in records_before.chunks(ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("");
                    push_records(&mut q, chunk);
                    q.build().execute(&mut *conn).await?;
                }
                let mut q = sqlx::QueryBuilder::<$db>::new("");
                let mut with = "WITH ";
                if !notes_with.is_empty() {
                    q.push(with).push("notes AS (");
                    push_notes(&mut q, notes_with);
                    q.push(") ");
                    with = ", ";
                }
                if !records_with.is_empty() {
                    q.push(with).push("records AS (");
                    push_records(&mut q, records_with);
                    q.push(") ");
                }
                q.push("UPDATE audit_head SET seq = ")
                    .push_bind(last.seq)
                    .push(", hash = ")
                    .push_bind(last.hash.clone())
                    .push(" WHERE id = 1");
                q.build().execute(&mut *conn).await?;
                Ok(records)
            }

            /// `rows` as (those inserted on their own, those inserted by the head's update):
            /// with writes in `WITH`, the last statement's share rides with the head.
            fn split_for_head<T>(rows: &[T]) -> (&[T], &[T]) {
                if $writes_in_with {
                    rows.split_at(rows.len().saturating_sub(1) / ROWS_PER_INSERT * ROWS_PER_INSERT)
                } else {
                    (rows, &[])
                }
            }

            /// Locks the chain head until the transaction ends (see `append`) and reads it.
            async fn lock_head(conn: &mut Conn) -> Result<(i64, String), StoreError> {
                let head = sqlx::query(sql::LOCK_AUDIT_HEAD)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok((head.try_get("seq")?, head.try_get("hash")?))
            }

            /// An insert of `notes` (at most [`ROWS_PER_INSERT`]); one already enqueued stays
            /// as it is.
            fn push_notes(q: &mut sqlx::QueryBuilder<$db>, notes: &[NotifyEvent]) {
                q.push(sql::INSERT_NOTIFY_EVENTS_PREFIX);
                q.push_values(notes, |mut b, n| {
                    b.push_bind(n.id.clone())
                        .push_bind(n.kind.as_str())
                        .push_bind(n.approval_id.clone())
                        .push_bind(n.at.0)
                        .push_bind(n.body.to_string())
                        .push_bind(false);
                });
                q.push(sql::ON_CONFLICT_ID_DO_NOTHING);
            }

            /// An insert of `records` (at most [`ROWS_PER_INSERT`]).
            fn push_records(q: &mut sqlx::QueryBuilder<$db>, records: &[AuditRecord]) {
                q.push(sql::INSERT_AUDIT_PREFIX);
                q.push_values(records, |mut b, r| {
                    let e = &r.event;
                    b.push_bind(r.seq)
                        .push_bind(e.id.clone())
                        .push_bind(e.at.0)
                        .push_bind(e.kind.as_str())
                        .push_bind(e.actor.clone())
                        .push_bind(e.subject_id.clone())
                        .push_bind(e.action.clone())
                        .push_bind(e.resource_type.clone())
                        .push_bind(e.resource_id.clone())
                        .push_bind(e.effect.clone())
                        .push_bind(e.decision_id.clone())
                        .push_bind(e.approval_id.clone())
                        .push_bind(e.capability_id.clone())
                        .push_bind(e.bundle_revision.clone())
                        .push_bind(e.trace_id.clone())
                        .push_bind(r.body.clone())
                        .push_bind(r.prev_hash.clone())
                        .push_bind(r.hash.clone());
                });
            }

            pub(super) async fn head(conn: &mut Conn) -> Result<(i64, String), StoreError> {
                let row = sqlx::query(sql::AUDIT_HEAD).fetch_one(&mut *conn).await?;
                Ok((row.try_get("seq")?, row.try_get("hash")?))
            }

            pub(super) async fn range(
                conn: &mut Conn,
                from_seq: i64,
                limit: u32,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                let rows = sqlx::query(sql::AUDIT_RANGE)
                    .bind(from_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(record).collect()
            }

            pub(super) async fn query(
                conn: &mut Conn,
                f: &AuditFilter,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                let mut q = query_statement(f, after_seq, limit);
                let rows = q.build().fetch_all(&mut *conn).await?;
                rows.iter().map(record).collect()
            }

            /// The statement [`query`] runs. Only the filters given become predicates (`col =
            /// $n`, never `$n IS NULL OR ...`), so the planner can use the index each filter
            /// has. Column names are constants here; every value is a bind.
            pub(super) fn query_statement(
                f: &AuditFilter,
                after_seq: i64,
                limit: u32,
            ) -> sqlx::QueryBuilder<$db> {
                let mut q = sqlx::QueryBuilder::<$db>::new(sql::AUDIT_SELECT);
                q.push(" WHERE seq > ").push_bind(after_seq);
                let equal = [
                    ("subject_id", f.subject_id.as_deref()),
                    ("action", f.action.as_deref()),
                    ("resource_type", f.resource_type.as_deref()),
                    ("resource_id", f.resource_id.as_deref()),
                    ("effect", f.effect.as_deref()),
                    ("approval_id", f.approval_id.as_deref()),
                    ("decision_id", f.decision_id.as_deref()),
                    ("kind", f.kind.map(AuditKind::as_str)),
                ];
                for (column, value) in equal {
                    if let Some(value) = value {
                        q.push(" AND ").push(column).push(" = ");
                        q.push_bind(value.to_owned());
                        if column == "approval_id" && !value.is_empty() {
                            // `audit_approval` holds only the records of an approval
                            // (migration 0010); a planner sees from this literal term, not
                            // from the bind, that the index covers the query.
                            q.push(" AND approval_id <> ''");
                        }
                    }
                }
                if let Some(since) = f.since {
                    q.push(" AND at >= ").push_bind(since.0);
                }
                if let Some(until) = f.until {
                    q.push(" AND at < ").push_bind(until.0);
                }
                q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
                q
            }

            pub(super) async fn count_pending(
                conn: &mut Conn,
                now: UnixMillis,
            ) -> Result<u64, StoreError> {
                let row = sqlx::query(sql::COUNT_PENDING)
                    .bind(now.0)
                    .fetch_one(&mut *conn)
                    .await?;
                let n: i64 = row.try_get("n")?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            pub(super) async fn insert_checkpoint(
                conn: &mut Conn,
                c: &Checkpoint,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_CHECKPOINT)
                    .bind(c.seq)
                    .bind(&c.head_hash)
                    .bind(c.at.0)
                    .bind(&c.token)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) async fn checkpoints(
                conn: &mut Conn,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<Checkpoint>, StoreError> {
                let rows = sqlx::query(sql::CHECKPOINTS)
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(checkpoint).collect()
            }

            pub(super) async fn last_checkpoint(
                conn: &mut Conn,
            ) -> Result<Option<Checkpoint>, StoreError> {
                let row = sqlx::query(sql::LAST_CHECKPOINT)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.as_ref().map(checkpoint).transpose()
            }
        }
    };
}

pub(super) use audit_ops;
