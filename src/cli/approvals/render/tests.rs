use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::value::Kind;

use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn ts(secs: u64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp::from(at(secs)))
}

fn requirement(groups: &[&str], quorum: u32, risk: &str) -> pb::ApprovalRequirement {
    pb::ApprovalRequirement {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        quorum,
        ttl: prost_types::Duration::try_from(Duration::from_secs(900)).ok(),
        capability_ttl: prost_types::Duration::try_from(Duration::from_secs(300)).ok(),
        risk: risk.into(),
        step_up: false,
        reason: format!("{} must look", groups.join("+")),
    }
}

fn params() -> prost_types::Struct {
    let mut s = prost_types::Struct::default();
    s.fields.insert(
        "rows".into(),
        prost_types::Value {
            kind: Some(Kind::NumberValue(1200.0)),
        },
    );
    s.fields.insert(
        "database".into(),
        prost_types::Value {
            kind: Some(Kind::StringValue("orders".into())),
        },
    );
    s
}

fn approval() -> pb::Approval {
    pb::Approval {
        original_request: None,
        changes: Vec::new(),
        id: "a-1".into(),
        decision_id: "d-1".into(),
        state: pb::ApprovalState::Pending as i32,
        request: Some(pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                id: "agent:deployer".into(),
                kind: "agent".into(),
                on_behalf_of: "user:alice".into(),
                owner: "team:platform".into(),
                ..Default::default()
            }),
            action: Some(pb::Action {
                name: "db.drop".into(),
                params: Some(params()),
            }),
            resource: Some(pb::Resource {
                r#type: "database".into(),
                id: "orders-eu".into(),
                attributes: None,
            }),
            context: Some(pb::Context {
                intent: "decommission TICKET-9".into(),
                environment: "prod".into(),
                ..Default::default()
            }),
        }),
        requirements: vec![
            requirement(&["sre"], 2, "high"),
            requirement(&["security"], 1, "critical"),
        ],
        reviews: vec![pb::Review {
            reviewer_id: "user:sre1".into(),
            verdict: pb::Verdict::Approve as i32,
            reason: "checked".into(),
            reviewed_at: ts(1_000_060),
        }],
        bundle_revision: "rev-7".into(),
        created_at: ts(1_000_000),
        expires_at: ts(1_000_900),
        ..Default::default()
    }
}

#[test]
fn risk_is_the_worst_label_and_requirements_read_as_groups_times_quorum() {
    let a = approval();
    assert_eq!(max_risk(&a.requirements), "critical");
    assert_eq!(max_risk(&[]), "");
    assert_eq!(
        max_risk(&[requirement(&[], 1, ""), requirement(&[], 1, "odd")]),
        "odd"
    );
    assert_eq!(
        requirements_summary(&a.requirements),
        "sre x2 + security x1"
    );
    assert_eq!(
        requirements_summary(&[requirement(&[], 1, ""), requirement(&["sre", "dba"], 3, "")]),
        "anyone x1 + sre|dba x3"
    );
    assert_eq!(requirements_summary(&[]), "-");
}

#[test]
fn expiry_counts_down_only_while_pending() {
    let mut a = approval();
    assert_eq!(expires_in(&a, at(1_000_000)), "15m");
    assert_eq!(expires_in(&a, at(1_000_001)), "14m 59s");
    assert_eq!(expires_in(&a, at(1_000_901)), "overdue");
    a.state = pb::ApprovalState::Approved as i32;
    assert_eq!(expires_in(&a, at(1_000_000)), "-");
}

#[test]
fn a_list_row_names_every_column() {
    let row = list_row(&approval(), at(1_000_000));
    assert_eq!(row.len(), LIST_HEADER.len());
    assert_eq!(
        row,
        [
            "a-1",
            "pending",
            "agent:deployer",
            "user:alice",
            "db.drop",
            "database/orders-eu",
            "critical",
            "sre x2 + security x1",
            "1",
            "1970-01-12T13:46:40Z",
            "15m",
        ]
    );
}

#[test]
fn tables_align_columns_without_trailing_spaces() {
    let out = table(
        &["A", "BB"],
        &[
            vec!["long cell".into(), "x".into()],
            vec!["y".into(), String::new()],
        ],
    );
    assert_eq!(out, "A          BB\nlong cell  x\ny\n");
}

#[test]
fn list_text_says_when_nothing_matches_and_prints_the_next_page() {
    let empty = pb::ListApprovalsResponse::default();
    assert_eq!(list_text(&empty, at(0)), "no approval requests match\n");
    let page = pb::ListApprovalsResponse {
        approvals: vec![approval()],
        next_page_token: "p2".into(),
    };
    let out = list_text(&page, at(1_000_000));
    assert!(out.starts_with("ID   STATE    REQUESTER"), "{out}");
    assert!(out.ends_with("next page: --page-token p2\n"), "{out}");
}

#[test]
fn show_gives_the_reviewer_the_whole_context_but_hides_the_capability() {
    let mut a = approval();
    a.capability = "v4.public.secret".into();
    a.capability_expires_at = ts(1_001_200);
    let number = |n: f64| prost_types::Value {
        kind: Some(Kind::NumberValue(n)),
    };
    a.changes = vec![pb::ParamChange {
        path: "action.params.rows".into(),
        before: Some(number(250_000.0)),
        after: Some(number(1200.0)),
    }];
    let out = show_text(&a, at(1_000_000), false);
    for needle in [
        "requester     agent:deployer",
        "on behalf of  user:alice",
        "owner         team:platform",
        "intent        decommission TICKET-9",
        "environment   prod",
        "bundle        rev-7",
        "    \"rows\": 1200",
        "resource      database/orders-eu",
        "  1. sre x2  risk high  step-up no  ttl 15m  capability ttl 5m",
        "     reason: sre must look",
        "  2. security x1  risk critical",
        "user:sre1  approve  \"checked\"",
        "state         pending, expires in 15m (at 1970-01-12T14:01:40Z)",
        "(hidden; pass --show-capability)",
        "  action.params.rows: 250000 -> 1200",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(!out.contains("v4.public.secret"));
    assert!(show_text(&a, at(1_000_000), true).contains("capability    v4.public.secret"));
}

#[test]
fn review_text_says_what_is_still_needed() {
    let a = approval();
    let out = review_text(&a, at(1_000_000));
    assert!(out.starts_with("approval a-1: pending"), "{out}");
    assert!(out.contains("needs: sre x2 + security x1"), "{out}");
    assert!(
        out.contains("approvals so far: 1 (user:sre1); at least 2 more needed"),
        "{out}"
    );

    let mut denied = approval();
    denied.state = pb::ApprovalState::Denied as i32;
    denied.reviews[0].verdict = pb::Verdict::Deny as i32;
    assert_eq!(
        review_text(&denied, at(0)),
        "approval a-1: denied\ndenied by user:sre1: checked\n"
    );
}

#[test]
fn json_keeps_numbers_whole_and_the_capability_out_unless_asked() {
    let mut a = approval();
    a.capability = "v4.public.secret".into();
    let j = approval_json(&a, false);
    assert_eq!(j["request"]["action"]["params"]["rows"], json!(1200));
    assert_eq!(j["state"], "pending");
    assert_eq!(j["risk"], "critical");
    assert_eq!(j["requirements"][0]["ttl"], "15m");
    assert_eq!(j["reviews"][0]["verdict"], "approve");
    assert!(j.get("capability").is_none());
    assert_eq!(approval_json(&a, true)["capability"], "v4.public.secret");
    assert_eq!(struct_json(None), json!({}));
}

#[test]
fn status_codes_read_as_words() {
    assert_eq!(code_name(Code::PermissionDenied), "permission denied");
    assert_eq!(code_name(Code::InvalidArgument), "invalid argument");
}

#[test]
fn enum_values_read_as_words_including_ones_added_later() {
    assert_eq!(state_name(pb::ApprovalState::Cancelled), "cancelled");
    assert_eq!(state_name(pb::ApprovalState::Unspecified), "unknown");
    assert_eq!(word("VERDICT_MODIFY", "VERDICT_"), "modify");
}
