//! The reviewer console over HTTP, signed in through a real OpenID Provider (npm
//! `oidc-provider` on loopback, `tests/oidc/`): a pending request created over gRPC is
//! listed and approved in the console and the agent's `WaitForDecision` stream receives the
//! approval; self-approval and a non-eligible reviewer get a clear refusal; a POST without
//! the CSRF token is refused; a step-up requirement counts only a review made after a
//! `prompt=login` sign-in with multi-factor authentication.
//!
//! Live updates (`live`), the audit history and searchable history (`history`) and the
//! admins' view of failing deliveries (`deliveries`) are in the submodules.
//!
//! Without `tests/oidc/node_modules` the tests print SKIPPED and pass, unless
//! `TOLLGATE_REQUIRE_OIDC=1` (CI) makes that a failure.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, SystemTime},
};

mod deliveries;
mod devlogin;
mod history;
mod live;

use crate::common::*;
use tollgate::{
    domain::UnixMillis,
    grpc::pb::{self, ApprovalState, Effect},
    http::console::{
        keys::{ConsoleKeys, DeepLink},
        ConsoleOidc,
    },
    identity::jwt::{ClaimsConfig, IssuerConfig},
};

const POLICY: &str = r#"package tollgate

default allow := false

approval contains {"groups": ["reviewers"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "high", "reason": "dropping a database needs a reviewer"} if input.action.name == "db.drop"

approval contains {"groups": ["sre"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "high", "reason": "rotating a key needs an SRE"} if input.action.name == "db.rotate"

approval contains {"groups": ["reviewers"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"risk": "critical", "step_up": true, "reason": "truncating needs a reviewer fresh from MFA"} if input.action.name == "db.truncate"
"#;

const MFA: &str = "urn:tollgate:test:mfa";

/// The provider process, killed on drop.
struct OpenIdProvider {
    issuer: String,
    child: Child,
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OpenIdProvider {
    async fn start() -> Option<Self> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        if !dir.join("node_modules/oidc-provider").is_dir() {
            assert!(
                std::env::var("TOLLGATE_REQUIRE_OIDC").as_deref() != Ok("1"),
                "TOLLGATE_REQUIRE_OIDC=1 but tests/oidc/node_modules is missing (npm ci)"
            );
            eprintln!("SKIPPED: tests/oidc/node_modules missing (run npm ci in tests/oidc)");
            return None;
        }
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("provider started within 60s")
            .expect("provider printed its issuer");
        let issuer = line
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("unexpected provider output {line:?}"))
            .trim()
            .to_string();
        Some(Self { issuer, child })
    }
}

async fn server(op: &OpenIdProvider) -> TestServer {
    server_with(op, |_| {}).await
}

/// [`server`], with `more` configured on top.
async fn server_with(
    op: &OpenIdProvider,
    more: impl FnOnce(&mut tollgate::config::Config),
) -> TestServer {
    let issuer = op.issuer.clone();
    start(policy_file(POLICY), move |c| {
        c.auth = static_tokens(vec![
            identity("agent", "agent:deployer", "agent", &[]),
            identity("sam", "user:sam@example.com", "user", &["reviewers", "sre"]),
        ]);
        c.auth.jwt.issuers = vec![IssuerConfig {
            issuer: issuer.clone(),
            audiences: vec!["tollgate-console".into()],
            jwks_uri: None,
            jwks_file: None,
            algorithms: vec!["RS256".into(), "ES256".into()],
            leeway: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(600),
            min_refresh_interval: Duration::from_secs(30),
            claims: ClaimsConfig {
                id: "email".into(),
                ..ClaimsConfig::default()
            },
        }];
        c.console.oidc = Some(ConsoleOidc {
            issuer,
            client_id: "tollgate-console".into(),
            client_secret: "tollgate-console-secret".into(),
            scopes: "email groups".into(),
            step_up_acr_values: MFA.into(),
        });
        more(c);
    })
    .await
}

/// A request for `action` by the agent, on behalf of `human`; its approval id.
async fn pending(server: &TestServer, action: &str, human: &str, request_id: &str) -> String {
    let mut request = drop_request(request_id);
    request.action.as_mut().unwrap().name = action.into();
    request.subject.as_mut().unwrap().on_behalf_of = human.into();
    let r = server
        .authorizer()
        .authorize(as_user("agent", request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}

/// Approval `id` as its requester (the agent) reads it over gRPC.
async fn approval(server: &TestServer, id: &str) -> pb::Approval {
    pb::approvals_client::ApprovalsClient::new(server.channel.clone())
        .get_approval(as_user(
            "agent",
            pb::GetApprovalRequest {
                approval_id: id.to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// A browser: one cookie jar for the provider and the console (names do not collide), no
/// automatic redirects so each hop is seen.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    console: String,
    op: String,
}

/// An answer: status, `Location`, body.
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(server: &TestServer, op: &OpenIdProvider) -> Self {
        Self {
            http: tollgate::notify::http_client(Duration::from_secs(10)).unwrap(),
            cookies: BTreeMap::new(),
            console: format!("http://{}", server.running.http_addr),
            op: op.issuer.clone(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_string()
        } else if url.starts_with("/console") {
            format!("{}{url}", self.console)
        } else {
            format!("{}{url}", self.op)
        }
    }

    /// The `Cookie` header this browser sends.
    fn jar(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let jar = self.jar();
        let response = request.header("cookie", jar).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let url = self.absolute(url);
        let request = self.http.get(url);
        self.send(request).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = self.absolute(url);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Follows redirects from `url`; the first answer that is not one.
    async fn follow(&mut self, url: &str) -> Page {
        let mut page = self.get(url).await;
        for _ in 0..20 {
            match page.location.clone() {
                Some(next) if (300..400).contains(&page.status) => page = self.get(&next).await,
                _ => return page,
            }
        }
        panic!("too many redirects from {url}");
    }

    /// Signs in as `email` through the provider's own sign-in page (with a one-time code
    /// when it asks for one), starting at console page `next`; `step_up` asks for a fresh
    /// multi-factor sign-in. Returns the page `next` shows afterwards.
    async fn sign_in(&mut self, email: &str, next: &str, step_up: bool) -> Page {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .append_pair("step_up", if step_up { "1" } else { "0" })
            .finish();
        let mut page = self.follow(&format!("/console/login?{query}")).await;
        if page.body.contains("Test identity provider") {
            let action = between(&page.body, "action=\"", "\"").replace("&#47;", "/");
            let mut form = vec![("email", email), ("password", "correct horse")];
            if page.body.contains("name=\"otp\"") {
                form.push(("otp", "123456"));
            }
            let posted = self.post(&action, &form).await;
            assert!(
                (300..400).contains(&posted.status),
                "{} {action} {}",
                posted.status,
                posted.body
            );
            page = self.follow(&posted.location.unwrap()).await;
        }
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Signed in as"), "{}", page.body);
        let continue_to = between(&page.body, "id=\"continue\" href=\"", "\"").to_string();
        assert_eq!(continue_to, next);
        self.get(&continue_to).await
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

/// The CSRF token in a console page's forms.
fn csrf(page: &Page) -> String {
    between(&page.body, "name=\"csrf\" value=\"", "\"").to_string()
}

async fn review(browser: &mut Browser, id: &str, csrf: &str, verdict: &str) -> Page {
    browser
        .post(
            &format!("/console/approvals/{id}/review"),
            &[
                ("csrf", csrf),
                ("verdict", verdict),
                ("reason", "checked in the console"),
                ("params", ""),
            ],
        )
        .await
}

#[tokio::test]
async fn a_reviewer_signed_in_with_oidc_approves_in_the_console_and_the_agent_is_told() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.drop", "user:alice@example.com", "c-1").await;
    let mut waiter = waiter(&server.channel, "agent", &id).await;
    assert_eq!(
        waiter.message().await.unwrap().unwrap().state(),
        ApprovalState::Pending
    );

    // Pages need a session: the browser is sent to sign in.
    let mut sam = Browser::new(&server, &op);
    let anonymous = sam.get("/console/").await;
    assert_eq!(anonymous.status, 303);
    assert!(anonymous.location.unwrap().starts_with("/console/login"));

    let list = sam.sign_in("sam@example.com", "/console/", false).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("/console/approvals/{id}")),
        "{}",
        list.body
    );
    assert!(list.body.contains("db.drop"));

    let detail = sam.get(&format!("/console/approvals/{id}")).await;
    assert!(
        detail
            .body
            .contains("decommission after migration TICKET-9"),
        "{}",
        detail.body
    );
    assert!(detail.body.contains("dropping a database needs a reviewer"));
    let token = csrf(&detail);

    // A POST without the CSRF token (or with another) is refused and changes nothing.
    let forged = review(&mut sam, &id, "", "approve").await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("CSRF token"), "{}", forged.body);
    let forged = review(&mut sam, &id, "not-the-token", "approve").await;
    assert_eq!(forged.status, 403);

    let approved = review(&mut sam, &id, &token, "approve").await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let update = waiter.message().await.unwrap().unwrap();
    assert_eq!(update.state(), ApprovalState::Approved);
    let after = sam.follow(&approved.location.unwrap()).await;
    assert!(
        after.body.contains("Your review was recorded"),
        "{}",
        after.body
    );
    assert!(after.body.contains("sam@example.com"), "{}", after.body);
}

#[tokio::test]
async fn self_approval_and_a_reviewer_outside_the_group_are_refused_with_a_clear_message() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    // The agent acts for rita, who is a reviewer: she may not approve her own request.
    let id = pending(&server, "db.drop", "user:rita@example.com", "c-2").await;

    let mut rita = Browser::new(&server, &op);
    let detail = rita
        .sign_in(
            "rita@example.com",
            &format!("/console/approvals/{id}"),
            false,
        )
        .await;
    let refused = review(&mut rita, &id, &csrf(&detail), "approve").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(
        refused
            .body
            .contains("the user the request is made on behalf of cannot review it"),
        "{}",
        refused.body
    );

    // Omar (finance, an auditor) may read it but is not in the reviewers group.
    let mut omar = Browser::new(&server, &op);
    let detail = omar
        .sign_in(
            "omar@example.com",
            &format!("/console/approvals/{id}"),
            false,
        )
        .await;
    let refused = review(&mut omar, &id, &csrf(&detail), "approve").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("reviewer is in none of the groups that may approve (reviewers)"),
        "{}",
        refused.body
    );

    let still = approval(&server, &id).await;
    assert_eq!(still.state(), ApprovalState::Pending);
    assert!(still.reviews.is_empty(), "{still:?}");
}

#[tokio::test]
async fn a_step_up_review_counts_only_after_a_fresh_multi_factor_sign_in() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.truncate", "user:alice@example.com", "c-3").await;
    let mut waiter = waiter(&server.channel, "agent", &id).await;
    assert_eq!(
        waiter.message().await.unwrap().unwrap().state(),
        ApprovalState::Pending
    );

    let mut sam = Browser::new(&server, &op);
    let page = format!("/console/approvals/{id}");
    let detail = sam.sign_in("sam@example.com", &page, false).await;
    assert!(detail.body.contains("step-up"), "{}", detail.body);
    let refused = review(&mut sam, &id, &csrf(&detail), "approve").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("step-up required"),
        "{}",
        refused.body
    );
    let again = between(&refused.body, "<p><a href=\"", "\"").replace("&amp;", "&");
    assert!(again.contains("step_up=1"), "{again}");

    // A prompt=login sign-in asking for MFA: the provider asks for the one-time code.
    let detail = sam.sign_in("sam@example.com", &page, true).await;
    let approved = review(&mut sam, &id, &csrf(&detail), "approve").await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let update = waiter.message().await.unwrap().unwrap();
    assert_eq!(update.state(), ApprovalState::Approved);
    let reviewers: Vec<_> = update
        .reviews
        .iter()
        .map(|r| r.reviewer_id.as_str())
        .collect();
    assert_eq!(reviewers, ["user:sam@example.com"], "{update:?}");
}

#[tokio::test]
async fn a_slack_deep_link_is_used_once_and_leads_to_a_step_up_sign_in_under_a_strict_csp() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.truncate", "user:alice@example.com", "c-4").await;
    let keys = ConsoleKeys::load_or_generate(
        &server
            .dir
            .path()
            .join("data")
            .join(tollgate::app::CONSOLE_KEY_FILE),
    )
    .unwrap();
    let expires = UnixMillis::from_time(SystemTime::now()).plus(Duration::from_secs(60));
    let link = DeepLink {
        approval: id.clone(),
        verdict: "approve".into(),
        identity: "user:sam@example.com".into(),
        jti: "link-1".into(),
    };
    let token = keys.sign_link(link, expires).unwrap();
    let http = tollgate::notify::http_client(Duration::from_secs(10)).unwrap();
    let url = format!("http://{}/console/link?t={token}", server.running.http_addr);

    let first = http.get(&url).send().await.unwrap();
    assert_eq!(first.status().as_u16(), 303);
    let csp = first.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(first.headers()["referrer-policy"], "no-referrer");
    let location = first.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/console/login?"), "{location}");
    assert!(location.contains("step_up=1"), "{location}");
    assert!(location.contains(&id), "{location}");

    // The sign-in it leads to asks the provider for a fresh multi-factor login, and keeps
    // its state in an HttpOnly cookie.
    let login = http
        .get(format!("http://{}{location}", server.running.http_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let to_op = login.headers()["location"].to_str().unwrap();
    for wanted in [
        "prompt=login",
        "max_age=300",
        "code_challenge_method=S256",
        "nonce=",
    ] {
        assert!(to_op.contains(wanted), "{wanted} in {to_op}");
    }
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(wanted), "{wanted} in {cookie}");
    }

    // Used once: the second click is refused, and so is a forged link.
    let again = http.get(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let forged = http.get(format!("{url}x")).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 400);
}

/// Sign-out ends the session on the server: a copy of the session cookie taken before it (a
/// second tab, a stolen cookie) is refused afterwards and cannot review.
#[tokio::test]
async fn a_session_cookie_is_dead_after_sign_out_even_where_it_was_copied() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.drop", "user:rita@example.com", "c-out").await;
    let mut sam = Browser::new(&server, &op);
    let detail = sam
        .sign_in(
            "sam@example.com",
            &format!("/console/approvals/{id}"),
            false,
        )
        .await;
    let token = csrf(&detail);
    let mut copy = Browser::new(&server, &op);
    copy.cookies = sam.cookies.clone();
    assert_eq!(
        copy.get("/console/").await.status,
        200,
        "the copy works before"
    );

    let out = sam.post("/console/logout", &[("csrf", &token)]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains("You are signed out."), "{}", out.body);

    let list = copy.get("/console/").await;
    assert_eq!(list.status, 303, "{}", list.body);
    assert!(
        list.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/console/login")),
        "{:?}",
        list.location
    );
    let refused = review(&mut copy, &id, &token, "approve").await;
    assert_ne!(refused.status, 200, "{}", refused.body);
    let still = approval(&server, &id).await;
    assert!(still.reviews.is_empty(), "{still:?}");
}
