//! The store contract, written once against `Arc<dyn Db>` and run for both backends:
//! `sqlite::*` on a temporary file, `postgres::*` on `TOLLGATE_TEST_POSTGRES_URL`, each test in
//! a fresh schema so tests run in parallel. Without the URL the PostgreSQL tests print SKIPPED
//! and pass, unless `TOLLGATE_REQUIRE_POSTGRES=1` (CI) makes them fail. Time is passed
//! explicitly; nothing sleeps.

use std::{str::FromStr, sync::Arc};

use serde_json::json;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    AssertSqlSafe, Connection, PgConnection,
};
use tollgate::domain::{
    Approval, ApprovalState, Capability, CapabilityState, NewApproval, Review, ReviewVerdict,
    UnixMillis,
};
use tollgate::store::{PostgresStore, SqliteStore};

pub(crate) use crate::common::{Db, DbWrites};

/// A fresh SQLite store on a temporary file (kept alive by the returned directory).
async fn sqlite_store() -> (Arc<dyn Db>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("tollgate.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

/// A fresh PostgreSQL store in its own schema, with the URL and schema to drop afterwards;
/// `None` when PostgreSQL is not configured and not required.
pub(crate) async fn postgres_store() -> Option<(Arc<dyn Db>, String, String)> {
    let url = match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var("TOLLGATE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("TOLLGATE_REQUIRE_POSTGRES=1 but TOLLGATE_TEST_POSTGRES_URL is not set");
            }
            println!("SKIPPED: TOLLGATE_TEST_POSTGRES_URL not set");
            return None;
        }
    };
    let schema = format!("store_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let store = postgres_handle(&url, &schema).await;
    Some((Arc::new(store), url, schema))
}

/// A store on `schema`, with a small pool so many tests fit under `max_connections`.
pub(crate) async fn postgres_handle(url: &str, schema: &str) -> PostgresStore {
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema)]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    PostgresStore::with_pool(pool).await.unwrap()
}

/// Two handles on one SQLite file, as two replicas (the directory keeps the file).
pub(crate) async fn two_sqlite_handles() -> (Arc<dyn Db>, Arc<dyn Db>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let first = SqliteStore::open(&path).await.unwrap();
    let second = SqliteStore::open(&path).await.unwrap();
    (Arc::new(first), Arc::new(second), dir)
}

/// Two handles on one fresh PostgreSQL schema, as two replicas, with the URL and schema to
/// drop afterwards; `None` as for [`postgres_store`].
pub(crate) async fn two_postgres_handles() -> Option<(Arc<dyn Db>, Arc<dyn Db>, String, String)> {
    let (first, url, schema) = postgres_store().await?;
    let second = postgres_handle(&url, &schema).await;
    Some((first, Arc::new(second), url, schema))
}

/// Two handles on one fresh store, as two replicas (see [`on_two_handles`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Replicas {
    /// Two handles on one SQLite file.
    Sqlite,
    /// Two handles on one PostgreSQL schema.
    Postgres,
    /// The same, each through a group commit of its own, as two replicas of the server run it.
    GroupedPostgres,
}

/// Runs `test` with two handles on one fresh store of `replicas`' kind, then drops the
/// PostgreSQL schema; a PostgreSQL kind is skipped as [`postgres_store`] skips.
pub(crate) async fn on_two_handles<F, Fut>(replicas: Replicas, test: F)
where
    F: FnOnce(Arc<dyn Db>, Arc<dyn Db>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Replicas::Sqlite = replicas {
        let (first, second, _dir) = two_sqlite_handles().await;
        return test(first, second).await;
    }
    let Some((first, second, url, schema)) = two_postgres_handles().await else {
        return;
    };
    match replicas {
        Replicas::GroupedPostgres => {
            test(
                grouped::GroupedDb::over(first),
                grouped::GroupedDb::over(second),
            )
            .await
        }
        _ => test(first, second).await,
    }
    drop_schema(&url, &schema).await;
}

/// One `#[tokio::test]` per `Kind: name`, each running `test` (an
/// `async fn(Arc<dyn Db>, Arc<dyn Db>)`) through [`on_two_handles`] with [`Replicas`]`::Kind`.
macro_rules! two_handle_tests {
    ($test:path => $($kind:ident: $name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::store::on_two_handles($crate::store::Replicas::$kind, $test).await;
            }
        )+
    };
}

pub(crate) async fn drop_schema(url: &str, schema: &str) {
    let mut admin = PgConnection::connect(url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
}

/// Runs each named `async fn(Arc<dyn Db>)` once per backend, as `sqlite::name` and
/// `postgres::name`, and again with state changes through the group commit
/// (`grouped_sqlite::name`, `grouped_postgres::name`).
macro_rules! store_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$module::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((store, url, schema)) = super::postgres_store().await else {
                        return;
                    };
                    super::$module::$name(store).await;
                    super::drop_schema(&url, &schema).await;
                }
            )*
        }
        /// The same contract with every state change through the group commit.
        mod grouped_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$module::$name(super::grouped::GroupedDb::over(store)).await;
                }
            )*
        }
        /// The same contract with every state change through the group commit.
        mod grouped_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((store, url, schema)) = super::postgres_store().await else {
                        return;
                    };
                    super::$module::$name(super::grouped::GroupedDb::over(store)).await;
                    super::drop_schema(&url, &schema).await;
                }
            )*
        }
    };
}

mod approvals;
mod audit;
mod capabilities;
mod grouped;
pub(crate) mod outbox;

store_tests!(
    approvals::create_then_get_round_trips,
    approvals::an_approval_reads_with_its_own_reviews,
    approvals::create_is_idempotent_per_subject_and_key,
    approvals::the_quota_counts_pending_of_the_subject_and_answers_replays,
    approvals::the_quota_count_follows_every_way_out_of_pending,
    approvals::concurrent_identical_creates_make_one_row,
    approvals::list_filters_and_pages,
    approvals::list_searches_action_resource_and_intent,
    approvals::reviews_count_once_and_only_while_pending,
    approvals::transitions_are_compare_and_set,
    approvals::racing_transitions_have_one_winner,
    approvals::expiry_is_swept_and_enforced_on_read,
    capabilities::redeem_refusals_name_the_reason,
    capabilities::concurrent_redeemers_have_one_winner,
    audit::append_chains_and_reads_back,
    audit::awkward_bodies_link_as_the_verifier_links_them,
    audit::query_filters_and_pages,
    audit::query_answers_what_the_chain_holds,
    audit::concurrent_appenders_make_one_gap_free_chain,
    audit::checkpoints_store_once_per_seq,
    audit::count_pending_counts_what_is_open_now,
    audit::state_changes_record_only_when_they_happen,
    audit::a_failed_record_rolls_the_state_change_back,
    audit::capabilities_commit_with_their_records,
    audit::a_failing_change_fails_alone_in_a_shared_transaction,
    audit::a_failing_last_change_leaves_the_rest_committed,
    audit::a_change_that_does_not_apply_leaves_nothing_among_changes_that_do,
    audit::a_capability_presented_twice_in_one_transaction_is_redeemed_once,
    audit::an_allows_capability_survives_a_change_that_does_not_apply,
    audit::a_fill_in_a_rolled_back_run_leaves_the_index_whole,
    audit::a_review_settles_its_request_in_the_same_transaction,
);

pub(crate) fn new_approval(
    subject: &str,
    request_id: &str,
    action: &str,
    expires_at: i64,
) -> NewApproval {
    NewApproval {
        id: uuid::Uuid::now_v7().to_string(),
        decision_id: uuid::Uuid::now_v7().to_string(),
        subject_id: subject.into(),
        request_id: request_id.into(),
        action: action.into(),
        request: json!({
            "subject": {"id": subject},
            "action": {"name": action, "params": {"rows": 250000, "tables": ["users", "orders"]}},
        }),
        request_hash: "ab".repeat(32),
        requirements: json!([{"groups": ["security"], "quorum": 2}]),
        bundle_revision: "rev-1".into(),
        bundle_digest: "sha256:feedface".into(),
        created_at: UnixMillis(1_000),
        expires_at: UnixMillis(expires_at),
        trace_parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        requested_by: "service:gateway".into(),
        capability_audience: vec!["group:tollgate-executors".into(), "service:db".into()],
        on_behalf_of_proven: true,
    }
}

/// The state of approval `id` as observed at `at` (it must exist).
pub(crate) async fn state_at(store: &Arc<dyn Db>, id: &str, at: i64) -> ApprovalState {
    store
        .get_approval(id, UnixMillis(at))
        .await
        .unwrap()
        .unwrap()
        .state
}

pub(crate) async fn create(store: &Arc<dyn Db>, new: &NewApproval) -> Approval {
    let (approval, created) = store.create_approval(new, None, &[]).await.unwrap();
    assert!(created);
    approval
}

pub(crate) fn review(approval_id: &str, reviewer: &str, verdict: ReviewVerdict, at: i64) -> Review {
    Review {
        approval_id: approval_id.into(),
        reviewer_id: reviewer.into(),
        verdict,
        reason: format!("{reviewer} says {}", verdict.as_str()),
        groups: vec!["security".into(), "sre".into()],
        at: UnixMillis(at),
        stepped_up: verdict == ReviewVerdict::Approve,
    }
}

pub(crate) fn capability(id: &str, approval_id: Option<&str>, expires_at: i64) -> Capability {
    Capability {
        id: id.into(),
        approval_id: approval_id.map(str::to_owned),
        request_hash: "cd".repeat(32),
        state: CapabilityState::Issued,
        issued_at: UnixMillis(1_000),
        expires_at: UnixMillis(expires_at),
        redeemed_at: None,
        audience: vec!["service:executor".into()],
    }
}
