//! The SQLite store's own connections. The writer: one connection on a thread of its own runs
//! each group commit's whole transaction (every change, the capabilities, the audit append,
//! the commit) as one blocking call, and the group commit hands it over once and is answered
//! once.
//!
//! Through sqlx-sqlite every statement was a hand-off to the connection's worker thread and
//! back (two thread wake-ups, and more for each row read), so a shared transaction of a dozen
//! statements cost more in thread switches than in SQL (stop 17's profile: an approval flow
//! spent most of its time in `futex` and the scheduler).
//!
//! The statements are the constants of `sql.rs` and the change logic is `change_ops.rs`, the
//! same code the sqlx backends run; only the per-statement functions below differ. They are
//! `async` so that code runs over them unchanged, and each completes at its first poll: the
//! thread drives them with `block_on`, never waiting on anything but SQLite.
//!
//! After a commit that takes the log past a multiple of 64 records (`audit_ops::index_due`),
//! the thread fills `audit_index` ([`fill_index`]), once the commit's callers are answered.
//!
//! The outbox's routing runs on the same thread ([`Writer::route`]), and the point reads of an
//! approval's path run on connections of their own in the caller's thread ([`Reader`]).
//! Everything else (listings, the expiry sweep, the outbox's claims, checkpoints) stays on the
//! sqlx pool, so reads proceed beside the writer. SQLite serializes writers; every connection waits for the
//! write lock (`busy_timeout`) instead of failing.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::Duration,
};

use rusqlite::{CachedStatement, Connection, OpenFlags, ToSql};
use tokio::sync::oneshot;

use super::audit_ops::index_due;
use super::{ApprovalSnapshot, Batch, Change, Committed, Durability, StoreError};
use crate::domain::{Approval, Capability, Review, Routed};

/// Statements the writer keeps prepared: every statement a shared transaction runs fits.
const STATEMENT_CACHE: usize = 64;

/// A store's turn to write (`SqliteStore::write_turn`): every write of the store, the writer's
/// and the pool's, takes it, first come first served.
pub(super) type Turn = Option<tokio::sync::OwnedMutexGuard<()>>;

/// Work for the thread, and where its answer goes.
enum Job {
    /// One group commit's shared transaction.
    Commit {
        changes: Vec<Change>,
        batch: Batch,
        done: oneshot::Sender<Result<Committed, StoreError>>,
        /// The store's turn to write (`SqliteStore::turns`), released once the commit and
        /// the filling of `audit_index` it may bring are done.
        turn: Turn,
    },
    /// The notification outbox's routing of a batch of events, in a transaction of its own.
    Route {
        routed: Vec<Routed>,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// The writer thread's handle. Dropping it (or [`Writer::close`]) lets the thread finish the
/// jobs already sent and close its connection.
pub(super) struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Opens the writer's connection to the (migrated) database at `path` and starts its thread.
    /// It writes notification events while `notify` is on (`OutboxStore::write_events`), and
    /// takes `turns` (`SqliteStore::turns`) for the fills of `audit_index` it runs on its own.
    pub(super) fn start(
        path: &Path,
        durability: Durability,
        busy_timeout: Duration,
        notify: Arc<AtomicBool>,
        turns: Arc<tokio::sync::Mutex<()>>,
    ) -> Result<Self, StoreError> {
        let conn = open(path, durability, busy_timeout)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, queue, durability, &notify, &turns))
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Fails when the thread has ended (closed, or died on a bug): no commit can happen.
    pub(super) fn alive(&self) -> Result<(), StoreError> {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        match &*thread {
            Some(t) if !t.is_finished() => Ok(()),
            _ => Err(closed()),
        }
    }

    /// Waits for the thread to end (after [`Self::close`], once it has finished its jobs).
    pub(super) async fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// Runs [`BatchStore::commit_all`](super::BatchStore::commit_all) on the writer thread.
    /// `turn` is held until the transaction, and the filling of `audit_index` that may
    /// follow it, are done.
    pub(super) async fn commit_all(
        &self,
        changes: Vec<Change>,
        batch: Batch,
        turn: Turn,
    ) -> Result<Committed, StoreError> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Commit {
            changes,
            batch,
            done,
            turn,
        })?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs [`OutboxStore::route`](super::OutboxStore::route) on the writer thread: through
    /// the pool, each of its statements was a round trip to sqlx's thread while it held the
    /// write lock, and the group commits queued behind it.
    pub(super) async fn route(&self, routed: Vec<Routed>) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Route { routed, done })?;
        answer.await.map_err(|_| closed())?
    }

    /// Hands `job` to the thread, unless it has been closed.
    fn send(&self, job: Job) -> Result<(), StoreError> {
        match &*self.jobs.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(jobs) => jobs.send(job).map_err(|_| closed()),
            None => Err(closed()),
        }
    }

    /// Refuses later commits; the thread finishes what it has and closes its connection.
    pub(super) fn close(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Idle read connections kept for reuse; a burst beyond them opens more and closes the extra.
const IDLE_READERS: usize = 8;

/// The point reads of an approval's path (an approval by id, its reviews, its capability), on
/// connections of their own run in the caller's thread: each is one indexed lookup of a few
/// microseconds, which cost more in hand-offs to sqlx's connection thread and back (a ping to
/// acquire, the query, the rows, a ping to release) than in SQL.
///
/// Under WAL a reader never waits for the writer: it sees the last commit before its
/// statement began, so a caller answered after a commit reads it. A connection is
/// `query_only`: nothing here can write.
pub(super) struct Reader {
    path: std::path::PathBuf,
    durability: Durability,
    busy_timeout: Duration,
    /// `None` once closed: later reads fail as the pool's do.
    idle: Mutex<Option<Vec<Connection>>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl Reader {
    /// Readers of the (migrated) database at `path`, opened as they are needed.
    pub(super) fn new(path: &Path, durability: Durability, busy_timeout: Duration) -> Self {
        Self {
            path: path.to_owned(),
            durability,
            busy_timeout,
            idle: Mutex::new(Some(Vec::new())),
        }
    }

    /// Runs `read` on an idle connection (or a new one).
    pub(super) fn read<T>(
        &self,
        read: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .ok_or_else(closed)?
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = open(&self.path, self.durability, self.busy_timeout)?;
                conn.pragma_update(None, "query_only", true)?;
                conn
            }
        };
        let out = read(&mut conn);
        // A statement ends its own read transaction; a connection still in one is not reused.
        if conn.is_autocommit() {
            if let Some(idle) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                if idle.len() < IDLE_READERS {
                    idle.push(conn);
                }
            }
        }
        out
    }

    /// The approval `id`, as stored.
    pub(super) fn approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        self.read(|conn| futures::executor::block_on(ops::approval_by_id(conn, id)))
    }

    /// The approval `id` with its reviews, oldest first, as of one moment.
    pub(super) fn approval_with_reviews(
        &self,
        id: &str,
    ) -> Result<Option<ApprovalSnapshot>, StoreError> {
        self.read(|conn| futures::executor::block_on(ops::approval_with_reviews(conn, id)))
    }

    /// The reviews of approval `approval_id`, in the order they were given.
    pub(super) fn reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError> {
        self.read(|conn| futures::executor::block_on(ops::reviews_of(conn, approval_id)))
    }

    /// The capability `id`, as stored.
    pub(super) fn capability(&self, id: &str) -> Result<Option<Capability>, StoreError> {
        self.read(|conn| futures::executor::block_on(ops::capability_by_id(conn, id)))
    }

    /// Closes the idle connections; later reads fail.
    pub(super) fn close(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// The writer is gone: the store was closed (or its thread died).
fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// The writer's connection, set up as the pool's are (`sqlite.rs`): WAL, the durability's sync
/// level, foreign keys, no inline checkpoints, and a wait for the write lock.
pub(super) fn open(
    path: &Path,
    durability: Durability,
    busy_timeout: Duration,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    let synchronous = match durability {
        Durability::Power => "FULL",
        Durability::Process => "NORMAL",
    };
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", super::sqlite::WAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Records appended past `audit_index`'s end beyond which the writer fills them right after
/// the commit that took it there, in that commit's turn to write, instead of waiting for a
/// moment when no commit waits: under a load that never leaves one, queries read at most
/// about this many records (and the last commit's) from the log past the index.
const INDEX_BEHIND_AT_MOST: i64 = 256;

/// How long the writer, owing a fill, waits for a job after each slice (or while the store's
/// turn to write is taken) before the next slice. At one connection the next request's commit
/// arrives within it: one slice runs in each gap between two commits, and the commit finds
/// the writer idle instead of waiting for the fill. The turn's holder is the next commit
/// (whose job is then on its way) or a write of the pool's (the expiry sweep, the
/// checkpoint's last pass).
const SLICE_GAP: Duration = Duration::from_millis(1);

/// How much of `audit_index`'s backlog one fill takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fill {
    /// Every record after the index's end, up to [`super::sql::INDEX_AT_MOST`].
    All,
    /// At most [`super::sql::INDEX_SLICE`]: what the writer fills at a time while no commit
    /// waits.
    Slice,
}

impl Fill {
    /// The statement, and the most records it adds.
    fn statement(self) -> (&'static str, usize) {
        match self {
            Self::All => (super::sql::INDEX_AUDIT, super::sql::INDEX_AT_MOST),
            Self::Slice => (super::sql::INDEX_AUDIT_SLICE, super::sql::INDEX_SLICE),
        }
    }
}

/// What the writer owes `audit_index`: whether a fill has come due (`audit_ops::index_due`),
/// and how many records this thread appended since the index last caught up with the log
/// (the pool's own appends fill in their own transactions).
#[derive(Debug, Default)]
struct Owed {
    due: bool,
    behind: i64,
}

impl Owed {
    /// A commit appended the seqs `span` (first, last).
    fn appended(&mut self, span: Option<(i64, i64)>) {
        if let Some((first, last)) = span {
            self.behind += last - first + 1;
            self.due |= index_due(span);
        }
    }

    /// A fill of `fill`'s size added `rows`: fewer than it could means the index caught up.
    fn filled(&mut self, fill: Fill, rows: usize) {
        let (_, at_most) = fill.statement();
        if rows < at_most {
            *self = Self::default();
        } else {
            // A backlog from before this thread started (a crash) is not in `behind`.
            self.behind = self.behind.saturating_sub(rows as i64).max(0);
        }
    }
}

/// The writer thread: the jobs in the order sent, until the store closes, or until the writer
/// cannot keep its durability (then every later caller fails closed).
///
/// A fill of `audit_index` that has come due runs in slices ([`Fill::Slice`]), one in each
/// gap between jobs ([`SLICE_GAP`]), each in the store's turn to write, so a commit that
/// arrives meanwhile waits for one slice at most, not for the whole fill (at one connection a
/// fill of 64 records ran while the next request arrived, and the request just answered
/// waited for a core behind it: most of the p99). A load that leaves no gap has its backlog
/// filled whole after the commit that takes it past [`INDEX_BEHIND_AT_MOST`].
fn serve(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    durability: Durability,
    notify: &AtomicBool,
    turns: &tokio::sync::Mutex<()>,
) {
    let mut owed = Owed::default();
    loop {
        let job = match next(&queue, &mut conn, durability, &mut owed, turns) {
            Next::Job(job) => job,
            Next::Closed => return settle(conn, durability, owed, turns),
            Next::Stop => return,
        };
        // A caller that gave up waiting is fine: its work is done (or rolled back).
        let (changes, batch, done, turn) = match job {
            Job::Route { routed, done } => {
                let _ = done.send(route(&mut conn, &routed));
                continue;
            }
            Job::Commit {
                changes,
                batch,
                done,
                turn,
            } => (changes, batch, done, turn),
        };
        let committed = commit(&mut conn, &changes, batch, notify.load(Ordering::Relaxed));
        if let Ok(c) = &committed {
            owed.appended(c.appended);
        }
        let _ = done.send(committed);
        if owed.behind >= INDEX_BEHIND_AT_MOST
            && !fill_owed(&mut conn, durability, Fill::All, &mut owed)
        {
            return;
        }
        drop(turn);
    }
}

/// What the writer thread does next.
enum Next {
    /// Runs this job.
    Job(Job),
    /// The store closed: no job will come.
    Closed,
    /// The writer cannot keep its durability (a fill could not restore the sync level).
    Stop,
}

/// The next job; while a fill is owed and none waits, the fill's slices, each in the store's
/// turn to write.
fn next(
    queue: &mpsc::Receiver<Job>,
    conn: &mut Connection,
    durability: Durability,
    owed: &mut Owed,
    turns: &tokio::sync::Mutex<()>,
) -> Next {
    loop {
        if !owed.due {
            return queue.recv().map_or(Next::Closed, Next::Job);
        }
        match queue.try_recv() {
            Ok(job) => return Next::Job(job),
            Err(mpsc::TryRecvError::Disconnected) => return Next::Closed,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        // The turn goes to its waiters first come first served: a write that waits for it
        // goes before the slice.
        if let Ok(_turn) = turns.try_lock() {
            // A thread this one just woke (the caller of the commit answered) is often queued
            // on this core, where the scheduler lets it wait for this thread's time slice: the
            // whole fill, measured. It runs first.
            thread::yield_now();
            if !fill_owed(conn, durability, Fill::Slice, owed) {
                return Next::Stop;
            }
            if !owed.due {
                continue;
            }
        }
        match queue.recv_timeout(SLICE_GAP) {
            Ok(job) => return Next::Job(job),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Next::Closed,
        }
    }
}

/// The store closes: what the writer still owes `audit_index` is filled before its connection
/// closes, so a store closed in order opens with its index caught up.
fn settle(
    mut conn: Connection,
    durability: Durability,
    mut owed: Owed,
    turns: &tokio::sync::Mutex<()>,
) {
    // No commit can come any more; a write of the pool's may still hold the turn.
    let _turn = turns.blocking_lock();
    while (owed.due || owed.behind > 0) && fill_owed(&mut conn, durability, Fill::All, &mut owed) {}
}

/// One fill of `fill`'s size, accounted in `owed`; `false` when the writer must stop (it could
/// not restore its sync level). A fill that fails is logged and left to the next that comes
/// due, which starts from the index's end and catches up; queries read past the index
/// meanwhile.
fn fill_owed(conn: &mut Connection, durability: Durability, fill: Fill, owed: &mut Owed) -> bool {
    match fill_index(conn, durability, fill) {
        Ok(rows) => {
            owed.filled(fill, rows);
            true
        }
        Err(FillError::Fill(e)) => {
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "filling audit_index failed; left to the next fill");
            *owed = Owed::default();
            true
        }
        Err(FillError::Durability(e)) => {
            tracing::error!(error = %crate::telemetry::ErrorChain(&e), "the SQLite writer could not restore its sync level; it stops");
            false
        }
    }
}

/// Why [`fill_index`] failed.
#[derive(Debug)]
pub(super) enum FillError {
    /// The fill did not happen; nothing else is affected.
    Fill(StoreError),
    /// The connection's sync level could not be set back to `durability`'s.
    Durability(rusqlite::Error),
}

/// Fills `audit_index` with the records after its last (at most `fill`'s size) in a
/// transaction of its own, in the store's turn to write, and answers how many it added. It runs
/// after a commit's callers are answered ([`serve`]), off every request's path. The transaction
/// does not wait for the disk (`synchronous = NORMAL`, whatever the durability): the next
/// commit's sync carries it, and a fill lost to a power cut is redone from the log by the next.
/// The sync level is set back before anything else commits; if that fails the writer must stop.
pub(super) fn fill_index(
    conn: &mut Connection,
    durability: Durability,
    fill: Fill,
) -> Result<usize, FillError> {
    let restore = match durability {
        Durability::Power => Some("FULL"),
        Durability::Process => None,
    };
    if restore.is_some() {
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| FillError::Fill(e.into()))?;
    }
    let (statement, _) = fill.statement();
    let filled = transaction(conn, |conn| {
        execute(conn, statement, &[]).map(|rows| (rows, true))
    });
    if let Some(level) = restore {
        conn.pragma_update(None, "synchronous", level)
            .map_err(FillError::Durability)?;
    }
    filled.map_err(FillError::Fill)
}

/// One shared transaction: begun, run, and committed (or rolled back) on this thread.
fn commit(
    conn: &mut Connection,
    changes: &[Change],
    batch: Batch,
    notify: bool,
) -> Result<Committed, StoreError> {
    transaction(conn, |conn| {
        futures::executor::block_on(commit::commit_in(conn, changes, batch, false, notify))
    })
}

/// The outbox's routing: each event's deliveries created (unless they exist), and the event
/// marked routed, all or nothing.
fn route(conn: &mut Connection, routed: &[Routed]) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        for Routed { event, deliveries } in routed {
            for d in deliveries {
                execute(
                    conn,
                    super::sql::INSERT_DELIVERY,
                    &[
                        &event.id,
                        &d.channel,
                        &event.approval_id,
                        &event.kind.as_str(),
                        &event.at.0,
                        &d.next_attempt_at.0,
                    ],
                )?;
            }
            execute(conn, super::sql::MARK_ROUTED, &[&event.id, &true])?;
        }
        Ok(((), true))
    })
}

/// Runs `body` in a write transaction: committed when it answers `(_, true)`, rolled back
/// when it answers `(_, false)` or fails.
fn transaction<T>(
    conn: &mut Connection,
    body: impl FnOnce(&mut Connection) -> Result<(T, bool), StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = body(conn);
    let end = match &result {
        Ok((_, true)) => "COMMIT",
        _ => "ROLLBACK",
    };
    let ended = conn.execute_batch(end);
    if !conn.is_autocommit() {
        // The COMMIT failed and left the transaction open: nothing of it may stay.
        let _ = conn.execute_batch("ROLLBACK");
    }
    let (committed, _) = result?;
    ended?;
    Ok(committed)
}

/// `$1` ... `$18`: the statements' placeholders (`sql.rs`), bound by name, because SQLite
/// numbers a named parameter by its first appearance and a statement may use `$2` before `$1`.
const PLACEHOLDERS: [&str; 18] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18",
];

/// `sql` prepared (from the cache) with `values` bound to `$1`, `$2`, ... in order. Every value
/// must have its placeholder and every placeholder a value.
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> Result<CachedStatement<'c>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    if values.len() != stmt.parameter_count() || values.len() > PLACEHOLDERS.len() {
        return Err(
            rusqlite::Error::InvalidParameterCount(values.len(), stmt.parameter_count()).into(),
        );
    }
    for (name, value) in PLACEHOLDERS.iter().zip(values) {
        stmt.raw_bind_parameter(*name, value)?;
    }
    Ok(stmt)
}

/// Runs a statement that returns no rows; the rows it changed.
fn execute(conn: &Connection, sql: &str, values: &[&dyn ToSql]) -> Result<usize, StoreError> {
    Ok(bound(conn, sql, values)?.raw_execute()?)
}

/// Runs a query; each row through `row`.
fn query<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    row: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = bound(conn, sql, values)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

/// A JSON column as sqlx writes it: the value serialized as text.
fn json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        column: "json value",
        value: e.to_string(),
    })
}

/// A JSON text column read back.
fn from_json<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    column: &'static str,
) -> Result<T, StoreError> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
        column,
        value: text,
    })
}

/// The statement functions `change_ops.rs` calls, for the writer's connection.
mod ops {
    use rusqlite::ffi;

    use super::{bound, execute, from_json, json, query};
    use crate::domain::{
        Approval, ApprovalState, Capability, CapabilityState, NewApproval, RequestChange, Review,
        ReviewVerdict, UnixMillis,
    };
    use crate::store::{sql, ApprovalSnapshot, ReviewWrite, StoreError};

    pub(super) type Conn = rusqlite::Connection;

    fn corrupt(column: &'static str, value: String) -> StoreError {
        StoreError::Corrupt { column, value }
    }

    fn approval(row: &rusqlite::Row<'_>) -> Result<Approval, StoreError> {
        let state: String = row.get("state")?;
        Ok(Approval {
            id: row.get("id")?,
            decision_id: row.get("decision_id")?,
            subject_id: row.get("subject_id")?,
            request_id: row.get("request_id")?,
            action: row.get("action")?,
            request: from_json(row, "request")?,
            request_hash: row.get("request_hash")?,
            requirements: from_json(row, "requirements")?,
            bundle_revision: row.get("bundle_revision")?,
            state: ApprovalState::parse(&state).ok_or_else(|| corrupt("approvals.state", state))?,
            created_at: UnixMillis(row.get("created_at")?),
            expires_at: UnixMillis(row.get("expires_at")?),
            updated_at: UnixMillis(row.get("updated_at")?),
            original_request: match row.get::<_, Option<String>>("original_request")? {
                Some(_) => Some(from_json(row, "original_request")?),
                None => None,
            },
            trace_parent: row.get("trace_parent")?,
            requested_by: row.get("requested_by")?,
            bundle_digest: row.get("bundle_digest")?,
            capability_audience: from_json(row, "capability_audience")?,
            on_behalf_of_proven: row.get("on_behalf_of_proven")?,
        })
    }

    fn review(row: &rusqlite::Row<'_>) -> Result<Review, StoreError> {
        let verdict: String = row.get("verdict")?;
        Ok(Review {
            approval_id: row.get("approval_id")?,
            reviewer_id: row.get("reviewer_id")?,
            verdict: ReviewVerdict::parse(&verdict)
                .ok_or_else(|| corrupt("reviews.verdict", verdict))?,
            reason: row.get("reason")?,
            groups: from_json(row, "reviewer_groups")?,
            at: UnixMillis(row.get("reviewed_at")?),
            stepped_up: row.get("stepped_up")?,
        })
    }

    fn capability(row: &rusqlite::Row<'_>) -> Result<Capability, StoreError> {
        capability_named(row, sql::CAPABILITY_NAMES)
    }

    /// The capability in `row`'s columns named `names` (in `capability_columns!` order).
    fn capability_named(
        row: &rusqlite::Row<'_>,
        names: [&'static str; 8],
    ) -> Result<Capability, StoreError> {
        let [id, approval_id, request_hash, state, issued_at, expires_at, redeemed_at, audience] =
            names;
        let state: String = row.get(state)?;
        Ok(Capability {
            id: row.get(id)?,
            approval_id: row.get(approval_id)?,
            request_hash: row.get(request_hash)?,
            state: CapabilityState::parse(&state)
                .ok_or_else(|| corrupt("capabilities.state", state))?,
            issued_at: UnixMillis(row.get(issued_at)?),
            expires_at: UnixMillis(row.get(expires_at)?),
            redeemed_at: row.get::<_, Option<i64>>(redeemed_at)?.map(UnixMillis),
            audience: from_json(row, audience)?,
        })
    }

    pub(super) async fn insert_approval(
        conn: &mut Conn,
        new: &NewApproval,
    ) -> Result<bool, StoreError> {
        let done = execute(
            conn,
            sql::INSERT_APPROVAL,
            &[
                &new.id,
                &new.decision_id,
                &new.subject_id,
                &new.request_id,
                &new.action,
                &json(&new.request)?,
                &new.request_hash,
                &json(&new.requirements)?,
                &new.bundle_revision,
                &new.created_at.0,
                &new.expires_at.0,
                &new.trace_parent,
                &new.requested_by,
                &json(&new.capability_audience)?,
                &new.bundle_digest,
                &new.on_behalf_of_proven,
            ],
        )?;
        Ok(done == 1)
    }

    fn one_approval(
        conn: &Conn,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<Approval>, StoreError> {
        Ok(query(conn, sql, values, approval)?.into_iter().next())
    }

    pub(super) async fn approval_by_id(
        conn: &mut Conn,
        id: &str,
    ) -> Result<Option<Approval>, StoreError> {
        one_approval(conn, sql::APPROVAL_BY_ID, &[&id])
    }

    /// The approval `id` with its reviews, oldest first, and its capability, read by one
    /// statement (as stored: the caller observes them).
    pub(super) async fn approval_with_reviews(
        conn: &mut Conn,
        id: &str,
    ) -> Result<Option<ApprovalSnapshot>, StoreError> {
        let mut stmt = bound(conn, sql::APPROVAL_WITH_REVIEWS, &[&id])?;
        let mut rows = stmt.raw_query();
        let mut reviews = Vec::new();
        let mut add = |row: &rusqlite::Row<'_>| -> Result<(), StoreError> {
            if row.get::<_, Option<String>>("reviewer_id")?.is_some() {
                reviews.push(review(row)?);
            }
            Ok(())
        };
        let (found, capability) = match rows.next()? {
            None => return Ok(None),
            Some(first) => {
                add(first)?;
                let capability = match first.get::<_, Option<String>>("cap_id")? {
                    Some(_) => Some(capability_named(first, sql::MINTED_NAMES)?),
                    None => None,
                };
                (approval(first)?, capability)
            }
        };
        while let Some(row) = rows.next()? {
            add(row)?;
        }
        Ok(Some(ApprovalSnapshot {
            approval: found,
            reviews,
            capability,
        }))
    }

    pub(super) async fn approval_by_key(
        conn: &mut Conn,
        subject_id: &str,
        request_id: &str,
    ) -> Result<Option<Approval>, StoreError> {
        one_approval(conn, sql::APPROVAL_BY_KEY, &[&subject_id, &request_id])
    }

    pub(super) async fn lock_pending(
        conn: &mut Conn,
        id: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        Ok(execute(conn, sql::LOCK_PENDING, &[&id, &now.0])? == 1)
    }

    pub(super) async fn narrow_request(
        conn: &mut Conn,
        id: &str,
        change: &RequestChange,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let done = execute(
            conn,
            sql::NARROW_REQUEST,
            &[
                &id,
                &json(&change.request)?,
                &change.request_hash,
                &json(&change.requirements)?,
                &now.0,
                &change.previous_hash,
            ],
        )?;
        Ok(done == 1)
    }

    async fn insert_review(conn: &mut Conn, review: &Review) -> Result<bool, StoreError> {
        let done = execute(
            conn,
            sql::INSERT_REVIEW,
            &[
                &review.approval_id,
                &review.reviewer_id,
                &review.verdict.as_str(),
                &review.reason,
                &json(&review.groups)?,
                &review.at.0,
                &review.stepped_up,
            ],
        )?;
        Ok(done == 1)
    }

    /// Inserts `cap` and moves approval `id` from pending to approved in time at `now`;
    /// whether it moved.
    pub(super) async fn approve_minting(
        conn: &mut Conn,
        id: &str,
        cap: &Capability,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        insert_capability(conn, cap).await?;
        let (from, to) = (ApprovalState::Pending, ApprovalState::Approved);
        transition(conn, id, from, to, now).await
    }

    /// As the sqlx backends' (`approval_ops.rs`) without a statement of its own: the lock (a
    /// no-op on SQLite, whose write transaction holds the whole database), the insert, the read.
    pub(super) async fn review_if_pending(
        conn: &mut Conn,
        review: &Review,
    ) -> Result<ReviewWrite, StoreError> {
        if !lock_pending(conn, &review.approval_id, review.at).await? {
            return Ok(ReviewWrite::NotPending);
        }
        if !insert_review(conn, review).await? {
            return Ok(ReviewWrite::Repeat);
        }
        reviews_of(conn, &review.approval_id)
            .await
            .map(ReviewWrite::Recorded)
    }

    pub(super) async fn reviews_of(
        conn: &mut Conn,
        approval_id: &str,
    ) -> Result<Vec<Review>, StoreError> {
        query(conn, sql::REVIEWS_OF, &[&approval_id], review)
    }

    /// As the sqlx backends' (`approval_ops.rs`): the count, then the insert under it.
    pub(super) async fn count_then_insert(
        conn: &mut Conn,
        new: &NewApproval,
        limit: u32,
    ) -> Result<(u64, bool), StoreError> {
        let pending = count_pending_of(conn, &new.subject_id, new.created_at).await?;
        let inserted = pending < u64::from(limit) && insert_approval(conn, new).await?;
        Ok((pending, inserted))
    }

    pub(super) async fn count_pending_of(
        conn: &mut Conn,
        subject: &str,
        now: UnixMillis,
    ) -> Result<u64, StoreError> {
        let n = query(conn, sql::COUNT_PENDING_OF, &[&subject, &now.0], |r| {
            Ok(r.get::<_, i64>("n")?)
        })?;
        n.first().map_or(Ok(0), |&n| sql::pending_count(n))
    }

    pub(super) async fn transition(
        conn: &mut Conn,
        id: &str,
        from: ApprovalState,
        to: ApprovalState,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        let statement = sql::transition_to(to);
        let done = execute(
            conn,
            statement,
            &[&id, &from.as_str(), &to.as_str(), &now.0],
        )?;
        Ok(done == 1)
    }

    pub(super) async fn insert_capability(
        conn: &mut Conn,
        cap: &Capability,
    ) -> Result<(), StoreError> {
        insert_one_capability(conn, cap).map_err(|e| capability_error(e, cap))
    }

    pub(super) fn insert_one_capability(conn: &Conn, cap: &Capability) -> Result<(), StoreError> {
        let mut stmt = bound(
            conn,
            sql::INSERT_CAPABILITY,
            &[
                &cap.id,
                &cap.approval_id,
                &cap.request_hash,
                &cap.state.as_str(),
                &cap.issued_at.0,
                &cap.expires_at.0,
                &cap.redeemed_at.map(|t| t.0),
                &json(&cap.audience)?,
            ],
        )?;
        stmt.raw_execute()?;
        Ok(())
    }

    /// The store's error for a failed capability insert: a collision names the id, a missing
    /// approval names it (as the sqlx backends do).
    pub(super) fn capability_error(e: StoreError, cap: &Capability) -> StoreError {
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) = &e else {
            return e;
        };
        match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => {
                StoreError::Conflict {
                    kind: "capability",
                    id: cap.id.clone(),
                }
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound {
                kind: "approval",
                id: cap.approval_id.clone().unwrap_or_default(),
            },
            _ => e,
        }
    }

    pub(super) async fn capability_by_id(
        conn: &mut Conn,
        id: &str,
    ) -> Result<Option<Capability>, StoreError> {
        Ok(query(conn, sql::CAPABILITY_BY_ID, &[&id], capability)?
            .into_iter()
            .next())
    }

    pub(super) async fn redeem(
        conn: &mut Conn,
        id: &str,
        request_hash: &str,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        Ok(execute(conn, sql::REDEEM, &[&id, &request_hash, &now.0])? == 1)
    }
}

/// The group commit's statements beyond `ops` (see `change_ops.rs`).
mod batch_ops {
    use super::ops::{capability_error, insert_one_capability, Conn};
    use crate::domain::Capability;
    use crate::store::{sql, StoreError};

    pub(super) async fn savepoint(conn: &mut Conn) -> Result<(), StoreError> {
        Ok(conn.execute_batch(sql::SAVEPOINT)?)
    }

    pub(super) async fn end_savepoint(
        conn: &mut Conn,
        kept: bool,
        another: bool,
    ) -> Result<(), StoreError> {
        if let Some(statement) = sql::end_savepoint(kept, another) {
            conn.execute_batch(statement)?;
        }
        Ok(())
    }

    /// Inserts the capabilities minted for ALLOW answers, one prepared statement run per row
    /// (no hand-offs here, so a many-row statement would save nothing). A collision fails the
    /// whole batch.
    pub(super) async fn insert_capabilities(
        conn: &mut Conn,
        caps: &[Capability],
    ) -> Result<(), StoreError> {
        for cap in caps {
            insert_one_capability(conn, cap).map_err(|e| capability_error(e, cap))?;
        }
        Ok(())
    }
}

/// The audit append `change_ops.rs` calls, for the writer's connection.
mod audit_ops {
    use super::{bound, execute, ops::Conn, query};
    use crate::domain::{AuditEvent, AuditRecord};
    use crate::store::{sql, StoreError};

    /// Locks (SQLite: the write lock is held already) and reads the chain head.
    async fn lock_head(conn: &mut Conn) -> Result<(i64, String), StoreError> {
        let head = query(conn, sql::LOCK_AUDIT_HEAD, &[], |r| {
            Ok((r.get("seq")?, r.get("hash")?))
        })?;
        head.into_iter().next().ok_or_else(|| StoreError::Corrupt {
            column: "audit_head",
            value: "no row".into(),
        })
    }

    /// Chains `events` after the head, stores them with their notifications, and moves the
    /// head: the sqlx backends' `append_unindexed` (the writer thread fills `audit_index`
    /// itself, after answering: [`fill_index`]).
    pub(super) async fn append_unindexed(
        conn: &mut Conn,
        events: Vec<AuditEvent>,
        notify: bool,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let notes = crate::store::audit_ops::notes_of(&events, notify);
        let events = crate::store::audit_ops::canonical_bodies(events)?;
        let head = lock_head(conn).await?;
        let records = crate::store::audit_ops::chain_after(head, events);
        for r in &records {
            let e = &r.event;
            let mut stmt = bound(
                conn,
                sql::INSERT_AUDIT_ROW,
                &[
                    &r.seq,
                    &e.id,
                    &e.at.0,
                    &e.kind.as_str(),
                    &e.actor,
                    &e.subject_id,
                    &e.action,
                    &e.resource_type,
                    &e.resource_id,
                    &e.effect,
                    &e.decision_id,
                    &e.approval_id,
                    &e.capability_id,
                    &e.bundle_revision,
                    &e.trace_id,
                    &r.body,
                    &r.prev_hash,
                    &r.hash,
                ],
            )?;
            stmt.raw_execute()?;
        }
        // Notifications commit or vanish with the records they announce.
        for n in &notes {
            execute(
                conn,
                sql::INSERT_NOTIFY_EVENT,
                &[
                    &n.id,
                    &n.kind.as_str(),
                    &n.approval_id,
                    &n.at.0,
                    &n.body.to_string(),
                    &false,
                ],
            )?;
        }
        if let Some(last) = records.last() {
            execute(conn, sql::SET_AUDIT_HEAD, &[&last.seq, &last.hash])?;
        }
        Ok(records)
    }
}

super::change_ops::change_ops!();

super::change_ops::commit_ops!();

#[cfg(test)]
mod tests {
    use super::{Fill, Owed};

    /// What the writer owes: nothing until the log passes a multiple of 64, then every record
    /// appended since the index last caught up, until a fill adds fewer than it could.
    #[test]
    fn owed_follows_the_appends_and_the_fills() {
        let mut owed = Owed::default();
        owed.appended(Some((1, 63)));
        assert!(!owed.due);
        assert_eq!(owed.behind, 63);
        owed.appended(None);
        assert_eq!(owed.behind, 63, "a commit with no records");
        owed.appended(Some((64, 70)));
        assert!(owed.due);
        assert_eq!(owed.behind, 70);
        owed.filled(Fill::Slice, 8);
        assert!(owed.due, "a full slice: maybe more");
        assert_eq!(owed.behind, 62);
        owed.filled(Fill::Slice, 7);
        assert!(!owed.due, "fewer than a slice: caught up");
        assert_eq!(owed.behind, 0);
        // A backlog this thread did not append (left by a crash) is filled until caught up.
        owed.appended(Some((128, 128)));
        owed.filled(Fill::All, crate::store::sql::INDEX_AT_MOST);
        assert!(owed.due);
        assert_eq!(owed.behind, 0);
        owed.filled(Fill::All, 10);
        assert!(!owed.due);
    }

    /// Each fill's statement adds at most the number its size names.
    #[test]
    fn each_fill_statement_ends_with_its_bound() {
        for fill in [Fill::All, Fill::Slice] {
            let (statement, at_most) = fill.statement();
            assert!(
                statement.ends_with(&format!("LIMIT {at_most}")),
                "{fill:?}: {statement}"
            );
        }
    }
}
