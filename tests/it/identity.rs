//! Verified identity end to end over gRPC, tried as an attacker would: separation of duties
//! against aliases of every party, who may read which approval, who may redeem which
//! capability, step-up with real signed tokens, delegation, the bundle deciding roles, and
//! one identity's burst not slowing another.

use std::path::Path;

use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio_stream::StreamExt;
use tollgate::{
    config::Config,
    grpc::pb::{self, approvals_client::ApprovalsClient, ApprovalState, Effect, Verdict},
    identity::{jwt::IssuerConfig, TokenIdentity},
};
use tonic::{transport::Channel, Code};

use crate::common::*;

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"

obligations contains {"type": "capability"} if input.action.name == "db.drop"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "an SRE looks first"} if input.action.name == "db.drop"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"step_up": true, "reason": "security signs off with MFA"} if input.action.name == "secret.move"
"#;

const ISSUER: &str = "https://idp.tollgate.test";

/// A static-token identity with an explicit owner.
fn who(token: &str, id: &str, kind: &str, groups: &[&str], owner: &str) -> TokenIdentity {
    TokenIdentity {
        owner: owner.into(),
        ..identity(token, id, kind, groups)
    }
}

/// The cast: the requesting agent (owned by team:platform, acting for alice), another agent,
/// reviewers, an auditor, an admin, the executor, and aliases of each party.
fn cast() -> Vec<TokenIdentity> {
    vec![
        who("agent", "agent:deployer", "agent", &[], "team:platform"),
        who("other", "agent:other", "agent", &[], "team:platform"),
        identity("sre", "user:sre", "user", &["sre"]),
        identity("sec", "user:sec", "user", &["security"]),
        identity("auditor", "user:auditor", "user", &["tollgate-auditors"]),
        identity("admin", "user:admin", "user", &["tollgate-admins"]),
        identity(
            "executor",
            "service:executor",
            "service",
            &["tollgate-executors"],
        ),
        // Aliases: each is the requester, the human or the owner in another spelling.
        identity("alias-case", "AGENT:Deployer", "user", &["sre"]),
        identity("alias-space", "agent:deployer ", "user", &["sre"]),
        identity(
            "alias-fullwidth",
            "ａｇｅｎｔ:ｄｅｐｌｏｙｅｒ",
            "user",
            &["sre"],
        ),
        identity("alias-cyrillic", "\u{0430}gent:deployer", "user", &["sre"]),
        identity("alias-greek", "agent:depl\u{03bf}yer", "user", &["sre"]),
        identity("human-case", "User:Alice", "user", &["sre"]),
        identity("human-cyrillic", "user:\u{0430}lice", "user", &["sre"]),
        identity("owner-group", "user:lead", "user", &["sre", "platform"]),
        // Look-alikes of groups that grant something: never members of them.
        identity("sre-lookalike", "user:sre2", "user", &["\u{0455}re"]),
        identity(
            "auditor-lookalike",
            "user:auditor2",
            "user",
            &["tollgate-\u{0430}uditors"],
        ),
        identity(
            "executor-lookalike",
            "service:executor2",
            "service",
            &["tollgate-execut\u{043e}rs"],
        ),
        identity(
            "owner-lookalike",
            "user:lead2",
            "user",
            &["sre", "team:p\u{04cf}atform"],
        ),
    ]
}

async fn server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    start(policy_file(POLICY), |c| {
        c.auth = static_tokens(cast());
        adjust(c);
    })
    .await
}

fn approvals(s: &TestServer) -> ApprovalsClient<Channel> {
    ApprovalsClient::new(s.channel.clone())
}

/// `action` on the orders database by the agent (on behalf of alice), key `rid`.
fn ask(action: &str, rid: &str) -> pb::AuthorizeRequest {
    let mut r = drop_request(rid);
    r.action.as_mut().unwrap().name = action.into();
    r
}

async fn pending(s: &TestServer, token: &str, action: &str, rid: &str) -> String {
    let r = s
        .authorizer()
        .authorize(as_user(token, ask(action, rid)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}

async fn review(s: &TestServer, token: &str, id: &str) -> Result<pb::Approval, tonic::Status> {
    approvals(s)
        .approve(as_user(
            token,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: Verdict::Approve as i32,
                reason: "looked at it".into(),
                params: None,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(s: &TestServer, token: &str, id: &str) -> Result<pb::Approval, tonic::Status> {
    let msg = pb::GetApprovalRequest {
        approval_id: id.into(),
    };
    approvals(s)
        .get_approval(as_user(token, msg))
        .await
        .map(tonic::Response::into_inner)
}

/// The request as the capability is bound to it (the subject the token filled in).
fn bound(mut r: pb::AuthorizeRequest) -> pb::AuthorizeRequest {
    let s = r.subject.as_mut().unwrap();
    s.id = "agent:deployer".into();
    s.kind = "agent".into();
    s.owner = "team:platform".into();
    r
}

async fn redeem(
    s: &TestServer,
    token: &str,
    capability: &str,
    req: pb::AuthorizeRequest,
) -> Result<pb::RedeemCapabilityResponse, tonic::Status> {
    let msg = pb::RedeemCapabilityRequest {
        capability: capability.into(),
        request: Some(req),
    };
    approvals(s)
        .redeem_capability(as_user(token, msg))
        .await
        .map(tonic::Response::into_inner)
}

/// Look-alikes count as the same party where that refuses (separation of duties), never where
/// it grants: reading, the capability, cancelling, a reviewer's group, a role, an audience.
#[tokio::test]
async fn a_look_alike_is_granted_nothing_its_original_holds() {
    let s = server_with(|_| {}).await;
    let id = pending(&s, "agent", "db.drop", "look-alike").await;
    // Cyrillic and Greek look-alikes of the requester read nothing and cannot cancel; the
    // same identity in another case is the requester.
    assert_eq!(reads(&s, "alias-case", &id).await, (true, false));
    for token in [
        "alias-cyrillic",
        "alias-greek",
        "sre-lookalike",
        "auditor-lookalike",
    ] {
        assert_eq!(reads(&s, token, &id).await, (false, false), "{token}");
        let err = approvals(&s)
            .cancel_approval(as_user(
                token,
                pb::CancelApprovalRequest {
                    approval_id: id.clone(),
                },
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err.code(), Code::NotFound | Code::PermissionDenied),
            "{token}: {err:?}"
        );
    }
    // A group that only looks like the required one fills no requirement.
    let err = review(&s, "sre-lookalike", &id).await.unwrap_err();
    assert!(
        matches!(err.code(), Code::NotFound | Code::PermissionDenied),
        "{err:?}"
    );
    // Nor does it hold a role.
    let err = tollgate::grpc::pb::audit_client::AuditClient::new(s.channel.clone())
        .query_audit(as_user(
            "auditor-lookalike",
            pb::QueryAuditRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // Nor is it in a capability's audience.
    review(&s, "sre", &id).await.unwrap();
    let capability = get(&s, "agent", &id).await.unwrap().capability;
    let request = bound(ask("db.drop", "look-alike"));
    let redeemed = redeem(&s, "executor-lookalike", &capability, request.clone()).await;
    assert!(
        redeemed.as_ref().map_or(true, |r| !r.allowed),
        "a look-alike of the executors redeemed: {redeemed:?}"
    );
    let redeemed = redeem(&s, "executor", &capability, request).await.unwrap();
    assert!(redeemed.allowed, "{redeemed:?}");
    s.stop().await;
}

#[tokio::test]
async fn no_alias_of_the_requester_the_human_or_the_owner_can_approve() {
    let s = server_with(|_| {}).await;
    let id = pending(&s, "agent", "db.drop", "sod").await;
    for (token, why) in [
        ("alias-case", "requester"),
        ("alias-space", "requester"),
        ("alias-fullwidth", "requester"),
        ("alias-cyrillic", "requester"),
        ("alias-greek", "requester"),
        ("human-case", "on behalf of"),
        ("human-cyrillic", "on behalf of"),
        ("owner-group", "owner"),
        ("owner-lookalike", "owner"),
    ] {
        let err = review(&s, token, &id).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{token}: {err:?}");
        assert!(err.message().contains(why), "{token}: {}", err.message());
    }
    let a = get(&s, "agent", &id).await.unwrap();
    assert_eq!(
        (a.state(), a.reviews.len()),
        (ApprovalState::Pending, 0),
        "no alias left a review"
    );
    // The real reviewer still can.
    let a = review(&s, "sre", &id).await.unwrap();
    assert_eq!(a.state(), ApprovalState::Approved);
    s.stop().await;
}

#[tokio::test]
async fn the_human_in_the_body_is_compared_canonically_and_invisible_ids_are_refused() {
    let s = server_with(|_| {}).await;
    // The body spells alice differently: she is still the human, so she cannot review.
    let mut r = ask("db.drop", "canon");
    r.subject.as_mut().unwrap().on_behalf_of = "User:ALICE".into();
    let id = s
        .authorizer()
        .authorize(as_user("agent", r))
        .await
        .unwrap()
        .into_inner()
        .approval_id;
    let err = review(&s, "human-case", &id).await.unwrap_err();
    assert!(err.message().contains("on behalf of"), "{}", err.message());
    // Ids made of invisible or format characters are named, never accepted.
    for (field, value) in [
        ("subject.on_behalf_of", "user:ali\u{200B}ce"),
        ("subject.on_behalf_of", "\u{200B}\u{200C}\u{2060}"),
        ("subject.on_behalf_of", "user:\u{202E}ecila"),
        // All ASCII (DEL, ESC, a tab): refused at the edge, before the identity's ASCII short
        // cut past the Unicode tables sees them.
        ("subject.on_behalf_of", "user:ali\u{7f}ce"),
        ("subject.on_behalf_of", "user:\u{1b}[31malice"),
        ("subject.on_behalf_of", "user:ali\tce"),
    ] {
        let mut r = ask("db.drop", "bad");
        r.subject.as_mut().unwrap().on_behalf_of = value.into();
        let err = s
            .authorizer()
            .authorize(as_user("agent", r))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{value:?}");
        assert!(err.message().starts_with(field), "{}", err.message());
    }
    let mut r = ask("db.drop", "bad");
    r.resource.as_mut().unwrap().r#type = "sec\u{200B}ret".into();
    let err = s
        .authorizer()
        .authorize(as_user("agent", r))
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("resource.type"),
        "{}",
        err.message()
    );
    s.stop().await;
}

#[tokio::test]
async fn config_refuses_identities_requests_would_refuse() {
    for bad in [
        "user:ali\u{200B}ce",
        "\u{200B}",
        "user:a\u{202E}b",
        "user:\u{E000}x",
    ] {
        let c = Config {
            auth: static_tokens(vec![identity("t", bad, "user", &[])]),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("auth.tokens[0].id"), "{bad:?}: {err}");
    }
}

/// What each reader gets from GetApproval, WaitForDecision and ListApprovals: (sees it,
/// sees the capability).
async fn reads(s: &TestServer, token: &str, id: &str) -> (bool, bool) {
    let got = get(s, token, id).await;
    let waited = approvals(s)
        .wait_for_decision(as_user(
            token,
            pb::WaitForDecisionRequest {
                approval_id: id.into(),
            },
        ))
        .await;
    let waited = match waited {
        Ok(stream) => Some(stream.into_inner().next().await.unwrap().unwrap()),
        Err(e) => {
            assert_eq!(e.code(), Code::NotFound, "{token}: {e:?}");
            None
        }
    };
    let listed = approvals(s)
        .list_approvals(as_user(token, pb::ListApprovalsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .approvals;
    let listed = listed.into_iter().find(|a| a.id == id);
    match &got {
        Ok(a) => {
            assert_eq!(waited.as_ref().map(|w| w.id.as_str()), Some(a.id.as_str()));
            assert!(listed.is_some(), "{token}: listed too");
        }
        Err(e) => {
            assert_eq!(e.code(), Code::NotFound, "{token}: {e:?}");
            assert!(
                waited.is_none() && listed.is_none(),
                "{token}: nothing leaks"
            );
        }
    }
    let capability = got.as_ref().is_ok_and(|a| !a.capability.is_empty());
    let capability_anywhere = capability
        || waited.is_some_and(|w| !w.capability.is_empty())
        || listed.is_some_and(|l| !l.capability.is_empty());
    assert_eq!(
        capability, capability_anywhere,
        "{token}: same answer everywhere"
    );
    (got.is_ok(), capability)
}

#[tokio::test]
async fn approvals_are_read_by_their_parties_only() {
    let s = server_with(|_| {}).await;
    let id = pending(&s, "agent", "db.drop", "reads").await;
    review(&s, "sre", &id).await.unwrap();
    for (token, expected) in [
        ("agent", (true, true)),    // the requester holds the capability
        ("other", (false, false)),  // another agent sees nothing, not even that it exists
        ("sre", (true, false)),     // the eligible reviewer reads it, never the capability
        ("sec", (false, false)),    // a reviewer in none of its groups
        ("auditor", (true, false)), // auditors read everything
        ("admin", (true, false)),   // so do admins
        ("executor", (false, false)),
    ] {
        assert_eq!(reads(&s, token, &id).await, expected, "{token}");
    }
    // Cancelling is the requester's alone, and an invisible approval reads as not found.
    let id2 = pending(&s, "agent", "db.drop", "cancel").await;
    for token in ["other", "sre"] {
        let err = approvals(&s)
            .cancel_approval(as_user(
                token,
                pb::CancelApprovalRequest {
                    approval_id: id2.clone(),
                },
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err.code(), Code::NotFound | Code::PermissionDenied),
            "{token}: {err:?}"
        );
    }
    assert_eq!(
        get(&s, "agent", &id2).await.unwrap().state(),
        ApprovalState::Pending
    );
    s.stop().await;
}

#[tokio::test]
async fn only_the_audience_redeems_and_a_refusal_consumes_nothing() {
    let s = server_with(|_| {}).await;
    let id = pending(&s, "agent", "db.drop", "redeem").await;
    review(&s, "sre", &id).await.unwrap();
    let capability = get(&s, "agent", &id).await.unwrap().capability;
    assert!(capability.starts_with("v4.public."));
    let exact = bound(ask("db.drop", "redeem"));
    for token in ["agent", "other", "sre", "auditor", "admin"] {
        let err = redeem(&s, token, &capability, exact.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{token}: {err:?}");
    }
    let ok = redeem(&s, "executor", &capability, exact.clone())
        .await
        .unwrap();
    assert!(ok.allowed, "the executor's first use: {ok:?}");
    let again = redeem(&s, "executor", &capability, exact).await.unwrap();
    assert!(!again.allowed && again.reason.contains("already redeemed"));
    s.stop().await;
}

#[tokio::test]
async fn a_policy_names_the_one_executor_that_may_redeem() {
    let policy = POLICY.replace(
        r#"obligations contains {"type": "capability"} if input.action.name == "db.drop""#,
        r#"obligations contains {"type": "capability", "audience": "service:db-executor"} if input.action.name == "db.drop""#,
    );
    let s = start(policy_file(&policy), |c| {
        let mut tokens = cast();
        tokens.push(identity(
            "db-executor",
            "service:db-executor",
            "service",
            &["tollgate-executors"],
        ));
        c.auth = static_tokens(tokens);
    })
    .await;
    let id = pending(&s, "agent", "db.drop", "aud").await;
    review(&s, "sre", &id).await.unwrap();
    let capability = get(&s, "agent", &id).await.unwrap().capability;
    let exact = bound(ask("db.drop", "aud"));
    let err = redeem(&s, "executor", &capability, exact.clone())
        .await
        .unwrap_err();
    assert!(err.message().contains("audience"), "{}", err.message());
    let ok = redeem(&s, "db-executor", &capability, exact).await.unwrap();
    assert!(ok.allowed, "{ok:?}");
    s.stop().await;
}

/// A test-only signing key (tests/fixtures/jwt) and its JWKS file in `dir`.
fn signing_key(dir: &Path) -> (EncodingKey, std::path::PathBuf) {
    let pem = std::fs::read(repo().join("tests/fixtures/jwt/rsa-a.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("k1".into());
    let file = dir.join("jwks.json");
    std::fs::write(&file, json!({"keys": [jwk]}).to_string()).unwrap();
    (key, file)
}

fn issuer(jwks_file: std::path::PathBuf) -> IssuerConfig {
    serde_json::from_value(json!({
        "issuer": ISSUER,
        "audiences": ["tollgate"],
        "jwks_file": jwks_file,
        "algorithms": ["RS256"],
        "claims": {"id": "email", "id_prefix": "user:", "groups": "groups"},
    }))
    .unwrap()
}

fn jwt(key: &EncodingKey, claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// A security reviewer's token that authenticated `auth_age` seconds ago with `amr`.
fn reviewer_token(key: &EncodingKey, auth_age: Option<i64>, amr: &[&str]) -> String {
    let mut claims = json!({
        "iss": ISSUER, "aud": "tollgate", "sub": "sec-2", "email": "sec2@example.com",
        "groups": ["security"], "iat": now(), "exp": now() + 600, "amr": amr,
    });
    if let Some(age) = auth_age {
        claims["auth_time"] = json!(now() - age);
    }
    jwt(key, claims)
}

#[tokio::test]
async fn step_up_requirements_count_only_a_fresh_strong_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (key, jwks) = signing_key(dir.path());
    let s = server_with(|c| c.auth.jwt.issuers = vec![issuer(jwks)]).await;
    let id = pending(&s, "agent", "secret.move", "stepup").await;
    // A static token never steps up; an OIDC token only when fresh and multi-factor.
    let err = review(&s, "sec", &id).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("step-up required"),
        "{}",
        err.message()
    );
    for (token, why) in [
        (reviewer_token(&key, None, &["mfa"]), "no auth_time"),
        (reviewer_token(&key, Some(3600), &["mfa"]), "older than"),
        (reviewer_token(&key, Some(10), &["pwd"]), "mfa"),
    ] {
        let err = review(&s, &token, &id).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{why}");
        assert!(err.message().contains(why), "{why}: {}", err.message());
        assert!(err.message().contains("sign in again"), "{}", err.message());
    }
    assert_eq!(get(&s, "agent", &id).await.unwrap().reviews.len(), 0);
    let fresh = reviewer_token(&key, Some(10), &["pwd", "mfa"]);
    let a = review(&s, &fresh, &id).await.unwrap();
    assert_eq!(a.state(), ApprovalState::Approved);
    assert_eq!(a.reviews[0].reviewer_id, "user:sec2@example.com");
    s.stop().await;
}

#[tokio::test]
async fn forged_and_wrong_tokens_are_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let (key, jwks) = signing_key(dir.path());
    let s = server_with(|c| c.auth.jwt.issuers = vec![issuer(jwks)]).await;
    let good = json!({"iss": ISSUER, "aud": "tollgate", "sub": "x", "email": "x@example.com",
                      "iat": now(), "exp": now() + 600});
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    let none = {
        use base64::Engine as _;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(good.clone())
        )
    };
    for (what, token) in [
        ("wrong audience", jwt(&key, wrong_aud)),
        ("expired", jwt(&key, expired)),
        ("alg none", none),
    ] {
        let err = s
            .authorizer()
            .authorize(as_user(&token, ask("probe.read", "")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{what}: {err:?}");
    }
    let ok = s
        .authorizer()
        .authorize(as_user(&jwt(&key, good), ask("probe.read", "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow, "the genuine token works");
    s.stop().await;
}

#[tokio::test]
async fn a_delegated_token_fixes_the_human_it_acts_for() {
    let dir = tempfile::tempdir().unwrap();
    let (key, jwks) = signing_key(dir.path());
    let s = server_with(|c| c.auth.jwt.issuers = vec![issuer(jwks)]).await;
    // RFC 8693: the token's subject is the human, `act` the agent presenting it.
    let token = jwt(
        &key,
        json!({"iss": ISSUER, "aud": "tollgate", "sub": "carol", "email": "carol@example.com",
               "act": {"sub": "assistant"}, "iat": now(), "exp": now() + 600}),
    );
    let mut r = ask("db.drop", "deleg");
    r.subject = None;
    let answer = s
        .authorizer()
        .authorize(as_user(&token, r))
        .await
        .unwrap()
        .into_inner();
    let a = get(&s, &token, &answer.approval_id).await.unwrap();
    let subject = a.request.unwrap().subject.unwrap();
    assert_eq!(subject.id, "agent:assistant");
    assert_eq!(subject.on_behalf_of, "user:carol@example.com");
    // A body that names someone else is refused.
    let mut r = ask("db.drop", "deleg-2");
    r.subject = Some(pb::Subject {
        on_behalf_of: "user:mallory@example.com".into(),
        ..Default::default()
    });
    let err = s
        .authorizer()
        .authorize(as_user(&token, r))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().starts_with("subject.on_behalf_of"),
        "{}",
        err.message()
    );
    s.stop().await;
}

#[tokio::test]
async fn the_bundle_decides_roles_when_it_says_so() {
    const API: &str = r#"package tollgate.api

roles contains "authorize" if input.caller.kind == "agent"
roles contains "review" if "sre" in input.caller.groups
roles contains "redeem" if input.caller.id == "service:executor"
"#;
    let s = start(
        |b| {
            std::fs::write(b.join("policy.rego"), POLICY).unwrap();
            std::fs::write(b.join("api.rego"), API).unwrap();
        },
        |c| c.auth = static_tokens(cast()),
    )
    .await;
    // A user may not call Authorize under this bundle, an agent may.
    let err = s
        .authorizer()
        .authorize(as_user("sre", ask("probe.read", "")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let id = pending(&s, "agent", "db.drop", "api").await;
    // The security reviewer holds no review role here.
    let err = review(&s, "sec", &id).await.unwrap_err();
    assert!(err.message().contains("role review"), "{}", err.message());
    review(&s, "sre", &id).await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn one_identitys_burst_does_not_slow_another() {
    let s = server_with(|c| {
        c.rate_limits = serde_json::from_value(json!({
            "authorize": {"calls": 5, "per": "1m"},
        }))
        .unwrap();
    })
    .await;
    let mut refused = 0;
    for _ in 0..20 {
        match s
            .authorizer()
            .authorize(as_user("agent", ask("probe.read", "")))
            .await
        {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
                assert!(e.message().contains("retry after"), "{}", e.message());
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 15, "the burst is cut at the limit");
    for _ in 0..5 {
        let r = s
            .authorizer()
            .authorize(as_user("other", ask("probe.read", "")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.effect(), Effect::Allow);
    }
    s.stop().await;
}

#[tokio::test]
async fn the_human_a_token_proves_reads_the_request_and_a_claimed_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (key, jwks) = signing_key(dir.path());
    let s = server_with(|c| c.auth.jwt.issuers = vec![issuer(jwks)]).await;
    let person = |email: &str| {
        jwt(
            &key,
            json!({"iss": ISSUER, "aud": "tollgate", "sub": email, "email": email,
                   "iat": now(), "exp": now() + 600}),
        )
    };
    // Proven: an RFC 8693 token of the assistant acting for carol.
    let delegated = jwt(
        &key,
        json!({"iss": ISSUER, "aud": "tollgate", "sub": "carol", "email": "carol@example.com",
               "act": {"sub": "assistant"}, "iat": now(), "exp": now() + 600}),
    );
    let mut r = ask("db.drop", "proven");
    r.subject = None;
    let proven = s
        .authorizer()
        .authorize(as_user(&delegated, r))
        .await
        .unwrap()
        .into_inner()
        .approval_id;
    // A delegated token for carol cannot name a look-alike of carol as the human.
    let mut r = ask("db.drop", "proven-look-alike");
    r.subject.as_mut().unwrap().on_behalf_of = "user:c\u{0430}rol@example.com".into();
    r.subject.as_mut().unwrap().id = String::new();
    let err = s
        .authorizer()
        .authorize(as_user(&delegated, r))
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::InvalidArgument | Code::PermissionDenied),
        "{err:?}"
    );
    assert!(err.message().contains("on_behalf_of"), "{err:?}");
    // Claimed: the agent's body merely names carol.
    let mut r = ask("db.drop", "claimed");
    r.subject.as_mut().unwrap().on_behalf_of = "user:carol@example.com".into();
    let claimed = pending_of(&s, "agent", r).await;

    let (carol, dave) = (person("carol@example.com"), person("dave@example.com"));
    // The proven human reads it (Get, Wait, List alike), never the capability.
    assert_eq!(reads(&s, &carol, &proven).await, (true, false));
    // A claimed human is not told the request exists; nor is a third user.
    assert_eq!(reads(&s, &carol, &claimed).await, (false, false));
    assert_eq!(reads(&s, &dave, &proven).await, (false, false));
    // A look-alike of carol (Cyrillic a) is someone else where reading is concerned.
    let lookalike = person("c\u{0430}rol@example.com");
    assert_eq!(reads(&s, &lookalike, &proven).await, (false, false));
    // Once approved, still no capability for the human: it belongs to the requester.
    review(&s, "sre", &proven).await.unwrap();
    assert_eq!(reads(&s, &carol, &proven).await, (true, false));
    assert_eq!(reads(&s, &delegated, &proven).await, (true, true));
    s.stop().await;
}

async fn pending_of(s: &TestServer, token: &str, r: pb::AuthorizeRequest) -> String {
    let r = s
        .authorizer()
        .authorize(as_user(token, r))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}
