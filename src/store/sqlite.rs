//! The embedded backend: one SQLite file in the data directory.
//!
//! WAL journal with `synchronous = FULL`: a commit is on disk before the caller is answered, so
//! a kill -9 loses nothing answered. Writes serialize in SQLite anyway; a small pool lets reads
//! proceed beside them, and `busy_timeout` makes a waiting writer queue instead of failing.
//! Write transactions begin `IMMEDIATE` so a transaction that reads before writing cannot be
//! refused the write lock halfway through.

use std::{path::Path, time::Duration};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{backend::store_backend, migrator, StoreError};

/// Connections in the pool: enough for reads beside the single writer.
const MAX_CONNECTIONS: u32 = 4;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
];

/// The embedded store: every store trait over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

store_backend!(SqliteStore, sqlx::Sqlite, "BEGIN IMMEDIATE");
