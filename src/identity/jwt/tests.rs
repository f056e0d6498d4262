//! Real signed tokens (RS256, ES256, EdDSA, from the test-only keys in
//! `tests/fixtures/jwt/`) against a JWKS and discovery document served on loopback by axum.

mod oidc;
mod step_up_cases;
mod verify_cases;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

/// A test signing key and its public JWK.
struct TestKey {
    kid: String,
    alg: Algorithm,
    enc: EncodingKey,
    jwk: Value,
}

fn key(file: &str, kid: &str, alg: Algorithm) -> TestKey {
    let pem = std::fs::read(fixture(file)).unwrap();
    let enc = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut jwk = Jwk::from_encoding_key(&enc, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    TestKey {
        kid: kid.into(),
        alg,
        enc,
        jwk: serde_json::to_value(jwk).unwrap(),
    }
}

fn rsa_a() -> TestKey {
    key("rsa-a.pem", "rsa-a", Algorithm::RS256)
}

fn rsa_b() -> TestKey {
    key("rsa-b.pem", "rsa-b", Algorithm::RS256)
}

fn ec() -> TestKey {
    key("ec-p256.pem", "ec-1", Algorithm::ES256)
}

fn ed() -> TestKey {
    key("ed25519.pem", "ed-1", Algorithm::EdDSA)
}

fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.enc).unwrap()
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// Claims of a valid token for `alice` from `issuer`.
fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": "tollgate",
        "sub": "alice@example.com",
        "exp": now() + 300,
        "iat": now() - 5,
        "nbf": now() - 5,
        "groups": ["security", "team:growth"],
    })
}

/// What the fake identity provider serves.
struct IdpState {
    keys: Vec<Value>,
    up: bool,
    /// The `issuer` the discovery document names (default: its own base URL).
    discovery_issuer: Option<String>,
    jwks_hits: u64,
}

/// A JWKS and discovery endpoint on loopback, aborted on drop.
struct Idp {
    base: String,
    state: Arc<Mutex<IdpState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Idp {
    async fn start(keys: &[&TestKey]) -> Self {
        let state = Arc::new(Mutex::new(IdpState {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
            up: true,
            discovery_issuer: None,
            jwks_hits: 0,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state((state.clone(), base.clone()));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, state, task }
    }

    fn set_keys(&self, keys: &[&TestKey]) {
        self.state.lock().unwrap().keys = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    fn set_up(&self, up: bool) {
        self.state.lock().unwrap().up = up;
    }

    fn jwks_hits(&self) -> u64 {
        self.state.lock().unwrap().jwks_hits
    }

    /// An issuer trusting this IdP's JWKS by URI, refreshing as often as asked.
    fn issuer(&self, algorithms: &[&str]) -> IssuerConfig {
        IssuerConfig {
            issuer: self.base.clone(),
            audiences: vec!["tollgate".into()],
            jwks_uri: Some(format!("{}/jwks", self.base)),
            jwks_file: None,
            algorithms: algorithms.iter().map(|a| a.to_string()).collect(),
            leeway: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(600),
            min_refresh_interval: Duration::ZERO,
            claims: ClaimsConfig::default(),
        }
    }
}

type Shared = (Arc<Mutex<IdpState>>, String);

async fn jwks(State((state, _)): State<Shared>) -> Result<Json<Value>, StatusCode> {
    let mut s = state.lock().unwrap();
    s.jwks_hits += 1;
    if !s.up {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    Ok(Json(json!({ "keys": s.keys })))
}

async fn discovery(State((state, base)): State<Shared>) -> Result<Json<Value>, StatusCode> {
    let s = state.lock().unwrap();
    if !s.up {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let issuer = s.discovery_issuer.clone().unwrap_or_else(|| base.clone());
    Ok(Json(
        json!({ "issuer": issuer, "jwks_uri": format!("{base}/jwks") }),
    ))
}

fn verifier(issuers: Vec<IssuerConfig>) -> JwtVerifier {
    JwtVerifier::new(&JwtConfig {
        issuers,
        http_timeout: Duration::from_secs(5),
    })
    .unwrap()
}
