//! The approval workflow end to end over gRPC: request -> pending -> reviews -> capability ->
//! redemption, and every way it must refuse.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::common::*;
use tokio_stream::StreamExt;
use tollgate::grpc::pb::{self, approvals_client::ApprovalsClient, ApprovalState, Effect, Verdict};
use tonic::{transport::Channel, Code};

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"

allow if input.action.name == "probe.write"

obligations contains {"type": "capability"} if input.action.name == "probe.write"

approval contains {"groups": ["sre"], "quorum": 2, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "reason": "dropping a database needs two SREs"} if input.action.name == "db.drop"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "security reviews every secret move"} if input.action.name == "db.drop"

allow if input.action.name == "data.export"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports over 1000 rows need an SRE"} if {
	input.action.name == "data.export"
	input.action.params.rows > 1000
}

deny contains "exports under 100 rows go through the self-service tool" if {
	input.action.name == "data.export"
	input.action.params.rows < 100
}
"#;

/// A manual clock starting now.
fn clock() -> (Arc<AtomicU64>, tollgate::approval::Clock) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let t = Arc::new(AtomicU64::new(now));
    let read = t.clone();
    (
        t,
        Arc::new(move || UNIX_EPOCH + Duration::from_millis(read.load(Ordering::SeqCst))),
    )
}

async fn server(clock: tollgate::approval::Clock) -> TestServer {
    start_with_clock(
        policy_file(POLICY),
        |c| {
            c.auth = static_tokens(vec![
                identity("agent", "agent:deployer", "agent", &[]),
                identity("sre1", "user:sre1", "user", &["sre"]),
                identity("sre2", "user:sre2", "user", &["sre"]),
                // `user:sre1` with a Cyrillic `ѕ`: a look-alike, never a reader in its place.
                identity("sre1-look", "user:\u{455}re1", "user", &["sre"]),
                identity("sec", "user:sec", "user", &["security"]),
                identity("both", "user:both", "user", &["sre", "security"]),
                identity("alice", "user:alice", "user", &["sre", "security"]),
                identity("lead", "user:lead", "user", &["sre", "team:platform"]),
                identity("bot", "service:bot", "service", &["sre"]),
                identity("outsider", "user:mallory", "user", &["marketing"]),
                identity(
                    "executor",
                    "service:executor",
                    "service",
                    &["tollgate-executors"],
                ),
            ])
        },
        clock,
    )
    .await
}

/// The request as the agent's verified identity makes it (what approvals are bound to).
fn bound(mut r: pb::AuthorizeRequest) -> pb::AuthorizeRequest {
    let s = r.subject.as_mut().unwrap();
    s.id = "agent:deployer".into();
    s.kind = "agent".into();
    s.owner = "team:platform".into();
    r
}

async fn pending(server: &TestServer, request_id: &str) -> String {
    let r = server
        .authorizer()
        .authorize(as_user("agent", drop_request(request_id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    assert!(!r.approval_id.is_empty());
    r.approval_id
}

fn approvals(server: &TestServer) -> ApprovalsClient<Channel> {
    ApprovalsClient::new(server.channel.clone())
}

async fn review(
    server: &TestServer,
    who: &str,
    id: &str,
    verdict: Verdict,
) -> Result<pb::Approval, tonic::Status> {
    let answer = approvals(server)
        .approve(as_user(
            who,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: verdict as i32,
                reason: format!("{who} checked the ticket"),
                params: None,
            },
        ))
        .await
        .map(|r| r.into_inner());
    answer_is_as_stored(server, who, answer).await
}

/// A reviewer's answer is the approval as stored once the review committed (the answer is
/// built from what the review's transaction wrote, not read again): the same reviewer reading
/// it straight after sees exactly the same.
async fn answer_is_as_stored(
    server: &TestServer,
    who: &str,
    answer: Result<pb::Approval, tonic::Status>,
) -> Result<pb::Approval, tonic::Status> {
    if let Ok(answer) = &answer {
        let stored = approvals(server)
            .get_approval(as_user(
                who,
                pb::GetApprovalRequest {
                    approval_id: answer.id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer, &stored,
            "{who}'s answer against the stored approval"
        );
    }
    answer
}

async fn redeem(
    server: &TestServer,
    token: &str,
    req: pb::AuthorizeRequest,
) -> pb::RedeemCapabilityResponse {
    approvals(server)
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: token.into(),
                request: Some(req),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn quorum_approval_yields_a_capability_that_redeems_once() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let id = pending(&server, "req-1").await;
    assert_eq!(
        pending(&server, "req-1").await,
        id,
        "same request_id, same approval"
    );
    assert_ne!(pending(&server, "req-2").await, id);

    let mut waiter = waiter(&server.channel, "agent", &id).await;
    let first = waiter.next().await.unwrap().unwrap();
    assert_eq!(first.state(), ApprovalState::Pending);
    assert_eq!(
        first.request.unwrap().context.unwrap().intent,
        "decommission after migration TICKET-9"
    );

    let after_one = review(&server, "sre1", &id, Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(after_one.state(), ApprovalState::Pending);
    let update = waiter.next().await.unwrap().unwrap();
    assert_eq!(
        (update.state(), update.reviews.len()),
        (ApprovalState::Pending, 1)
    );

    review(&server, "sec", &id, Verdict::Approve).await.unwrap();
    let update = waiter.next().await.unwrap().unwrap();
    assert_eq!(update.reviews.len(), 2);

    let done = review(&server, "sre2", &id, Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(done.state(), ApprovalState::Approved);
    assert!(
        done.capability.is_empty(),
        "a reviewer never receives the capability"
    );

    let approved = waiter.next().await.unwrap().unwrap();
    assert_eq!(approved.state(), ApprovalState::Approved);
    assert!(approved.capability.starts_with("v4.public."));
    assert!(
        waiter.next().await.is_none(),
        "the stream ends at a terminal state"
    );

    let token = approved.capability;
    let exact = bound(drop_request("req-1"));
    // Any change to what was approved is refused, and refusing does not use it up.
    let mut more_rows = exact.clone();
    more_rows.action.as_mut().unwrap().params =
        strukt(serde_json::json!({"database": "orders", "rows": 1201}));
    let mut other_db = exact.clone();
    other_db.resource.as_mut().unwrap().id = "orders-us".into();
    let mut other_action = exact.clone();
    other_action.action.as_mut().unwrap().name = "db.truncate".into();
    let mut other_subject = exact.clone();
    other_subject.subject.as_mut().unwrap().id = "agent:other".into();
    for altered in [more_rows, other_db, other_action, other_subject] {
        let r = redeem(&server, &token, altered).await;
        assert!(!r.allowed);
        assert!(r.reason.contains("different request"), "{}", r.reason);
        assert_eq!(r.refusal(), pb::RedeemRefusal::RequestMismatch);
    }
    let ok = redeem(&server, &token, exact.clone()).await;
    assert!(ok.allowed, "{ok:?}");
    assert_eq!(ok.approval_id, id);
    assert_eq!(ok.refusal(), pb::RedeemRefusal::Unspecified);
    let again = redeem(&server, &token, exact).await;
    assert!(!again.allowed);
    assert_eq!(again.refusal(), pb::RedeemRefusal::AlreadyRedeemed);
    assert!(
        again.reason.contains("already redeemed"),
        "{}",
        again.reason
    );
    server.stop().await;
}

#[tokio::test]
async fn separation_of_duties_is_enforced_by_the_service() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let id = pending(&server, "sod").await;
    for (who, why) in [
        ("agent", "requester"),
        ("alice", "on behalf of"),
        ("lead", "owner"),
        ("bot", "only people"),
        ("outsider", "none of the groups"),
    ] {
        let err = review(&server, who, &id, Verdict::Approve)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{who}");
        assert!(err.message().contains(why), "{who}: {}", err.message());
    }
    review(&server, "sre1", &id, Verdict::Approve)
        .await
        .unwrap();
    let err = review(&server, "sre1", &id, Verdict::Approve)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("already reviewed"),
        "{}",
        err.message()
    );

    // One person in both groups fills one slot, not two: still pending after sre1 + both.
    let a = review(&server, "both", &id, Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(a.state(), ApprovalState::Pending);
    let a = review(&server, "sec", &id, Verdict::Approve).await.unwrap();
    assert_eq!(a.state(), ApprovalState::Approved);

    let err = review(&server, "sre2", &id, Verdict::Approve)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn a_deny_ends_it_and_the_requester_may_cancel() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let id = pending(&server, "deny").await;
    let denied = review(&server, "sre1", &id, Verdict::Deny).await.unwrap();
    assert_eq!(denied.state(), ApprovalState::Denied);
    let err = review(&server, "sre2", &id, Verdict::Approve)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let id = pending(&server, "cancel").await;
    let err = approvals(&server)
        .cancel_approval(as_user(
            "sre1",
            pb::CancelApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let cancelled = approvals(&server)
        .cancel_approval(as_user(
            "agent",
            pb::CancelApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.state(), ApprovalState::Cancelled);
    let err = review(&server, "sre1", &id, Verdict::Approve)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let listed = approvals(&server)
        .list_approvals(as_user(
            "sre1",
            pb::ListApprovalsRequest {
                state: ApprovalState::Cancelled as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.approvals.len(), 1);
    assert_eq!(listed.approvals[0].id, id);
    server.stop().await;
}

#[tokio::test]
async fn deadlines_expire_requests_and_capabilities() {
    let (t, clock) = clock();
    let server = server(clock).await;
    let id = pending(&server, "slow").await;
    let mut waiter = waiter(&server.channel, "agent", &id).await;
    assert_eq!(
        waiter.next().await.unwrap().unwrap().state(),
        ApprovalState::Pending
    );

    t.fetch_add(16 * 60 * 1000, Ordering::SeqCst); // past the 15m ttl
    let err = review(&server, "sre1", &id, Verdict::Approve)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // The sweeper marks it and wakes the waiter.
    let expired = tokio::time::timeout(Duration::from_secs(20), waiter.next())
        .await
        .expect("waiter woken")
        .unwrap()
        .unwrap();
    assert_eq!(expired.state(), ApprovalState::Expired);

    // A capability outlives nothing: approve a fresh one, then let it lapse.
    let id = pending(&server, "fast").await;
    for who in ["sre1", "sre2", "sec"] {
        review(&server, who, &id, Verdict::Approve).await.unwrap();
    }
    let token = approvals(&server)
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .capability;
    assert!(!token.is_empty());
    t.fetch_add(6 * 60 * 1000, Ordering::SeqCst); // past the 5m capability ttl
    let r = redeem(&server, &token, bound(drop_request("fast"))).await;
    assert!(!r.allowed);
    assert!(r.reason.contains("expired"), "{}", r.reason);
    assert_eq!(r.refusal(), pb::RedeemRefusal::Expired);
    server.stop().await;
}

#[tokio::test]
async fn allow_obligations_carry_a_capability_and_racing_redeemers_get_one_use() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let write = |rid: &str| pb::AuthorizeRequest {
        subject: None,
        action: Some(pb::Action {
            name: "probe.write".into(),
            params: strukt(serde_json::json!({"key": "a"})),
        }),
        resource: Some(pb::Resource {
            r#type: "probe".into(),
            id: "p1".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            request_id: rid.into(),
            ..Default::default()
        }),
    };
    let allow = server
        .authorizer()
        .authorize(as_user("agent", write("w1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allow.effect(), Effect::Allow);
    assert!(allow.capability.starts_with("v4.public."));
    let read = server
        .authorizer()
        .authorize(as_user("agent", request_without_subject("probe.read")))
        .await
        .unwrap()
        .into_inner();
    assert!(read.capability.is_empty(), "no obligation, no capability");

    let mut exact = write("w1");
    exact.subject = Some(pb::Subject {
        id: "agent:deployer".into(),
        kind: "agent".into(),
        owner: "team:platform".into(),
        ..Default::default()
    });
    let wins = redeem_race(
        std::slice::from_ref(&server.channel),
        &allow.capability,
        &exact,
        64,
    )
    .await;
    assert_eq!(wins, 1, "exactly one of 64 concurrent redeemers succeeds");
    server.stop().await;
}

fn request_without_subject(action: &str) -> pb::AuthorizeRequest {
    let mut r = request(action, "probe");
    r.subject = None;
    r
}

#[tokio::test]
async fn bad_approval_calls_name_the_field() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let id = pending(&server, "fields").await;
    let mut client = approvals(&server);
    let err = client
        .approve(as_user(
            "sre1",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: Verdict::Approve as i32,
                reason: String::new(),
                params: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason"), "{}", err.message());
    let err = client
        .approve(as_user(
            "sre1",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: 0,
                reason: "ok".into(),
                params: None,
            },
        ))
        .await
        .unwrap_err();
    assert!(err.message().starts_with("verdict"), "{}", err.message());
    let err = client
        .get_approval(as_user(
            "sre1",
            pb::GetApprovalRequest {
                approval_id: "nope".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: "x".into(),
                request: None,
            },
        ))
        .await
        .unwrap_err();
    assert!(err.message().starts_with("request"), "{}", err.message());
    let r = redeem(&server, "v4.public.garbage", bound(drop_request("fields"))).await;
    assert!(!r.allowed);
    server.stop().await;
}

fn export(rows: u64) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: None,
        action: Some(pb::Action {
            name: "data.export".into(),
            params: strukt(serde_json::json!({"rows": rows, "dest": "s3://ok/x"})),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "users".into(),
            attributes: None,
        }),
        context: Some(pb::Context {
            request_id: format!("export-{rows}"),
            ..Default::default()
        }),
    }
}

async fn modify(
    server: &TestServer,
    who: &str,
    id: &str,
    params: serde_json::Value,
) -> Result<pb::Approval, tonic::Status> {
    let answer = approvals(server)
        .approve(as_user(
            who,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: Verdict::Modify as i32,
                reason: "fewer rows are enough for the analysis".into(),
                params: strukt(params),
            },
        ))
        .await
        .map(|r| r.into_inner());
    answer_is_as_stored(server, who, answer).await
}

#[tokio::test]
async fn a_reviewer_may_narrow_but_never_widen_and_the_requester_sees_the_diff() {
    let (_t, clock) = clock();
    let server = server(clock).await;
    let asked = server
        .authorizer()
        .authorize(as_user("agent", export(5000)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(asked.effect(), Effect::PendingApproval);
    let id = asked.approval_id;

    for (params, field) in [
        (
            serde_json::json!({"rows": 500000, "dest": "s3://ok/x"}),
            "params.rows",
        ),
        (
            serde_json::json!({"rows": 500, "dest": "s3://ok/elsewhere"}),
            "params.dest",
        ),
        (
            serde_json::json!({"rows": 500, "dest": "s3://ok/x", "all": true}),
            "params.all",
        ),
        (serde_json::json!({"rows": 500}), "params.dest"),
    ] {
        let err = modify(&server, "sre1", &id, params).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(
            err.message().starts_with(field),
            "{field}: {}",
            err.message()
        );
    }
    // A narrowing the policy itself denies is refused too.
    let err = modify(
        &server,
        "sre1",
        &id,
        serde_json::json!({"rows": 50, "dest": "s3://ok/x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("denied by policy"),
        "{}",
        err.message()
    );
    // The requester cannot narrow-approve its own request either.
    let err = modify(
        &server,
        "agent",
        &id,
        serde_json::json!({"rows": 500, "dest": "s3://ok/x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // 500 rows needs no approval under the policy: the modify approves it.
    let done = modify(
        &server,
        "sre1",
        &id,
        serde_json::json!({"rows": 500, "dest": "s3://ok/x"}),
    )
    .await
    .unwrap();
    assert_eq!(done.state(), ApprovalState::Approved);
    // The request now needs nobody's review, yet its reviewer of record still lists it.
    let listed = approvals(&server)
        .list_approvals(as_user(
            "sre1",
            pb::ListApprovalsRequest {
                reviewer_id: "user:sre1".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .approvals
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    // Only that reviewer: another of the same group who did not review it, and a look-alike
    // of the one who did, read it as not found.
    for who in ["sre2", "sre1-look"] {
        let err = approvals(&server)
            .get_approval(as_user(
                who,
                pb::GetApprovalRequest {
                    approval_id: id.clone(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{who}");
    }

    let seen = approvals(&server)
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.changes.len(), 1);
    assert_eq!(seen.changes[0].path, "action.params.rows");
    let original = seen.original_request.unwrap();
    assert_eq!(
        original.action.unwrap().params,
        strukt(serde_json::json!({"rows": 5000, "dest": "s3://ok/x"}))
    );
    assert_eq!(seen.reviews[0].verdict(), Verdict::Modify);

    let subject = |mut r: pb::AuthorizeRequest| {
        r.subject = Some(pb::Subject {
            id: "agent:deployer".into(),
            kind: "agent".into(),
            owner: "team:platform".into(),
            ..Default::default()
        });
        r
    };
    let mut as_asked = subject(export(5000));
    let refused = redeem(&server, &seen.capability, as_asked.clone()).await;
    assert!(
        !refused.allowed,
        "the capability covers 500 rows, not the 5000 asked"
    );
    as_asked.action.as_mut().unwrap().params =
        strukt(serde_json::json!({"rows": 500, "dest": "s3://ok/x"}));
    assert!(redeem(&server, &seen.capability, as_asked).await.allowed);
    server.stop().await;
}
