//! Tamper evidence: a log built by the store is tampered with in SQL, the way an intruder with
//! database access would, and the real `tollgate audit verify` binary must name the first bad
//! record and the kind of fault, and exit non-zero. An untouched log verifies. Every case runs
//! on a SQLite file and, with `TOLLGATE_TEST_POSTGRES_URL`, on PostgreSQL (its own schema).

use std::{path::PathBuf, process::Command, str::FromStr};

use serde_json::json;
use sqlx::{postgres::PgConnectOptions, AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use tempfile::TempDir;

use crate::common::{Db, DbWrites as _};
use tollgate::{
    audit::{checkpoint, AuditKey},
    domain::{AuditEvent, AuditKind, UnixMillis},
    store::{PostgresStore, SqliteStore},
};

/// Records in every log; checkpoints are signed at seq 10 and 20.
const RECORDS: i64 = 20;

/// The checkpoints exported while the log was written, outside the data directory.
const EXPORT: &str = "exported-checkpoints.jsonl";

/// Where a test log lives and how to reach it.
enum Backend {
    Sqlite { db: PathBuf },
    Postgres { url: String, schema: String },
}

struct Log {
    _dir: TempDir,
    data: PathBuf,
    backend: Backend,
}

fn event(i: i64) -> AuditEvent {
    let mut e = AuditEvent::new(AuditKind::Decision, UnixMillis(1_000 + i), "agent:a");
    e.subject_id = "agent:a".into();
    e.action = "data.export".into();
    e.resource_type = "dataset".into();
    e.resource_id = "users".into();
    e.effect = "ALLOW".into();
    e.decision_id = format!("decision-{i}");
    e.input = json!({"action": {"name": "data.export", "params": {"rows": i}}});
    e.detail = json!({"bundle_digest": "sha256:d", "masked": []});
    e
}

/// Fills `store` with `records` records (in batches of 1 to 4) and signs checkpoints at 10 and 20,
/// also exported to `export` (as `tollgate audit checkpoints --format jsonl` or the server's
/// anchor file would hold them).
async fn fill(store: &dyn Db, key: &AuditKey, export: &std::path::Path, records: i64) {
    let mut i = 1;
    while i <= records {
        let n = (i % 4 + 1).min(records - i + 1);
        let events: Vec<_> = (i..i + n).map(event).collect();
        store.append_audit(&events).await.unwrap();
        i += n;
    }
    for at in [10, 20] {
        let record = store.range(at, 1).await.unwrap().remove(0);
        let cp = checkpoint::sign(key, at, &record.hash, UnixMillis(5_000 + at)).unwrap();
        assert!(store.insert_checkpoint(&cp).await.unwrap());
        let line = serde_json::to_string(&cp).unwrap() + "\n";
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(export)
            .unwrap();
        std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
    }
}

/// A fresh log of [`RECORDS`] on `postgres` or SQLite, with its key in
/// `data/audit-ed25519.paserk`.
async fn log(postgres: bool) -> Option<Log> {
    log_of(postgres, RECORDS).await
}

/// A fresh log of `records`, as [`log`].
async fn log_of(postgres: bool, records: i64) -> Option<Log> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = AuditKey::load_or_generate(&data.join("audit-ed25519.paserk")).unwrap();
    let backend = if postgres {
        let url = match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert_ne!(
                    std::env::var("TOLLGATE_REQUIRE_POSTGRES").as_deref(),
                    Ok("1"),
                    "TOLLGATE_REQUIRE_POSTGRES=1 but TOLLGATE_TEST_POSTGRES_URL is not set"
                );
                println!("SKIPPED: TOLLGATE_TEST_POSTGRES_URL not set");
                return None;
            }
        };
        let schema = format!("tamper_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let store = PostgresStore::connect_with(options).await.unwrap();
        fill(&store, &key, &dir.path().join(EXPORT), records).await;
        store.close().await;
        Backend::Postgres { url, schema }
    } else {
        let db = data.join("tollgate.db");
        let store = SqliteStore::open(&db).await.unwrap();
        fill(&store, &key, &dir.path().join(EXPORT), records).await;
        store.close().await;
        Backend::Sqlite { db }
    };
    Some(Log {
        _dir: dir,
        data,
        backend,
    })
}

impl Log {
    /// The store over this log's database, for reading what to forge.
    async fn store(&self) -> Box<dyn Db> {
        match &self.backend {
            Backend::Sqlite { db } => Box::new(SqliteStore::open(db).await.unwrap()),
            Backend::Postgres { url, schema } => {
                let options = PgConnectOptions::from_str(url)
                    .unwrap()
                    .options([("search_path", schema.as_str())]);
                Box::new(PostgresStore::connect_with(options).await.unwrap())
            }
        }
    }

    /// Runs `sql` (several statements) against the log's database, as an intruder would.
    async fn tamper(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite { db } => {
                let mut c = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap();
                c.close().await.unwrap();
            }
            Backend::Postgres { url, schema } => {
                let mut c = PgConnection::connect(url).await.unwrap();
                let sql = format!("SET search_path TO {schema}; {sql}");
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
                c.close().await.unwrap();
            }
        }
    }

    /// Rewrites record 3 with `edit` and recomputes every later hash and the head, so the
    /// chain is consistent again, the way an intruder who knows the hashing would.
    async fn rewrite_record_3(&self, edit: impl FnOnce(&mut AuditEvent)) {
        let store = self.store().await;
        let records = store.range(1, 100).await.unwrap();
        let mut events: Vec<AuditEvent> = records.iter().map(|r| r.event.clone()).collect();
        edit(&mut events[2]);
        let rewritten = tollgate::domain::chain(2, &records[1].hash, events[2..].to_vec()).unwrap();
        let mut sql = String::new();
        for r in &rewritten {
            sql.push_str(&format!(
                "UPDATE audit_log SET body = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
                r.body.replace('\'', "''"),
                r.prev_hash,
                r.hash,
                r.seq
            ));
        }
        sql.push_str(&format!(
            "UPDATE audit_head SET hash = '{}' WHERE id = 1;",
            rewritten.last().unwrap().hash
        ));
        self.tamper(&sql).await;
    }

    /// `tollgate audit verify` on this log: (exit success, output).
    fn verify(&self) -> (bool, String) {
        self.verify_with(&[])
    }

    /// The exported checkpoints file.
    fn export(&self) -> PathBuf {
        self._dir.path().join(EXPORT)
    }

    /// `tollgate audit verify` with more arguments.
    fn verify_with(&self, extra: &[&std::ffi::OsStr]) -> (bool, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        cmd.args(["audit", "verify", "--page", "7", "--data-dir"])
            .arg(&self.data)
            .args(extra)
            .env_remove("TOLLGATE_STORE_URL")
            .env_remove("TOLLGATE_CONFIG");
        if let Backend::Postgres { url, schema } = &self.backend {
            let sep = if url.contains('?') { '&' } else { '?' };
            cmd.arg("--store-url")
                .arg(format!("{url}{sep}options=-c%20search_path%3D{schema}"));
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn drop_schema(self) {
        if let Backend::Postgres { url, schema } = &self.backend {
            let mut c = PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
        }
    }
}

/// Builds a fresh log, applies `sql`, and checks that verify fails naming every `expected`
/// fragment (or passes, for no SQL).
async fn case(postgres: bool, sql: &str, expected: &[&str]) {
    let Some(log) = log(postgres).await else {
        return;
    };
    if !sql.is_empty() {
        log.tamper(sql).await;
    }
    let (ok, out) = log.verify();
    if expected.is_empty() {
        assert!(ok, "an untouched log verifies: {out}");
        assert!(out.contains("OK: 20 records"), "{out}");
        assert!(out.contains("2 signed checkpoints verified"), "{out}");
    } else {
        assert!(!ok, "tampering must fail verify: {out}");
        for fragment in expected {
            assert!(out.contains(fragment), "expected {fragment:?} in: {out}");
        }
    }
    log.drop_schema().await;
}

/// A checkpoint for seq 10 signed by another key over the real head.
async fn forged_token_sql(postgres: bool) -> Option<String> {
    let log = log(postgres).await?;
    let store = log.store().await;
    let real = store.checkpoints(9, 1).await.unwrap().remove(0);
    let other = AuditKey::generate().unwrap();
    let forged = checkpoint::sign(&other, real.seq, &real.head_hash, real.at).unwrap();
    let sql = format!(
        "UPDATE audit_checkpoints SET token = '{}' WHERE seq = 10;",
        forged.token
    );
    log.tamper(&sql).await;
    let (ok, out) = log.verify();
    assert!(!ok, "{out}");
    log.drop_schema().await;
    Some(out)
}

/// Rewrites record 3 and recomputes every later hash and the head, so the chain is consistent
/// again: only the signed checkpoint can tell.
async fn rewritten_history(postgres: bool) -> Option<String> {
    let log = log(postgres).await?;
    log.rewrite_record_3(|e| {
        e.input = json!({"action": {"name": "data.export", "params": {"rows": 3_000_000}}});
    })
    .await;
    let (ok, out) = log.verify();
    assert!(!ok, "{out}");
    log.drop_schema().await;
    Some(out)
}

/// Every checkpoint row deleted, then the same rewrite as [`rewritten_history`]: the
/// database alone now verifies (it has no checkpoint left to contradict it), so verify must
/// find the checkpoints anchored outside it: the server's anchor file in the data directory
/// (`anchor_file: true`) or an export given with `--checkpoints`.
async fn checkpoints_deleted_then_rewritten(postgres: bool, anchor_file: bool) -> Option<String> {
    let log = log(postgres).await?;
    log.tamper("DELETE FROM audit_checkpoints;").await;
    log.rewrite_record_3(|e| {
        e.effect = "ALLOW".into();
        e.input = json!({"action": {"name": "data.export", "params": {"rows": 3}}, "was": "DENY"});
    })
    .await;
    let (ok, out) = log.verify();
    assert!(
        ok,
        "without an anchor the rewrite is undetectable here (20 records): {out}"
    );
    let (ok, out) = if anchor_file {
        std::fs::copy(log.export(), log.data.join("audit-anchor.jsonl")).unwrap();
        log.verify()
    } else {
        let export = log.export();
        log.verify_with(&["--checkpoints".as_ref(), export.as_os_str()])
    };
    assert!(!ok, "{out}");
    log.drop_schema().await;
    Some(out)
}

/// Every checkpoint deleted and the last five records cut (head rewritten to match): only an
/// anchored checkpoint beyond the new end shows the truncation.
async fn checkpoints_deleted_then_truncated(postgres: bool) -> Option<String> {
    let log = log(postgres).await?;
    log.tamper(
        "DELETE FROM audit_checkpoints; DELETE FROM audit_log WHERE seq > 15; \
         UPDATE audit_head SET seq = 15, hash = (SELECT hash FROM audit_log WHERE seq = 15) WHERE id = 1;",
    )
    .await;
    let export = log.export();
    let (ok, out) = log.verify_with(&["--checkpoints".as_ref(), export.as_os_str()]);
    assert!(!ok, "{out}");
    log.drop_schema().await;
    Some(out)
}

/// Every checkpoint deleted, verified against the cadence the server was configured with
/// (a checkpoint every 4 records, batches of 1): 20 uncovered records break it.
async fn checkpoints_deleted_breaks_cadence(postgres: bool) -> Option<String> {
    let log = log(postgres).await?;
    let config = log._dir.path().join("cadence.yaml");
    std::fs::write(&config, "audit:\n  checkpoint_every: 4\n  max_batch: 1\n").unwrap();
    let (ok, out) = log.verify_with(&["--config".as_ref(), config.as_os_str()]);
    assert!(
        ok,
        "checkpoints every 10 records keep a 4-record cadence's bound of 10: {out}"
    );
    log.tamper("DELETE FROM audit_checkpoints;").await;
    let (ok, out) = log.verify_with(&["--config".as_ref(), config.as_os_str()]);
    assert!(!ok, "{out}");
    log.drop_schema().await;
    Some(out)
}

/// Swaps the contents of two rows, keeping their seqs.
const SWAP_5_6: &str = "UPDATE audit_log SET seq = -5 WHERE seq = 5; \
     UPDATE audit_log SET seq = 5 WHERE seq = 6; \
     UPDATE audit_log SET seq = 6 WHERE seq = -5;";

/// A log could not be built: only PostgreSQL may be absent.
fn absent(required: bool) {
    assert!(!required, "the SQLite log must be built");
}

/// The attacks that delete the database's checkpoints first, on one backend (`$required`:
/// it must run; PostgreSQL may be absent).
macro_rules! anchored_tests {
    ($pg:expr, $required:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_deleted_and_history_rewritten_caught_by_the_anchor_file() {
            let Some(out) = super::checkpoints_deleted_then_rewritten($pg, true).await else {
                super::absent($required);
                return;
            };
            assert!(out.contains("FAIL: seq 10: edited"), "{out}");
            assert!(out.contains("signed checkpoint 10"), "{out}");
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_deleted_and_history_rewritten_caught_by_an_export() {
            let Some(out) = super::checkpoints_deleted_then_rewritten($pg, false).await else {
                super::absent($required);
                return;
            };
            assert!(out.contains("FAIL: seq 10: edited"), "{out}");
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_deleted_and_tail_truncated_caught_by_an_export() {
            let Some(out) = super::checkpoints_deleted_then_truncated($pg).await else {
                super::absent($required);
                return;
            };
            assert!(
                out.contains("FAIL: seq 16: truncated after checkpoint 20"),
                "{out}"
            );
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_deleted_break_the_configured_cadence() {
            let Some(out) = super::checkpoints_deleted_breaks_cadence($pg).await else {
                super::absent($required);
                return;
            };
            assert!(
                out.contains("FAIL: seq 1..11: no signed checkpoint covers these 11 records"),
                "{out}"
            );
            assert!(out.contains("checkpoint_every 4"), "{out}");
        }
    };
}
use anchored_tests;

macro_rules! tamper_tests {
    ($($name:ident: $sql:expr => [$($fragment:expr),*];)*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::case(false, $sql, &[$($fragment),*]).await;
                }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn checkpoint_signed_by_another_key() {
                let out = super::forged_token_sql(false).await.unwrap();
                assert!(out.contains("checkpoint 10: forged checkpoint"), "{out}");
                assert!(out.contains("signature"), "{out}");
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn history_rewritten_with_consistent_hashes() {
                let out = super::rewritten_history(false).await.unwrap();
                assert!(out.contains("FAIL: seq 10: edited"), "{out}");
                assert!(out.contains("signed checkpoint 10"), "{out}");
            }
            super::anchored_tests!(false, true);
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::case(true, $sql, &[$($fragment),*]).await;
                }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn checkpoint_signed_by_another_key() {
                let Some(out) = super::forged_token_sql(true).await else { return };
                assert!(out.contains("checkpoint 10: forged checkpoint"), "{out}");
                assert!(out.contains("signature"), "{out}");
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn history_rewritten_with_consistent_hashes() {
                let Some(out) = super::rewritten_history(true).await else { return };
                assert!(out.contains("FAIL: seq 10: edited"), "{out}");
                assert!(out.contains("signed checkpoint 10"), "{out}");
            }
            super::anchored_tests!(true, false);
        }
    };
}

tamper_tests! {
    untouched_log_verifies: "" => [];
    edited_body: "UPDATE audit_log SET body = replace(body, '\"rows\":7', '\"rows\":70') WHERE seq = 7;"
        => ["FAIL: seq 7: edited", "does not match its hash"];
    edited_column: "UPDATE audit_log SET subject_id = 'agent:mallory' WHERE seq = 8;"
        => ["FAIL: seq 8: edited", "column subject_id"];
    deleted_record: "DELETE FROM audit_log WHERE seq = 12;"
        => ["FAIL: seq 12: deleted", "jumps from seq 11 to seq 13"];
    swapped_records: super::SWAP_5_6 => ["FAIL: seq 5: reordered"];
    truncated_after_checkpoint: "DELETE FROM audit_log WHERE seq > 15; UPDATE audit_head SET seq = 15, \
        hash = (SELECT hash FROM audit_log WHERE seq = 15) WHERE id = 1;"
        => ["FAIL: seq 16: truncated after checkpoint 20", "ends at seq 15"];
    tail_deleted_without_checkpoint: "DELETE FROM audit_checkpoints WHERE seq = 20; DELETE FROM audit_log WHERE seq = 20;"
        => ["FAIL: head:", "seq 20 and later were deleted"];
    checkpoint_head_edited: "UPDATE audit_checkpoints SET head_hash = (SELECT hash FROM audit_log WHERE seq = 9) WHERE seq = 10;"
        => ["FAIL: checkpoint 10: forged checkpoint", "differ from what was signed"];
}

/// The audit query's columns live in a table of their own, `audit_index` (migration 0011),
/// that SQL can edit apart from the log. An intruder who deletes, edits, moves or adds a row
/// of it leaves the chain intact but hides records from the queries that search it, so verify
/// compares it with the log and names the first seq where they part. 140 records in batches
/// of 4: on PostgreSQL the index holds 1..130 (filled by the batches that passed 64 and 128,
/// which ended at 66 and 130) and the query reads 131..140 from the log; on SQLite the writer
/// fills the rest as the store closes.
macro_rules! index_tests {
    ($pg:expr, $required:expr) => {
        use crate::common::DbWrites as _;
        use tollgate::domain::AuditFilter;

        /// Builds the log, applies `sql`, and returns verify's (success, output) and the log.
        async fn tampered(sql: &str) -> Option<(bool, String, super::Log)> {
            let Some(log) = super::log_of($pg, 140).await else {
                super::absent($required);
                return None;
            };
            if !sql.is_empty() {
                log.tamper(sql).await;
            }
            let (ok, out) = log.verify();
            Some((ok, out, log))
        }

        async fn caught(sql: &str, expected: &str) {
            let Some((ok, out, log)) = tampered(sql).await else {
                return;
            };
            assert!(!ok, "tampering with the index must fail verify: {out}");
            assert!(out.contains(expected), "expected {expected:?} in: {out}");
            log.drop_schema().await;
        }

        async fn found(log: &super::Log, filter: AuditFilter) -> Vec<i64> {
            let store = log.store().await;
            let records = store.query(&filter, 0, 1_000).await.unwrap();
            records.iter().map(|r| r.seq).collect()
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_untouched_index_verifies() {
            let Some((ok, out, log)) = tampered("").await else {
                return;
            };
            assert!(ok, "{out}");
            assert!(out.contains("OK: 140 records"), "{out}");
            assert_eq!(log.store().await.index_fault().await.unwrap(), None);
            log.drop_schema().await;
        }

        /// The attack's point: the row's record no longer answers a query by its subject.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_deleted_row_hides_its_record_and_verify_names_it() {
            let Some((ok, out, log)) = tampered("DELETE FROM audit_index WHERE seq = 70;").await
            else {
                return;
            };
            assert!(!ok, "{out}");
            assert!(out.contains("FAIL: seq 70: index"), "{out}");
            let by_subject = AuditFilter {
                subject_id: Some("agent:a".into()),
                ..AuditFilter::default()
            };
            let seqs = found(&log, by_subject).await;
            assert_eq!(seqs.len(), 139, "the query no longer finds seq 70");
            assert!(!seqs.contains(&70));
            log.drop_schema().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_edited_row_is_named() {
            caught(
                "UPDATE audit_index SET subject_id = 'agent:nobody' WHERE seq = 71;",
                "FAIL: seq 71: index",
            )
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_row_moved_is_named_where_it_left() {
            caught(
                "UPDATE audit_index SET seq = 5000 WHERE seq = 100;",
                "FAIL: seq 100: index",
            )
            .await;
        }

        /// A row past the log's end moves the index's end past records it does not hold: a
        /// query skips every record appended after it (it reads the log only past the
        /// index's last seq). Five records follow the row; the first one hidden is the first
        /// after the index's real end: 131 on PostgreSQL, 141 on SQLite, whose writer fills
        /// what it owes as the store closes.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_row_added_past_the_end_is_named_at_the_first_record_it_hides() {
            let Some(log) = super::log_of($pg, 140).await else {
                super::absent($required);
                return;
            };
            log.tamper(
                "INSERT INTO audit_index SELECT 1000, at, subject_id, action, resource_type, \
                 resource_id, decision_id, approval_id, effect, kind FROM audit_index \
                 WHERE seq = 1;",
            )
            .await;
            let store = log.store().await;
            let after: Vec<_> = (141..146).map(super::event).collect();
            store.append_audit(&after).await.unwrap();
            drop(store);
            let (ok, out) = log.verify();
            assert!(!ok, "tampering with the index must fail verify: {out}");
            let first_hidden = if $pg { 131 } else { 141 };
            let expected = format!("FAIL: seq {first_hidden}: index");
            assert!(out.contains(&expected), "expected {expected:?} in: {out}");
            log.drop_schema().await;
        }

        /// Every row gone hides nothing: the query reads every record from the log again.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_emptied_index_hides_nothing() {
            let Some((ok, out, log)) = tampered("DELETE FROM audit_index;").await else {
                return;
            };
            assert!(ok, "{out}");
            let by_action = AuditFilter {
                action: Some("data.export".into()),
                ..AuditFilter::default()
            };
            assert_eq!(found(&log, by_action).await.len(), 140);
            log.drop_schema().await;
        }
    };
}

mod sqlite_index {
    index_tests!(false, true);
}

mod postgres_index {
    index_tests!(true, false);
}
