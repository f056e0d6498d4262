//! Against a real OpenID Provider: npm `oidc-provider` on loopback (`tests/oidc/`, installed
//! by `scripts/test.sh` with `npm ci`). The test logs people in through the provider's own
//! authorization-code flow (PKCE, cookies, redirects) and verifies the ID tokens it signs,
//! with keys found by discovery.
//!
//! Without `tests/oidc/node_modules` the test prints SKIPPED and passes, unless
//! `TOLLGATE_REQUIRE_OIDC=1` (CI) makes that a failure.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::SystemTime,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

use super::*;

const CLIENT_ID: &str = "tollgate-test";
const CLIENT_SECRET: &str = "tollgate-test-secret";
const REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// The provider process, killed on drop.
struct OpenIdProvider {
    issuer: String,
    child: Child,
    http: reqwest::Client,
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How one login authenticates.
struct Login<'a> {
    account: &'a str,
    amr: &'a str,
    acr: &'a str,
    /// Seconds since the authentication; becomes `auth_time`.
    age_secs: u64,
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
        // The provider prints its issuer once it listens. A thread reads that line, then
        // drains the pipe so later output never meets a closed pipe.
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
        let op = Self {
            issuer,
            child,
            http: http_client(Duration::from_secs(10)).unwrap(),
        };
        op.wait_ready().await;
        Some(op)
    }

    /// Polls the discovery document until it answers: readiness, not a fixed wait.
    async fn wait_ready(&self) {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        for _ in 0..100 {
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{url} never answered");
    }

    /// Runs the authorization-code flow with PKCE and returns the ID token.
    async fn login(&self, login: &Login<'_>) -> String {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::now_v7().simple(),
            uuid::Uuid::now_v7().simple()
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let age = login.age_secs.to_string();
        let query = form(&[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid email groups"),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", login.account),
            ("test_amr", login.amr),
            ("test_acr", login.acr),
            ("test_auth_age", &age),
        ]);
        let mut url = format!("{}/auth?{query}", self.issuer);
        let mut cookies = BTreeMap::new();
        let code = loop {
            let response = self
                .http
                .get(&url)
                .header("cookie", cookie_header(&cookies))
                .send()
                .await
                .unwrap();
            for set in response.headers().get_all("set-cookie") {
                let pair = set.to_str().unwrap().split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                cookies.insert(name.to_string(), value.to_string());
            }
            assert!(
                response.status().is_redirection(),
                "{url}: {}",
                response.status()
            );
            let location = response.headers()["location"].to_str().unwrap().to_string();
            if let Some(rest) = location.strip_prefix(&format!("{REDIRECT_URI}?")) {
                let params: BTreeMap<String, String> = url::form_urlencoded::parse(rest.as_bytes())
                    .into_owned()
                    .collect();
                break params
                    .get("code")
                    .cloned()
                    .unwrap_or_else(|| panic!("{location}"));
            }
            url = if location.starts_with('/') {
                format!("{}{location}", self.issuer)
            } else {
                location
            };
        };
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code_verifier", &verifier),
        ]);
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let tokens: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        tokens["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{tokens}"))
            .to_string()
    }

    fn issuer_config(&self, audience: &str) -> IssuerConfig {
        IssuerConfig {
            issuer: self.issuer.clone(),
            audiences: vec![audience.into()],
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
        }
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn cookie_header(cookies: &BTreeMap<String, String>) -> String {
    cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn tokens_from_a_real_openid_provider_verify_and_drive_step_up() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let v = verifier(vec![op.issuer_config(CLIENT_ID)]);
    let policy = StepUpPolicy::default();

    let fresh_mfa = op
        .login(&Login {
            account: "rita@example.com",
            amr: "pwd mfa",
            acr: "urn:tollgate:test:mfa",
            age_secs: 0,
        })
        .await;
    let t = v.verify(&fresh_mfa).await.unwrap();
    assert_eq!(t.id.as_str(), "user:rita@example.com");
    assert_eq!(t.issuer, op.issuer);
    let groups: Vec<&str> = t.groups.iter().map(IdentityId::as_str).collect();
    assert_eq!(groups, ["reviewers", "team:growth"]);
    assert_eq!(t.amr, ["pwd", "mfa"]);
    assert_eq!(t.acr.as_deref(), Some("urn:tollgate:test:mfa"));
    assert!(t.auth_time.is_some());
    assert_eq!(check_step_up(&t, &policy, SystemTime::now()), Ok(()));
    // The same token, ten minutes on, is no longer a fresh authentication.
    let later = SystemTime::now() + Duration::from_secs(600);
    assert!(matches!(
        check_step_up(&t, &policy, later),
        Err(StepUpRefusal::Stale { .. })
    ));

    let stale = op
        .login(&Login {
            account: "rita@example.com",
            amr: "pwd mfa",
            acr: "urn:tollgate:test:mfa",
            age_secs: 3600,
        })
        .await;
    let t = v.verify(&stale).await.unwrap();
    let refused = check_step_up(&t, &policy, SystemTime::now()).unwrap_err();
    assert!(
        refused.to_string().contains("auth_time older than 5m"),
        "{refused}"
    );

    let password_only = op
        .login(&Login {
            account: "alice@example.com",
            amr: "pwd",
            acr: "urn:tollgate:test:pwd",
            age_secs: 0,
        })
        .await;
    let t = v.verify(&password_only).await.unwrap();
    let refused = check_step_up(&t, &policy, SystemTime::now()).unwrap_err();
    assert!(
        refused.to_string().contains("acr/amr does not include mfa"),
        "{refused}"
    );

    // Discovery was used once for all of it, and a token for another audience is refused.
    assert_eq!(v.key_fetches(&op.issuer).await, Some(1));
    let other = verifier(vec![op.issuer_config("another-client")]);
    let e = other.verify(&fresh_mfa).await.unwrap_err();
    assert!(matches!(e, JwtError::WrongAudience(_)), "{e:?}");
}
