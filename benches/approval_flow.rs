//! Approval flows per second through a real server, SQLite and PostgreSQL side by side.
//!
//! One flow is the whole product path over gRPC, each step checked (a broken step panics, so
//! a broken flow is never measured): `Authorize` (fresh `request_id`) -> PENDING_APPROVAL ->
//! `Approve` by sre1 -> `Approve` by sre2 -> APPROVED -> `GetApproval` as the requester (the
//! capability) -> `RedeemCapability` as the executor -> allowed. Five RPCs, five store writes
//! or reads, one capability minted and verified.
//!
//! - `flow/<store>`: one flow at a time; the time is one flow's latency.
//! - `flow_concurrent16/<store>`: 16 flows in flight on one channel; read the throughput as
//!   flows per second.
//!
//! `<store>` is `sqlite` (a WAL file in a temp data dir, `synchronous = FULL`), `postgres`
//! (`TOLLGATE_TEST_POSTGRES_URL`, in a fresh `bench_*` database dropped afterwards; without the
//! URL it prints SKIPPED and only SQLite runs, unless `TOLLGATE_REQUIRE_POSTGRES=1`) and
//! `postgres_2_replicas`: two servers on one fresh database, sharing the capability and audit
//! keys, each flow's steps alternating between them (as a load balancer spreads them), so
//! every step reads what the other replica committed.
//!
//! Run:
//! ```text
//! export TOLLGATE_TEST_POSTGRES_URL=$(scripts/pg.sh start | tail -1)
//! cargo bench --bench approval_flow -- --warm-up-time 1 --measurement-time 5
//! ```
//! `scripts/pg.sh` runs PostgreSQL with `fsync=off`: its numbers are not durable-commit numbers.
//!
//! `TOLLGATE_AUDIT_DURABILITY=power|process` picks `audit.durability` for the servers
//! (default: power). The per-identity rate limits and the pending quota are lifted: the bench
//! measures the store, and one reviewer approving thousands of flows a second would be
//! throttled otherwise. `scripts/load.sh` runs this bench in its `flow` section.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The integration tests' harness: the same server on port 0, identities and helpers.
#[path = "../tests/it/common.rs"]
mod common;

use std::{
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use common::{as_user, identity, policy_file, static_tokens, strukt, TestServer};
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::runtime::Runtime;
use tollgate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient, ApprovalState,
    Effect, Verdict,
};
use tollgate::identity::limits::{LimitsConfig, Rate};
use tollgate::store::Durability;
use tonic::transport::Channel;

/// Flows in flight at once in the concurrent measurement.
const CONCURRENCY: usize = 16;

const POLICY: &str = r#"package tollgate

default allow := false

approval contains {"groups": ["sre"], "quorum": 2, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "reason": "dropping a database needs two SREs"} if input.action.name == "db.drop"
"#;

/// Which store the server under test uses.
#[derive(Clone)]
enum Backend {
    Sqlite,
    /// The URL to derive a fresh database from, and how many replicas serve it.
    Postgres(String, usize),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_, 1) => "postgres",
            Backend::Postgres(..) => "postgres_2_replicas",
        }
    }
}

/// A running server and what to clean up.
struct Harness {
    /// One server, or the replicas (each flow alternates between them).
    servers: Vec<TestServer>,
    /// Request ids are `<run>-<n>`: unique across runs on a database that is kept.
    run: String,
    next: AtomicU64,
    /// (base URL, database) to drop when done.
    pg_database: Option<(String, String)>,
    /// The shared key files, removed when done.
    _keys: tempfile::TempDir,
}

impl Harness {
    async fn start(backend: &Backend) -> Self {
        let (store_url, pg_database, replicas) = match backend {
            Backend::Sqlite => (None, None, 1),
            Backend::Postgres(base, replicas) => {
                let (url, db) = fresh_database(base).await;
                (Some(url), Some((base.clone(), db)), *replicas)
            }
        };
        // The replicas' shared keys: the first server writes them, the others read them.
        let keys = tempfile::tempdir().unwrap();
        let mut servers = Vec::new();
        for _ in 0..replicas {
            servers.push(Self::server(store_url.clone(), keys.path()).await);
        }
        Self {
            servers,
            _keys: keys,
            run: uuid::Uuid::now_v7().simple().to_string(),
            next: AtomicU64::new(0),
            pg_database,
        }
    }

    async fn server(store_url: Option<String>, keys: &std::path::Path) -> TestServer {
        common::start(policy_file(POLICY), |config| {
            config.auth = static_tokens(vec![
                identity("agent", "agent:deployer", "agent", &[]),
                identity("sre1", "user:sre1", "user", &["sre"]),
                identity("sre2", "user:sre2", "user", &["sre"]),
                identity(
                    "executor",
                    "service:executor",
                    "service",
                    &["tollgate-executors"],
                ),
            ]);
            config.store.url = store_url;
            config.capability_key_file = Some(keys.join("capability.paserk"));
            config.audit.key_file = Some(keys.join("audit.paserk"));
            config.audit.durability = durability();
            config.rate_limits = unthrottled();
        })
        .await
    }

    /// The channels a flow uses, one per replica.
    fn channels(&self) -> Vec<Channel> {
        self.servers.iter().map(|s| s.channel.clone()).collect()
    }

    fn request_id(&self) -> String {
        format!("{}-{}", self.run, self.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn stop(self) {
        for server in self.servers {
            server.stop().await;
        }
        if let Some((base, db)) = self.pg_database {
            let mut admin = PgConnection::connect(&base).await.unwrap();
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
            admin.close().await.unwrap();
        }
    }
}

/// `TOLLGATE_AUDIT_DURABILITY` (power or process), else the default.
fn durability() -> Durability {
    match std::env::var("TOLLGATE_AUDIT_DURABILITY") {
        Ok(v) if !v.is_empty() => <Durability as clap::ValueEnum>::from_str(&v, true)
            .unwrap_or_else(|e| panic!("TOLLGATE_AUDIT_DURABILITY={v}: {e}")),
        _ => Durability::default(),
    }
}

/// Rate limits and a pending quota no bench run reaches.
fn unthrottled() -> LimitsConfig {
    // The limiter refuses rates faster than one call per nanosecond.
    let rate = Rate {
        calls: NonZeroU32::new(1_000_000).unwrap(),
        per: std::time::Duration::from_secs(1),
    };
    LimitsConfig {
        authorize: rate,
        approve: rate,
        max_pending_per_subject: u32::MAX,
        ..LimitsConfig::default()
    }
}

/// Creates `bench_<random>` on the server behind `base`; returns its URL and name.
async fn fresh_database(base: &str) -> (String, String) {
    let db = format!("bench_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(base)
        .await
        .expect("connects to TOLLGATE_TEST_POSTGRES_URL");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    // Same server, user and parameters; only the database path segment changes.
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let (authority, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    let authority = authority.split('/').next().unwrap_or(authority);
    let url = match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    };
    (url, db)
}

/// The agent's `db.drop` request; `bound` fills in the verified identity the capability is
/// bound to (what the executor presents at redemption).
fn drop_request(request_id: &str, bound: bool) -> pb::AuthorizeRequest {
    let mut subject = pb::Subject {
        on_behalf_of: "user:alice".into(),
        ..Default::default()
    };
    if bound {
        subject.id = "agent:deployer".into();
        subject.kind = "agent".into();
        subject.owner = "team:platform".into();
    }
    pb::AuthorizeRequest {
        subject: Some(subject),
        action: Some(pb::Action {
            name: "db.drop".into(),
            params: strukt(serde_json::json!({"database": "orders", "rows": 1200})),
        }),
        resource: Some(pb::Resource {
            r#type: "database".into(),
            id: "orders-eu".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            intent: "decommission after migration TICKET-9".into(),
            environment: "prod".into(),
            request_id: request_id.into(),
            attributes: None,
        }),
    }
}

/// One complete flow; panics at the first step that does not answer as it should. Step `n`
/// goes to `channels[(first + n) % len]`: with replicas, every step after the first reads
/// what another replica committed.
async fn flow(channels: Vec<Channel>, first: usize, request_id: String) {
    let mut step = first;
    let mut next = || {
        step += 1;
        channels[(step - 1) % channels.len()].clone()
    };

    let r = AuthorizerClient::new(next())
        .authorize(as_user("agent", drop_request(&request_id, false)))
        .await
        .expect("Authorize")
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    let id = r.approval_id;
    assert!(!id.is_empty(), "pending without an approval id");

    for (who, expect) in [
        ("sre1", ApprovalState::Pending),
        ("sre2", ApprovalState::Approved),
    ] {
        let a = ApprovalsClient::new(next())
            .approve(as_user(
                who,
                pb::ApproveRequest {
                    approval_id: id.clone(),
                    verdict: Verdict::Approve as i32,
                    reason: format!("{who} checked the ticket"),
                    params: None,
                },
            ))
            .await
            .expect("Approve")
            .into_inner();
        assert_eq!(a.state(), expect, "after {who}");
    }

    let approved = ApprovalsClient::new(next())
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .expect("GetApproval")
        .into_inner();
    assert_eq!(approved.state(), ApprovalState::Approved);
    assert!(
        approved.capability.starts_with("v4.public."),
        "no capability for the requester"
    );

    let redeemed = ApprovalsClient::new(next())
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: approved.capability,
                request: Some(drop_request(&request_id, true)),
            },
        ))
        .await
        .expect("RedeemCapability")
        .into_inner();
    assert!(redeemed.allowed, "{redeemed:?}");
    assert_eq!(redeemed.approval_id, id);
}

/// The stores to measure; PostgreSQL only when a URL is given.
fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            out.push(Backend::Postgres(url.clone(), 1));
            out.push(Backend::Postgres(url, 2));
        }
        _ => {
            if std::env::var("TOLLGATE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("TOLLGATE_REQUIRE_POSTGRES=1 but TOLLGATE_TEST_POSTGRES_URL is not set");
            }
            eprintln!("SKIPPED postgres: TOLLGATE_TEST_POSTGRES_URL not set");
        }
    }
    out
}

/// Registers one benchmark per store; a server starts the first time criterion runs one (not
/// at all when a filter or `--list` skips it) and stops after the group.
fn per_backend(
    rt: &Runtime,
    backends: &[Backend],
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    routine: impl Fn(&Runtime, &Harness, &mut criterion::Bencher<'_>),
) {
    for backend in backends {
        let mut harness: Option<Harness> = None;
        group.bench_function(backend.name(), |b| {
            let h = harness.get_or_insert_with(|| rt.block_on(Harness::start(backend)));
            routine(rt, h, b);
        });
        if let Some(h) = harness {
            rt.block_on(h.stop());
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let backends = backends();

    let mut group = c.benchmark_group("flow");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    per_backend(&rt, &backends, &mut group, |rt, h, b| {
        b.iter(|| rt.block_on(flow(h.channels(), 0, h.request_id())))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("flow_concurrent{CONCURRENCY}"));
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    // Each sample is whole batches of 16 flows: flat sampling keeps the run near its target time.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    per_backend(&rt, &backends, &mut group, |rt, h, b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let flows: Vec<_> = (0..CONCURRENCY)
                        .map(|i| tokio::spawn(flow(h.channels(), i, h.request_id())))
                        .collect();
                    for f in flows {
                        f.await.expect("flow completes");
                    }
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
