//! The embedded backend: one SQLite file in the data directory.
//!
//! WAL journal. With [`Durability::Power`] (the default) `synchronous = FULL`: a commit is on
//! disk before the caller is answered, so neither a kill -9 nor power loss loses anything
//! answered. With [`Durability::Process`] `synchronous = NORMAL`: a commit is in the WAL (the
//! OS page cache) before the answer, and a background task checkpoints, which syncs the WAL,
//! every [`FLUSH_EVERY`]: a kill -9 loses nothing, power loss at most that interval. Writes serialize in SQLite anyway; a small pool lets reads
//! proceed beside them, and `busy_timeout` makes a waiting writer queue instead of failing.
//! Write transactions begin `IMMEDIATE` so a transaction that reads before writing cannot be
//! refused the write lock halfway through.

use std::{path::Path, time::Duration};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{backend::store_backend, migrator, Durability, StoreError};

/// Connections in the pool: enough for reads beside the single writer.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`Durability::Process`] flushes the WAL to stable storage.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

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
];

/// The embedded store: every store trait over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).run(&pool).await?;
        if durability == Durability::Process {
            tokio::spawn(flush_wal(pool.clone()));
        }
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// [`Durability::Process`]: a passive checkpoint every [`FLUSH_EVERY`] (SQLite syncs the WAL
/// before checkpointing it), until the pool closes.
async fn flush_wal(pool: SqlitePool) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "flushing the SQLite WAL failed; retrying");
        }
    }
}

store_backend!(SqliteStore, sqlx::Sqlite, "BEGIN IMMEDIATE");

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(durability: Durability) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_durable(dir.path().join("t.db"), durability)
            .await
            .unwrap();
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        store.close().await;
        level
    }

    #[tokio::test]
    async fn durability_sets_the_sync_level_of_every_connection() {
        // SQLite's levels: 1 NORMAL (fsync at checkpoints), 2 FULL (fsync at every commit).
        assert_eq!(synchronous(Durability::Power).await, 2);
        assert_eq!(synchronous(Durability::Process).await, 1);
    }
}
