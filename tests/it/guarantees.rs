//! The guarantees tried as an attacker would (issue 10): a capability binds everything the
//! decision saw and is re-decided when it is redeemed.

use serde_json::json;
use tollgate::grpc::pb::{self, approvals_client::ApprovalsClient, Effect};
use tonic::Code;

use crate::common::*;

/// `probe.write` is allowed with a capability in dev, needs an SRE in prod; PII needs one
/// everywhere; `probe.revoke-me` is allowed with a capability until a bundle denies it.
const POLICY: &str = r#"package tollgate

default allow := false

obligations contains {"type": "capability"} if input.action.name in {"probe.write", "probe.revoke-me"}

allow if {
	input.action.name == "probe.write"
	input.context.environment == "dev"
	input.resource.attributes.classification != "pii"
	not "interns" in input.subject.groups
}

allow if input.action.name == "probe.revoke-me"

approval contains {"groups": ["sre"], "quorum": 1, "reason": "prod writes need an SRE"} if {
	input.action.name == "probe.write"
	input.context.environment == "prod"
}
"#;

const REVOKED: &str = r#"package tollgate

default allow := false

deny contains "probe.revoke-me was revoked after the incident" if input.action.name == "probe.revoke-me"
"#;

async fn server() -> TestServer {
    start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            identity(
                "agent",
                "agent:writer",
                "agent",
                &["writers", "interns-alumni"],
            ),
            identity(
                "executor",
                "service:executor",
                "service",
                &["tollgate-executors"],
            ),
            identity("admin", "user:admin", "user", &["tollgate-admins"]),
        ])
    })
    .await
}

/// A `probe.write` in `environment` on an internal dataset, subject filled by the token.
fn write(environment: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: None,
        action: Some(pb::Action {
            name: "probe.write".into(),
            params: strukt(json!({"rows": 10})),
        }),
        resource: Some(pb::Resource {
            r#type: "dataset".into(),
            id: "metrics".into(),
            attributes: strukt(json!({"classification": "internal"})),
        }),
        context: Some(pb::Context {
            environment: environment.into(),
            intent: "nightly rollup".into(),
            ..Default::default()
        }),
    }
}

/// The request as the capability is bound to it: the subject the token filled in.
fn as_decided(mut r: pb::AuthorizeRequest) -> pb::AuthorizeRequest {
    r.subject = Some(pb::Subject {
        id: "agent:writer".into(),
        kind: "agent".into(),
        owner: "team:platform".into(),
        groups: vec!["writers".into(), "interns-alumni".into()],
        ..Default::default()
    });
    r
}

async fn capability(s: &TestServer, r: pb::AuthorizeRequest) -> String {
    let answer = s
        .authorizer()
        .authorize(as_user("agent", r))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.effect(), Effect::Allow, "{answer:?}");
    assert!(answer.capability.starts_with("v4.public."));
    answer.capability
}

async fn redeem(
    s: &TestServer,
    token: &str,
    r: pb::AuthorizeRequest,
) -> pb::RedeemCapabilityResponse {
    ApprovalsClient::new(s.channel.clone())
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: token.into(),
                request: Some(r),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_capability_binds_everything_the_decision_saw() {
    let s = server().await;
    let token = capability(&s, write("dev")).await;
    let exact = as_decided(write("dev"));
    let mut altered: Vec<(&str, pb::AuthorizeRequest)> = Vec::new();
    let mut alter = |what, edit: &dyn Fn(&mut pb::AuthorizeRequest)| {
        let mut r = exact.clone();
        edit(&mut r);
        altered.push((what, r));
    };
    alter("environment", &|r| {
        r.context.as_mut().unwrap().environment = "prod".into()
    });
    alter("resource attributes", &|r| {
        r.resource.as_mut().unwrap().attributes = strukt(json!({"classification": "pii"}))
    });
    alter("subject groups", &|r| {
        r.subject.as_mut().unwrap().groups = vec!["writers".into()]
    });
    alter("subject attributes", &|r| {
        r.subject.as_mut().unwrap().attributes = strukt(json!({"on_call": true}))
    });
    alter("subject kind", &|r| {
        r.subject.as_mut().unwrap().kind = "service".into()
    });
    alter("owner", &|r| {
        r.subject.as_mut().unwrap().owner = "team:other".into()
    });
    alter("intent", &|r| {
        r.context.as_mut().unwrap().intent = "something else".into()
    });
    alter("context attributes", &|r| {
        r.context.as_mut().unwrap().attributes = strukt(json!({"ticket": "T-1"}))
    });
    alter("params", &|r| {
        r.action.as_mut().unwrap().params = strukt(json!({"rows": 11}))
    });
    for (what, r) in altered {
        let refused = redeem(&s, &token, r).await;
        assert!(!refused.allowed, "{what}");
        assert!(
            refused.reason.contains("different request"),
            "{what}: {}",
            refused.reason
        );
    }
    // The idempotency key is not part of what was decided; identities compare canonically.
    let mut same = exact.clone();
    same.context.as_mut().unwrap().request_id = "a-new-key".into();
    same.subject.as_mut().unwrap().id = "Agent:Writer".into();
    let ok = redeem(&s, &token, same).await;
    assert!(ok.allowed, "{ok:?}");
    s.stop().await;
}

#[tokio::test]
async fn redemption_re_decides_with_the_serving_bundle() {
    let s = server().await;
    let r = pb::AuthorizeRequest {
        action: Some(pb::Action {
            name: "probe.revoke-me".into(),
            params: None,
        }),
        ..write("dev")
    };
    let token = capability(&s, r.clone()).await;
    std::fs::write(s.bundle_dir().join("policy.rego"), REVOKED).unwrap();
    s.admin()
        .reload_bundle(as_user("admin", pb::ReloadBundleRequest {}))
        .await
        .unwrap();
    let refused = redeem(&s, &token, as_decided(r.clone())).await;
    assert!(!refused.allowed);
    assert!(
        refused.reason.contains("no longer allows") && refused.reason.contains("revoked"),
        "{}",
        refused.reason
    );
    // Refusing consumed nothing: with the rule back, the executor can still use it once.
    std::fs::write(s.bundle_dir().join("policy.rego"), POLICY).unwrap();
    s.admin()
        .reload_bundle(as_user("admin", pb::ReloadBundleRequest {}))
        .await
        .unwrap();
    assert!(redeem(&s, &token, as_decided(r.clone())).await.allowed);
    assert!(!redeem(&s, &token, as_decided(r)).await.allowed);
    s.stop().await;
}

#[tokio::test]
async fn a_request_without_a_request_is_invalid_not_a_redemption() {
    let s = server().await;
    let err = ApprovalsClient::new(s.channel.clone())
        .redeem_capability(as_user(
            "executor",
            pb::RedeemCapabilityRequest {
                capability: "v4.public.x".into(),
                request: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("request"), "{}", err.message());
    s.stop().await;
}
