//! The Rust SDK (`tollgate::client`) end to end: the whole pause-approve-redeem-run flow with
//! a reviewer's narrowing, and the typed errors for DENY, a reviewer's denial and a wait that
//! runs out.

use std::time::Duration;

use serde_json::json;
use tollgate::{
    client::{Client, ClientError},
    grpc::pb,
};

use crate::common::{self, as_user, eventually, identity, policy_file, static_tokens, strukt};

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "data.export"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports need security"} if input.action.name == "data.export"

deny contains "deleting is not allowed" if input.action.name == "data.delete"
"#;

async fn server() -> common::TestServer {
    common::start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity(
                "agent-token",
                "agent:exporter",
                "agent",
                &["tollgate-executors"],
            ),
            identity("sec-token", "user:sam", "user", &["security"]),
        ]);
    })
    .await
}

fn export(action: &str, rows: u32) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            id: "agent:exporter".into(),
            kind: "agent".into(),
            ..Default::default()
        }),
        action: Some(pb::Action {
            name: action.into(),
            params: strukt(json!({"rows": rows})),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "users".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            intent: "churn analysis".into(),
            ..Default::default()
        }),
    }
}

/// The agent's client of `s`.
async fn agent(s: &common::TestServer) -> Client {
    let url = format!("http://{}", s.running.grpc_addr);
    Client::connect(&url, Some("agent-token".into()))
        .await
        .unwrap()
}

/// As reviewer `sam`: waits for the one pending approval, then decides it.
async fn review(s: &common::TestServer, verdict: pb::Verdict, params: Option<prost_types::Struct>) {
    let mut approvals = pb::approvals_client::ApprovalsClient::new(s.channel.clone());
    let id = eventually("the approval is pending", Duration::from_secs(10), || {
        let mut a = approvals.clone();
        async move {
            let listed = a
                .list_approvals(as_user(
                    "sec-token",
                    pb::ListApprovalsRequest {
                        state: pb::ApprovalState::Pending as i32,
                        ..Default::default()
                    },
                ))
                .await
                .map_err(|e| e.to_string())?
                .into_inner()
                .approvals;
            listed
                .first()
                .map(|a| a.id.clone())
                .ok_or_else(|| "none yet".to_string())
        }
    })
    .await;
    approvals
        .approve(as_user(
            "sec-token",
            pb::ApproveRequest {
                approval_id: id,
                verdict: verdict as i32,
                reason: "reviewed".into(),
                params,
            },
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn run_waits_for_the_reviewer_redeems_and_runs_the_narrowed_request() {
    let s = server().await;
    let client = agent(&s).await;
    let reviewer = review(&s, pb::Verdict::Modify, strukt(json!({"rows": 1000})));
    let (ran, ()) = tokio::join!(
        client.run(
            export("data.export", 5000),
            Duration::from_secs(30),
            |approved| async move { approved }
        ),
        reviewer
    );
    let approved = ran.unwrap();
    let rows = approved.request.action.unwrap().params.unwrap().fields["rows"].clone();
    assert_eq!(
        rows.kind,
        Some(prost_types::value::Kind::NumberValue(1000.0))
    );
    assert!(approved.approval_id.is_some());
    assert_eq!(approved.changes.len(), 1, "{:?}", approved.changes);
    s.stop().await;
}

#[tokio::test]
async fn denials_and_a_wait_that_runs_out_are_typed_errors() {
    let s = server().await;
    let client = agent(&s).await;
    let ran = client
        .run(
            export("data.delete", 1),
            Duration::from_secs(5),
            |_| async { true },
        )
        .await;
    match ran {
        Err(ClientError::Denied {
            reasons,
            approval_id: None,
        }) => {
            assert_eq!(reasons, ["deleting is not allowed"]);
        }
        other => panic!("expected a policy denial, got {other:?}"),
    }

    let reviewer = review(&s, pb::Verdict::Deny, None);
    let (ran, ()) = tokio::join!(
        client.run(
            export("data.export", 7),
            Duration::from_secs(30),
            |_| async { true }
        ),
        reviewer
    );
    assert!(
        matches!(
            ran,
            Err(ClientError::Denied {
                approval_id: Some(_),
                ..
            })
        ),
        "{ran:?}"
    );

    let ran = client
        .run(
            export("data.export", 8),
            Duration::from_millis(200),
            |_| async { true },
        )
        .await;
    assert!(
        matches!(ran, Err(ClientError::WaitTimedOut { .. })),
        "{ran:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn decided_reads_an_approval_without_waiting_pending_approved_or_denied() {
    let s = server().await;
    let client = agent(&s).await;
    let asked = client.authorize(export("data.export", 9)).await.unwrap();
    let id = asked.approval_id;
    assert!(!id.is_empty(), "pending: {:?}", asked.reasons);
    assert!(
        client.decided(&id).await.unwrap().is_none(),
        "still pending"
    );

    review(&s, pb::Verdict::Approve, None).await;
    let approved = client.decided(&id).await.unwrap().expect("decided");
    assert_eq!(approved.state, pb::ApprovalState::Approved as i32);
    assert!(
        !approved.capability.is_empty(),
        "the capability comes with it"
    );
    // A decision already made is answered by a wait with no time left.
    let waited = client.wait(&id, Duration::ZERO).await.unwrap();
    assert_eq!(waited.id, id);

    let denied = client.authorize(export("data.export", 10)).await.unwrap();
    review(&s, pb::Verdict::Deny, None).await;
    match client.decided(&denied.approval_id).await {
        Err(ClientError::Denied {
            approval_id: Some(of),
            ..
        }) => assert_eq!(of, denied.approval_id),
        other => panic!("expected the reviewer's denial, got {other:?}"),
    }
    let unknown = client.decided("01a21e2b-0000-7000-8000-000000000000").await;
    assert!(matches!(unknown, Err(ClientError::Rpc(_))), "{unknown:?}");
    s.stop().await;
}
