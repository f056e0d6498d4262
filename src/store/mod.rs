//! Durable state for approvals, reviews and one-time capabilities, behind one trait with two
//! implementations: [`SqliteStore`] (the embedded default, a file in the data directory) and
//! [`PostgresStore`] (several replicas sharing one database).
//!
//! # Guarantees
//!
//! - Every state change is a compare-and-set in the database (`UPDATE .. WHERE id = ? AND
//!   state = ?`, checked by the rows it touched), so racing reviewers, redeemers and replicas
//!   get exactly one winner. Multi-statement operations run in one transaction; on SQLite it
//!   starts with `BEGIN IMMEDIATE`, so it holds the write lock from its first read.
//! - Deadlines are absolute Unix milliseconds in the rows, so they survive restarts. The caller
//!   passes `now`. [`Store::expire_due`] writes expiries down; until it runs, every read reports
//!   a pending approval (or issued capability) past its deadline as expired
//!   ([`Approval::observed_at`]) and no transition out of Pending other than to Expired is
//!   accepted after the deadline. Reads never write.
//! - Idempotency: one approval per (subject, client `request_id`), enforced by a unique index,
//!   so concurrent identical creates on any replica yield one row.
//!
//! # Shape
//!
//! The SQL of each operation lives in a small function taking a connection (a transaction
//! derefs to one; see `backend.rs`). The statements are shared by both backends. A later audit
//! record joins the same transaction by calling its own insert on that connection before the
//! commit, so the audit line and the state change commit or vanish together.
//!
//! Migrations (`migrations/sqlite`, `migrations/postgres`) are embedded in the binary with
//! `include_str!` and run at open by sqlx's migrator (checksummed, versioned in
//! `_sqlx_migrations`). Not `sqlx::migrate!`: that needs sqlx's `macros` feature, which adds
//! sqlx's proc-macro crates to every build for one call; a unit test checks that every file in
//! the directories is listed.

mod backend;
mod postgres;
mod sql;
mod sqlite;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

use crate::domain::{
    Approval, ApprovalState, Capability, NewApproval, RedeemOutcome, RequestChange, Review,
    ReviewOutcome,
};

pub use postgres::{PgChangeFeed, PostgresStore};
pub use sqlite::SqliteStore;

/// Why a store operation failed. Business outcomes (a duplicate review, a refused redemption)
/// are values, not errors; these are faults and caller mistakes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached, or a statement failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date at open.
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The record the operation refers to does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `approval` or `capability`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A record with this id exists already.
    #[error("{kind} {id} already exists")]
    Conflict {
        /// `approval` or `capability`.
        kind: &'static str,
        /// The id that collided.
        id: String,
    },
    /// The requested transition is not an edge of the approval state machine.
    #[error("an approval cannot go from {from:?} to {to:?}")]
    InvalidTransition {
        /// The state asked to leave.
        from: ApprovalState,
        /// The state asked to enter.
        to: ApprovalState,
    },
    /// A stored value is not one this version writes.
    #[error("corrupt {column} in the store: {value:?}")]
    Corrupt {
        /// Column that held it.
        column: &'static str,
        /// What it held.
        value: String,
    },
}

/// Which approvals to list; every `Some` must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    /// State as observed now (an overdue pending approval counts as expired).
    pub state: Option<ApprovalState>,
    /// Requester.
    pub subject_id: Option<String>,
    /// Action name.
    pub action: Option<String>,
    /// Approvals this reviewer has reviewed.
    pub reviewer_id: Option<String>,
}

/// One page of a listing, by keyset: ids are UUID v7, so id order is creation order and a
/// cursor stays valid while rows are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Most rows to return (at least 1 is used).
    pub limit: u32,
    /// Return rows with ids after this one (the previous page's `next`).
    pub after_id: Option<String>,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 50,
            after_id: None,
        }
    }
}

/// A page of approvals, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalPage {
    /// The rows.
    pub items: Vec<Approval>,
    /// Cursor for the next page; `None` when this page is the last.
    pub next: Option<String>,
}

/// Durable approval and capability state. Object safe, so services hold an `Arc<dyn Store>`
/// and do not care which database is behind it. Times are Unix milliseconds.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores a new pending approval. With a non-empty `request_id`, a second create for the
    /// same (subject, request id) returns the first row (observed at the new `created_at`,
    /// whatever its request or state) and `false` instead of a new one: the service compares
    /// `request_hash` if a reused key with another request must be refused.
    async fn create_approval(&self, new: &NewApproval) -> Result<(Approval, bool), StoreError>;

    /// The approval with this id, observed at `now`.
    async fn get_approval(&self, id: &str, now: i64) -> Result<Option<Approval>, StoreError>;

    /// Approvals matching `filter`, observed at `now`, in id order.
    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
        now: i64,
    ) -> Result<ApprovalPage, StoreError>;

    /// Records a review if the approval is pending at `review.at` and this reviewer has not
    /// answered it yet; returns every review so far on success.
    async fn add_review(&self, review: &Review) -> Result<ReviewOutcome, StoreError>;

    /// [`Self::add_review`] that, in the same transaction, replaces the pending request by a
    /// narrowed one (a reviewer's modify), keeping the original as `original_request`.
    async fn add_review_narrowing(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
    ) -> Result<ReviewOutcome, StoreError>;

    /// Every review of an approval, oldest first (empty for an unknown id).
    async fn reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError>;

    /// Moves an approval from `from` to `to` if it is still in `from`; true if this call did
    /// it. Leaving Pending for anything but Expired requires the deadline not to have passed
    /// at `now`; entering Expired requires that it has.
    async fn transition(
        &self,
        id: &str,
        from: ApprovalState,
        to: ApprovalState,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Marks pending approvals and issued capabilities past their deadline as expired, in one
    /// transaction; returns the ids of the approvals it expired, sorted.
    async fn expire_due(&self, now: i64) -> Result<Vec<String>, StoreError>;

    /// Stores a capability record (normally in state Issued).
    async fn insert_capability(&self, cap: &Capability) -> Result<(), StoreError>;

    /// The capability with this id, observed at `now`.
    async fn get_capability(&self, id: &str, now: i64) -> Result<Option<Capability>, StoreError>;

    /// Uses a capability once: one atomic update succeeds only if it is issued, unexpired at
    /// `now` and bound to `request_hash`; otherwise says why not.
    async fn redeem_capability(
        &self,
        id: &str,
        request_hash: &str,
        now: i64,
    ) -> Result<RedeemOutcome, StoreError>;
}

/// Tells other replicas that an approval changed, and hears about theirs. Only a shared
/// database needs one (PostgreSQL); a SQLite file has one process.
#[async_trait]
pub trait ChangeFeed: Send + Sync + std::fmt::Debug {
    /// Announces that `approval_id` changed.
    async fn publish(&self, approval_id: &str) -> Result<(), StoreError>;

    /// Approval ids changed by any replica, this one included, from now on.
    async fn subscribe(&self) -> Result<tokio::sync::mpsc::Receiver<String>, StoreError>;
}

/// A migrator over embedded `(version, description, sql)` files.
fn migrator(files: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// `NNNN_description.sql` names in a migrations directory, sorted.
    fn files(backend: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn listed(migrations: &[(i64, &str, &str)]) -> Vec<String> {
        migrations
            .iter()
            .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect()
    }

    #[test]
    fn every_migration_file_is_embedded() {
        assert_eq!(listed(super::sqlite::MIGRATIONS), files("sqlite"));
        assert_eq!(listed(super::postgres::MIGRATIONS), files("postgres"));
    }
}
