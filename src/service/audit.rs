//! `query_audit`: one page of the trail, for auditors and admins only.

use super::{Role, ServiceError, Tollgate};
use crate::{
    audit::query as audit_query,
    domain::{AuditFilter, AuditRecord, Caller},
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
