//! The audit log's statements, stamped out per backend by [`audit_ops!`] like `backend.rs`:
//! each function takes a connection, so the append joins whatever transaction the caller has
//! open (a state change and its record commit together).

use super::StoreError;
use crate::domain::{AuditRecord, NotifyEvent};

/// `events` with their canonical bodies, made before an append locks the chain's head, so
/// the head is held only to link them ([`chain_after`]).
pub(super) fn canonical_bodies(
    events: Vec<crate::domain::AuditEvent>,
) -> Result<Vec<crate::domain::Canonical>, super::StoreError> {
    crate::domain::canonicalize(events).map_err(|e| super::StoreError::Corrupt {
        column: "audit_log.body",
        value: e.to_string(),
    })
}

/// `events` chained after the head `(seq, hash)`, as every backend's append stores them (the
/// sqlx backends' `append` below and the SQLite writer's).
pub(super) fn chain_after(
    (seq, hash): (i64, String),
    events: Vec<crate::domain::Canonical>,
) -> Vec<crate::domain::AuditRecord> {
    crate::domain::chain_canonical(seq, &hash, events)
}

/// The notifications `events` call for, or none when the outbox writes no events
/// (`OutboxStore::write_events`): what every backend's append stores beside the records.
pub(super) fn notes_of(events: &[crate::domain::AuditEvent], notify: bool) -> Vec<NotifyEvent> {
    if !notify {
        return Vec::new();
    }
    events.iter().filter_map(NotifyEvent::of).collect()
}

/// How a backend stores an append's rows once the head is locked and they are chained: its
/// notifications, its records and the new head (`audit_ops!`'s `append`).
pub(super) trait AppendRows: sqlx::Database {
    /// The statement that fills `audit_index` (`sql::INDEX_AUDIT` or its PostgreSQL form).
    const INDEX_AUDIT: &'static str;

    /// The statement that locks and reads the chain head (`sql::LOCK_AUDIT_HEAD` or its
    /// PostgreSQL form).
    const LOCK_HEAD: &'static str;

    async fn append_rows(
        conn: &mut Self::Connection,
        notes: &[NotifyEvent],
        records: &[AuditRecord],
    ) -> Result<(), StoreError>;
}

impl AppendRows for sqlx::Postgres {
    const INDEX_AUDIT: &'static str = super::sql::PG_INDEX_AUDIT;
    const LOCK_HEAD: &'static str = super::sql::PG_LOCK_AUDIT_HEAD;

    /// One statement whatever the number of rows: the notifications, the records and the new
    /// head as data-modifying `WITH`s over arrays (`UNNEST`, a bind per column), so its text
    /// never changes and a connection prepares and plans it once, where a `VALUES` list per
    /// row count was a statement (and a plan) of its own.
    async fn append_rows(
        conn: &mut sqlx::PgConnection,
        notes: &[NotifyEvent],
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        let note = |f: fn(&NotifyEvent) -> &str| notes.iter().map(f).collect::<Vec<_>>();
        let bodies: Vec<String> = notes.iter().map(|n| n.body.to_string()).collect();
        let record = |f: fn(&AuditRecord) -> &str| records.iter().map(f).collect::<Vec<_>>();
        sqlx::query(super::sql::PG_APPEND)
            .bind(note(|n| &n.id))
            .bind(note(|n| n.kind.as_str()))
            .bind(note(|n| &n.approval_id))
            .bind(notes.iter().map(|n| n.at.0).collect::<Vec<_>>())
            .bind(bodies)
            .bind(records.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind(record(|r| &r.event.id))
            .bind(records.iter().map(|r| r.event.at.0).collect::<Vec<_>>())
            .bind(record(|r| r.event.kind.as_str()))
            .bind(record(|r| &r.event.actor))
            .bind(record(|r| &r.event.subject_id))
            .bind(record(|r| &r.event.action))
            .bind(record(|r| &r.event.resource_type))
            .bind(record(|r| &r.event.resource_id))
            .bind(record(|r| &r.event.effect))
            .bind(record(|r| &r.event.decision_id))
            .bind(record(|r| &r.event.approval_id))
            .bind(record(|r| &r.event.capability_id))
            .bind(record(|r| &r.event.bundle_revision))
            .bind(record(|r| &r.event.trace_id))
            .bind(record(|r| &r.body))
            .bind(record(|r| &r.prev_hash))
            .bind(record(|r| &r.hash))
            .bind(last.seq)
            .bind(&last.hash)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Rows per INSERT on SQLite: 18 binds each (notifications 6) stays far below its bind limit.
const ROWS_PER_INSERT: usize = 256;

impl AppendRows for sqlx::Sqlite {
    const INDEX_AUDIT: &'static str = super::sql::INDEX_AUDIT;
    const LOCK_HEAD: &'static str = super::sql::LOCK_AUDIT_HEAD;

    /// A multi-row insert per [`ROWS_PER_INSERT`] notifications, then records, then the head.
    /// SQLite cannot write in `WITH`; only its pool's writes come here (the group commit's run
    /// on the writer thread, `sqlite_writer.rs`).
    async fn append_rows(
        conn: &mut sqlx::SqliteConnection,
        notes: &[NotifyEvent],
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        for chunk in notes.chunks(ROWS_PER_INSERT) {
            let mut q =
                sqlx::QueryBuilder::<sqlx::Sqlite>::new(super::sql::INSERT_NOTIFY_EVENTS_PREFIX);
            q.push_values(chunk, |mut b, n| {
                b.push_bind(n.id.clone())
                    .push_bind(n.kind.as_str())
                    .push_bind(n.approval_id.clone())
                    .push_bind(n.at.0)
                    .push_bind(n.body.to_string())
                    .push_bind(false);
            });
            q.push(super::sql::ON_CONFLICT_ID_DO_NOTHING);
            q.build().execute(&mut *conn).await?;
        }
        for chunk in records.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(super::sql::INSERT_AUDIT_PREFIX);
            q.push_values(chunk, |mut b, r| {
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
            q.build().execute(&mut *conn).await?;
        }
        sqlx::query(super::sql::SET_AUDIT_HEAD)
            .bind(last.seq)
            .bind(&last.hash)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// One predicate of an audit query.
#[derive(Debug, Clone, Copy)]
pub(super) enum FilterValue<'f> {
    Equal(&'f str),
    AtLeast(i64),
    Below(i64),
}

/// The predicates of `f` as (column, value): each column is in both `audit_log` and
/// `audit_index`.
pub(super) fn filters(f: &crate::domain::AuditFilter) -> Vec<(&'static str, FilterValue<'_>)> {
    let equal = [
        ("subject_id", f.subject_id.as_deref()),
        ("action", f.action.as_deref()),
        ("resource_type", f.resource_type.as_deref()),
        ("resource_id", f.resource_id.as_deref()),
        ("effect", f.effect.as_deref()),
        ("approval_id", f.approval_id.as_deref()),
        ("decision_id", f.decision_id.as_deref()),
        ("kind", f.kind.map(crate::domain::AuditKind::as_str)),
    ];
    let mut out: Vec<_> = equal
        .into_iter()
        .filter_map(|(column, value)| value.map(|v| (column, FilterValue::Equal(v))))
        .collect();
    if let Some(since) = f.since {
        out.push(("at", FilterValue::AtLeast(since.0)));
    }
    if let Some(until) = f.until {
        out.push(("at", FilterValue::Below(until.0)));
    }
    out
}

/// Records between two fillings of `audit_index`: the most a query reads past it.
pub(super) const INDEX_EVERY: i64 = 64;

/// The first and last seq of `records`, if any: the seqs an append took the log through.
pub(super) fn span(records: &[AuditRecord]) -> Option<(i64, i64)> {
    Some((records.first()?.seq, records.last()?.seq))
}

/// Whether an append of the seqs `appended` (first, last; [`span`]) brings `audit_index`
/// due: when it passes a multiple of [`INDEX_EVERY`]. Every path that appends asks this
/// one question (the pool's appends, PostgreSQL's group commit, the SQLite writer thread).
pub(super) fn index_due(appended: Option<(i64, i64)>) -> bool {
    appended.is_some_and(|(first, last)| {
        (first - 1).div_euclid(INDEX_EVERY) != last.div_euclid(INDEX_EVERY)
    })
}

/// Generates `mod audit_ops` for database `$db` (an [`AppendRows`]).
macro_rules! audit_ops {
    ($db:ty) => {
        /// The audit statements; each joins whatever transaction its connection is in.
        mod audit_ops {
            use sqlx::Row;

            use crate::domain::{
                AuditEvent, AuditFilter, AuditKind, AuditRecord, Checkpoint, UnixMillis,
            };
            use crate::store::{sql, StoreError};

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

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
            /// every other (`sql::RowLocks`) and held for as short a time as possible. The rows
            /// are written as the backend writes them ([`super::AppendRows`]): on PostgreSQL
            /// one statement after the lock, so an append costs two round trips however many
            /// records it stores (a third, every [`super::INDEX_EVERY`] records, fills
            /// `audit_index`: [`super::index_due`]). The notifications only if `notify`
            /// (`OutboxStore::write_events`).
            pub(super) async fn append(
                conn: &mut Conn,
                events: Vec<AuditEvent>,
                notify: bool,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                let records = append_unindexed(conn, events, notify).await?;
                if $crate::store::audit_ops::index_due($crate::store::audit_ops::span(&records)) {
                    fill_index(conn).await?;
                }
                Ok(records)
            }

            /// [`append`] without filling `audit_index`: for a caller that fills it after
            /// its transaction commits, outside the head's lock (PostgreSQL's group commit).
            pub(super) async fn append_unindexed(
                conn: &mut Conn,
                events: Vec<AuditEvent>,
                notify: bool,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                let notes = $crate::store::audit_ops::notes_of(&events, notify);
                // Every body is made before the head is locked: the head, which every append
                // waits for, is held only while the records are linked and written.
                let events = $crate::store::audit_ops::canonical_bodies(events)?;
                let head = lock_head(conn).await?;
                let records = $crate::store::audit_ops::chain_after(head, events);
                <$db as $crate::store::audit_ops::AppendRows>::append_rows(conn, &notes, &records)
                    .await?;
                Ok(records)
            }

            /// Fills `audit_index` with the records after its last, at most 4,096 (the
            /// backend's statement: [`super::AppendRows`]).
            pub(super) async fn fill_index(conn: &mut Conn) -> Result<(), StoreError> {
                sqlx::query(<$db as $crate::store::audit_ops::AppendRows>::INDEX_AUDIT)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Locks the chain head until the transaction ends (see `append`) and reads it.
            async fn lock_head(conn: &mut Conn) -> Result<(i64, String), StoreError> {
                let head = sqlx::query(<$db as $crate::store::audit_ops::AppendRows>::LOCK_HEAD)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok((head.try_get("seq")?, head.try_get("hash")?))
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
            ///
            /// With a filter, two parts in seq order (migration 0011): the page of matching
            /// seqs `audit_index` holds (every filter's column is there; at most `limit`, found
            /// through the filter's index) joined to their records, then the records after
            /// the index's last (a batch at most), filtered in `audit_log`. One statement, one
            /// snapshot. Without one, `audit_log` in seq order.
            pub(super) fn query_statement(
                f: &AuditFilter,
                after_seq: i64,
                limit: u32,
            ) -> sqlx::QueryBuilder<$db> {
                let filters = $crate::store::audit_ops::filters(f);
                let limit = i64::from(limit);
                let mut q;
                if filters.is_empty() {
                    q = sqlx::QueryBuilder::<$db>::new(sql::AUDIT_SELECT);
                    q.push(" WHERE seq > ").push_bind(after_seq);
                } else {
                    q = sqlx::QueryBuilder::<$db>::new(sql::AUDIT_SELECT_INDEXED);
                    q.push_bind(after_seq);
                    for &(column, value) in &filters {
                        push_filter(&mut q, column, value);
                    }
                    q.push(" ORDER BY seq LIMIT ").push_bind(limit);
                    q.push(sql::AUDIT_INDEX_PAGE_JOIN);
                    q.push(sql::AUDIT_SELECT_UNINDEXED);
                    q.push(" AND seq > ").push_bind(after_seq);
                    for &(column, value) in &filters {
                        push_filter(&mut q, column, value);
                    }
                }
                q.push(" ORDER BY seq LIMIT ").push_bind(limit);
                q
            }

            /// ` AND column <op> value` for one of `filters`' predicates.
            fn push_filter(
                q: &mut sqlx::QueryBuilder<$db>,
                column: &'static str,
                value: $crate::store::audit_ops::FilterValue,
            ) {
                use $crate::store::audit_ops::FilterValue;

                q.push(" AND ").push(column);
                match value {
                    FilterValue::Equal(v) => {
                        q.push(" = ").push_bind(v.to_owned());
                        if column == "approval_id" && !v.is_empty() {
                            // `audit_approval` holds only the records of an approval
                            // (migration 0010); a planner sees from this literal term, not
                            // from the bind, that the index covers the query.
                            q.push(" AND approval_id <> ''");
                        }
                    }
                    FilterValue::AtLeast(v) => {
                        q.push(" >= ").push_bind(v);
                    }
                    FilterValue::Below(v) => {
                        q.push(" < ").push_bind(v);
                    }
                }
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

            /// See `AuditLog::index_fault`.
            pub(super) async fn index_fault(conn: &mut Conn) -> Result<Option<i64>, StoreError> {
                let row = sqlx::query(sql::AUDIT_INDEX_FAULT)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(row.try_get("seq")?)
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
