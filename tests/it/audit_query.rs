//! `Audit/QueryAudit` over gRPC against a real server on port 0: filters, pagination, time
//! ranges, permissions and argument validation. Records are appended through the store the
//! server itself reads (the same SQLite file), so the test controls exactly what is there.

use std::sync::Arc;

use crate::common::{
    as_user, identity, start, static_tokens, write_probe_bundle, Db, DbWrites as _, TestServer,
};
use prost_types::Timestamp;
use tollgate::{
    domain::{AuditEvent, AuditKind, UnixMillis},
    grpc::pb::{self, audit_client::AuditClient},
    store::SqliteStore,
};
use tonic::Code;

/// Base time of the appended events, Unix ms (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;

async fn server() -> (TestServer, Arc<dyn Db>) {
    let server = start(
        |b| write_probe_bundle(b, "r1", true),
        |c| {
            c.auth = static_tokens(vec![
                identity("auditor", "user:auditor", "user", &["tollgate-auditors"]),
                identity("admin", "user:admin", "user", &["tollgate-admins"]),
                identity("agent", "agent:reporter", "agent", &["analysts"]),
            ])
        },
    )
    .await;
    let store = server.sqlite().await;
    (server, Arc::new(store))
}

/// Event `i` of the fixture: subjects alternate a/b, every third is a DENY on `secrets`,
/// one minute apart.
fn event(i: i64) -> AuditEvent {
    let mut e = AuditEvent::new(AuditKind::Decision, UnixMillis(T0 + i * 60_000), "agent:x");
    e.subject_id = if i % 2 == 0 { "agent:a" } else { "agent:b" }.into();
    let deny = i % 3 == 0;
    e.action = if deny { "secrets.read" } else { "data.export" }.into();
    e.resource_type = if deny { "secret" } else { "dataset" }.into();
    e.resource_id = format!("res-{}", i % 4);
    e.effect = if deny { "DENY" } else { "ALLOW" }.into();
    e.reasons = vec![format!("reason {i}")];
    e.decision_id = format!("dec-{i}");
    e.bundle_revision = "r1".into();
    e.input =
        serde_json::json!({"subject": {"id": e.subject_id}, "action": {"params": {"rows": i}}});
    e.detail = serde_json::json!({"bundle_digest": "00", "masked": [], "cached": false});
    e
}

fn query() -> pb::QueryAuditRequest {
    pb::QueryAuditRequest::default()
}

async fn run(
    server: &TestServer,
    token: &str,
    q: pb::QueryAuditRequest,
) -> Result<pb::QueryAuditResponse, tonic::Status> {
    AuditClient::new(server.channel.clone())
        .query_audit(as_user(token, q))
        .await
        .map(|r| r.into_inner())
}

/// Every page of `q`, following tokens; returns the records and the number of pages.
async fn all_pages(server: &TestServer, q: pb::QueryAuditRequest) -> (Vec<pb::AuditRecord>, usize) {
    let mut out = Vec::new();
    let mut token = String::new();
    for pages in 1..100 {
        let page = run(
            server,
            "auditor",
            pb::QueryAuditRequest {
                page_token: token,
                ..q.clone()
            },
        )
        .await
        .unwrap();
        out.extend(page.records);
        if page.next_page_token.is_empty() {
            return (out, pages);
        }
        token = page.next_page_token;
    }
    panic!("pagination does not end");
}

fn ids(records: &[pb::AuditRecord]) -> Vec<String> {
    records.iter().map(|r| r.decision_id.clone()).collect()
}

fn expected(pred: impl Fn(&AuditEvent) -> bool) -> Vec<String> {
    (0..25)
        .map(event)
        .filter(|e| pred(e))
        .map(|e| e.decision_id)
        .collect()
}

#[tokio::test]
async fn filters_pages_and_time_ranges() {
    let (server, store) = server().await;
    let appended = store
        .append_audit(&(0..25).map(event).collect::<Vec<_>>())
        .await
        .unwrap();

    // Subject filter across pages of 4: every match once, in seq order.
    let (records, pages) = all_pages(
        &server,
        pb::QueryAuditRequest {
            subject_id: "agent:a".into(),
            page_size: 4,
            ..query()
        },
    )
    .await;
    assert_eq!(ids(&records), expected(|e| e.subject_id == "agent:a"));
    assert_eq!(pages, 4, "13 records in pages of 4");
    assert!(records.windows(2).all(|w| w[0].seq < w[1].seq));

    // Combined filters are ANDed.
    let (records, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            subject_id: "agent:b".into(),
            effect: "DENY".into(),
            action: "secrets.read".into(),
            resource_type: "secret".into(),
            kind: "decision".into(),
            ..query()
        },
    )
    .await;
    assert_eq!(
        ids(&records),
        expected(|e| e.subject_id == "agent:b" && e.effect == "DENY")
    );
    let (records, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            resource_type: "dataset".into(),
            resource_id: "res-1".into(),
            ..query()
        },
    )
    .await;
    assert_eq!(
        ids(&records),
        expected(|e| e.resource_type == "dataset" && e.resource_id == "res-1")
    );
    let (records, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            decision_id: "dec-7".into(),
            ..query()
        },
    )
    .await;
    assert_eq!(ids(&records), vec!["dec-7"]);

    // Time range: since inclusive, until exclusive.
    let at = |i: i64| {
        Some(Timestamp::from(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis((T0 + i * 60_000) as u64),
        ))
    };
    let (records, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            since: at(5),
            until: at(9),
            ..query()
        },
    )
    .await;
    let in_range: Vec<_> = ids(&records)
        .into_iter()
        .filter(|d| d.starts_with("dec-"))
        .collect();
    assert_eq!(in_range, vec!["dec-5", "dec-6", "dec-7", "dec-8"]);

    // Every field comes back, and the hashes chain.
    let (records, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            decision_id: "dec-3".into(),
            ..query()
        },
    )
    .await;
    let r = &records[0];
    let stored = appended
        .iter()
        .find(|a| a.event.decision_id == "dec-3")
        .unwrap();
    assert_eq!(r.seq, stored.seq);
    assert_eq!(
        (r.hash.as_str(), r.prev_hash.as_str()),
        (stored.hash.as_str(), stored.prev_hash.as_str())
    );
    assert_eq!(r.body, stored.body);
    assert_eq!(
        (r.kind.as_str(), r.effect.as_str(), r.actor.as_str()),
        ("decision", "DENY", "agent:x")
    );
    assert_eq!(r.reasons, vec!["reason 3"]);
    assert_eq!(r.at.unwrap().seconds, (T0 + 3 * 60_000) / 1000);
    let input = format!("{:?}", r.input);
    assert!(
        input.contains("rows") && input.contains("agent:b"),
        "{input}"
    );
    assert!(r.detail.is_some());
    let (all, _) = all_pages(
        &server,
        pb::QueryAuditRequest {
            page_size: 7,
            ..query()
        },
    )
    .await;
    assert!(all
        .windows(2)
        .all(|w| w[1].seq == w[0].seq + 1 && w[1].prev_hash == w[0].hash));
    server.stop().await;
}

#[tokio::test]
async fn only_auditors_and_admins_may_query() {
    let (server, _) = server().await;
    assert!(run(&server, "auditor", query()).await.is_ok());
    assert!(run(&server, "admin", query()).await.is_ok());
    let refused = run(&server, "agent", query()).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let anonymous = AuditClient::new(server.channel.clone())
        .query_audit(query())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn bad_arguments_name_the_field() {
    let (server, _) = server().await;
    let ts = |seconds, nanos| Some(Timestamp { seconds, nanos });
    let cases = [
        (
            "kind",
            pb::QueryAuditRequest {
                kind: "decisions".into(),
                ..query()
            },
        ),
        (
            "effect",
            pb::QueryAuditRequest {
                effect: "MAYBE".into(),
                ..query()
            },
        ),
        (
            "since",
            pb::QueryAuditRequest {
                since: ts(1, 2_000_000_000),
                ..query()
            },
        ),
        (
            "until",
            pb::QueryAuditRequest {
                since: ts(100, 0),
                until: ts(50, 0),
                ..query()
            },
        ),
        (
            "page_size",
            pb::QueryAuditRequest {
                page_size: 5000,
                ..query()
            },
        ),
        (
            "page_token",
            pb::QueryAuditRequest {
                page_token: "abc".into(),
                ..query()
            },
        ),
    ];
    for (field, q) in cases {
        let status = run(&server, "auditor", q).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn export_streams_past_page_boundaries_and_show_follows_the_approval() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("t.db")).await.unwrap();
    // 2 full export pages and a partial one.
    let n = 2 * tollgate::audit::query::MAX_PAGE as i64 + 17;
    let events: Vec<_> = (0..n).map(event).collect();
    for chunk in events.chunks(500) {
        store.append_audit(chunk).await.unwrap();
    }
    // The approval of dec-3, recorded once with the decision id and once (a late event)
    // with only the approval id.
    let mut requested = AuditEvent::new(AuditKind::ApprovalRequested, UnixMillis(T0), "tollgate");
    requested.decision_id = "dec-3".into();
    requested.approval_id = "appr-3".into();
    let mut expired = AuditEvent::new(AuditKind::ApprovalExpired, UnixMillis(T0 + 1), "tollgate");
    expired.approval_id = "appr-3".into();
    store.append_audit(&[requested, expired]).await.unwrap();

    let mut out = Vec::new();
    let written = tollgate::audit::query::export(&store, &Default::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(written, n as u64 + 2);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, written);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], i as u64 + 1);
        if i > 0 {
            assert_eq!(l["prev_hash"], lines[i - 1]["hash"]);
        }
    }
    assert_eq!(lines[3]["event"]["decision_id"], "dec-3");

    let story = tollgate::audit::query::request_events(&store, "dec-3")
        .await
        .unwrap();
    let kinds: Vec<_> = story.iter().map(|r| r.event.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["decision", "approval.requested", "approval.expired"]
    );
    assert!(tollgate::audit::query::request_events(&store, "nope")
        .await
        .unwrap()
        .is_empty());
}
