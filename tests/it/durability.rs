//! kill -9 loses nothing answered: pending approvals, reviews and issued capabilities survive
//! a SIGKILL of the real binary, and deadlines are still enforced after the restart.

use std::time::{Duration, SystemTime};

use crate::common::{as_user, kill9, orders_request, serve_dir, write_serve_dir, Process};
use tollgate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient, ApprovalState,
    Effect, Verdict,
};

const POLICY: &str = r#"package tollgate

approval contains {"groups": ["sre"], "quorum": 2, "ttl": "15m", "capability_ttl": "10m",
	"reason": "two SREs"} if input.action.name == "db.drop"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "2s", "capability_ttl": "10m",
	"reason": "quick look"} if input.action.name == "db.vacuum"
"#;

/// The server's configuration with `audit.durability` set to `durability`.
fn config(durability: &str) -> String {
    format!(
        "grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
log:
  format: json
audit:
  durability: {durability}
auth:
  mode: static_tokens
  tokens:
    - {{token: agent, id: \"agent:deployer\", kind: agent}}
    - {{token: sre1, id: \"user:sre1\", kind: user, groups: [sre]}}
    - {{token: sre2, id: \"user:sre2\", kind: user, groups: [sre]}}
    - {{token: executor, id: \"service:executor\", kind: service, groups: [tollgate-executors]}}
"
    )
}

async fn ask(s: &Process, action: &str, rid: &str) -> pb::AuthorizeResponse {
    let r = AuthorizerClient::new(s.channel.clone())
        .authorize(as_user("agent", orders_request(action, rid)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval);
    r
}

async fn approve(s: &Process, who: &str, id: &str) -> Result<pb::Approval, tonic::Status> {
    ApprovalsClient::new(s.channel.clone())
        .approve(as_user(
            who,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: Verdict::Approve as i32,
                reason: "ok".into(),
                params: None,
            },
        ))
        .await
        .map(|r| r.into_inner())
}

async fn get(s: &Process, id: &str) -> pb::Approval {
    ApprovalsClient::new(s.channel.clone())
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: id.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_approval_review_or_capability() {
    sigkill_loses_nothing("power").await;
}

/// The same with `durability: process` (no fsync before the answer): kill -9 still loses
/// nothing answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_approval_review_or_capability_with_process_durability() {
    sigkill_loses_nothing("process").await;
}

async fn sigkill_loses_nothing(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    write_serve_dir(dir.path(), POLICY, &config(durability));

    let first = serve_dir(dir.path()).await;
    let untouched = ask(&first, "db.drop", "a").await.approval_id;
    let half = ask(&first, "db.drop", "b").await.approval_id;
    approve(&first, "sre1", &half).await.unwrap();
    let done = ask(&first, "db.drop", "c").await.approval_id;
    approve(&first, "sre1", &done).await.unwrap();
    approve(&first, "sre2", &done).await.unwrap();
    let token = get(&first, &done).await.capability;
    assert!(!token.is_empty());
    let short = ask(&first, "db.vacuum", "d").await;
    // Its 2 s deadline runs from creation, which was before this instant.
    let asked_at = SystemTime::now();

    // Every answer above was given; now the process dies without any chance to flush.
    let mut first = first;
    kill9(&mut first);

    let second = serve_dir(dir.path()).await;
    assert_eq!(
        get(&second, &untouched).await.state(),
        ApprovalState::Pending
    );
    let h = get(&second, &half).await;
    assert_eq!((h.state(), h.reviews.len()), (ApprovalState::Pending, 1));
    let d = get(&second, &done).await;
    assert_eq!(d.state(), ApprovalState::Approved);
    // The same idempotency key still finds the same approval.
    assert_eq!(ask(&second, "db.drop", "a").await.approval_id, untouched);
    // The review recorded before the crash still counts: one more completes it.
    assert_eq!(
        approve(&second, "sre2", &half).await.unwrap().state(),
        ApprovalState::Approved
    );

    // The capability issued before the crash redeems once, with the same signing key.
    let mut exact = orders_request("db.drop", "c");
    exact.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        ..Default::default()
    });
    let redeem = |req: pb::AuthorizeRequest| {
        let channel = second.channel.clone();
        let token = token.clone();
        async move {
            ApprovalsClient::new(channel)
                .redeem_capability(as_user(
                    "executor",
                    pb::RedeemCapabilityRequest {
                        capability: token,
                        request: Some(req),
                    },
                ))
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert!(redeem(exact.clone()).await.allowed);
    assert!(!redeem(exact).await.allowed);

    // The 2 s deadline set before the crash is still enforced after it.
    let left = Duration::from_secs(2).saturating_sub(asked_at.elapsed().unwrap_or_default());
    tokio::time::sleep(left + Duration::from_millis(100)).await; // the deadline itself, not a sync
    assert_eq!(
        get(&second, &short.approval_id).await.state(),
        ApprovalState::Expired
    );
    let err = approve(&second, "sre1", &short.approval_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
}
