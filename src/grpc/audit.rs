//! The `Audit` service: validate the query, read the trail, convert.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{authorizer::identify, convert, pb, status};
use crate::{
    audit::query as audit_query,
    domain::{AuditFilter, AuditKind, AuditRecord, InvalidField},
    identity::Authenticator,
    service::{AuditQuery, Tollgate},
};

/// Serves `tollgate.v1.Audit`.
#[derive(Clone)]
pub struct AuditService {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
}

impl AuditService {
    /// Answers with `tollgate`, identifying callers with `auth`.
    pub fn new(tollgate: Tollgate, auth: Arc<Authenticator>) -> Self {
        Self { tollgate, auth }
    }
}

/// Checks every field and builds the domain query; the error names the field.
pub fn query(req: pb::QueryAuditRequest) -> Result<AuditQuery, InvalidField> {
    let pb::QueryAuditRequest {
        subject_id,
        action,
        resource_type,
        resource_id,
        effect,
        approval_id,
        decision_id,
        kind,
        since,
        until,
        page_size,
        page_token,
    } = req;
    let set = |s: String| (!s.is_empty()).then_some(s);
    let kind = kind_filter(set(kind))?;
    let effect = effect_filter(set(effect))?;
    let since = since.map(|t| convert::millis(&t, "since")).transpose()?;
    let until = until.map(|t| convert::millis(&t, "until")).transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(InvalidField::new("until", "must not be before since"));
        }
    }
    let limit = limit(page_size)?;
    let after_seq = audit_query::parse_token(&page_token)
        .ok_or_else(|| InvalidField::new("page_token", "malformed page token"))?;
    Ok(AuditQuery {
        filter: AuditFilter {
            subject_id: set(subject_id),
            action: set(action),
            resource_type: set(resource_type),
            resource_id: set(resource_id),
            effect,
            approval_id: set(approval_id),
            decision_id: set(decision_id),
            kind,
            since,
            until,
        },
        after_seq,
        limit,
    })
}

fn kind_filter(kind: Option<String>) -> Result<Option<AuditKind>, InvalidField> {
    kind.map(|k| {
        AuditKind::parse(&k)
            .ok_or_else(|| InvalidField::new("kind", format!("unknown event kind {k:?}")))
    })
    .transpose()
}

fn effect_filter(effect: Option<String>) -> Result<Option<String>, InvalidField> {
    match effect {
        Some(e) if !audit_query::EFFECTS.contains(&e.as_str()) => Err(InvalidField::new(
            "effect",
            format!("unknown effect {e:?}: use ALLOW, DENY or PENDING_APPROVAL"),
        )),
        other => Ok(other),
    }
}

fn limit(page_size: u32) -> Result<u32, InvalidField> {
    match page_size {
        0 => Ok(audit_query::DEFAULT_PAGE),
        n if n > audit_query::MAX_PAGE => Err(InvalidField::new(
            "page_size",
            format!("at most {}", audit_query::MAX_PAGE),
        )),
        n => Ok(n),
    }
}

/// The wire form of a record: every field.
pub fn record(r: AuditRecord) -> pb::AuditRecord {
    let AuditRecord {
        seq,
        event,
        body,
        prev_hash,
        hash,
    } = r;
    pb::AuditRecord {
        seq,
        id: event.id,
        at: Some(convert::timestamp(event.at)),
        kind: event.kind.as_str().to_string(),
        actor: event.actor,
        subject_id: event.subject_id,
        action: event.action,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        effect: event.effect,
        reasons: event.reasons,
        decision_id: event.decision_id,
        approval_id: event.approval_id,
        capability_id: event.capability_id,
        bundle_revision: event.bundle_revision,
        trace_id: event.trace_id,
        input: Some(convert::to_value(&event.input)),
        detail: Some(convert::to_value(&event.detail)),
        prev_hash,
        hash,
        body,
    }
}

#[tonic::async_trait]
impl pb::audit_server::Audit for AuditService {
    async fn query_audit(
        &self,
        request: Request<pb::QueryAuditRequest>,
    ) -> Result<Response<pb::QueryAuditResponse>, Status> {
        let (caller, _) = identify(&self.auth, &request).await?;
        let q = query(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let page = self
            .tollgate
            .query_audit(&caller, q)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(Response::new(pb::QueryAuditResponse {
            records: page.records.into_iter().map(record).collect(),
            next_page_token: page.next_after.map(audit_query::token).unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn req() -> pb::QueryAuditRequest {
        pb::QueryAuditRequest::default()
    }

    fn field(r: pb::QueryAuditRequest) -> String {
        query(r).unwrap_err().field
    }

    #[test]
    fn defaults_and_filters() {
        let q = query(req()).unwrap();
        assert_eq!((q.after_seq, q.limit), (0, 100));
        assert_eq!(q.filter, AuditFilter::default());
        let q = query(pb::QueryAuditRequest {
            kind: "approval.requested".into(),
            effect: "DENY".into(),
            since: Some(Timestamp {
                seconds: 10,
                nanos: 5_000_000,
            }),
            page_size: 1000,
            page_token: audit_query::token(41),
            ..req()
        })
        .unwrap();
        assert_eq!(q.filter.kind, Some(AuditKind::ApprovalRequested));
        assert_eq!(q.filter.effect.as_deref(), Some("DENY"));
        assert_eq!(q.filter.since, Some(crate::domain::UnixMillis(10_005)));
        assert_eq!((q.after_seq, q.limit), (41, 1000));
    }

    #[test]
    fn bad_fields_are_named() {
        let ts = |seconds, nanos| Some(Timestamp { seconds, nanos });
        assert_eq!(
            field(pb::QueryAuditRequest {
                kind: "x".into(),
                ..req()
            }),
            "kind"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                effect: "allow".into(),
                ..req()
            }),
            "effect"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                since: ts(0, -1),
                ..req()
            }),
            "since"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                until: ts(i64::MAX, 0),
                ..req()
            }),
            "until"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                since: ts(10, 0),
                until: ts(9, 0),
                ..req()
            }),
            "until"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                page_size: 1001,
                ..req()
            }),
            "page_size"
        );
        assert_eq!(
            field(pb::QueryAuditRequest {
                page_token: "nope".into(),
                ..req()
            }),
            "page_token"
        );
    }
}
