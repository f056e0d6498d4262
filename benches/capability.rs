//! Capabilities on the request path: what signing and verifying one costs.
//!
//! - `capability/mint`: sign an export ALLOW's capability (PASETO v4.public through
//!   rusty_paseto, `ed25519-dalek`), as every ALLOW with a capability obligation and every
//!   approval does.
//! - `capability/verify`: check a token's signature, issuer and claims (pasetors,
//!   `ed25519-compact`), as every redemption does.
//! - `ed25519/compact_sign`: pasetors' own `PublicToken::sign` over a message the size of a
//!   token's claims (its PAE, the `ed25519-compact` signature and base64), what `mint` cost
//!   before; `ed25519/dalek_sign`: an `ed25519-dalek` signature over the same bytes with a
//!   key made once; `ed25519/dalek_keypair_sign`: the same, the key first rebuilt from its 64
//!   keypair bytes, as rusty_paseto does on every signature (the key's public half derived
//!   and compared).
//!
//! Run: `cargo bench --bench capability`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    hint::black_box,
    time::{Duration, SystemTime},
};

use criterion::{criterion_group, criterion_main, Criterion};
use pasetors::{
    keys::{AsymmetricKeyPair, Generate},
    version4::V4,
};
use tollgate::capability::{CapabilityKey, Grant};

/// A grant the size of an export ALLOW's: a 64-hex binding hash and a two-entry audience.
fn grant() -> Grant {
    let now = SystemTime::now();
    Grant {
        id: uuid::Uuid::now_v7().to_string(),
        subject: "agent:billing-exporter".into(),
        approval_id: None,
        request_hash: "ab".repeat(32),
        revision: "rev-0123456789abcdef".into(),
        bundle_digest: format!("sha256:{}", "cd".repeat(32)),
        issued_at: now,
        expires_at: now + Duration::from_secs(300),
        audience: vec!["group:tollgate-executors".into(), "service:exporter".into()],
    }
}

fn capability(c: &mut Criterion) {
    let key = CapabilityKey::generate().unwrap();
    let grant = grant();
    let mut g = c.benchmark_group("capability");
    g.bench_function("mint", |b| b.iter(|| key.mint(black_box(&grant)).unwrap()));
    let token = key.mint(&grant).unwrap();
    g.bench_function("verify", |b| {
        b.iter(|| key.verify(black_box(&token), SystemTime::now()).unwrap())
    });
    g.finish();
}

fn ed25519(c: &mut Criterion) {
    use ed25519_dalek::Signer as _;
    // A token's signed part: PAE of the header, the claims and the footer, about 500 bytes.
    let message = vec![b'x'; 500];
    let mut g = c.benchmark_group("ed25519");
    let pair = AsymmetricKeyPair::<V4>::generate().unwrap();
    g.bench_function("compact_sign", |b| {
        b.iter(|| {
            pasetors::version4::PublicToken::sign(&pair.secret, black_box(&message), None, None)
                .unwrap()
        })
    });
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    g.bench_function("dalek_sign", |b| b.iter(|| dalek.sign(black_box(&message))));
    let keypair = dalek.to_keypair_bytes();
    g.bench_function("dalek_keypair_sign", |b| {
        b.iter(|| {
            ed25519_dalek::SigningKey::from_keypair_bytes(black_box(&keypair))
                .unwrap()
                .sign(black_box(&message))
        })
    });
    g.finish();
}

criterion_group!(benches, capability, ed25519);
criterion_main!(benches);
