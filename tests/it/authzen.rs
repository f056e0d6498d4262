//! The AuthZEN Authorization API 1.0 on the HTTP port, black-box: the specification's own
//! request and response examples (evaluation, the three evaluations semantics, defaults,
//! metadata), its error statuses, and the pause-approve-redeem flow in the spirit of the
//! access-request profile draft.

use serde_json::{json, Value};
use tollgate::grpc::pb;

use crate::common::{self, as_user, http_get, http_post, identity, policy_file, static_tokens};

/// `read` (and `can_read`) is allowed on everything but document 2; `data.export` needs a
/// security approval and a capability.
const POLICY: &str = r#"package tollgate

default allow := false

allow if {
	input.action.name in {"read", "can_read", "can_edit"}
	input.resource.id != "2"
}

obligations contains {"type": "capability"} if input.action.name == "data.export"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports need security"} if input.action.name == "data.export"

deny contains "deleting documents is not allowed" if input.action.name == "delete"
"#;

/// The PEP: a gateway that may ask about other subjects and redeems capabilities.
fn pep() -> tollgate::identity::TokenIdentity {
    tollgate::identity::TokenIdentity {
        assert_subjects: true,
        ..identity(
            "pep-token",
            "service:pep",
            "service",
            &["tollgate-executors"],
        )
    }
}

async fn server() -> common::TestServer {
    common::start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            pep(),
            identity("alice-token", "user:alice@example.com", "user", &[]),
            identity("sec-token", "user:sam", "user", &["security"]),
        ]);
    })
    .await
}

async fn post(
    s: &common::TestServer,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, String, Value) {
    let auth = format!("Bearer {token}");
    let (status, head, body) = http_post(
        s.running.http_addr,
        path,
        &[("Authorization", &auth), ("X-Request-ID", "bfe9eb29-ab87")],
        &body,
    )
    .await;
    (status, head, serde_json::from_str(&body).unwrap())
}

/// Just the `decision` members of an evaluations answer.
fn decisions(answer: &Value) -> Vec<bool> {
    answer["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_bool().unwrap())
        .collect()
}

fn three_documents(semantic: &str) -> Value {
    json!({
        "subject": {"type": "user", "id": "alice@example.com"},
        "action": {"name": "read"},
        "options": {"evaluations_semantic": semantic},
        "evaluations": [
            {"resource": {"type": "document", "id": "1"}},
            {"resource": {"type": "document", "id": "2"}},
            {"resource": {"type": "document", "id": "3"}}
        ]
    })
}

#[tokio::test]
async fn the_specification_examples_are_answered_as_specified() {
    let s = server().await;
    // Access Evaluation API: "Example Request", answered with a Decision.
    let (status, head, answer) = post(
        &s,
        "/access/v1/evaluation",
        "pep-token",
        json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "resource": {"type": "account", "id": "123"},
            "action": {"name": "can_read", "properties": {"method": "GET"}},
            "context": {"time": "1985-10-26T01:22-07:00"}
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], true);
    assert!(head.contains("x-request-id: bfe9eb29-ab87"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");

    // Evaluations semantics: the three responses of the specification's example.
    for (semantic, want) in [
        ("execute_all", vec![true, false, true]),
        ("deny_on_first_deny", vec![true, false]),
        ("permit_on_first_permit", vec![true]),
    ] {
        let (status, _, answer) = post(
            &s,
            "/access/v1/evaluations",
            "pep-token",
            three_documents(semantic),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(decisions(&answer), want, "{semantic}: {answer}");
    }
    // No semantic is execute_all; defaults are overridden per item.
    let (_, _, answer) = post(
        &s,
        "/access/v1/evaluations",
        "pep-token",
        json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "context": {"time": "2024-05-31T15:22-07:00"},
            "action": {"name": "can_read"},
            "evaluations": [
                {"resource": {"type": "document", "id": "boxcarring.md"}},
                {"resource": {"type": "document", "id": "2"}},
                {"action": {"name": "delete"}, "resource": {"type": "document", "id": "resource-search.md"}}
            ]
        }),
    )
    .await;
    assert_eq!(decisions(&answer), [true, false, false]);
    assert_eq!(
        answer["evaluations"][2]["context"]["reasons"],
        json!(["deleting documents is not allowed"])
    );
    // Without items, an evaluations request is a single evaluation.
    let (_, _, answer) = post(
        &s,
        "/access/v1/evaluations",
        "pep-token",
        json!({"subject": {"type": "user", "id": "alice@example.com"},
               "action": {"name": "read"}, "resource": {"type": "document", "id": "2"}}),
    )
    .await;
    assert_eq!(answer["decision"], false);
    s.stop().await;
}

#[tokio::test]
async fn payload_errors_are_http_errors_and_item_errors_are_denials() {
    let s = server().await;
    let good = json!({"subject": {"type": "user", "id": "alice@example.com"},
                      "action": {"name": "read"}, "resource": {"type": "document", "id": "1"}});
    let mut no_type = good.clone();
    no_type["subject"].as_object_mut().unwrap().remove("type");
    let (status, _, body) = post(&s, "/access/v1/evaluation", "pep-token", no_type.clone()).await;
    assert_eq!((status, body), (400, json!("subject.type: is required")));
    let mut bad_kind = good.clone();
    bad_kind["subject"]["type"] = json!("robot");
    let (status, _, body) = post(&s, "/access/v1/evaluation", "pep-token", bad_kind).await;
    assert_eq!(status, 400);
    assert!(
        body.as_str()
            .unwrap()
            .starts_with("subject.type: must be one of"),
        "{body}"
    );

    let (status, _, body) = post(&s, "/access/v1/evaluation", "wrong-token", good.clone()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.is_string());
    // A caller that is not a gateway may only ask about itself.
    let mut bob = good.clone();
    bob["subject"]["id"] = json!("bob@example.com");
    let (status, _, _) = post(&s, "/access/v1/evaluation", "alice-token", bob).await;
    assert_eq!(status, 403);
    let (status, _, answer) = post(&s, "/access/v1/evaluation", "alice-token", good.clone()).await;
    assert_eq!((status, &answer["decision"]), (200, &json!(true)));

    // In a boxcar, the bad item is a denial carrying its error; the others are decided.
    let (status, _, answer) = post(
        &s,
        "/access/v1/evaluations",
        "pep-token",
        json!({"evaluations": [good, no_type]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(decisions(&answer), [true, false]);
    assert_eq!(
        answer["evaluations"][1]["context"]["error"],
        json!({"status": 400, "message": "subject.type: is required"})
    );
    let (status, _, body) = post(
        &s,
        "/access/v1/evaluations",
        "pep-token",
        json!({"options": {"evaluations_semantic": "sometimes"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn a_pending_decision_names_the_approval_and_its_capability_redeems_once() {
    let s = server().await;
    let export = json!({
        "subject": {"type": "agent", "id": "agent:exporter", "properties": {"on_behalf_of": "user:alice@example.com"}},
        "action": {"name": "data.export", "properties": {"rows": 5000}},
        "resource": {"type": "dataset", "id": "users-eu"},
        "context": {"intent": "churn analysis", "request_id": "authzen-1"}
    });
    let (status, _, answer) = post(&s, "/access/v1/evaluation", "pep-token", export.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], false);
    let ctx = &answer["context"];
    assert_eq!(ctx["reason"], "approval_required");
    let request = &ctx["access_request"];
    assert_eq!(request["requestable"], true);
    assert_eq!(request["status"], "pending");
    let id = request["approval_id"].as_str().unwrap().to_string();
    assert_eq!(
        request["approval_url"],
        format!("http://{}/console/approvals/{id}", s.running.http_addr)
    );
    assert_eq!(
        request["wait"]["grpc"],
        "tollgate.v1.Approvals/WaitForDecision"
    );

    let mut approvals = pb::approvals_client::ApprovalsClient::new(s.channel.clone());
    let approved = approvals
        .approve(as_user(
            "sec-token",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: pb::Verdict::Approve as i32,
                reason: "ticket checked".into(),
                params: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state, pb::ApprovalState::Approved as i32);
    // The PEP asked, so the PEP holds the capability.
    let capability = approvals
        .get_approval(as_user(
            "pep-token",
            pb::GetApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .capability;
    assert!(!capability.is_empty());

    // Presented for a different request: refused, and not consumed.
    let mut other = export.clone();
    other["action"]["properties"]["rows"] = json!(50000);
    other["context"]["capability"] = json!(capability);
    let (_, _, answer) = post(&s, "/access/v1/evaluation", "pep-token", other).await;
    assert_eq!(answer["decision"], false, "{answer}");
    assert_eq!(
        answer["context"]["reason"],
        "capability is bound to a different request"
    );

    let mut retry = export.clone();
    retry["context"]["capability"] = json!(capability);
    let (_, _, answer) = post(&s, "/access/v1/evaluation", "pep-token", retry.clone()).await;
    assert_eq!(answer["decision"], true, "{answer}");
    assert_eq!(answer["context"]["approval_id"], id.as_str());
    let (_, _, answer) = post(&s, "/access/v1/evaluation", "pep-token", retry).await;
    assert_eq!(answer["decision"], false, "{answer}");
    assert_eq!(answer["context"]["reason"], "capability already redeemed");
    s.stop().await;
}

#[tokio::test]
async fn every_evaluation_request_is_timed_under_its_surface() {
    let s = server().await;
    let one = json!({
        "subject": {"type": "user", "id": "alice@example.com"},
        "resource": {"type": "account", "id": "123"},
        "action": {"name": "can_read"}
    });
    for _ in 0..3 {
        let (status, _, answer) = post(&s, "/access/v1/evaluation", "pep-token", one.clone()).await;
        assert_eq!(status, 200, "{answer}");
    }
    let many = three_documents("execute_all");
    let (status, _, answer) = post(&s, "/access/v1/evaluations", "pep-token", many).await;
    assert_eq!(status, 200, "{answer}");
    let (_, metrics) = http_get(s.running.http_addr, "/metrics").await;
    for (surface, want) in [("authzen", 4.0), ("authorize", 0.0), ("ext_authz", 0.0)] {
        let series = format!(r#"tollgate_decision_duration_seconds_count{{surface="{surface}"}}"#);
        assert_eq!(
            common::metric(&metrics, &series),
            Some(want),
            "{series}\n{metrics}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn the_metadata_names_the_endpoints() {
    let s = server().await;
    let (status, body) =
        common::http_get(s.running.http_addr, "/.well-known/authzen-configuration").await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).unwrap();
    let base = format!("http://{}", s.running.http_addr);
    assert_eq!(meta["policy_decision_point"], base.as_str());
    assert_eq!(
        meta["access_evaluation_endpoint"],
        format!("{base}/access/v1/evaluation")
    );
    assert_eq!(
        meta["access_evaluations_endpoint"],
        format!("{base}/access/v1/evaluations")
    );
    s.stop().await;
}
