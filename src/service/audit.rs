//! `query_audit`: one page of the trail, for auditors and admins only; and
//! `approval_history`: one approval's records, for whoever may read that approval.

use serde_json::Value;

use super::{Role, ServiceError, Tollgate};
use crate::{
    audit::query as audit_query,
    domain::{AuditFilter, AuditKind, AuditRecord, Caller, UnixMillis},
};

/// A validated query of the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// What to match.
    pub filter: AuditFilter,
    /// Records after this seq.
    pub after_seq: i64,
    /// Page size.
    pub limit: u32,
}

/// One page of records and the seq to continue after.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// The records, in seq order.
    pub records: Vec<AuditRecord>,
    /// Where the next page starts (`None` on the last page).
    pub next_after: Option<i64>,
}

impl Tollgate {
    /// One page of the records matching `query`; the trail holds every request, so only
    /// auditors and admins may read it.
    pub async fn query_audit(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        self.require(caller, Role::Audit)?;
        let AuditQuery {
            filter,
            after_seq,
            limit,
        } = query;
        let (records, next_after) =
            audit_query::page(&*self.inner.audit_log, &filter, after_seq, limit)
                .await
                .map_err(ServiceError::AuditRead)?;
        Ok(AuditPage {
            records,
            next_after,
        })
    }
}

/// One event of an approval's history as a reader of the approval may see it: what
/// happened, when, who did it and why. Never the recorded input (masked or not), nor the
/// capability: only what the approval's view already shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Position in the trail.
    pub seq: i64,
    /// When.
    pub at: UnixMillis,
    /// What happened.
    pub kind: AuditKind,
    /// Who: the requester, a reviewer, the executor, or `tollgate` itself.
    pub actor: String,
    /// The event's outcome (a decision's effect, the approval's end state), or "".
    pub outcome: String,
    /// A review's verdict (`approve`, `deny`, `modify`), or "".
    pub verdict: String,
    /// Why: the policy's reasons, a review's reason, a refusal's reason.
    pub reasons: Vec<String>,
    /// The parameter paths a modification changed.
    pub changed: Vec<String>,
}

impl HistoryEntry {
    fn of(record: &AuditRecord) -> Self {
        let e = &record.event;
        let text = |key: &str| {
            e.detail
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut reasons = e.reasons.clone();
        if let Some(reason) = text("reason").filter(|r| !reasons.contains(r)) {
            reasons.push(reason);
        }
        let changed = e
            .detail
            .get("changes")
            .and_then(Value::as_array)
            .map(|paths| {
                paths
                    .iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            seq: record.seq,
            at: e.at,
            kind: e.kind,
            actor: e.actor.clone(),
            outcome: e.effect.clone(),
            verdict: text("verdict").unwrap_or_default(),
            reasons,
            changed,
        }
    }
}

impl Tollgate {
    /// Every audit record of approval `id` in seq order, for anyone who may read the
    /// approval (the same check as [`Self::get`]: a caller who may not gets the same "not
    /// found"), reduced to what the approval's view already reveals.
    pub async fn approval_history(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        super::approvals::required("approval_id", id)?;
        self.readable(caller, id).await?;
        let records = audit_query::approval_events(&*self.inner.audit_log, id)
            .await
            .map_err(ServiceError::AuditRead)?;
        Ok(records.iter().map(HistoryEntry::of).collect())
    }
}
