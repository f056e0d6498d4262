//! The development sign-in: in insecure mode with no identity provider, `/console/login` is a
//! form to sign in as a configured static identity, whose reviews go through the same path
//! as any other; with verified callers the form is not there and its POST is 404.

use super::*;
use tollgate::identity::AuthMode;

async fn dev_server(mode: AuthMode) -> TestServer {
    dev_server_keyed(mode, None).await
}

/// With the console secret in `key` (shared between servers).
async fn dev_server_keyed(mode: AuthMode, key: Option<std::path::PathBuf>) -> TestServer {
    start(policy_file(POLICY), move |c| {
        c.notify.console_key_file = key;
        c.auth = static_tokens(vec![
            identity("agent", "agent:deployer", "agent", &[]),
            identity("sam", "user:sam@example.com", "user", &["reviewers", "sre"]),
        ]);
        c.auth.mode = mode;
    })
    .await
}

fn browser(server: &TestServer) -> Browser {
    Browser {
        http: tollgate::notify::http_client(Duration::from_secs(10)).unwrap(),
        cookies: BTreeMap::new(),
        console: format!("http://{}", server.running.http_addr),
        op: String::new(),
    }
}

#[tokio::test]
async fn in_development_mode_a_static_identity_signs_in_on_a_form_and_reviews() {
    let server = dev_server(AuthMode::Insecure).await;
    let id = pending(&server, "db.drop", "user:alice@example.com", "dev-1").await;
    let mut b = browser(&server);
    let form = b.get("/console/login").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("Development sign-in"), "{}", form.body);
    assert!(form.body.contains("<label for=\"who"), "{}", form.body);
    assert!(form.body.contains("user:sam@example.com"), "{}", form.body);
    let state = between(&form.body, "name=\"state\" value=\"", "\"").to_string();

    // Without this browser's state, or naming nobody configured, nothing happens.
    let mut stranger = browser(&server);
    let refused = stranger
        .post(
            "/console/login",
            &[("id", "user:sam@example.com"), ("state", &state)],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let unknown = b
        .post(
            "/console/login",
            &[("id", "user:mallory@example.com"), ("state", &state)],
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);

    let signed = b
        .post(
            "/console/login",
            &[("id", "user:sam@example.com"), ("state", &state)],
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(signed
        .body
        .contains("Signed in as <strong>user:sam@example.com"));
    let detail = b.get(&format!("/console/approvals/{id}")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let reviewed = review(&mut b, &id, &csrf(&detail), "approve").await;
    assert!(
        reviewed.status < 400,
        "{} {}",
        reviewed.status,
        reviewed.body
    );
    let a = approval(&server, &id).await;
    assert_eq!(a.state(), pb::ApprovalState::Approved);
    assert_eq!(a.reviews[0].reviewer_id, "user:sam@example.com");
    server.stop().await;
}

#[tokio::test]
async fn with_verified_callers_there_is_no_development_sign_in() {
    let server = dev_server(AuthMode::Verified).await;
    let mut b = browser(&server);
    let page = b.get("/console/login").await;
    assert!(!page.body.contains("Development sign-in"), "{}", page.body);
    assert!(!page.body.contains("user:sam@example.com"), "{}", page.body);
    assert_eq!(page.status, 503, "no identity provider: {}", page.body);
    let posted = b
        .post(
            "/console/login",
            &[("id", "user:sam@example.com"), ("state", "x")],
        )
        .await;
    assert_eq!(posted.status, 404, "{}", posted.body);
    assert!(!b.cookies.contains_key("tollgate_console"));
    server.stop().await;
}

#[tokio::test]
async fn a_development_session_is_refused_by_a_server_not_in_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("console-secret.hex");
    let dev = dev_server_keyed(AuthMode::Insecure, Some(key.clone())).await;
    let mut b = browser(&dev);
    let form = b.get("/console/login").await;
    let state = between(&form.body, "name=\"state\" value=\"", "\"").to_string();
    let signed = b
        .post(
            "/console/login",
            &[("id", "user:sam@example.com"), ("state", &state)],
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(b.get("/console/").await.status, 200);
    dev.stop().await;

    // The same console secret, verified callers: the cookie signs correctly but is refused.
    let verified = dev_server_keyed(AuthMode::Verified, Some(key)).await;
    b.console = format!("http://{}", verified.running.http_addr);
    let page = b.get("/console/").await;
    assert!(
        (300..400).contains(&page.status),
        "{} {}",
        page.status,
        page.body
    );
    assert!(page.location.unwrap().starts_with("/console/login"));
    verified.stop().await;
}
