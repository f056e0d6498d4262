//! Slack interactivity over HTTP: a correctly signed button click reviews through the same
//! service call as the `Approve` RPC; forged, stale and replayed clicks do not count; a click
//! on a request that needs step-up yields a signed single-use console link instead.

use std::{
    net::SocketAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::common::*;
use crate::notify::{notify_to, pending, Receiver, POLICY};
use tollgate::{
    grpc::pb::{self, approvals_client::ApprovalsClient, ApprovalState, Effect},
    notify::config::SlackUser,
};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn server(addr: SocketAddr) -> TestServer {
    server_with(addr, false).await
}

/// With `email_lookup`, Slack users not listed are looked up by confirmed email; two
/// identities are listed without a Slack user (found by email only) and one bound to U0RITA.
async fn server_with(addr: SocketAddr, email_lookup: bool) -> TestServer {
    start(policy_file(POLICY), move |c| {
        notify_to(c, addr);
        let s = &mut c.notify.slack;
        s.email_lookup = email_lookup;
        s.signing_secret = SIGNING_SECRET.into();
        s.response_url_prefixes = vec![format!("http://{addr}/respond")];
        s.users = vec![
            SlackUser {
                slack_user: "U0SRE1".into(),
                id: "user:sre1".into(),
                groups: vec!["sre".into()],
            },
            SlackUser {
                slack_user: "U0AGENT".into(),
                id: "agent:deployer".into(),
                groups: vec!["sre".into()],
            },
            SlackUser {
                slack_user: String::new(),
                id: "user:sre2@example.com".into(),
                groups: vec!["sre".into()],
            },
            SlackUser {
                slack_user: "U0RITA".into(),
                id: "user:rita@example.com".into(),
                groups: vec!["sre".into()],
            },
        ];
    })
    .await
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The form body Slack posts when `user` clicks `action` on approval `id`.
fn click(addr: SocketAddr, user: &str, action: &str, id: &str, trigger: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "trigger_id": trigger,
        "user": {"id": user},
        "response_url": format!("http://{addr}/respond"),
        "actions": [{"action_id": action, "value": id, "block_id": "tollgate_review"}],
    });
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// Posts `body` to the interactivity endpoint with Slack's v0 headers for `ts` under `secret`.
async fn post(server: &TestServer, body: &str, ts: i64, secret: &str) -> u16 {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    tollgate::notify::http_client(Duration::from_secs(5))
        .unwrap()
        .post(format!(
            "http://{}/slack/interactions",
            server.running.http_addr
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn state(server: &TestServer, id: &str) -> ApprovalState {
    ApprovalsClient::new(server.channel.clone())
        .get_approval(as_user(
            "sre1",
            pb::GetApprovalRequest {
                approval_id: id.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .state()
}

/// Waits for an answer to the clicking user containing `text`.
async fn answered(receiver: &Receiver, text: &str) -> String {
    eventually("the Slack answer", Duration::from_secs(30), || async {
        receiver
            .on("/respond")
            .into_iter()
            .map(|r| {
                assert_eq!(r.body["response_type"], "ephemeral");
                r.body["text"].as_str().unwrap().to_string()
            })
            .find(|t| t.contains(text))
            .ok_or_else(|| format!("{:?}", receiver.on("/respond")))
    })
    .await
}

#[tokio::test]
async fn signed_clicks_review_once_and_forgeries_do_not() {
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    let server = server(addr).await;
    let id = pending(&server, "slack-1").await;
    let body = click(addr, "U0SRE1", "tollgate_approve", &id, "t-1");

    // Forged (another secret), stale (six minutes old) and future-dated clicks are refused.
    assert_eq!(
        post(&server, &body, now_secs(), "not-the-secret").await,
        401
    );
    assert_eq!(
        post(&server, &body, now_secs() - 360, SIGNING_SECRET).await,
        401
    );
    assert_eq!(
        post(&server, &body, now_secs() + 360, SIGNING_SECRET).await,
        401
    );
    // A body changed after signing does not verify either.
    let ts = now_secs();
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let tampered = click(addr, "U0SRE1", "tollgate_deny", &id, "t-1");
    let status = tollgate::notify::http_client(Duration::from_secs(5))
        .unwrap()
        .post(format!(
            "http://{}/slack/interactions",
            server.running.http_addr
        ))
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(tampered)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 401);
    assert_eq!(state(&server, &id).await, ApprovalState::Pending);

    // The genuine click approves, through the service.
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    answered(&receiver, "now approved").await;
    assert_eq!(state(&server, &id).await, ApprovalState::Approved);
    // The same payload again, freshly signed, is a replay.
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 409);

    // The requester's own Slack account cannot approve its request; an unmapped one is told.
    let own = pending(&server, "slack-2").await;
    let body = click(addr, "U0AGENT", "tollgate_approve", &own, "t-2");
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    answered(&receiver, "Not recorded").await;
    let body = click(addr, "U0NOBODY", "tollgate_approve", &own, "t-3");
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    answered(&receiver, "not mapped").await;
    assert_eq!(state(&server, &own).await, ApprovalState::Pending);
    server.stop().await;
}

#[tokio::test]
async fn a_click_on_a_step_up_request_yields_a_console_link_not_a_review() {
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    let server = server(addr).await;
    let mut request = drop_request("slack-step-up");
    request.action.as_mut().unwrap().name = "db.truncate".into();
    let r = server
        .authorizer()
        .authorize(as_user("agent", request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    let body = click(addr, "U0SRE1", "tollgate_approve", &r.approval_id, "t-4");
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    let text = answered(&receiver, "multi-factor").await;
    assert!(
        text.contains("https://tollgate.example.com/console/link?t="),
        "{text}"
    );
    assert_eq!(state(&server, &r.approval_id).await, ApprovalState::Pending);
    // The posted message already said so on its buttons.
    let posted = eventually("the Slack message", Duration::from_secs(30), || async {
        receiver
            .on("/api/chat.postMessage")
            .into_iter()
            .find(|p| p.body["blocks"].to_string().contains("db.truncate"))
            .ok_or_else(|| "nothing yet".to_string())
    })
    .await;
    assert!(posted.body["blocks"]
        .to_string()
        .contains("Approve (MFA sign-in)"));
    server.stop().await;
}

/// The approval as sre1 sees it.
async fn approval(server: &TestServer, id: &str) -> pb::Approval {
    ApprovalsClient::new(server.channel.clone())
        .get_approval(as_user(
            "sre1",
            pb::GetApprovalRequest {
                approval_id: id.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_confirmed_slack_email_is_that_reviewer_and_nothing_less_counts() {
    let receiver = Receiver::default();
    let addr = receiver.start().await;
    {
        let mut users = receiver.slack_users.lock().unwrap();
        let user = |id: &str, confirmed: bool, email: &str| json!({"id": id, "is_email_confirmed": confirmed, "profile": {"email": email}});
        users.insert("U0MAIL".into(), user("U0MAIL", true, "SRE2@Example.com"));
        users.insert(
            "U0UNCONF".into(),
            user("U0UNCONF", false, "sre2@example.com"),
        );
        users.insert(
            "U0STRANGER".into(),
            user("U0STRANGER", true, "eve@example.com"),
        );
        users.insert("U0OTHER".into(), user("U0OTHER", true, "rita@example.com"));
        users.insert("U0BROKEN".into(), json!({"error": "fatal_error"}));
    }
    let server = server_with(addr, true).await;
    let id = pending(&server, "slack-mail-1").await;

    // Each of these is refused, says why, and records nothing.
    for (n, (user, says)) in [
        ("U0UNCONF", "no confirmed email"),
        (
            "U0STRANGER",
            "eve@example.com, which is not a tollgate reviewer",
        ),
        ("U0OTHER", "bound to another Slack account"),
        ("U0BROKEN", "Slack did not tell us who you are"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = click(addr, user, "tollgate_approve", &id, &format!("t-mail-{n}"));
        assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
        let text = answered(&receiver, says).await;
        assert!(text.contains(user) || user == "U0BROKEN", "{text}");
    }
    let a = approval(&server, &id).await;
    assert_eq!(a.state(), ApprovalState::Pending);
    assert!(a.reviews.is_empty(), "{:?}", a.reviews);

    // The confirmed email's identity is a party to this request (it acts for it): refused
    // by separation of duties, exactly as over gRPC.
    let mut own = drop_request("slack-mail-2");
    own.subject.as_mut().unwrap().on_behalf_of = "user:sre2@example.com".into();
    let own = server
        .authorizer()
        .authorize(as_user("agent", own))
        .await
        .unwrap()
        .into_inner()
        .approval_id;
    let body = click(addr, "U0MAIL", "tollgate_approve", &own, "t-mail-own");
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    answered(&receiver, "Not recorded").await;
    assert_eq!(
        approval(&server, &own).await.state(),
        ApprovalState::Pending
    );

    // Otherwise it reviews as that identity, with that identity's groups.
    let body = click(addr, "U0MAIL", "tollgate_approve", &id, "t-mail-ok");
    assert_eq!(post(&server, &body, now_secs(), SIGNING_SECRET).await, 200);
    answered(&receiver, "now approved").await;
    let a = approval(&server, &id).await;
    assert_eq!(a.state(), ApprovalState::Approved);
    let reviewers: Vec<&str> = a.reviews.iter().map(|r| r.reviewer_id.as_str()).collect();
    assert_eq!(reviewers, ["user:sre2@example.com"]);
    // Slack was asked the way its API reads this method: form-encoded, with the bot token.
    let asked = receiver.on("/api/users.info");
    assert!(
        asked.iter().any(|r| r.body["user"] == "U0MAIL"),
        "{asked:?}"
    );
    server.stop().await;
}
