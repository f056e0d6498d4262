//! Reading the trail: pages for `QueryAudit`, JSON lines for `tollgate audit export`, the
//! events of one request for `tollgate audit show` (and of one approval for the console's
//! history), and recorded decisions for replay.
//!
//! Everything pages by seq (keyset), so a reader holds one page at a time however long the
//! trail, and a cursor stays valid while records are appended.

use std::io::Write;

use serde::Serialize;

use crate::{
    domain::{AuditEvent, AuditFilter, AuditKind, AuditRecord},
    policy::replay::RecordedDecision,
    store::{AuditLog, StoreError},
};

/// Records per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// Most records per page.
pub const MAX_PAGE: u32 = 1000;
/// The effects a decision record can carry (the effect filter accepts these).
pub const EFFECTS: [&str; 3] = ["ALLOW", "DENY", "PENDING_APPROVAL"];

/// Why reading the trail failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The store failed.
    #[error("audit store: {0}")]
    Store(#[from] StoreError),
    /// Writing the output failed (a closed pipe, a full disk).
    #[error("writing output: {0}")]
    Write(#[from] std::io::Error),
    /// A record could not be serialised.
    #[error("encoding a record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The page token for "after `seq`". Opaque to callers; it is the last seq returned.
pub fn token(seq: i64) -> String {
    seq.to_string()
}

/// The seq a page token stands for; "" is the start. `None` when malformed.
pub fn parse_token(token: &str) -> Option<i64> {
    if token.is_empty() {
        return Some(0);
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// One page: at most `limit` records after `after_seq`, and the seq to continue after when
/// more records match.
pub async fn page(
    store: &dyn AuditLog,
    filter: &AuditFilter,
    after_seq: i64,
    limit: u32,
) -> Result<(Vec<AuditRecord>, Option<i64>), StoreError> {
    let mut records = store
        .query(filter, after_seq, limit.saturating_add(1))
        .await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next = if more {
        records.last().map(|r| r.seq)
    } else {
        None
    };
    Ok((records, next))
}

/// One exported line: the chain position and the event.
#[derive(Debug, Serialize)]
pub struct ExportLine<'a> {
    /// Position in the chain.
    pub seq: i64,
    /// This record's hash.
    pub hash: &'a str,
    /// The previous record's hash.
    pub prev_hash: &'a str,
    /// The event.
    pub event: &'a AuditEvent,
}

/// Writes every record matching `filter` as one JSON line each, page by page: memory stays
/// constant however many records match. Returns how many were written.
pub async fn export(
    store: &dyn AuditLog,
    filter: &AuditFilter,
    out: &mut impl Write,
) -> Result<u64, QueryError> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let records = store.query(filter, after, MAX_PAGE).await?;
        let Some(last) = records.last() else {
            break;
        };
        after = last.seq;
        for r in &records {
            let line = ExportLine {
                seq: r.seq,
                hash: &r.hash,
                prev_hash: &r.prev_hash,
                event: &r.event,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
            written += 1;
        }
        out.flush()?;
        if records.len() < MAX_PAGE as usize {
            break;
        }
    }
    Ok(written)
}

/// Every record matching `filter`, in seq order (for the bounded sets `show` reads).
async fn all(store: &dyn AuditLog, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map_or(0, |r: &AuditRecord| r.seq);
        let page = store.query(filter, after, MAX_PAGE).await?;
        let done = page.len() < MAX_PAGE as usize;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Every event of one request, in the order it happened: the decision, its approval request,
/// reviews, the outcome, the capability and its redemption. Events recorded under the
/// decision's approval id but not its decision id are included too.
pub async fn request_events(
    store: &dyn AuditLog,
    decision_id: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    let by_decision = AuditFilter {
        decision_id: Some(decision_id.to_string()),
        ..AuditFilter::default()
    };
    let mut records = all(store, &by_decision).await?;
    let mut approvals: Vec<String> = records
        .iter()
        .map(|r| r.event.approval_id.clone())
        .filter(|a| !a.is_empty())
        .collect();
    approvals.sort();
    approvals.dedup();
    for approval_id in approvals {
        let by_approval = AuditFilter {
            approval_id: Some(approval_id),
            ..AuditFilter::default()
        };
        records.extend(all(store, &by_approval).await?);
    }
    records.sort_by_key(|r| r.seq);
    records.dedup_by_key(|r| r.seq);
    Ok(records)
}

/// Every record of approval `approval_id`, in seq order: its decision, the request, each
/// review and modification, the outcome, and its capability's minting and use.
pub async fn approval_events(
    store: &dyn AuditLog,
    approval_id: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    let filter = AuditFilter {
        approval_id: Some(approval_id.to_string()),
        ..AuditFilter::default()
    };
    all(store, &filter).await
}

/// The decision record of `decision_id`, if the trail has one.
pub async fn decision(
    store: &dyn AuditLog,
    decision_id: &str,
) -> Result<Option<AuditRecord>, StoreError> {
    let filter = AuditFilter {
        decision_id: Some(decision_id.to_string()),
        kind: Some(AuditKind::Decision),
        ..AuditFilter::default()
    };
    Ok(store.query(&filter, 0, 1).await?.into_iter().next())
}

/// What replay needs from a decision event; `None` for other kinds.
pub fn recorded_decision(event: &AuditEvent) -> Option<RecordedDecision> {
    if event.kind != AuditKind::Decision {
        return None;
    }
    let detail = &event.detail;
    let masked = detail["masked"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(RecordedDecision {
        decision_id: event.decision_id.clone(),
        action: event.action.clone(),
        effect: event.effect.clone(),
        reasons: event.reasons.clone(),
        bundle_revision: event.bundle_revision.clone(),
        bundle_digest: detail["bundle_digest"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        masked,
        input: event.input.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnixMillis;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(parse_token(""), Some(0));
        assert_eq!(parse_token(&token(42)), Some(42));
        for bad in ["-1", "x", "1.5", " 1", "99999999999999999999"] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn decision_events_become_recorded_decisions() {
        let mut e = AuditEvent::new(AuditKind::Decision, UnixMillis(1), "agent:a");
        e.decision_id = "d1".into();
        e.action = "data.export".into();
        e.effect = "DENY".into();
        e.reasons = vec!["no".into()];
        e.detail = serde_json::json!({"bundle_digest": "ab", "masked": ["action.params.dest"]});
        e.input = serde_json::json!({"subject": {"id": "agent:a"}});
        let d = recorded_decision(&e).unwrap();
        assert_eq!(d.bundle_digest, "ab");
        assert_eq!(d.masked, vec!["action.params.dest"]);
        assert_eq!(
            (d.effect.as_str(), d.action.as_str()),
            ("DENY", "data.export")
        );
        e.kind = AuditKind::ApprovalRequested;
        assert!(recorded_decision(&e).is_none());
    }
}
