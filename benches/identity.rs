//! Identity building blocks on the request path: what each costs per call.
//!
//! - `canonical/parse`: validate and canonicalise an identity (NFKC, fold, skeleton).
//! - `canonical/canonical_form`: the same without the skeleton (every request's identities).
//! - `canonical/same_party`: compare two parsed identities.
//! - `limits/check`: one per-identity rate-limit check (bucket found in the cache).
//! - `jwt/verify_*`: verify and map a bearer token with cached keys (RS256, ES256, EdDSA),
//!   keys from a JWKS file of the test-only fixtures, so no network is involved.
//!
//! Run: `cargo bench --bench identity`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{hint::black_box, num::NonZeroU32, path::PathBuf, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey, Header};
use serde_json::json;
use tollgate::{
    domain::IdentityId,
    identity::{
        jwt::{ClaimsConfig, IssuerConfig, JwtConfig, JwtVerifier},
        limits::{LimitedCall, LimitsConfig, Rate, RateLimits},
    },
};

const ISSUER: &str = "https://idp.example.com";

fn canonical(c: &mut Criterion) {
    let mut g = c.benchmark_group("canonical");
    g.bench_function("parse", |b| {
        b.iter(|| IdentityId::parse(black_box("User:Alice.Example@Example.COM")).unwrap())
    });
    let a = IdentityId::parse("user:alice@example.com").unwrap();
    let b2 = IdentityId::parse("user:\u{430}lice@example.com").unwrap();
    g.bench_function("canonical_form", |b| {
        b.iter(|| IdentityId::canonical_form(black_box("User:Alice.Example@Example.COM")).unwrap())
    });
    g.bench_function("same_party", |b| {
        b.iter(|| black_box(&a).same_party(black_box(&b2)))
    });
    g.finish();
}

fn limits(c: &mut Criterion) {
    let rate = Rate {
        calls: NonZeroU32::new(1_000_000).unwrap(),
        per: Duration::from_secs(1),
    };
    let limits = RateLimits::new(&LimitsConfig {
        authorize: rate,
        approve: rate,
        ..LimitsConfig::default()
    })
    .unwrap();
    let who = IdentityId::parse("agent:billing-exporter").unwrap();
    c.bench_function("limits/check", |b| {
        // Allowed or refused, the check costs the same; the burst runs out over the run.
        b.iter(|| {
            limits
                .check(LimitedCall::Authorize, black_box(&who))
                .is_ok()
        })
    });
}

fn jwt(c: &mut Criterion) {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt");
    let keys = [
        ("rsa-a.pem", Algorithm::RS256),
        ("ec-p256.pem", Algorithm::ES256),
        ("ed25519.pem", Algorithm::EdDSA),
    ]
    .map(|(file, alg)| {
        let pem = std::fs::read(fixtures.join(file)).unwrap();
        let enc = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, alg).unwrap();
        jwk.common.key_id = Some(file.into());
        (file, alg, enc, jwk)
    });
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let set: Vec<&Jwk> = keys.iter().map(|k| &k.3).collect();
    std::fs::write(&jwks, json!({ "keys": set }).to_string()).unwrap();
    let verifier = JwtVerifier::new(&JwtConfig {
        issuers: vec![IssuerConfig {
            issuer: ISSUER.into(),
            audiences: vec!["tollgate".into()],
            jwks_uri: None,
            jwks_file: Some(jwks),
            algorithms: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
            leeway: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(3600),
            min_refresh_interval: Duration::from_secs(30),
            claims: ClaimsConfig::default(),
        }],
        ..JwtConfig::default()
    })
    .unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISSUER, "aud": "tollgate", "sub": "alice@example.com",
        "exp": now + 3600, "iat": now, "groups": ["security", "team:growth"],
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("jwt");
    for (file, alg, enc, _) in &keys {
        let mut header = Header::new(*alg);
        header.kid = Some((*file).into());
        let token = jsonwebtoken::encode(&header, &claims, enc).unwrap();
        rt.block_on(verifier.verify(&token)).unwrap();
        g.bench_function(format!("verify_{alg:?}"), |b| {
            b.iter(|| rt.block_on(verifier.verify(black_box(&token))).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, canonical, limits, jwt);
criterion_main!(benches);
