//! The shared backend: several replicas on one PostgreSQL database.
//!
//! Read committed isolation is enough: every state change is a single conditional `UPDATE`,
//! which PostgreSQL re-checks against the latest committed row after waiting for a concurrent
//! writer, so exactly one replica's compare-and-set succeeds.

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{backend::store_backend, migrator, sql, StoreError};
use crate::domain::{Approval, Capability, Review, Routed};

/// Connections per replica unless the caller brings its own pool.
const MAX_CONNECTIONS: u32 = 10;

/// The group commit's transactions open at once on one replica (see
/// [`super::BatchStore::commits_in_flight`]), out of its [`MAX_CONNECTIONS`].
const COMMITS_IN_FLIGHT: usize = 2;

/// How long a pooled connection is trusted without a ping before it is handed out. sqlx
/// pings every connection as it goes back to the pool; one that has waited less than this
/// since is handed out as it is (a ping per acquire would be one more round trip on every
/// read's path), one that has waited longer is pinged first, and replaced if it fails.
const TRUSTED_IDLE: Duration = Duration::from_secs(1);

/// How long a call waits for a connection unless configured (`store.acquire_timeout`).
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// `migrations/postgres/`, embedded: (version, description, SQL). Applied files are never
/// edited (their checksums are recorded); changes go in a new file listed here.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "approvals",
        include_str!("../../migrations/postgres/0001_approvals.sql"),
    ),
    (
        2,
        "modify",
        include_str!("../../migrations/postgres/0002_modify.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../../migrations/postgres/0003_audit.sql"),
    ),
    (
        4,
        "identity",
        include_str!("../../migrations/postgres/0004_identity.sql"),
    ),
    (
        5,
        "binding",
        include_str!("../../migrations/postgres/0005_binding.sql"),
    ),
    (
        6,
        "policy_floor",
        include_str!("../../migrations/postgres/0006_policy_floor.sql"),
    ),
    (
        7,
        "notify",
        include_str!("../../migrations/postgres/0007_notify.sql"),
    ),
    (
        8,
        "pending_by_subject",
        include_str!("../../migrations/postgres/0008_pending_by_subject.sql"),
    ),
    (
        9,
        "on_behalf_of_proven",
        include_str!("../../migrations/postgres/0009_on_behalf_of_proven.sql"),
    ),
    (
        10,
        "audit_approval_partial",
        include_str!("../../migrations/postgres/0010_audit_approval_partial.sql"),
    ),
    (
        11,
        "audit_index",
        include_str!("../../migrations/postgres/0011_audit_index.sql"),
    ),
    (
        12,
        "quota_lock",
        include_str!("../../migrations/postgres/0012_quota_lock.sql"),
    ),
    (
        13,
        "review_if_pending",
        include_str!("../../migrations/postgres/0013_review_if_pending.sql"),
    ),
];

/// The shared store: every store trait over one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Whether appends write notification events ([`OutboxStore::write_events`]).
    notify: Arc<AtomicBool>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect_with(options).await
    }

    /// Connects with explicit options (e.g. a `search_path`) and brings the schema up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        Self::connect_bounded(options, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// Connects with explicit options; a call waits at most `acquire_timeout` for a
    /// connection (the fail-fast bound while the server is unreachable).
    pub async fn connect_bounded(
        options: PgConnectOptions,
        acquire_timeout: std::time::Duration,
    ) -> Result<Self, StoreError> {
        Self::connect_durable(options, acquire_timeout, super::Durability::Power).await
    }

    /// [`Self::connect_bounded`] with the chosen durability: [`super::Durability::Process`]
    /// sets `synchronous_commit = off` on every connection (PostgreSQL flushes its WAL every
    /// `wal_writer_delay`, 200 ms by default; a server crash may lose up to three of those).
    pub async fn connect_durable(
        options: PgConnectOptions,
        acquire_timeout: std::time::Duration,
        durability: super::Durability,
    ) -> Result<Self, StoreError> {
        let options = match durability {
            super::Durability::Power => options,
            super::Durability::Process => options.options([("synchronous_commit", "off")]),
        };
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= TRUSTED_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        Self::with_pool(pool).await
    }

    /// Uses an existing pool and brings the schema up to date.
    pub async fn with_pool(pool: PgPool) -> Result<Self, StoreError> {
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self {
            pool,
            notify: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl PostgresStore {
    /// Writes need no turn: PostgreSQL locks rows, not the database (see `SqliteStore`).
    async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        None
    }

    /// The approval `id` (the point reads `SqliteStore` runs beside its pool).
    async fn read_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        ops::approval_by_id(&mut *self.pool.acquire().await?, id).await
    }

    /// The approval `id` with its reviews, by one statement.
    async fn read_reviewed(&self, id: &str) -> Result<Option<super::ApprovalSnapshot>, StoreError> {
        ops::approval_with_reviews(&mut *self.pool.acquire().await?, id).await
    }

    /// The reviews of approval `approval_id`.
    async fn read_reviews(&self, approval_id: &str) -> Result<Vec<Review>, StoreError> {
        ops::reviews_of(&mut *self.pool.acquire().await?, approval_id).await
    }

    /// The capability `id`.
    async fn read_capability(&self, id: &str) -> Result<Option<Capability>, StoreError> {
        ops::capability_by_id(&mut *self.pool.acquire().await?, id).await
    }

    /// [`OutboxStore::route`](super::OutboxStore::route) in a transaction of its own.
    async fn route_events(&self, routed: Vec<Routed>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN").await?;
        let mut ids = Vec::with_capacity(routed.len());
        for Routed { event, deliveries } in &routed {
            ids.push(event.id.as_str());
            for d in deliveries {
                sqlx::query(sql::INSERT_DELIVERY)
                    .bind(&event.id)
                    .bind(&d.channel)
                    .bind(&event.approval_id)
                    .bind(event.kind.as_str())
                    .bind(event.at.0)
                    .bind(d.next_attempt_at.0)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Every event of the pass at once.
        sqlx::query(sql::MARK_ALL_ROUTED)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every write goes through the pool: nothing else to check (see `SqliteStore`).
    fn writer_alive(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

store_backend!(
    PostgresStore,
    sqlx::Postgres,
    "BEGIN",
    sql::PG_ROW_LOCKS,
    sql::PG_WRITES_IN_WITH
);

#[async_trait::async_trait]
impl super::BatchStore for PostgresStore {
    /// The shared transaction ([`Self::commit_unindexed`]), then, when it brought
    /// `audit_index` due, the fill, in a statement of its own after the commit: not under the
    /// chain head's lock, which every append on every replica waits for. Its callers are
    /// answered after the fill, so a test (or a query) that follows a commit sees the index
    /// as that commit left it. A fill that fails is logged and left to the next one (which
    /// starts from the index's end): the commit has happened and must be answered as such.
    async fn commit_all(
        &self,
        changes: Vec<super::Change>,
        batch: super::Batch,
    ) -> Result<super::Committed, StoreError> {
        let committed = self.commit_unindexed(changes, batch).await?;
        if super::audit_ops::index_due(committed.appended) {
            if let Err(e) = self.fill_index().await {
                tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "filling audit_index failed; left to the next fill");
            }
        }
        Ok(committed)
    }

    /// While one transaction waits on its round trips (or for the chain head, which every
    /// append takes last and briefly), others apply their changes.
    fn commits_in_flight(&self) -> usize {
        COMMITS_IN_FLIGHT
    }
}

impl PostgresStore {
    /// Fills `audit_index` from its end, in a transaction of its own.
    async fn fill_index(&self) -> Result<(), StoreError> {
        audit_ops::fill_index(&mut *self.pool.acquire().await?).await
    }

    /// The group commit's shared transaction: `changes` then `batch`, without filling
    /// `audit_index` ([`super::BatchStore::commit_all`] does, after it).
    async fn commit_unindexed(
        &self,
        changes: Vec<super::Change>,
        mut batch: super::Batch,
    ) -> Result<super::Committed, StoreError> {
        let savepoint_open = commit::in_savepoints(&changes, &batch);
        if savepoint_open {
            // First without savepoints: one round trip fewer per change after the first.
            let mut tx = self.pool.begin_with("BEGIN").await?;
            let all = commit::commit_if_all_apply(&mut tx, &changes, batch, self.notifies());
            match all.await? {
                Ok(committed) => {
                    tx.commit().await?;
                    return Ok(committed);
                }
                Err(unstored) => batch = unstored,
            }
            tx.rollback().await?;
            tracing::debug!(
                audit.changes = changes.len(),
                "a change of a shared transaction did not apply; running it again in savepoints"
            );
        }
        let begin = if savepoint_open {
            sql::BEGIN_WITH_SAVEPOINT
        } else {
            "BEGIN"
        };
        let mut tx = self.pool.begin_with(begin).await?;
        let (committed, keep) =
            commit::commit_in(&mut tx, &changes, batch, savepoint_open, self.notifies()).await?;
        if keep {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(committed)
    }
}

/// The group commit's statements beyond `ops` (see `change_ops.rs`).
mod batch_ops {
    use sqlx::types::Json;

    use super::ops::{capability_error, Conn};
    use crate::domain::Capability;
    use crate::store::{sql, StoreError};

    /// Starts the savepoint of one change in a shared transaction.
    pub(super) async fn savepoint(conn: &mut Conn) -> Result<(), StoreError> {
        sqlx::raw_sql(sql::SAVEPOINT).execute(&mut *conn).await?;
        Ok(())
    }

    /// Keeps (`kept`) or undoes what the change wrote, and with `another` change to come
    /// starts its savepoint: one round trip (see `sql::end_savepoint`).
    pub(super) async fn end_savepoint(
        conn: &mut Conn,
        kept: bool,
        another: bool,
    ) -> Result<(), StoreError> {
        if let Some(statement) = sql::end_savepoint(kept, another) {
            sqlx::raw_sql(statement).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Inserts the capabilities minted for ALLOW answers, many rows per statement. A
    /// collision fails the whole batch (its ids are fresh: a collision is a fault).
    pub(super) async fn insert_capabilities(
        conn: &mut Conn,
        caps: &[Capability],
    ) -> Result<(), StoreError> {
        // Eight columns a row: far below either database's limit on parameters.
        const ROWS: usize = 256;
        for chunk in caps.chunks(ROWS) {
            let mut builder =
                sqlx::QueryBuilder::<sqlx::Postgres>::new(sql::INSERT_CAPABILITIES_PREFIX);
            builder.push_values(chunk, |mut b, cap| {
                b.push_bind(cap.id.clone())
                    .push_bind(cap.approval_id.clone())
                    .push_bind(cap.request_hash.clone())
                    .push_bind(cap.state.as_str())
                    .push_bind(cap.issued_at.0)
                    .push_bind(cap.expires_at.0)
                    .push_bind(cap.redeemed_at.map(|t| t.0))
                    .push_bind(Json(cap.audience.clone()));
            });
            builder
                .build()
                .execute(&mut *conn)
                .await
                .map_err(|e| capability_error(e, chunk))?;
        }
        Ok(())
    }
}

super::change_ops::commit_ops!();

/// The PostgreSQL channel replicas announce approval changes on.
pub const CHANGES_CHANNEL: &str = "tollgate_approval_changes";

/// The change feed's first pause before reconnecting, doubled per failed attempt up to
/// [`FEED_RETRY_MAX`].
const FEED_RETRY_MIN: Duration = Duration::from_millis(50);
const FEED_RETRY_MAX: Duration = Duration::from_secs(2);

/// Announcements queued for the publisher before a caller waits to queue more.
const PUBLISH_QUEUE: usize = 4096;

/// Announcements sent in one statement at most.
const PUBLISH_BATCH: usize = 256;

/// How long the publisher lets announcements gather after the first before sending: under
/// load one statement (and one wake-up of every listening replica) carries many changes
/// instead of a few. A remote waiter hears of a change at most this much later.
const PUBLISH_GATHER: Duration = Duration::from_millis(5);

impl PostgresStore {
    /// The change feed over this store's database. Starts its publisher task (on the current
    /// Tokio runtime), which stops when the last handle is dropped.
    pub fn changes(&self) -> PgChangeFeed {
        let (outgoing, queued) = tokio::sync::mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publish_queued(self.pool.clone(), queued));
        PgChangeFeed {
            pool: self.pool.clone(),
            outgoing,
        }
    }
}

/// Sends what [`PgChangeFeed::publish`] queued: whatever has queued meanwhile and within
/// [`PUBLISH_GATHER`] of the first, in one statement (a change that commits sends no round
/// trip of its own). A failure loses only
/// those announcements, which delays remote waiters until their next re-read, so it is logged.
async fn publish_queued(pool: PgPool, mut queued: tokio::sync::mpsc::Receiver<String>) {
    let mut ids = Vec::with_capacity(PUBLISH_BATCH);
    while queued.recv_many(&mut ids, PUBLISH_BATCH).await > 0 {
        tokio::time::sleep(PUBLISH_GATHER).await;
        while ids.len() < PUBLISH_BATCH {
            match queued.try_recv() {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let sent = sqlx::query(sql::NOTIFY_CHANGES)
            .bind(CHANGES_CHANNEL)
            .bind(&ids)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %crate::telemetry::ErrorChain(&e), approvals = ids.len(), "could not announce approval changes to other replicas");
        }
        ids.clear();
    }
}

/// Cross-replica wake-ups through `LISTEN`/`NOTIFY`: an approval changed on one replica
/// wakes its waiters on every replica within a round trip or two.
#[derive(Debug, Clone)]
pub struct PgChangeFeed {
    pool: PgPool,
    /// To the publisher task ([`publish_queued`]).
    outgoing: tokio::sync::mpsc::Sender<String>,
}

#[async_trait::async_trait]
impl super::ChangeFeed for PgChangeFeed {
    /// Queues the announcement: the publisher sends it with whatever else is queued.
    async fn publish(&self, approval_id: &str) -> Result<(), StoreError> {
        self.outgoing
            .send(approval_id.to_owned())
            .await
            .map_err(|_| StoreError::Stopped("change-feed publisher"))
    }

    async fn subscribe(&self) -> Result<tokio::sync::mpsc::Receiver<String>, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            let mut retry = Duration::ZERO;
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        retry = Duration::ZERO;
                        if tx.send(n.payload().to_string()).await.is_err() {
                            return;
                        }
                    }
                    // The listener reconnects on the next recv; notifications sent while it
                    // was away are lost, so waiters also re-read at their deadlines. A failed
                    // reconnect fails the recv at once: without a pause between attempts, a
                    // database that is down (or gone) kept a core busy and the log flooded.
                    Err(e) => {
                        retry = (retry * 2).clamp(FEED_RETRY_MIN, FEED_RETRY_MAX);
                        tracing::warn!(error = %crate::telemetry::ErrorChain(&e), retry_ms = retry.as_millis() as u64, "approval change feed interrupted; reconnecting");
                        tokio::select! {
                            () = tokio::time::sleep(retry) => {}
                            () = tx.closed() => return,
                        }
                    }
                }
            }
        });
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChangeFeed;

    /// An announcement to a publisher that has stopped fails naming the publisher, not as a
    /// commit that failed: the change it announces is committed.
    #[tokio::test]
    async fn a_stopped_publisher_is_named_as_such() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .unwrap();
        let (outgoing, queued) = tokio::sync::mpsc::channel(1);
        drop(queued);
        let feed = PgChangeFeed { pool, outgoing };
        let e = feed.publish("a1").await.unwrap_err();
        assert!(matches!(e, StoreError::Stopped(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "the store's change-feed publisher has stopped"
        );
    }
}
