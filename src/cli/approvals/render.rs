//! Approvals as people and scripts read them. Pure functions: no I/O and no clock reads (the
//! caller passes `now`), so every line the reviewer sees is unit tested without a server.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value as Json};
use tonic::Code;

use crate::grpc::pb;

/// The columns of `approvals list`.
pub const LIST_HEADER: [&str; 11] = [
    "ID",
    "STATE",
    "REQUESTER",
    "ON-BEHALF-OF",
    "ACTION",
    "RESOURCE",
    "RISK",
    "REQUIRES",
    "REVIEWS",
    "CREATED",
    "EXPIRES IN",
];

/// A status code as words, e.g. `permission denied`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A state as one lower-case word, e.g. `pending`.
pub fn state_name(state: pb::ApprovalState) -> String {
    word(state.as_str_name(), "APPROVAL_STATE_")
}

/// A verdict as one lower-case word, e.g. `approve`.
fn verdict_name(verdict: pb::Verdict) -> String {
    word(verdict.as_str_name(), "VERDICT_")
}

/// `APPROVAL_STATE_PENDING` -> `pending`; values added to the proto later read the same way.
fn word(proto_name: &str, prefix: &str) -> String {
    match proto_name.trim_start_matches(prefix) {
        "UNSPECIFIED" => "unknown".into(),
        rest => rest.to_ascii_lowercase(),
    }
}

/// Orders risk labels so the list shows the worst; unknown labels rank above none.
fn risk_rank(risk: &str) -> u8 {
    match risk.to_ascii_lowercase().as_str() {
        "" => 0,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 1,
    }
}

/// The highest risk any requirement carries, or "" when none names one.
pub fn max_risk(requirements: &[pb::ApprovalRequirement]) -> &str {
    requirements
        .iter()
        .map(|r| r.risk.as_str())
        .max_by_key(|r| risk_rank(r))
        .unwrap_or("")
}

/// Who must approve, e.g. `sre x2 + security x1`; a requirement open to any reviewer reads
/// `anyone`, several groups read `sre|dba`.
pub fn requirements_summary(requirements: &[pb::ApprovalRequirement]) -> String {
    if requirements.is_empty() {
        return "-".into();
    }
    requirements
        .iter()
        .map(|r| format!("{} x{}", groups(r), r.quorum))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn groups(r: &pb::ApprovalRequirement) -> String {
    if r.groups.is_empty() {
        "anyone".into()
    } else {
        r.groups.join("|")
    }
}

fn time(ts: Option<&prost_types::Timestamp>) -> Option<SystemTime> {
    ts.and_then(|t| SystemTime::try_from(*t).ok())
}

fn rfc3339(ts: Option<&prost_types::Timestamp>) -> String {
    time(ts).map_or_else(
        || "-".into(),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

fn duration(d: Option<&prost_types::Duration>) -> String {
    d.and_then(|d| Duration::try_from(*d).ok())
        .map_or_else(|| "-".into(), |d| humantime::format_duration(d).to_string())
}

/// How long a pending request has left, whole seconds (`14m 59s`); `overdue` once past its
/// deadline, `-` when it is no longer pending.
pub fn expires_in(approval: &pb::Approval, now: SystemTime) -> String {
    if approval.state() != pb::ApprovalState::Pending {
        return "-".into();
    }
    match time(approval.expires_at.as_ref()).map(|t| t.duration_since(now)) {
        Some(Ok(left)) => {
            humantime::format_duration(Duration::from_secs(left.as_secs())).to_string()
        }
        Some(Err(_)) => "overdue".into(),
        None => "-".into(),
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// The request under review with every part present (missing parts read as empty).
fn parts(approval: &pb::Approval) -> (pb::Subject, pb::Action, pb::Resource, pb::Context) {
    let r = approval.request.clone().unwrap_or_default();
    (
        r.subject.unwrap_or_default(),
        r.action.unwrap_or_default(),
        r.resource.unwrap_or_default(),
        r.context.unwrap_or_default(),
    )
}

fn resource_name(resource: &pb::Resource) -> String {
    if resource.id.is_empty() {
        resource.r#type.clone()
    } else {
        format!("{}/{}", resource.r#type, resource.id)
    }
}

/// One `list` row, in [`LIST_HEADER`] order.
pub fn list_row(approval: &pb::Approval, now: SystemTime) -> Vec<String> {
    let (subject, action, resource, _) = parts(approval);
    vec![
        approval.id.clone(),
        state_name(approval.state()),
        or_dash(&subject.id).into(),
        or_dash(&subject.on_behalf_of).into(),
        action.name,
        resource_name(&resource),
        or_dash(max_risk(&approval.requirements)).into(),
        requirements_summary(&approval.requirements),
        approval.reviews.len().to_string(),
        rfc3339(approval.created_at.as_ref()),
        expires_in(approval, now),
    ]
}

/// Left-aligned columns two spaces apart, no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// `approvals list` for people: the table, then the next page's token if there is one.
pub fn list_text(page: &pb::ListApprovalsResponse, now: SystemTime) -> String {
    let mut out = if page.approvals.is_empty() {
        "no approval requests match\n".to_string()
    } else {
        let rows: Vec<Vec<String>> = page.approvals.iter().map(|a| list_row(a, now)).collect();
        table(&LIST_HEADER, &rows)
    };
    if !page.next_page_token.is_empty() {
        out += &format!("next page: --page-token {}\n", page.next_page_token);
    }
    out
}

fn field(label: &str, value: &str) -> String {
    format!("{label:<14}{}", or_dash(value))
}

/// A JSON object indented under a label, or `(none)`.
fn block(label: &str, value: Option<&prost_types::Struct>) -> Vec<String> {
    match value.filter(|s| !s.fields.is_empty()) {
        None => vec![field(label, "(none)")],
        Some(s) => {
            let text = serde_json::to_string_pretty(&struct_json(Some(s))).unwrap_or_default();
            let mut lines = vec![label.to_string()];
            lines.extend(text.lines().map(|l| format!("    {l}")));
            lines
        }
    }
}

fn state_line(approval: &pb::Approval, now: SystemTime) -> String {
    let state = state_name(approval.state());
    if approval.state() == pb::ApprovalState::Pending {
        format!(
            "{state}, expires in {} (at {})",
            expires_in(approval, now),
            rfc3339(approval.expires_at.as_ref())
        )
    } else {
        state
    }
}

/// `approvals show` for people: who asks, for what, why, what the policy requires and who
/// has answered. The capability token only with `show_capability`.
pub fn show_text(approval: &pb::Approval, now: SystemTime, show_capability: bool) -> String {
    let (subject, action, resource, context) = parts(approval);
    let mut lines = vec![
        field("approval", &approval.id),
        field("state", &state_line(approval, now)),
        field("created", &rfc3339(approval.created_at.as_ref())),
        field("decision", &approval.decision_id),
        field("bundle", &approval.bundle_revision),
        String::new(),
        field("requester", &subject.id),
        field("kind", &subject.kind),
        field("owner", &subject.owner),
        field("on behalf of", &subject.on_behalf_of),
        field("groups", &subject.groups.join(", ")),
        field("intent", &context.intent),
        field("environment", &context.environment),
        field("request id", &context.request_id),
        String::new(),
        field("action", &action.name),
    ];
    lines.extend(block("params", action.params.as_ref()));
    lines.push(field("resource", &resource_name(&resource)));
    lines.extend(block("attributes", resource.attributes.as_ref()));
    lines.extend(changes(approval));
    lines.push(String::new());
    lines.push(
        "what the policy said (every requirement must be met; a reviewer counts once):".into(),
    );
    for (i, r) in approval.requirements.iter().enumerate() {
        lines.push(format!(
            "  {}. {} x{}  risk {}  step-up {}  ttl {}  capability ttl {}",
            i + 1,
            groups(r),
            r.quorum,
            or_dash(&r.risk),
            if r.step_up { "yes" } else { "no" },
            duration(r.ttl.as_ref()),
            duration(r.capability_ttl.as_ref()),
        ));
        lines.push(format!("     reason: {}", or_dash(&r.reason)));
    }
    lines.push(String::new());
    lines.push(format!("reviews ({}):", approval.reviews.len()));
    if approval.reviews.is_empty() {
        lines.push("  none yet".into());
    }
    for r in &approval.reviews {
        lines.push(format!(
            "  {}  {}  {}  {:?}",
            rfc3339(r.reviewed_at.as_ref()),
            r.reviewer_id,
            verdict_name(r.verdict()),
            r.reason
        ));
    }
    if !approval.capability.is_empty() {
        lines.push(String::new());
        let token = if show_capability {
            approval.capability.as_str()
        } else {
            "(hidden; pass --show-capability)"
        };
        lines.push(field("capability", token));
        lines.push(field(
            "cap. expires",
            &rfc3339(approval.capability_expires_at.as_ref()),
        ));
    }
    lines.join("\n") + "\n"
}

/// What a reviewer narrowed, `path: before -> after`, so the requester sees the diff.
fn changes(approval: &pb::Approval) -> Vec<String> {
    if approval.changes.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["narrowed by a reviewer (asked -> approved):".to_string()];
    for c in &approval.changes {
        let show = |v: Option<&prost_types::Value>| {
            v.map_or(Json::Null, crate::grpc::convert::value_json)
                .to_string()
        };
        lines.push(format!(
            "  {}: {} -> {}",
            c.path,
            show(c.before.as_ref()),
            show(c.after.as_ref())
        ));
    }
    lines
}

/// After `approve`/`deny`: the resulting state and, while pending, what is still needed.
/// Each reviewer fills one requirement slot, so the slots left are at least the quorum total
/// minus the approvals so far (the server's tally is the authority).
pub fn review_text(approval: &pb::Approval, now: SystemTime) -> String {
    let mut out = format!("approval {}: {}\n", approval.id, state_line(approval, now));
    let approvers: Vec<&str> = approval
        .reviews
        .iter()
        .filter(|r| r.verdict() == pb::Verdict::Approve)
        .map(|r| r.reviewer_id.as_str())
        .collect();
    match approval.state() {
        pb::ApprovalState::Pending => {
            let slots: u32 = approval.requirements.iter().map(|r| r.quorum).sum();
            let given = u32::try_from(approvers.len()).unwrap_or(u32::MAX);
            out += &format!(
                "needs: {} (a reviewer counts once)\n",
                requirements_summary(&approval.requirements)
            );
            out += &format!(
                "approvals so far: {} ({}); at least {} more needed\n",
                approvers.len(),
                or_dash(&approvers.join(", ")),
                slots.saturating_sub(given).max(1)
            );
        }
        pb::ApprovalState::Denied => {
            for r in approval
                .reviews
                .iter()
                .filter(|r| r.verdict() == pb::Verdict::Deny)
            {
                out += &format!("denied by {}: {}\n", r.reviewer_id, r.reason);
            }
        }
        _ => {
            if !approvers.is_empty() {
                out += &format!("approved by: {}\n", approvers.join(", "));
            }
        }
    }
    out
}

/// `list --output json`.
pub fn list_json(page: &pb::ListApprovalsResponse) -> Json {
    json!({
        "approvals": page.approvals.iter().map(|a| approval_json(a, false)).collect::<Vec<_>>(),
        "next_page_token": page.next_page_token,
    })
}

/// An approval as JSON, with the capability token only when `show_capability`.
pub fn approval_json(approval: &pb::Approval, show_capability: bool) -> Json {
    let (subject, action, resource, context) = parts(approval);
    let requirements: Vec<Json> = approval
        .requirements
        .iter()
        .map(|r| {
            json!({
                "groups": r.groups,
                "quorum": r.quorum,
                "risk": r.risk,
                "step_up": r.step_up,
                "ttl": duration(r.ttl.as_ref()),
                "capability_ttl": duration(r.capability_ttl.as_ref()),
                "reason": r.reason,
            })
        })
        .collect();
    let reviews: Vec<Json> = approval
        .reviews
        .iter()
        .map(|r| {
            json!({
                "reviewer_id": r.reviewer_id,
                "verdict": verdict_name(r.verdict()),
                "reason": r.reason,
                "reviewed_at": rfc3339(r.reviewed_at.as_ref()),
            })
        })
        .collect();
    let mut out = json!({
        "id": approval.id,
        "decision_id": approval.decision_id,
        "state": state_name(approval.state()),
        "request": {
            "subject": {
                "id": subject.id,
                "kind": subject.kind,
                "on_behalf_of": subject.on_behalf_of,
                "owner": subject.owner,
                "groups": subject.groups,
                "attributes": struct_json(subject.attributes.as_ref()),
            },
            "action": { "name": action.name, "params": struct_json(action.params.as_ref()) },
            "resource": {
                "type": resource.r#type,
                "id": resource.id,
                "attributes": struct_json(resource.attributes.as_ref()),
            },
            "context": {
                "intent": context.intent,
                "environment": context.environment,
                "request_id": context.request_id,
                "attributes": struct_json(context.attributes.as_ref()),
            },
        },
        "risk": max_risk(&approval.requirements),
        "requirements": requirements,
        "reviews": reviews,
        "bundle_revision": approval.bundle_revision,
        "created_at": rfc3339(approval.created_at.as_ref()),
        "expires_at": rfc3339(approval.expires_at.as_ref()),
    });
    if show_capability && !approval.capability.is_empty() {
        out["capability"] = json!(approval.capability);
        out["capability_expires_at"] = json!(rfc3339(approval.capability_expires_at.as_ref()));
    }
    out
}

/// A proto `Struct` as a JSON object (`{}` when absent); whole numbers print without `.0`.
pub fn struct_json(value: Option<&prost_types::Struct>) -> Json {
    crate::grpc::convert::struct_json(value)
}

#[cfg(test)]
mod tests;
