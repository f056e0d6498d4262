//! What chaining an export's audit records costs: the decision and its capability's issue, as
//! `scripts/load.sh`'s export writes them (bodies copied from a real run), chained after a head.
//! This runs on the store's one writer, inside every commit.
//!
//! `chain` is the store's; `through_value` is how a body was made before stop 28, the event
//! copied into a `serde_json::Value` and that written, with the events copied into their
//! records. Both give the same bytes (`AuditEvent::canonical`'s tests compare them); the
//! ratio of the two, measured in one run, is what writing the fields in key order saves.
//!
//! `cargo bench --bench audit_chain`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use tollgate::domain::{chain, link, AuditEvent, AuditKind, AuditRecord, UnixMillis};

/// An export's two events: the ALLOW decision and the capability it issued.
fn export_events() -> Vec<AuditEvent> {
    let mut decision = AuditEvent::new(
        AuditKind::Decision,
        UnixMillis(1_795_887_669_688),
        "spiffe://corp/agent",
    );
    decision.subject_id = "agent:billing-exporter".into();
    decision.action = "data.export".into();
    decision.resource_type = "dataset".into();
    decision.resource_id = "events-eu".into();
    decision.effect = "ALLOW".into();
    decision.decision_id = "01a2233f-21b8-71b4-8347-51a353f252ce".into();
    decision.capability_id = decision.decision_id.clone();
    decision.bundle_revision = "sha256:676322a7647cd2ab".into();
    decision.input = json!({
        "action": {"name": "data.export", "params": {
            "dest": "s3://corp-analytics-eu/churn/q3.parquet", "rows": 5000, "table": "events"}},
        "context": {"attributes": {}, "environment": "prod",
            "intent": "quarterly churn analysis requested in TICKET-812",
            "request_id": "load-test-export"},
        "resource": {"attributes": {"classification": "internal", "residency": "eu"},
            "id": "events-eu", "type": "dataset"},
        "subject": {"attributes": {}, "groups": ["exporters"], "id": "agent:billing-exporter",
            "kind": "agent", "on_behalf_of": "user:alice@example.com", "owner": "team:growth"}
    });
    decision.detail = json!({
        "bundle_digest": "676322a7647cd2abfc234890dc3b2f350f7e264a8e8cd02ea15423899d648004",
        "cached": false, "masked": [], "obligations": [{"type": "capability"}],
        "on_behalf_of": "claimed", "requirements": [], "risk": "low"
    });
    let mut issued = decision.clone();
    issued.id = "01a2233f-21b8-71b4-8347-51a6c8f71afc".into();
    issued.kind = AuditKind::CapabilityIssued;
    issued.effect = "issued".into();
    issued.input = serde_json::Value::Null;
    issued.detail = json!({
        "audience": ["group:tollgate-executors"],
        "binding": "c50fcfc3a12cfe101dce1380d1c4e35975eec106ca15b38c7932dd667c7d0063",
        "expires_at": 1_795_887_969_000_i64, "issued_at": 1_795_887_669_000_i64,
        "request_hash": "3a5f957125ba3f02ae63cf2a17604682232b7bac44fd52b1cafe2967c81b7790"
    });
    vec![decision, issued]
}

/// The records as they were chained before stop 28 (see the module docs).
fn through_value(head_seq: i64, head_hash: &str, events: &[AuditEvent]) -> Vec<AuditRecord> {
    let mut prev = head_hash.to_string();
    let mut records = Vec::with_capacity(events.len());
    for (offset, event) in (1..).zip(events) {
        let body = serde_json::to_string(&serde_json::to_value(event).unwrap()).unwrap();
        let hash = link(&prev, &body);
        records.push(AuditRecord {
            seq: head_seq + offset,
            event: event.clone(),
            body,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    records
}

fn bench(c: &mut Criterion) {
    let events = export_events();
    let head = "9c1e5f0d3b7a2e4c6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6";
    let chained = chain(41, head, events.clone()).unwrap();
    let before = through_value(41, head, &events);
    assert!(
        chained.iter().zip(&before).all(|(a, b)| a == b),
        "both ways must chain the same records"
    );

    let mut group = c.benchmark_group("audit_chain_export");
    // Both take the events as the writer has them: `chain` consumes its batch (moved into
    // the records), the old way copied from a borrowed one; the batch's own copy is made
    // outside the measurement.
    group.bench_function("chain", |b| {
        b.iter_batched(
            || events.clone(),
            |batch| black_box(chain(41, head, batch).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("through_value", |b| {
        b.iter_batched(
            || events.clone(),
            |batch| black_box(through_value(41, head, &batch)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
