//! The embedded backend: one SQLite file in the data directory.
//!
//! WAL journal. With [`Durability::Power`] (the default) `synchronous = FULL`: a commit is on
//! disk before the caller is answered, so neither a kill -9 nor power loss loses anything
//! answered. With [`Durability::Process`] `synchronous = NORMAL`: a commit is in the WAL (the
//! OS page cache) before the answer, and the checkpoint task, which syncs the WAL, runs every
//! [`CHECKPOINT_EVERY`]: a kill -9 loses nothing, power loss at most that interval.
//!
//! In both modes no commit checkpoints inline (`wal_autocheckpoint = 0`): SQLite's automatic
//! checkpoint would run in the committing connection every thousand WAL pages, copy them into
//! the database and fsync it on the answer's path (a 10-20 ms stall every few hundred answers
//! at one connection). A background connection checkpoints passively instead, beside the
//! writer, and once the WAL is long it takes its turn among the writers so the WAL starts over
//! ([`checkpoint`]): the file stays bounded however long the load. Writes serialize in SQLite anyway; a small pool lets reads proceed beside them, and
//! `busy_timeout` makes a waiting writer queue instead of failing. Write transactions begin
//! `IMMEDIATE` so a transaction that reads before writing cannot be refused the write lock
//! halfway through.

use std::{
    path::Path,
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{
    backend::store_backend,
    migrator,
    sqlite_writer::{Reader, Writer},
    Durability, StoreError,
};
use crate::domain::{Approval, Capability, Review, Routed};

/// Connections in the pool: the checkpoint, the pool's writes (the sweep, the outbox's
/// claims), listings and the health probe beside them. The point reads of an approval's path
/// have connections of their own (`Reader`).
const MAX_CONNECTIONS: u32 = 8;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the checkpoint task copies the WAL into the database (with
/// [`Durability::Process`], also how often the WAL reaches stable storage). Short, so each
/// checkpoint's fsync of the database is small: a second's worth of pages flushed at once
/// queued the writer's own WAL fsync behind it (p99.9 of a pending creation 36 -> 184 ms).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL frames (about 4 KiB each) past which a checkpoint waits for its turn among the writers,
/// so that the WAL starts over (see [`checkpoint`]): about 128 MiB, two seconds or more of
/// one connection's back-to-back lone commits, so the writers wait for it rarely.
const RESTART_AFTER_FRAMES: i64 = 32_768;

/// Before the writers wait for a restart, passes beside them until one adds at most
/// [`CATCH_UP_FRAMES`] (each copies, and syncs the WAL for, what the one before left), at most
/// this many. At 10x10 exports one extra pass gets there (its last adds 240-530 frames).
const CATCH_UP_PASSES: usize = 8;

/// See [`CATCH_UP_PASSES`].
const CATCH_UP_FRAMES: i64 = 1_024;

/// The size in bytes SQLite cuts the WAL file back to when it starts over, if it grew beyond
/// (`journal_size_limit`): twice the restart length, so a steady load never cuts and regrows
/// it, and the disk a burst took is given back.
pub(super) const WAL_SIZE_LIMIT: i64 = 256 << 20;

/// `migrations/sqlite/`, embedded: (version, description, SQL). Applied files are never
/// edited (their checksums are recorded); changes go in a new file listed here.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "approvals",
        include_str!("../../migrations/sqlite/0001_approvals.sql"),
    ),
    (
        2,
        "modify",
        include_str!("../../migrations/sqlite/0002_modify.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../../migrations/sqlite/0003_audit.sql"),
    ),
    (
        4,
        "identity",
        include_str!("../../migrations/sqlite/0004_identity.sql"),
    ),
    (
        5,
        "binding",
        include_str!("../../migrations/sqlite/0005_binding.sql"),
    ),
    (
        6,
        "policy_floor",
        include_str!("../../migrations/sqlite/0006_policy_floor.sql"),
    ),
    (
        7,
        "notify",
        include_str!("../../migrations/sqlite/0007_notify.sql"),
    ),
    (
        8,
        "pending_by_subject",
        include_str!("../../migrations/sqlite/0008_pending_by_subject.sql"),
    ),
    (
        9,
        "on_behalf_of_proven",
        include_str!("../../migrations/sqlite/0009_on_behalf_of_proven.sql"),
    ),
    (
        10,
        "audit_approval_partial",
        include_str!("../../migrations/sqlite/0010_audit_approval_partial.sql"),
    ),
    (
        11,
        "audit_index",
        include_str!("../../migrations/sqlite/0011_audit_index.sql"),
    ),
    (
        12,
        "pending_counts",
        include_str!("../../migrations/sqlite/0012_pending_counts.sql"),
    ),
];

/// The embedded store: every store trait over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Runs the group commits' transactions (`sqlite_writer.rs`).
    writer: Arc<Writer>,
    /// The point reads of an approval's path, in the caller's thread (`sqlite_writer.rs`).
    reader: Arc<Reader>,
    /// Every write of this store, the writer's and the pool's, takes its turn here, first
    /// come first served. SQLite's own wait for its write lock is a sleep and retry, which a
    /// writer committing back to back starves: the health probe once waited 8.7 s behind the
    /// writer under load, close to failing the store.
    turns: Arc<tokio::sync::Mutex<()>>,
    /// Whether appends write notification events ([`super::OutboxStore::write_events`]);
    /// shared with the writer thread.
    notify: Arc<AtomicBool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to
    /// date, with [`Durability::Power`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_durable(path, Durability::Power).await
    }

    /// [`Self::open`] with the chosen durability.
    pub async fn open_durable(
        path: impl AsRef<Path>,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let synchronous = match durability {
            Durability::Power => SqliteSynchronous::Full,
            Durability::Process => SqliteSynchronous::Normal,
        };
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Checkpoints run in the background task, never inside a commit (module docs).
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // A connection to a file does not go stale; sqlx's ping before each acquire was a
            // round trip to the connection's thread for nothing (it still pings on release).
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).run(&pool).await?;
        let notify = Arc::new(AtomicBool::new(true));
        let turns = Arc::<tokio::sync::Mutex<()>>::default();
        let writer = Writer::start(
            path.as_ref(),
            durability,
            BUSY_TIMEOUT,
            notify.clone(),
            turns.clone(),
        )?;
        let reader = Reader::new(path.as_ref(), durability, BUSY_TIMEOUT);
        tokio::spawn(checkpoint_wal(pool.clone(), turns.clone()));
        Ok(Self {
            pool,
            writer: Arc::new(writer),
            reader: Arc::new(reader),
            turns,
            notify,
        })
    }

    /// Whether the writer thread still runs: the health probe fails when it does not, so a
    /// store whose commits can no longer happen reports down instead of serving.
    fn writer_alive(&self) -> Result<(), StoreError> {
        self.writer.alive()
    }

    /// This store's turn to write (see `turns`), held until dropped.
    async fn write_turn(&self) -> super::sqlite_writer::Turn {
        Some(self.turns.clone().lock_owned().await)
    }

    /// The approval `id`, read in this thread (see [`Reader`]).
    async fn read_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        self.reader.approval(id)
    }

    /// The approval `id` with its reviews, read in this thread by one statement.
    async fn read_reviewed(&self, id: &str) -> Result<Option<super::ApprovalSnapshot>, StoreError> {
        self.reader.approval_with_reviews(id)
    }

    /// The reviews of approval `approval_id`, read in this thread.
    async fn read_reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError> {
        self.reader.reviews(approval_id)
    }

    /// The capability `id`, read in this thread.
    async fn read_capability(&self, id: &str) -> Result<Option<Capability>, StoreError> {
        self.reader.capability(id)
    }

    /// [`OutboxStore::route`](super::OutboxStore::route) on the writer thread, in this
    /// store's turn to write.
    async fn route_events(&self, routed: Vec<Routed>) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        self.writer.route(routed).await
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.reader.close();
        self.writer.close();
        self.writer.join().await;
        self.pool.close().await;
    }
}

/// A passive checkpoint every [`CHECKPOINT_EVERY`] until the pool closes (see [`checkpoint`]).
async fn checkpoint_wal(pool: SqlitePool, turns: Arc<tokio::sync::Mutex<()>>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = checkpoint(&pool, &turns, RESTART_AFTER_FRAMES).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "checkpointing the SQLite WAL failed; retrying");
        }
    }
}

/// One checkpoint. It copies committed WAL frames into the database beside the writers,
/// never blocking them, and SQLite syncs the WAL before checkpointing it (the flush
/// [`Durability::Process`] relies on).
///
/// SQLite starts the WAL over (writes from its beginning again) only when a write begins after
/// a checkpoint has copied every frame. Under a writer that never pauses, a passive checkpoint
/// never gets there: frames are added while it copies. The WAL then grew by every commit's
/// pages for as long as the load lasted, and each new page had to be allocated. So once the
/// WAL is longer than `restart_after` frames, the checkpoint first catches up beside the
/// writers (each pass has less to copy than the one before), then takes its turn among them
/// (`SqliteStore::turns`) and copies the rest, and the next commit starts the WAL over. The
/// writers wait for that last pass: the tail, a WAL sync, and a sync of the database file,
/// which holds every page copied since the WAL last started over (a pass that does not reach
/// the end does not sync it). `docs/audit.md` has the measured waits.
async fn checkpoint(
    pool: &SqlitePool,
    turns: &tokio::sync::Mutex<()>,
    restart_after: i64,
) -> Result<(), sqlx::Error> {
    // What a pass reports can be a commit behind (one may finish while it copies), so only
    // the length decides, never whether a pass seemed to reach the end.
    let (_, mut frames, _) = passive_checkpoint(pool).await?;
    if frames <= restart_after {
        return Ok(());
    }
    let mut passes = 1;
    let mut added = frames;
    while passes <= CATCH_UP_PASSES && added > CATCH_UP_FRAMES {
        let (_, now, _) = passive_checkpoint(pool).await?;
        added = now - frames;
        frames = now;
        passes += 1;
    }
    let _turn = turns.lock().await;
    let started = std::time::Instant::now();
    passive_checkpoint(pool).await?;
    tracing::debug!(
        sqlite.wal_frames = frames,
        sqlite.passes = passes,
        sqlite.last_pass_added = added,
        sqlite.writers_waited_us = started.elapsed().as_micros() as u64,
        "SQLite WAL checkpointed to its end; the next commit starts it over"
    );
    Ok(())
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: whether it was blocked (1 or 0), the WAL's frames, and
/// how many of them are now in the database.
async fn passive_checkpoint(pool: &SqlitePool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
}

store_backend!(
    SqliteStore,
    sqlx::Sqlite,
    "BEGIN IMMEDIATE",
    crate::store::sql::NO_ROW_LOCKS,
    crate::store::sql::SQLITE_WRITES_IN_WITH
);

/// The group commit's transactions run on the writer thread, not the pool.
#[async_trait::async_trait]
impl super::BatchStore for SqliteStore {
    async fn commit_all(
        &self,
        changes: Vec<super::Change>,
        batch: super::Batch,
    ) -> Result<super::Committed, StoreError> {
        let turn = self.write_turn().await;
        self.writer.commit_all(changes, batch, turn).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;

    /// A store on a new file in a temp dir (kept while the store is used).
    async fn fresh() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).await.unwrap();
        (store, dir)
    }

    /// `PRAGMA name` on a connection of a fresh store with `durability`.
    async fn pragma(durability: Durability, name: &str) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_durable(dir.path().join("t.db"), durability)
            .await
            .unwrap();
        let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
            .fetch_one(&store.pool)
            .await
            .unwrap();
        store.close().await;
        value
    }

    /// `PRAGMA name` on the writer thread's connection (`sqlite_writer.rs`) with `durability`.
    async fn writer_pragma(durability: Durability, name: &str) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open_durable(&path, durability).await.unwrap();
        let conn = super::super::sqlite_writer::open(&path, durability, BUSY_TIMEOUT).unwrap();
        let value = conn.pragma_query_value(None, name, |r| r.get(0)).unwrap();
        store.close().await;
        value
    }

    #[tokio::test]
    async fn durability_sets_the_sync_level_of_every_connection() {
        // SQLite's levels: 1 NORMAL (fsync at checkpoints), 2 FULL (fsync at every commit).
        assert_eq!(pragma(Durability::Power, "synchronous").await, 2);
        assert_eq!(pragma(Durability::Process, "synchronous").await, 1);
        assert_eq!(writer_pragma(Durability::Power, "synchronous").await, 2);
        assert_eq!(writer_pragma(Durability::Process, "synchronous").await, 1);
    }

    #[tokio::test]
    async fn no_commit_checkpoints_inline_in_either_mode() {
        // SQLite's default is 1000 (pages): a commit past it checkpoints on the answer's path.
        assert_eq!(pragma(Durability::Power, "wal_autocheckpoint").await, 0);
        assert_eq!(pragma(Durability::Process, "wal_autocheckpoint").await, 0);
        assert_eq!(
            writer_pragma(Durability::Power, "wal_autocheckpoint").await,
            0
        );
        assert_eq!(
            writer_pragma(Durability::Process, "wal_autocheckpoint").await,
            0
        );
    }

    /// The pool's writes (here the health probe) take their turn between the writer's shared
    /// transactions however busy it is: before the turns, SQLite's sleep-and-retry wait for the
    /// write lock let a writer committing back to back hold the probe off for seconds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pool_writes_are_not_starved_by_the_writer() {
        use crate::store::Liveness;

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("t.db")).await.unwrap());
        let streams = Streams::start(&store);
        for _ in 0..50 {
            let before = streams.committed();
            store.probe().await.unwrap();
            assert!(
                streams.committed() < before + 10_000,
                "the probe waited out a long stream of commits"
            );
        }
        assert!(streams.stop().await > 0);
    }

    /// Eight callers committing lone events back to back through a group commit, until
    /// stopped.
    struct Streams {
        stop: Arc<AtomicBool>,
        committed: Arc<AtomicU64>,
        tasks: Vec<tokio::task::JoinHandle<()>>,
    }

    impl Streams {
        fn start(store: &Arc<SqliteStore>) -> Self {
            use crate::domain::{AuditEvent, AuditKind, UnixMillis};
            use crate::store::{Batch, GroupCommit};

            let (commit, _task) =
                GroupCommit::spawn(store.clone(), 64, None, std::future::pending());
            let stop = Arc::new(AtomicBool::new(false));
            let committed = Arc::new(AtomicU64::new(0));
            let tasks = (0..8)
                .map(|_| {
                    let (commit, stop, committed) =
                        (commit.clone(), stop.clone(), committed.clone());
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let event =
                                AuditEvent::new(AuditKind::Decision, UnixMillis(1), "agent:a");
                            commit.submit(Batch::of_events(vec![event])).await.unwrap();
                            committed.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            Self {
                stop,
                committed,
                tasks,
            }
        }

        /// How many commits have been answered so far.
        fn committed(&self) -> u64 {
            self.committed.load(Ordering::Relaxed)
        }

        /// Stops the callers once their current commit is answered; how many were.
        async fn stop(self) -> u64 {
            self.stop.store(true, Ordering::Relaxed);
            for t in self.tasks {
                t.await.unwrap();
            }
            self.committed.load(Ordering::Relaxed)
        }
    }

    /// The WAL's length in frames since it last restarted (`PRAGMA wal_checkpoint`'s second
    /// column; the passive checkpoint that reads it moves nothing a writer needs).
    async fn wal_frames(pool: &SqlitePool) -> i64 {
        let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
            .unwrap();
        frames
    }

    /// Under a writer that never pauses, a passive checkpoint never catches up with the WAL's
    /// end, so SQLite never restarts it: the file grew by every commit's pages for as long as
    /// the load lasted (445 MB after 7 s of one connection's reads). Past its bound the
    /// checkpoint takes its turn among the writers, so it completes and the next commit
    /// starts the WAL over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_a_writer_that_never_pauses() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("t.db")).await.unwrap());
        let streams = Streams::start(&store);
        let mut before = 0;
        while before < 2_000 {
            before = wal_frames(&store.pool).await;
        }
        checkpoint(&store.pool, &store.turns, 1_000).await.unwrap();
        // Once a commit has begun after the checkpoint, the WAL has started over.
        let after_checkpoint = streams.committed();
        while streams.committed() < after_checkpoint + 2 {
            tokio::task::yield_now().await;
        }
        streams.stop().await;
        let after = wal_frames(&store.pool).await;
        assert!(
            after < before,
            "the WAL went on growing: {before} frames before the checkpoint, {after} after"
        );
    }

    /// A store that can no longer commit (its writer thread gone) fails the health probe,
    /// though the pool it reads through is fine: it reports down instead of serving.
    #[tokio::test]
    async fn the_probe_fails_once_the_writer_is_gone() {
        use crate::store::Liveness;

        let (store, _dir) = fresh().await;
        store.probe().await.unwrap();
        store.writer.close();
        store.writer.join().await;
        assert!(store.probe().await.is_err());
        sqlx::query("SELECT 1").execute(&store.pool).await.unwrap();
    }

    /// The steps of SQLite's plan for the audit query over `filter`, its binds given as
    /// they are pushed (the plan does not depend on their values, only their count).
    async fn audit_query_plan(
        store: &SqliteStore,
        filter: &crate::domain::AuditFilter,
    ) -> Vec<String> {
        let statement = super::audit_ops::query_statement(filter, 0, 10);
        let sql = statement.into_string();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..sql.matches('?').count() {
            query = query.bind(0_i64);
        }
        query
            .fetch_all(&store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| sqlx::Row::get(row, "detail"))
            .collect()
    }

    /// `audit_approval` holds only the records of an approval (migration 0010), and a query
    /// by approval still searches it: SQLite's planner uses a partial index only when the
    /// query's terms imply the index's, and a bound value implies nothing.
    #[tokio::test]
    async fn a_query_by_approval_searches_the_index_of_approvals_only() {
        use crate::domain::AuditFilter;

        let (store, _dir) = fresh().await;
        let index: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'audit_approval'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(index.ends_with("WHERE approval_id <> ''"), "{index}");
        let filter = AuditFilter {
            approval_id: Some("a1".into()),
            ..AuditFilter::default()
        };
        let plan = audit_query_plan(&store, &filter).await;
        assert!(
            plan.iter()
                .any(|step| step.contains("INDEX audit_approval (approval_id=?")),
            "{plan:?}"
        );
    }

    /// Each equality filter's query finds its page of seqs in `audit_index` through that
    /// filter's index (never by reading every match), reads only the page's records from
    /// `audit_log` by key, and the rest by seq past the index's last. (A time window is left
    /// to the planner: `audit_at` orders by time, the primary key by seq.)
    #[tokio::test]
    async fn each_filter_searches_its_index_then_reads_the_rest_by_seq() {
        use crate::domain::AuditFilter;

        let (store, _dir) = fresh().await;
        let filters = [
            (
                "audit_subject",
                AuditFilter {
                    subject_id: Some("s".into()),
                    ..AuditFilter::default()
                },
            ),
            (
                "audit_action",
                AuditFilter {
                    action: Some("a".into()),
                    ..AuditFilter::default()
                },
            ),
            (
                "audit_resource",
                AuditFilter {
                    resource_type: Some("t".into()),
                    resource_id: Some("r".into()),
                    ..AuditFilter::default()
                },
            ),
            (
                "audit_decision",
                AuditFilter {
                    decision_id: Some("d".into()),
                    ..AuditFilter::default()
                },
            ),
        ];
        for (index, filter) in filters {
            let plan = audit_query_plan(&store, &filter).await;
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH audit_index USING")
                        && step.contains(&format!("INDEX {index} ("))),
                "{index}: {plan:?}"
            );
            // The page's records by key (the sort after it is of the page, at most LIMIT).
            assert!(
                plan.iter()
                    .any(|step| step == "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"),
                "{index}: {plan:?}"
            );
            assert!(
                plan.iter()
                    .any(|step| step == "SEARCH audit_log USING INTEGER PRIMARY KEY (rowid>?)"),
                "{index}: {plan:?}"
            );
            // Nothing read whole but the page itself.
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN") && step != "SCAN i"),
                "{index}: {plan:?}"
            );
        }
    }

    /// `audit_index` is filled with every record after its last once 64 more are in the log:
    /// by the writer thread in slices while no commit waits, after the group commit that takes
    /// the log past a multiple of 64; whole, in that commit's turn, once the writer is 256
    /// records behind (a load that never leaves it idle); whole when the store closes; and on
    /// the pool by the append that takes the log past a multiple of 64 (a change's own
    /// transaction). Until then a query reads those records from the log.
    #[tokio::test]
    async fn audit_index_is_filled_every_64_records() {
        use crate::domain::{AuditEvent, AuditFilter, AuditKind, UnixMillis};
        use crate::store::{AuditLog, Batch, BatchStore, PolicyHistory};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let open = || SqliteStore::open(&path);
        let indexed = |store: &SqliteStore| {
            let pool = store.pool.clone();
            async move {
                let (n, last): (i64, Option<i64>) =
                    sqlx::query_as("SELECT count(*), max(seq) FROM audit_index")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                (n, last.unwrap_or(0))
            }
        };
        let events = |n: i64| -> Vec<AuditEvent> {
            (0..n)
                .map(|i| {
                    let mut e = AuditEvent::new(AuditKind::Decision, UnixMillis(i), "agent:a");
                    e.subject_id = "agent:a".into();
                    e
                })
                .collect()
        };
        let by_subject = AuditFilter {
            subject_id: Some("agent:a".into()),
            ..AuditFilter::default()
        };

        let store = open().await.unwrap();
        // A write in the store's turn: the writer's own work for the commit before it is done.
        let settled = || async { store.route_events(Vec::new()).await.unwrap() };
        store.commit(&Batch::of_events(events(63))).await.unwrap();
        settled().await;
        assert_eq!(indexed(&store).await, (0, 0), "not due before 64");
        let found = store.query(&by_subject, 0, 1_000).await.unwrap().len();
        assert_eq!(found, 63, "read from the log past the index");
        // Due: filled while the writer has nothing else to do, with no further write.
        store.commit(&Batch::of_events(events(1))).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while indexed(&store).await != (64, 64) {
            assert!(
                std::time::Instant::now() < deadline,
                "never filled while idle"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Whatever the index holds by then, a query finds the rest in the log; the store's
        // close fills them.
        store.commit(&Batch::of_events(events(10))).await.unwrap();
        let found = store.query(&by_subject, 0, 1_000).await.unwrap().len();
        assert_eq!(found, 74, "from the index, then from the log");
        store.close().await;
        let store = open().await.unwrap();
        assert_eq!(
            indexed(&store).await,
            (74, 74),
            "filled as the store closed"
        );
        // 256 behind in one commit: filled whole before the next write's turn.
        store.commit(&Batch::of_events(events(300))).await.unwrap();
        store.route_events(Vec::new()).await.unwrap();
        assert_eq!(indexed(&store).await, (374, 374));
        // The pool's own transaction, past 384: everything after 374 goes in.
        store.allow_rollback("sha256:d", &events(60)).await.unwrap();
        assert_eq!(indexed(&store).await, (434, 434));
        let found = store.query(&by_subject, 0, 1_000).await.unwrap().len();
        assert_eq!(found, 434);
        assert_eq!(store.index_fault().await.unwrap(), None);
        store.close().await;
    }

    /// The writer fills `audit_index` in a transaction that does not wait for the disk; its
    /// connection is back at the durability's sync level afterwards, so the next commit under
    /// `power` is synced before it is answered.
    #[tokio::test]
    async fn a_fill_leaves_the_writer_at_its_sync_level() {
        use crate::domain::{AuditEvent, AuditKind, UnixMillis};
        use crate::store::{sqlite_writer, Batch, BatchStore};

        // SQLite's levels: 1 NORMAL, 2 FULL.
        for (durability, level) in [(Durability::Power, 2), (Durability::Process, 1)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.db");
            let store = SqliteStore::open_durable(&path, durability).await.unwrap();
            // Fewer than 64: the store's own writer leaves them to a later fill.
            let events = (0..63)
                .map(|i| AuditEvent::new(AuditKind::Decision, UnixMillis(i), "agent:a"))
                .collect();
            store.commit(&Batch::of_events(events)).await.unwrap();
            let mut conn = sqlite_writer::open(&path, durability, BUSY_TIMEOUT).unwrap();
            assert!(
                sqlite_writer::fill_index(&mut conn, durability, sqlite_writer::Fill::All).is_ok()
            );
            let synchronous: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            assert_eq!(synchronous, level, "{durability:?}");
            let indexed: i64 = conn
                .query_row("SELECT count(*) FROM audit_index", [], |r| r.get(0))
                .unwrap();
            assert_eq!(indexed, 63, "{durability:?}");
            drop(conn);
            store.close().await;
        }
    }

    /// The fill's statement stays prepared from one fill to the next. A bound `LIMIT` would
    /// not: SQLite compiles a `LIMIT` parameter's value into the plan, so every new binding
    /// expires the statement and the next step compiles it again (a fill's cost doubled, on the
    /// writer thread, between one answer and the next).
    #[tokio::test]
    async fn a_fill_is_compiled_once() {
        use crate::domain::{AuditEvent, AuditKind, UnixMillis};
        use crate::store::{sqlite_writer, Batch, BatchStore};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open_durable(&path, Durability::Process)
            .await
            .unwrap();
        let mut conn = sqlite_writer::open(&path, Durability::Process, BUSY_TIMEOUT).unwrap();
        for round in 0..3 {
            let events = (0..10)
                .map(|i| {
                    AuditEvent::new(AuditKind::Decision, UnixMillis(round * 10 + i), "agent:a")
                })
                .collect();
            store.commit(&Batch::of_events(events)).await.unwrap();
            assert!(sqlite_writer::fill_index(
                &mut conn,
                Durability::Process,
                sqlite_writer::Fill::All
            )
            .is_ok());
        }
        let indexed: i64 = conn
            .query_row("SELECT count(*) FROM audit_index", [], |r| r.get(0))
            .unwrap();
        assert_eq!(indexed, 30);
        // The slice's statement too (nothing left to add: each run adds none, and binds none).
        for _ in 0..3 {
            assert!(sqlite_writer::fill_index(
                &mut conn,
                Durability::Process,
                sqlite_writer::Fill::Slice
            )
            .is_ok());
        }
        for statement in [
            crate::store::sql::INDEX_AUDIT,
            crate::store::sql::INDEX_AUDIT_SLICE,
        ] {
            let fill = conn.prepare_cached(statement).unwrap();
            assert_eq!(
                fill.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "the fill was compiled again: {statement}"
            );
        }
        drop(conn);
        store.close().await;
    }

    /// A database written before migration 0011 (its indexes on `audit_log`, no
    /// `audit_index`) has every record in `audit_index` once it opens, and nothing of the
    /// old indexes left on the log.
    #[tokio::test]
    async fn migration_0011_indexes_the_records_already_there() {
        use crate::domain::{AuditEvent, AuditFilter, AuditKind, UnixMillis};
        use crate::store::{AuditLog, Batch, BatchStore};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let events: Vec<AuditEvent> = (0..100)
            .map(|i| {
                let mut e = AuditEvent::new(AuditKind::Decision, UnixMillis(i), "agent:a");
                e.subject_id = format!("agent:{}", i % 3);
                e
            })
            .collect();
        store.commit(&Batch::of_events(events)).await.unwrap();
        // Back to the schema of migration 0010.
        sqlx::raw_sql(
            "DROP TABLE audit_index; \
             CREATE INDEX audit_subject ON audit_log (subject_id, seq); \
             CREATE INDEX audit_action ON audit_log (action, seq); \
             CREATE INDEX audit_resource ON audit_log (resource_type, resource_id, seq); \
             CREATE INDEX audit_decision ON audit_log (decision_id); \
             CREATE INDEX audit_approval ON audit_log (approval_id) WHERE approval_id <> ''; \
             CREATE INDEX audit_at ON audit_log (at); \
             DELETE FROM _sqlx_migrations WHERE version = 11;",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;

        let store = SqliteStore::open(&path).await.unwrap();
        let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_index")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(indexed, 100);
        assert_eq!(store.index_fault().await.unwrap(), None);
        let on_the_log: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' \
             AND sql IS NOT NULL",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert!(on_the_log.is_empty(), "{on_the_log:?}");
        let by_subject = AuditFilter {
            subject_id: Some("agent:1".into()),
            ..AuditFilter::default()
        };
        assert_eq!(store.query(&by_subject, 0, 1_000).await.unwrap().len(), 33);
        store.close().await;
    }

    #[tokio::test]
    async fn every_connection_cuts_the_wal_back_when_it_starts_over() {
        assert_eq!(
            pragma(Durability::Power, "journal_size_limit").await,
            WAL_SIZE_LIMIT
        );
        assert_eq!(
            writer_pragma(Durability::Power, "journal_size_limit").await,
            WAL_SIZE_LIMIT
        );
    }

    /// The point reads run on connections of their own (`Reader`): one kept idle after a
    /// read must still see the commits answered after it, and may never write.
    #[tokio::test]
    async fn the_readers_see_each_answered_commit_and_cannot_write() {
        use crate::store::{BatchStore, CapabilityStore};

        let (store, _dir) = fresh().await;
        let now = crate::domain::UnixMillis(2);
        assert!(store.get_capability("cap-a", now).await.unwrap().is_none());
        let batch = super::super::Batch {
            capabilities: vec![crate::store::issued_capability("cap-a")],
            events: Vec::new(),
        };
        store.commit_all(Vec::new(), batch).await.unwrap();
        let read = store.get_capability("cap-a", now).await.unwrap();
        assert_eq!(read.map(|c| c.id).as_deref(), Some("cap-a"));

        let wrote = store
            .reader
            .read(|conn| Ok(conn.execute("DELETE FROM capabilities", [])?));
        assert!(wrote.is_err(), "a reader wrote: {wrote:?}");
        assert!(store.get_capability("cap-a", now).await.unwrap().is_some());
        store.close().await;
    }

    /// Like the pool's, the readers refuse to read once the store is closed.
    #[tokio::test]
    async fn reads_fail_once_the_store_is_closed() {
        use crate::store::{ApprovalStore, CapabilityStore};

        let (store, _dir) = fresh().await;
        let now = crate::domain::UnixMillis(2);
        assert!(store.get_approval("a", now).await.unwrap().is_none());
        store.close().await;
        assert!(store.get_approval("a", now).await.is_err());
        assert!(store.reviews("a").await.is_err());
        assert!(store.get_capability("a", now).await.is_err());
    }

    #[tokio::test]
    async fn the_writer_enforces_foreign_keys_and_waits_for_the_write_lock() {
        assert_eq!(writer_pragma(Durability::Power, "foreign_keys").await, 1);
        assert_eq!(
            writer_pragma(Durability::Power, "busy_timeout").await,
            BUSY_TIMEOUT.as_millis() as i64
        );
    }
}
