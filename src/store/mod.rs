//! Durable state behind one small trait per concern: [`ApprovalStore`] (approvals and
//! reviews), [`CapabilityStore`] (single use), [`AuditLog`] (reading the chain, checkpoints)
//! and [`BatchStore`] (the group commit's target, driven by [`GroupCommit`]; [`Grouped`] sends
//! the approval and capability state changes through it too, as [`Change`]s). Two databases
//! implement all four: [`SqliteStore`] (the embedded default, a file in the data directory)
//! and [`PostgresStore`] (several replicas sharing one database); [`Stores`] holds one
//! database seen through each trait. The data they carry is the domain's; this module depends
//! on nothing above it.
//!
//! # Guarantees
//!
//! - Every state change is a compare-and-set in the database (`UPDATE .. WHERE id = ? AND
//!   state = ?`, checked by the rows it touched), so racing reviewers, redeemers and replicas
//!   get exactly one winner. Multi-statement operations run in one transaction; on SQLite it
//!   starts with `BEGIN IMMEDIATE`, so it holds the write lock from its first read.
//! - Deadlines are absolute Unix milliseconds in the rows, so they survive restarts. The caller
//!   passes `now`. [`ApprovalStore::expire_due`] writes expiries down; until it runs, every read reports
//!   a pending approval (or issued capability) past its deadline as expired
//!   ([`Approval::observed_at`]) and no transition out of Pending other than to Expired is
//!   accepted after the deadline. Reads never write.
//! - Idempotency: one approval per (subject, client `request_id`), enforced by a unique index,
//!   so concurrent identical creates on any replica yield one row.
//!
//! # Shape
//!
//! The SQL of each operation lives in a small function taking a connection (a transaction
//! derefs to one; see `approval_ops.rs` and `backend.rs`). The statements are shared by both
//! backends. Audit records
//! join the same transaction (`audit_ops.rs`), appended last, just before the commit, so the
//! audit line and the state change commit or vanish together and the chain head (one row every
//! append locks) is held as briefly as possible.
//!
//! Migrations (`migrations/sqlite`, `migrations/postgres`) are embedded in the binary with
//! `include_str!` and run at open by sqlx's migrator (checksummed, versioned in
//! `_sqlx_migrations`). Not `sqlx::migrate!`: that needs sqlx's `macros` feature, which adds
//! sqlx's proc-macro crates to every build for one call; a unit test checks that every file in
//! the directories is listed.

mod approval_ops;
mod audit_ops;
mod backend;
mod change_ops;
mod group_commit;
mod grouped;
pub mod health;
mod notify_ops;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_writer;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

use std::sync::Arc;

use crate::domain::{
    Approval, ApprovalFilter, ApprovalPage, ApprovalState, AuditEvent, AuditFilter, AuditRecord,
    Capability, Checkpoint, Delivery, DeliveryOutcome, DeliveryStats, NewApproval, NotifyEvent,
    Page, RedeemOutcome, RequestChange, Review, ReviewOutcome, Routed, UnixMillis,
};

pub use group_commit::{BatchObserver, CommitError, GroupCommit};
pub use grouped::Grouped;
pub use postgres::{PgChangeFeed, PostgresStore};
pub use sqlite::SqliteStore;

/// What a committed answer survives (`audit.durability`). Either way nothing is answered
/// before its transaction committed; the modes differ in when the commit reaches the disk.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The commit is flushed to stable storage (fsync) before the caller is answered:
    /// survives kill -9, an operating-system crash and power loss.
    #[default]
    Power,
    /// The commit is written to the operating system (SQLite's WAL; PostgreSQL's WAL buffers
    /// with `synchronous_commit = off`) before the caller is answered and flushed on a short
    /// interval: survives kill -9 of tollgate, but an OS crash or power loss may lose the
    /// last interval of answers (about a quarter second on SQLite, 600 ms on PostgreSQL).
    Process,
}

/// Why a store operation failed. Business outcomes (a duplicate review, a refused redemption)
/// are values, not errors; these are faults and caller mistakes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached, or a statement failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A statement of the SQLite writer failed (`sqlite_writer.rs`).
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
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
    /// The subject already has as many pending approvals as it may.
    #[error("the subject already has {pending} pending approval requests (limit {limit})")]
    QuotaExceeded {
        /// Its pending approvals now.
        pending: u64,
        /// The configured limit.
        limit: u32,
    },
    /// The group commit's shared transaction failed (or the store is down); nothing of the
    /// change was stored.
    #[error("the shared transaction was not committed")]
    Commit(#[source] CommitError),
    /// A task of the store that this call hands its work to has stopped (it panicked, or the
    /// runtime is shutting down): the change feed's publisher.
    #[error("the store's {0} has stopped")]
    Stopped(&'static str),
    /// A stored value is not one this version writes.
    #[error("corrupt {column} in the store: {value:?}")]
    Corrupt {
        /// Column that held it.
        column: &'static str,
        /// What it held.
        value: String,
    },
}

/// Builds the audit records of the approvals an expiry sweep expired, inside its transaction
/// (which approvals expire is only known there). Returns no events to record nothing.
pub type ExpiryAudit<'a> = dyn Fn(&Approval) -> Vec<AuditEvent> + Send + Sync + 'a;

/// An approval with everything one read of it brings, as of one moment: its reviews, oldest
/// first, and the capability it minted, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalSnapshot {
    /// The approval, observed at the read's `now`.
    pub approval: Approval,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
    /// The capability minted for it (its id is the approval's), observed at the read's `now`.
    pub capability: Option<Capability>,
}

/// A page of approvals with everything a reader's view of them needs, read in one call: the
/// approvals, all their reviews and the capabilities minted for them.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalListing {
    /// The approvals, oldest first, and the cursor of the next page.
    pub page: ApprovalPage,
    /// The reviews of those approvals, each approval's oldest first.
    pub reviews: Vec<Review>,
    /// The capabilities minted for those approvals (a capability's id is its approval's).
    pub capabilities: Vec<Capability>,
}

/// Durable approval requests and their reviews. Object safe, so services hold an
/// `Arc<dyn ApprovalStore>` and do not care which database is behind it.
///
/// Every state-changing method takes the audit events describing the change and appends them
/// (chained, see [`crate::domain::chain`]) in the same transaction, only when the change
/// happens: the record and the state commit or vanish together. An empty slice records
/// nothing.
#[async_trait]
pub trait ApprovalStore: Send + Sync + std::fmt::Debug {
    /// Stores a new pending approval, with `audit` when it is new. With a non-empty
    /// `request_id`, a second create for the same (subject, request id) returns the first row
    /// (observed at the new `created_at`, whatever its request or state) and `false` instead
    /// of a new one, recording nothing: the service compares `request_hash` if a reused key
    /// with another request must be refused. With `max_pending`, a subject that already has
    /// that many pending approvals gets [`StoreError::QuotaExceeded`] instead of a new one.
    async fn create_approval(
        &self,
        new: &NewApproval,
        max_pending: Option<u32>,
        audit: &[AuditEvent],
    ) -> Result<(Approval, bool), StoreError>;

    /// The approval with this id, observed at `now`.
    async fn get_approval(&self, id: &str, now: UnixMillis)
        -> Result<Option<Approval>, StoreError>;

    /// The approval with this id, observed at `now`, with every review of it, oldest first,
    /// and the capability it minted: read together, as of one moment (one statement, so one
    /// round trip to a server).
    async fn get_reviewed(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<ApprovalSnapshot>, StoreError>;

    /// Approvals matching `filter`, observed at `now`, in id order, with their reviews and
    /// capabilities: one call however many rows, never one read per row.
    async fn list_approvals(
        &self,
        filter: &ApprovalFilter,
        page: &Page,
        now: UnixMillis,
    ) -> Result<ApprovalListing, StoreError>;

    /// Records a review (and `audit`) if the approval is pending at `review.at` and this
    /// reviewer has not answered it yet; with `change`, in the same transaction replaces the
    /// pending request by a narrowed one (a reviewer's modify), keeping the original as
    /// `original_request`. Returns every review so far on success.
    async fn add_review(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
    ) -> Result<ReviewOutcome, StoreError>;

    /// [`Self::add_review`], then in the same transaction, with the row still locked, what
    /// `settle` makes of every review so far: the request denied, or approved with its
    /// capability inserted, each recording its own events. So the review that completes a
    /// quorum decides the request in one commit, and no reader ever sees the quorum met but
    /// the request undecided. Returns the review's outcome and the state it settled to.
    async fn review_and_settle(
        &self,
        review: &Review,
        change: Option<&RequestChange>,
        audit: &[AuditEvent],
        settle: &Settle,
    ) -> Result<(ReviewOutcome, Option<ApprovalState>), StoreError>;

    /// Every review of an approval, oldest first (empty for an unknown id).
    async fn reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError>;

    /// Moves an approval from `from` to `to` (recording `audit`) if it is still in `from`;
    /// true if this call did it. Leaving Pending for anything but Expired requires the
    /// deadline not to have passed at `now`; entering Expired requires that it has.
    async fn transition(
        &self,
        id: &str,
        from: ApprovalState,
        to: ApprovalState,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError>;

    /// Approves a pending approval: inserts its capability `cap`, moves it Pending -> Approved
    /// and records `audit`, all in one transaction, so no reader sees APPROVED without its
    /// capability and no capability exists for an approval that lost a race. False (and
    /// nothing written) if it is no longer pending and in time, or already has a capability.
    async fn approve_with_capability(
        &self,
        id: &str,
        cap: &Capability,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError>;

    /// Marks pending approvals and issued capabilities past their deadline as expired, and
    /// records `audit(approval)` for each expired approval, in one transaction; returns the
    /// ids of the approvals it expired, sorted.
    async fn expire_due(
        &self,
        now: UnixMillis,
        audit: &ExpiryAudit<'_>,
    ) -> Result<Vec<String>, StoreError>;

    /// Pending approvals still in time at `now` (for the pending-approvals gauge).
    async fn count_pending(&self, now: UnixMillis) -> Result<u64, StoreError>;
}

/// Durable single-use capabilities: what makes a signed token usable exactly once.
#[async_trait]
pub trait CapabilityStore: Send + Sync + std::fmt::Debug {
    /// The capability with this id, observed at `now`.
    async fn get_capability(
        &self,
        id: &str,
        now: UnixMillis,
    ) -> Result<Option<Capability>, StoreError>;

    /// Uses a capability once: one atomic update succeeds only if it is issued, unexpired at
    /// `now` and bound to `request_hash`, and then records `audit`; otherwise says why not and
    /// records nothing (the caller records the refusal).
    async fn redeem_capability(
        &self,
        id: &str,
        request_hash: &str,
        now: UnixMillis,
        audit: &[AuditEvent],
    ) -> Result<RedeemOutcome, StoreError>;
}

/// Writes that no compare-and-set guards, committed for many callers at once by the group
/// commit ([`GroupCommit`]): capabilities minted for ALLOW answers and audit events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Capabilities to store, in state Issued.
    pub capabilities: Vec<Capability>,
    /// Events to chain, in order.
    pub events: Vec<AuditEvent>,
}

impl Batch {
    /// Nothing to store.
    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty() && self.events.is_empty()
    }

    /// A batch of `events` only.
    pub fn of_events(events: Vec<AuditEvent>) -> Self {
        Self {
            capabilities: Vec::new(),
            events,
        }
    }
}

/// A compare-and-set state change the group commit applies for one caller inside the shared
/// transaction: the same operation, with the same checks, as the [`ApprovalStore`] or
/// [`CapabilityStore`] method of the same name, and its `audit` recorded only if it applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// [`ApprovalStore::create_approval`].
    CreateApproval {
        /// The approval to create.
        new: NewApproval,
        /// The subject's pending quota, if any.
        max_pending: Option<u32>,
        /// Recorded if created.
        audit: Vec<AuditEvent>,
    },
    /// [`ApprovalStore::add_review`].
    AddReview {
        /// The review.
        review: Review,
        /// A reviewer's narrowing of the request, if any.
        change: Option<RequestChange>,
        /// Recorded if the review is.
        audit: Vec<AuditEvent>,
        /// What follows from the reviews, decided in the same transaction
        /// ([`ApprovalStore::review_and_settle`]).
        settle: Option<Settle>,
    },
    /// [`ApprovalStore::transition`].
    Transition {
        /// The approval.
        id: String,
        /// The state it must be in.
        from: ApprovalState,
        /// The state it moves to.
        to: ApprovalState,
        /// When.
        now: UnixMillis,
        /// Recorded if it moved.
        audit: Vec<AuditEvent>,
    },
    /// [`ApprovalStore::approve_with_capability`].
    ApproveWithCapability {
        /// The approval.
        id: String,
        /// Its capability.
        capability: Capability,
        /// When.
        now: UnixMillis,
        /// Recorded if approved.
        audit: Vec<AuditEvent>,
    },
    /// [`CapabilityStore::redeem_capability`].
    Redeem {
        /// The capability.
        id: String,
        /// The binding hash of the presented request.
        request_hash: String,
        /// When.
        now: UnixMillis,
        /// Recorded if redeemed.
        audit: Vec<AuditEvent>,
    },
}

impl Change {
    /// The events recorded if the change applies.
    pub fn audit(&self) -> &[AuditEvent] {
        match self {
            Self::CreateApproval { audit, .. }
            | Self::AddReview { audit, .. }
            | Self::Transition { audit, .. }
            | Self::ApproveWithCapability { audit, .. }
            | Self::Redeem { audit, .. } => audit,
        }
    }

    /// Where the change's locks fall in the order every writing transaction takes its locks
    /// in (`sql::RowLocks`): an approval's row, then a capability's, then a subject's quota,
    /// each by id. Every lock a change takes belongs to its one key, so a transaction that
    /// applies its changes sorted by this key can never wait for another in a cycle.
    pub fn lock_order(&self) -> (u8, &str) {
        match self {
            Self::AddReview { review, .. } => (0, &review.approval_id),
            Self::Transition { id, .. } | Self::ApproveWithCapability { id, .. } => (0, id),
            Self::Redeem { id, .. } => (1, id),
            Self::CreateApproval { new, .. } => (2, &new.subject_id),
        }
    }
}

/// What writing a review found, before any settlement: the statement functions' answer
/// (`ops::review_if_pending`) to the state change that records a review.
#[derive(Debug)]
enum ReviewWrite {
    /// The approval is not pending, or past its deadline at the review's time: nothing written.
    NotPending,
    /// Its reviewer had reviewed it already: nothing written.
    Repeat,
    /// Recorded: every review of the approval, oldest first, read after its row was locked.
    Recorded(Vec<Review>),
}

/// How a request settles once reviewed: what [`Settle`] answers from its reviews.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Pending -> Denied, recording `audit`.
    Deny {
        /// Recorded if it moved.
        audit: Vec<AuditEvent>,
    },
    /// The capability inserted and Pending -> Approved, recording `audit`.
    Approve {
        /// The capability the approval grants.
        capability: Capability,
        /// Recorded if it moved.
        audit: Vec<AuditEvent>,
    },
}

/// The rule that settles a request from every review so far (`None`: still pending). The
/// store calls it inside the review's transaction, so it must not block or touch the store.
#[derive(Clone)]
pub struct Settle(Arc<SettleRule>);

/// The function inside a [`Settle`].
type SettleRule = dyn Fn(&[Review]) -> Option<Settlement> + Send + Sync;

impl Settle {
    /// Wraps the rule.
    pub fn new(rule: impl Fn(&[Review]) -> Option<Settlement> + Send + Sync + 'static) -> Self {
        Self(Arc::new(rule))
    }

    /// What `reviews` settle to.
    pub fn of(&self, reviews: &[Review]) -> Option<Settlement> {
        (self.0)(reviews)
    }
}

impl std::fmt::Debug for Settle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Settle(..)")
    }
}

/// Two rules are equal only when they are the same rule (a function cannot be compared).
impl PartialEq for Settle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What a [`Change`] did: the return value of the method of the same name.
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    /// The approval, and whether this call created it.
    Approval(Box<Approval>, bool),
    /// The review's outcome, and the state its settlement moved the request to.
    Review(ReviewOutcome, Option<ApprovalState>),
    /// Whether the transition (or approval) happened.
    Moved(bool),
    /// The redemption's outcome.
    Redeemed(RedeemOutcome),
}

/// What one shared transaction stored.
#[derive(Debug, Default)]
pub struct Committed {
    /// Each change's outcome, in the order given. An error here is that change's alone:
    /// it was rolled back to its savepoint and the others committed.
    pub changes: Vec<Result<Changed, StoreError>>,
    /// The batch's events as chained, in order.
    pub records: Vec<AuditRecord>,
    /// Records the applied changes appended (before the batch's).
    pub change_records: usize,
    /// The first and last seq the transaction appended, if any: whether it brought
    /// `audit_index` due, which the group commit's backends fill after the commit.
    pub appended: Option<(i64, i64)>,
}

/// The store side of the group commit.
#[async_trait]
pub trait BatchStore: Send + Sync + std::fmt::Debug {
    /// Stores `batch` in one transaction (capabilities first, then the events chained at the
    /// head); returns the events' records, in order. Any failure stores nothing.
    async fn commit(&self, batch: &Batch) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.commit_all(Vec::new(), batch.clone()).await?.records)
    }

    /// Applies `changes` in order, each in its own savepoint (a change that fails is rolled
    /// back alone and its error reported; a change with nothing else to commit needs none, the
    /// whole transaction is rolled back instead), then stores `batch`, all in ONE transaction
    /// and one commit. The changes run in the order given (the group commit sorts them in the
    /// shared lock order first) and the chain head is locked last, so concurrent transactions
    /// (replicas', or this replica's) apply their changes side by side, queue only for the
    /// append, and never wait for each other in a cycle. An error means nothing was stored.
    async fn commit_all(&self, changes: Vec<Change>, batch: Batch)
        -> Result<Committed, StoreError>;

    /// How many of these transactions the group commit may have open at once: more than one
    /// only where concurrent transactions make progress together (PostgreSQL locks rows;
    /// SQLite has one writer).
    fn commits_in_flight(&self) -> usize {
        1
    }
}

/// The highest bundle sequence that served, shared by every replica: a signed bundle below it
/// is a replay of an older revision and is refused (issue 10), unless an admin allowed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyFloor {
    /// The highest sequence that served (0: none yet).
    pub sequence: i64,
    /// That bundle's digest.
    pub digest: String,
    /// That bundle's revision.
    pub revision: String,
    /// A digest an admin allowed to serve once whatever its sequence ('' for none).
    pub allowed_digest: String,
}

/// A cheap proof that the store can commit right now (see [`health`]).
#[async_trait]
pub trait Liveness: Send + Sync + std::fmt::Debug {
    /// Commits one tiny write; an error means the store cannot commit.
    async fn probe(&self) -> Result<(), StoreError>;
}

/// Where the bundle sequence floor lives.
#[async_trait]
pub trait PolicyHistory: Send + Sync + std::fmt::Debug {
    /// Raises the floor to `sequence` for the bundle `digest` about to serve; `Ok(Err(floor))`
    /// refuses it (older than the floor and not the allowed digest).
    async fn raise_floor(
        &self,
        sequence: i64,
        digest: &str,
        revision: &str,
        at: UnixMillis,
    ) -> Result<Result<(), PolicyFloor>, StoreError>;

    /// The floor as it stands.
    async fn floor(&self) -> Result<PolicyFloor, StoreError>;

    /// Lets the bundle with `digest` serve once even below the floor (an admin's rollback),
    /// recording `audit` in the same transaction.
    async fn allow_rollback(&self, digest: &str, audit: &[AuditEvent]) -> Result<(), StoreError>;
}

/// The hash-chained audit log as stored: reading records and keeping signed checkpoints.
/// Appends happen with the state they describe (the other traits) or through a [`Batch`].
#[async_trait]
pub trait AuditLog: Send + Sync + std::fmt::Debug {
    /// Records matching `filter` with seq above `after_seq`, ascending, at most `limit`.
    async fn query(
        &self,
        filter: &AuditFilter,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Raw records from `from_seq` on, in seq order, at most `limit` (for verify and export);
    /// nothing in them is checked.
    async fn range(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;

    /// The chain head: the last seq (0 when empty) and its hash.
    async fn head(&self) -> Result<(i64, String), StoreError>;

    /// Stores a signed checkpoint; false if one for this seq exists (another replica won).
    async fn insert_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool, StoreError>;

    /// Checkpoints with seq above `after_seq`, ascending, at most `limit`.
    async fn checkpoints(&self, after_seq: i64, limit: u32) -> Result<Vec<Checkpoint>, StoreError>;

    /// The checkpoint with the highest seq, if any.
    async fn last_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError>;

    /// The first seq where `audit_index`, which the query searches, disagrees with the
    /// records (a row of it edited, removed or added), if any. It is a table of its own that
    /// SQL can edit apart from the log, unlike a database's own indexes.
    async fn index_fault(&self) -> Result<Option<i64>, StoreError>;
}

/// The durable outbox of reviewer notifications. The events themselves are written by the
/// audit append, in the transaction of the records they announce (see `notify_ops.rs`); this
/// trait is the delivery side: route each event to its channels once, then hand each
/// delivery to one worker at a time with a lease, so every event reaches every channel once
/// however many replicas deliver.
#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug {
    /// Whether the audit append writes the notification events of what it records (on
    /// from the start). Off where no route is configured: no event could reach a channel,
    /// and each would cost a row written, marked routed and purged in the transactions of
    /// the requests and reviews. Deliveries already routed are sent either way.
    fn write_events(&self, on: bool);

    /// Events whose deliveries do not exist yet, oldest first, at most `limit`.
    async fn unrouted(&self, limit: u32) -> Result<Vec<NotifyEvent>, StoreError>;

    /// Creates each event's deliveries (those that exist stay as they are) and marks it
    /// routed, all in one transaction: a pass of the worker is one commit, not one per event.
    /// Idempotent, so replicas routing the same events agree.
    async fn route(&self, routed: Vec<Routed>) -> Result<(), StoreError>;

    /// Leases up to `limit` deliveries due at `now` to `owner` until `lease_until`, counting
    /// an attempt each; a delivery waits while an earlier one of the same approval and channel
    /// is undelivered. Each lease is a compare-and-set: one claimer wins it.
    async fn claim(
        &self,
        owner: &str,
        now: UnixMillis,
        lease_until: UnixMillis,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records how a claimed attempt ended, if `owner` still holds the lease (false: it ran
    /// out and someone else has the delivery now).
    async fn settle(
        &self,
        delivery: &Delivery,
        owner: &str,
        outcome: &DeliveryOutcome,
        now: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Every delivery of one approval's events, in order (the console shows them; a channel
    /// finds the message to edit).
    async fn deliveries_of(&self, approval_id: &str) -> Result<Vec<Delivery>, StoreError>;

    /// Deliveries per state and the `recent` newest failures.
    async fn delivery_stats(&self, recent: u32) -> Result<DeliveryStats, StoreError>;

    /// Writes a reminder for every pending approval whose deadline falls within `before` of
    /// `now` and that has none yet; returns how many it wrote (once per approval, across
    /// replicas).
    async fn enqueue_reminders(
        &self,
        now: UnixMillis,
        before: std::time::Duration,
    ) -> Result<u64, StoreError>;

    /// Retention, one batch of at most `limit` deliveries then `limit` events: deletes
    /// deliveries delivered before `delivered_before` or given up before `dead_before`, then
    /// routed events from before `delivered_before` left without deliveries; never rows of
    /// an approval still pending at `now` (its message may still be edited). Returns how many
    /// rows went; the worker calls again while a batch comes back full.
    async fn purge_deliveries(
        &self,
        now: UnixMillis,
        delivered_before: UnixMillis,
        dead_before: UnixMillis,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// Values accepted once across replicas and restarts: a Slack interaction's trigger id, a
/// console deep link's id.
#[async_trait]
pub trait NonceStore: Send + Sync + std::fmt::Debug {
    /// Records `nonce` as used until `expires_at` (when it could no longer verify anyway);
    /// true the first time, false ever after.
    async fn use_once(
        &self,
        nonce: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<bool, StoreError>;

    /// Whether `nonce` was recorded and its record is still in force at `now` (a revoked
    /// console session, for one).
    async fn was_used(&self, nonce: &str, now: UnixMillis) -> Result<bool, StoreError>;
}

/// One database seen through each concern's trait, plus the cross-replica change feed when
/// the database is shared. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stores {
    /// Approvals and reviews.
    pub approvals: Arc<dyn ApprovalStore>,
    /// Capabilities.
    pub capabilities: Arc<dyn CapabilityStore>,
    /// The group commit's target.
    pub batches: Arc<dyn BatchStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
    /// The bundle sequence floor.
    pub policy: Arc<dyn PolicyHistory>,
    /// The health probe's target.
    pub liveness: Arc<dyn Liveness>,
    /// Whether the store commits, as last probed (see [`health`]).
    pub health: health::StoreHealth,
    /// The notification outbox.
    pub outbox: Arc<dyn OutboxStore>,
    /// Values accepted once.
    pub nonces: Arc<dyn NonceStore>,
    /// Changes announced by other replicas (PostgreSQL only).
    pub feed: Option<Arc<dyn ChangeFeed>>,
}

impl Stores {
    /// Every concern served by `db`.
    pub fn of<S>(db: S, feed: Option<Arc<dyn ChangeFeed>>) -> Self
    where
        S: ApprovalStore
            + CapabilityStore
            + BatchStore
            + AuditLog
            + PolicyHistory
            + Liveness
            + OutboxStore
            + NonceStore
            + 'static,
    {
        let db = Arc::new(db);
        Self {
            approvals: db.clone(),
            capabilities: db.clone(),
            batches: db.clone(),
            policy: db.clone(),
            liveness: db.clone(),
            health: health::StoreHealth::default(),
            audit: db.clone(),
            outbox: db.clone(),
            nonces: db,
            feed,
        }
    }
}

impl Stores {
    /// The same stores with every approval and capability state change sent through
    /// `commit` (which must commit to this database): concurrent flows share transactions.
    pub fn grouped(mut self, commit: GroupCommit) -> Self {
        let grouped = Arc::new(Grouped::new(
            self.approvals.clone(),
            self.capabilities.clone(),
            commit,
        ));
        self.approvals = grouped.clone();
        self.capabilities = grouped;
        self
    }
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

/// An issued capability `id` (no approval, expiring at 10,000), for the store's unit tests.
#[cfg(test)]
pub(crate) fn issued_capability(id: &str) -> crate::domain::Capability {
    crate::domain::Capability {
        id: id.into(),
        approval_id: None,
        request_hash: "ab".repeat(32),
        state: crate::domain::CapabilityState::Issued,
        issued_at: crate::domain::UnixMillis(1),
        expires_at: crate::domain::UnixMillis(10_000),
        redeemed_at: None,
        audience: Vec::new(),
    }
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
