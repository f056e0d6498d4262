//! Black-box tests: the real server on port 0, called over gRPC.

use std::{sync::Arc, time::Duration};

use crate::common::*;
use tokio_stream::StreamExt;
use tollgate::{
    grpc::pb::{self, batch_item::Outcome, Effect},
    identity::{AuthConfig, AuthMode, TokenIdentity},
};
use tonic::{Code, Request};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_types::StatusExt;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn authorize_answers_allow_deny_and_pending() {
    let server = start_shipped().await;
    let revision = server
        .running
        .policies
        .current()
        .unwrap()
        .revision
        .to_string();
    let mut client = server.authorizer();

    let allow = client
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allow.effect(), Effect::Allow, "{allow:?}");
    assert_eq!(allow.bundle_revision, revision);
    assert!(uuid::Uuid::parse_str(&allow.decision_id).is_ok());
    assert!(allow.decided_at.is_some());

    let deny = client
        .authorize(request("warp.drive.engage", "starship"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deny.effect(), Effect::Deny);
    assert!(!deny.reasons.is_empty());

    let pending = client
        .authorize(pending_export())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effect(), Effect::PendingApproval, "{pending:?}");
    let mut groups: Vec<String> = pending
        .requirements
        .iter()
        .flat_map(|r| r.groups.clone())
        .collect();
    groups.sort();
    assert_eq!(groups, ["data-governance", "security"]);
    assert!(pending
        .requirements
        .iter()
        .all(|r| r.quorum >= 1 && r.ttl.is_some()));
    assert_ne!(pending.decision_id, allow.decision_id);
    server.stop().await;
}

#[tokio::test]
async fn batch_authorize_decides_each_item_with_one_revision() {
    let server = start_shipped().await;
    let mut bad = request("dataset.read", "dataset");
    bad.action.as_mut().unwrap().name.clear();
    let resp = server
        .authorizer()
        .batch_authorize(pb::BatchAuthorizeRequest {
            requests: vec![request("dataset.read", "dataset"), bad, pending_export()],
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.results.len(), 3);
    let effects: Vec<Option<Effect>> = resp
        .results
        .iter()
        .map(|r| match r.outcome.as_ref().unwrap() {
            Outcome::Decision(d) => {
                assert_eq!(d.bundle_revision, resp.bundle_revision);
                Some(d.effect())
            }
            Outcome::Error(e) => {
                assert_eq!(e.code, Code::InvalidArgument as i32);
                assert_eq!(e.field, "requests[1].action.name");
                None
            }
        })
        .collect();
    assert_eq!(
        effects,
        [Some(Effect::Allow), None, Some(Effect::PendingApproval)]
    );
    let pending_of = |r: &pb::BatchAuthorizeResponse| match r.results[2].outcome.as_ref() {
        Some(Outcome::Decision(d)) => (d.effect(), d.approval_id.clone()),
        other => panic!("{other:?}"),
    };
    assert!(!pending_of(&resp).1.is_empty(), "acting opens an approval");

    // A dry run decides the same, but opens no approval.
    let mut another = pending_export();
    another.context.as_mut().unwrap().request_id = "dry-run-1".into();
    let dry = server
        .authorizer()
        .batch_authorize(pb::BatchAuthorizeRequest {
            requests: vec![request("dataset.read", "dataset"), another.clone(), another],
            dry_run: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending_of(&dry), (Effect::PendingApproval, String::new()));
    // Recorded like every decision, and marked, so nobody looks for the approval it did not open.
    let store = server.sqlite().await;
    let trail = tollgate::store::AuditLog::query(
        &store,
        &tollgate::domain::AuditFilter::default(),
        0,
        1000,
    )
    .await
    .unwrap();
    store.close().await;
    let marked: Vec<_> = trail
        .iter()
        .filter(|r| r.event.detail["dry_run"] == true)
        .collect();
    assert_eq!(
        marked.len(),
        3,
        "every dry-run decision is marked: {trail:#?}"
    );
    assert!(marked.iter().all(|r| r.event.approval_id.is_empty()));

    for requests in [vec![], vec![request("dataset.read", "dataset"); 129]] {
        let err = server
            .authorizer()
            .batch_authorize(pb::BatchAuthorizeRequest {
                requests,
                dry_run: false,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().starts_with("requests:"), "{}", err.message());
    }
    server.stop().await;
}

async fn wait_for_health(server: &TestServer, want: ServingStatus) {
    let mut health = HealthClient::new(server.channel.clone());
    let mut stream = health
        .watch(HealthCheckRequest {
            service: "tollgate.v1.Authorizer".into(),
        })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(WAIT, async {
        while let Some(msg) = stream.next().await {
            if msg.unwrap().status() == want {
                return;
            }
        }
        panic!("health stream ended before {want:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("health never became {want:?}"));
}

#[tokio::test]
async fn health_is_not_serving_until_a_bundle_loads() {
    let server = start(|_| {}, |_| {}).await;
    let mut health = HealthClient::new(server.channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "tollgate.v1.Authorizer".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status(), ServingStatus::NotServing);
    let err = server
        .authorizer()
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);

    copy_dir(&repo().join("policies"), &server.bundle_dir());
    let status = server
        .admin()
        .reload_bundle(pb::ReloadBundleRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(status.active_revision.starts_with("sha256:"));
    wait_for_health(&server, ServingStatus::Serving).await;
    let ok = server
        .authorizer()
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow);
    server.stop().await;
}

/// Asks the probe bundle about `probe.run`: (effect, revision).
async fn probe(server: &TestServer) -> (Effect, String) {
    let r = server
        .authorizer()
        .authorize(request("probe.run", "probe"))
        .await
        .unwrap()
        .into_inner();
    (r.effect(), r.bundle_revision)
}

#[tokio::test]
async fn a_broken_bundle_never_replaces_the_good_one() {
    let server = start(|b| write_probe_bundle(b, "A", true), |_| {}).await;
    assert_eq!(probe(&server).await, (Effect::Allow, "A".to_string()));

    write_probe_bundle(&server.bundle_dir(), "B", false);
    let status = server
        .admin()
        .reload_bundle(pb::ReloadBundleRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.active_revision, "B");

    for broken in [
        "package tollgate\n\nallow if {\n",               // does not parse
        "package other\n\nallow := true\n",               // no package tollgate
        "package tollgate\n\nallow if undefined_fn(1)\n", // does not compile
    ] {
        std::fs::write(server.bundle_dir().join("policy.rego"), broken).unwrap();
        let err = server
            .admin()
            .reload_bundle(pb::ReloadBundleRequest {})
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "{broken}: {}",
            err.message()
        );
        assert_eq!(probe(&server).await, (Effect::Deny, "B".to_string()));
    }
    let status = server
        .admin()
        .get_bundle_status(pb::GetBundleStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.active_revision, "B");
    assert_eq!((status.activations, status.rejections), (2, 3));
    assert_ne!(status.last_result, "ok");
    server.stop().await;
}

#[tokio::test]
async fn file_changes_reload_and_broken_files_are_rejected() {
    let server = start(
        |b| write_probe_bundle(b, "A", true),
        |c| c.bundle.watch = true,
    )
    .await;
    let policies = server.running.policies.clone();
    let mut attempts = policies.subscribe_attempts();
    let mut revisions = policies.subscribe();
    revisions.borrow_and_update();

    write_probe_bundle(&server.bundle_dir(), "B", false);
    tokio::time::timeout(WAIT, revisions.wait_for(|r| r.as_deref() == Some("B")))
        .await
        .expect("watcher reloads")
        .unwrap();

    let before = *attempts.borrow_and_update();
    std::fs::write(
        server.bundle_dir().join("policy.rego"),
        "package tollgate\nallow if {",
    )
    .unwrap();
    tokio::time::timeout(WAIT, attempts.wait_for(|n| *n > before))
        .await
        .expect("watcher attempts a reload")
        .unwrap();
    // The watcher may see several events for one write; wait for the broken content's attempt.
    tokio::time::timeout(WAIT, async {
        while policies.status().rejections == 0 {
            attempts.changed().await.unwrap();
        }
    })
    .await
    .expect("broken bundle rejected");
    assert_eq!(probe(&server).await, (Effect::Deny, "B".to_string()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_during_reloads_is_made_by_one_revision() {
    let server = start(|b| write_probe_bundle(b, "A", true), |_| {}).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut callers = Vec::new();
    for _ in 0..8 {
        let mut client = server.authorizer();
        let stop = stop.clone();
        callers.push(tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            let mut calls = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || calls < 50 {
                let r = client
                    .authorize(request("probe.run", "probe"))
                    .await
                    .unwrap()
                    .into_inner();
                let expected = match r.bundle_revision.as_str() {
                    "A" => Effect::Allow,
                    "B" => Effect::Deny,
                    other => panic!("unknown revision {other}"),
                };
                assert_eq!(
                    r.effect(),
                    expected,
                    "revision {} answered {:?}",
                    r.bundle_revision,
                    r.effect()
                );
                seen.insert(r.bundle_revision);
                calls += 1;
            }
            (calls, seen)
        }));
    }
    for i in 0..20 {
        let (rev, allow) = if i % 2 == 0 {
            ("B", false)
        } else {
            ("A", true)
        };
        write_probe_bundle(&server.bundle_dir(), rev, allow);
        let status = server
            .admin()
            .reload_bundle(pb::ReloadBundleRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.active_revision, rev);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for c in callers {
        let (calls, _seen) = c.await.unwrap();
        total += calls;
    }
    assert!(total >= 400);
    server.stop().await;
}

#[tokio::test]
async fn bad_inputs_are_invalid_argument_naming_the_field() {
    let server = start_shipped().await;
    let mut client = server.authorizer();

    let mut cases: Vec<(pb::AuthorizeRequest, &str)> = Vec::new();
    cases.push((pb::AuthorizeRequest::default(), "subject.id"));
    let mut r = request("dataset.read", "dataset");
    r.subject.as_mut().unwrap().kind = "robot".into();
    cases.push((r, "subject.kind"));
    let mut r = request("dataset.read", "dataset");
    r.resource = None;
    cases.push((r, "resource.type"));
    let mut r = request("dataset.read", "dataset");
    r.action.as_mut().unwrap().params = strukt(serde_json::json!({"rows": f64::NAN.to_string()}));
    r.action
        .as_mut()
        .unwrap()
        .params
        .as_mut()
        .unwrap()
        .fields
        .insert(
            "ratio".into(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(f64::INFINITY)),
            },
        );
    cases.push((r, "action.params.ratio"));
    let mut deep = serde_json::json!(1);
    for _ in 0..20 {
        deep = serde_json::json!({ "n": deep });
    }
    let mut r = request("dataset.read", "dataset");
    r.context.as_mut().unwrap().attributes = strukt(serde_json::json!({ "deep": deep }));
    cases.push((r, "context.attributes.deep.n"));
    let mut r = request("dataset.read", "dataset");
    r.subject.as_mut().unwrap().groups = (0..65).map(|i| format!("g{i}")).collect();
    cases.push((r, "subject.groups"));

    for (req, field) in cases {
        let err = client.authorize(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(
            err.message().starts_with(field),
            "{field}: {}",
            err.message()
        );
        let details = err.get_details_bad_request().expect("BadRequest detail");
        assert!(details.field_violations[0].field.starts_with(field));
    }

    let mut huge = request("dataset.read", "dataset");
    huge.context.as_mut().unwrap().intent = "x".repeat(300 * 1024);
    let err = client.authorize(huge).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().starts_with("body: message too large"),
        "{err:?}"
    );

    // The server is still healthy afterwards.
    let ok = client
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow);
    server.stop().await;
}

fn token(
    token: &str,
    id: &str,
    kind: &str,
    groups: &[&str],
    assert_subjects: bool,
) -> TokenIdentity {
    TokenIdentity {
        token_sha256: String::new(),
        token: token.into(),
        id: id.into(),
        kind: tollgate::domain::SubjectKind::parse(kind).expect("a subject kind"),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        owner: "team:growth".into(),
        assert_subjects,
        step_up: false,
    }
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut req = Request::new(msg);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

#[tokio::test]
async fn tokens_bind_the_subject_and_guard_administration() {
    let server = start(
        |b| copy_dir(&repo().join("policies"), b),
        |c| {
            c.auth = AuthConfig {
                mode: AuthMode::Verified,
                tokens: vec![
                    token(
                        "agent-token",
                        "agent:reporter",
                        "agent",
                        &["analysts"],
                        false,
                    ),
                    token(
                        "admin-token",
                        "user:ops@example.com",
                        "user",
                        &["tollgate-admins"],
                        false,
                    ),
                    token("gateway-token", "service:gateway", "service", &[], true),
                ],
                ..AuthConfig::default()
            }
        },
    )
    .await;
    let mut client = server.authorizer();

    let err = client
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client
        .authorize(with_token(request("dataset.read", "dataset"), "wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut other = request("dataset.read", "dataset");
    other.subject.as_mut().unwrap().id = "agent:someone-else".into();
    let err = client
        .authorize(with_token(other.clone(), "agent-token"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().starts_with("subject.id"), "{}", err.message());

    // An empty subject is filled from the verified identity.
    let mut anonymous = request("dataset.read", "dataset");
    anonymous.subject = None;
    let ok = client
        .authorize(with_token(anonymous, "agent-token"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow, "{ok:?}");

    // A trusted gateway may ask about other subjects.
    let ok = client
        .authorize(with_token(other, "gateway-token"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow);

    let mut admin = server.admin();
    let err = admin
        .reload_bundle(with_token(pb::ReloadBundleRequest {}, "agent-token"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    admin
        .reload_bundle(with_token(pb::ReloadBundleRequest {}, "admin-token"))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn the_decision_cache_serves_repeats_but_never_pending() {
    let server = start(
        |b| copy_dir(&repo().join("policies"), b),
        |c| c.decision_cache.enabled = true,
    )
    .await;
    let mut client = server.authorizer();
    let first = client
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap()
        .into_inner();
    let second = client
        .authorize(request("dataset.read", "dataset"))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.cached && second.cached);
    assert_eq!(first.effect, second.effect);
    assert_ne!(first.decision_id, second.decision_id);
    let p1 = client
        .authorize(pending_export())
        .await
        .unwrap()
        .into_inner();
    let p2 = client
        .authorize(pending_export())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p1.effect(), Effect::PendingApproval);
    assert!(!p1.cached && !p2.cached);
    server.stop().await;
}

#[tokio::test]
async fn http_serves_health_status_and_the_capability_key() {
    let empty = start(|_| {}, |_| {}).await;
    let (code, _) = http_get(empty.running.http_addr, "/healthz").await;
    assert_eq!(code, 503);
    empty.stop().await;

    let server = start_shipped().await;
    let http = server.running.http_addr;
    assert_eq!(http_get(http, "/healthz").await.0, 200);
    let (code, body) = http_get(http, "/v1/status").await;
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["serving"], true);
    assert_eq!(
        status["active_revision"],
        &*server.running.policies.current().unwrap().revision
    );
    let (code, body) = http_get(http, "/.well-known/jwks.json").await;
    assert_eq!(code, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .starts_with("k4.pid."));
    // The key was generated into the data directory, private.
    let key = server
        .dir
        .path()
        .join("data")
        .join(tollgate::app::CAPABILITY_KEY_FILE);
    assert!(key.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    server.stop().await;
}
