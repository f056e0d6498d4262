//! The shared backend: several replicas on one PostgreSQL database.
//!
//! Read committed isolation is enough: every state change is a single conditional `UPDATE`,
//! which PostgreSQL re-checks against the latest committed row after waiting for a concurrent
//! writer, so exactly one replica's compare-and-set succeeds.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{backend::store_backend, migrator, StoreError};

/// Connections per replica unless the caller brings its own pool.
const MAX_CONNECTIONS: u32 = 10;

/// `migrations/postgres/`, embedded: (version, description, SQL). Applied files are never
/// edited (their checksums are recorded); changes go in a new file listed here.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "approvals",
    include_str!("../../migrations/postgres/0001_approvals.sql"),
)];

/// The shared [`Store`](super::Store).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect_with(options).await
    }

    /// Connects with explicit options (e.g. a `search_path`) and brings the schema up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        Self::with_pool(pool).await
    }

    /// Uses an existing pool and brings the schema up to date.
    pub async fn with_pool(pool: PgPool) -> Result<Self, StoreError> {
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

store_backend!(PostgresStore, sqlx::Postgres, "BEGIN");
