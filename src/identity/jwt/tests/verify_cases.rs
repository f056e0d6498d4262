use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use super::*;

const ALL: [&str; 3] = ["RS256", "ES256", "EdDSA"];

#[tokio::test]
async fn valid_tokens_of_each_algorithm_verify_and_map() {
    let (rsa, ec, ed) = (rsa_a(), ec(), ed());
    let idp = Idp::start(&[&rsa, &ec, &ed]).await;
    let v = verifier(vec![idp.issuer(&ALL)]);
    for key in [&rsa, &ec, &ed] {
        let t = v.verify(&sign(key, &claims(&idp.base))).await.unwrap();
        assert_eq!(t.id.as_str(), "user:alice@example.com", "{:?}", key.alg);
        assert_eq!(t.kind, SubjectKind::User);
        assert_eq!(t.issuer, idp.base);
        let groups: Vec<&str> = t.groups.iter().map(IdentityId::as_str).collect();
        assert_eq!(groups, ["security", "team:growth"]);
        assert_eq!(t.acting_for, None);
    }
    // One fetch served all three.
    assert_eq!(idp.jwks_hits(), 1);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let rsa = rsa_a();
    let idp = Idp::start(&[&rsa]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    for header in [
        json!({"alg": "none"}),
        json!({"alg": "none", "kid": "rsa-a"}),
        json!({"alg": "None"}),
    ] {
        let token = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims(&idp.base).to_string())
        );
        let e = v.verify(&token).await.unwrap_err();
        assert!(matches!(e, JwtError::Malformed(_)), "{header}: {e:?}");
    }
    assert!(JwtVerifier::new(&JwtConfig {
        issuers: vec![idp.issuer(&["none"])],
        ..JwtConfig::default()
    })
    .is_err());
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let rsa = rsa_a();
    let idp = Idp::start(&[&rsa]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).unwrap();
    let forged = TestKey {
        kid: "rsa-a".into(),
        alg: Algorithm::HS256,
        enc: EncodingKey::from_secret(&public_pem),
        jwk: Value::Null,
    };
    let e = v
        .verify(&sign(&forged, &claims(&idp.base)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, JwtError::AlgorithmNotAllowed { ref alg, .. } if alg == "HS256"),
        "{e:?}"
    );
    // And HS256 cannot even be allowed.
    let refused = JwtVerifier::new(&JwtConfig {
        issuers: vec![idp.issuer(&["RS256", "HS256"])],
        ..JwtConfig::default()
    })
    .err()
    .unwrap();
    assert!(refused.to_string().contains("symmetric"), "{refused}");
}

#[tokio::test]
async fn a_key_verifies_only_algorithms_of_its_type() {
    let (rsa, ec) = (rsa_a(), ec());
    let idp = Idp::start(&[&rsa, &ec]).await;
    let v = verifier(vec![idp.issuer(&["RS256", "PS256", "ES256"])]);
    // An ES256 token naming the RSA key's kid.
    let lying = TestKey {
        kid: "rsa-a".into(),
        ..key("ec-p256.pem", "x", Algorithm::ES256)
    };
    let e = v
        .verify(&sign(&lying, &claims(&idp.base)))
        .await
        .unwrap_err();
    assert!(matches!(e, JwtError::KeyMismatch { .. }), "{e:?}");
    // The JWK pins RS256: a PS256 token with the same RSA key is refused.
    let ps = TestKey {
        alg: Algorithm::PS256,
        ..rsa_a()
    };
    let e = v.verify(&sign(&ps, &claims(&idp.base))).await.unwrap_err();
    assert!(matches!(e, JwtError::KeyMismatch { .. }), "{e:?}");
}

#[tokio::test]
async fn wrong_issuer_and_audience_are_refused() {
    let rsa = rsa_a();
    let idp = Idp::start(&[&rsa]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    let mut c = claims(&idp.base);
    c["iss"] = json!("https://evil.example.com");
    let e = v.verify(&sign(&rsa, &c)).await.unwrap_err();
    assert!(matches!(e, JwtError::UnknownIssuer { .. }), "{e:?}");
    c = claims(&idp.base);
    c["aud"] = json!(["another-service"]);
    let e = v.verify(&sign(&rsa, &c)).await.unwrap_err();
    assert!(matches!(e, JwtError::WrongAudience(_)), "{e:?}");
    c.as_object_mut().unwrap().remove("aud");
    let e = v.verify(&sign(&rsa, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::MissingClaim { ref claim } if claim == "aud"),
        "{e:?}"
    );
    c = claims(&idp.base);
    c["aud"] = json!(["another-service", "tollgate"]);
    assert!(v.verify(&sign(&rsa, &c)).await.is_ok());
}

#[tokio::test]
async fn expired_and_not_yet_valid_are_refused_beyond_the_leeway() {
    let rsa = rsa_a();
    let idp = Idp::start(&[&rsa]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    let with = |field: &str, value: i64| {
        let mut c = claims(&idp.base);
        c[field] = json!(value);
        sign(&rsa, &c)
    };
    let e = v.verify(&with("exp", now() - 120)).await.unwrap_err();
    assert!(matches!(e, JwtError::Expired(_)), "{e:?}");
    assert!(
        v.verify(&with("exp", now() - 5)).await.is_ok(),
        "within leeway"
    );
    let e = v.verify(&with("nbf", now() + 120)).await.unwrap_err();
    assert!(matches!(e, JwtError::NotYetValid(_)), "{e:?}");
    let e = v.verify(&with("iat", now() + 120)).await.unwrap_err();
    assert!(matches!(e, JwtError::IssuedInFuture), "{e:?}");
    let mut c = claims(&idp.base);
    c.as_object_mut().unwrap().remove("exp");
    let e = v.verify(&sign(&rsa, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::MissingClaim { ref claim } if claim == "exp"),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_unknown_kid_refreshes_and_a_rotated_key_is_picked_up() {
    let (a, b) = (rsa_a(), rsa_b());
    let idp = Idp::start(&[&a]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    assert!(v.verify(&sign(&a, &claims(&idp.base))).await.is_ok());
    let e = v.verify(&sign(&b, &claims(&idp.base))).await.unwrap_err();
    assert!(
        matches!(e, JwtError::UnknownKey { ref kid } if kid == "rsa-b"),
        "{e:?}"
    );
    assert_eq!(idp.jwks_hits(), 2, "the unknown kid triggered a refresh");
    idp.set_keys(&[&a, &b]);
    assert!(v.verify(&sign(&b, &claims(&idp.base))).await.is_ok());
    // Key A rotated out: the held set still has it until the next refresh.
    idp.set_keys(&[&b]);
    assert!(v.verify(&sign(&a, &claims(&idp.base))).await.is_ok());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_is_rate_limited() {
    let a = rsa_a();
    let idp = Idp::start(&[&a]).await;
    let mut issuer = idp.issuer(&["RS256"]);
    issuer.min_refresh_interval = Duration::from_secs(3600);
    let v = verifier(vec![issuer]);
    for i in 0..50 {
        let forged = TestKey {
            kid: format!("made-up-{i}"),
            ..rsa_a()
        };
        let e = v
            .verify(&sign(&forged, &claims(&idp.base)))
            .await
            .unwrap_err();
        assert!(matches!(e, JwtError::UnknownKey { .. }), "{e:?}");
    }
    assert_eq!(idp.jwks_hits(), 1, "one fetch, then the interval holds");
    assert_eq!(v.key_fetches(&idp.base).await, Some(1));
    assert!(v.verify(&sign(&a, &claims(&idp.base))).await.is_ok());
}

#[tokio::test]
async fn jwks_down_fails_closed_then_recovers() {
    let a = rsa_a();
    let idp = Idp::start(&[&a]).await;
    idp.set_up(false);
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    let token = sign(&a, &claims(&idp.base));
    let e = v.verify(&token).await.unwrap_err();
    match &e {
        JwtError::KeysUnavailable {
            source: Some(s), ..
        } => {
            assert!(
                matches!(**s, KeyFetchError::Status { status: 503, .. }),
                "{s:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let chain = crate::telemetry::ErrorChain(&e).to_string();
    assert!(chain.contains("503"), "{chain}");
    idp.set_up(true);
    assert!(v.verify(&token).await.is_ok());
    // Down again: the last good keys are kept.
    idp.set_up(false);
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_jwks_fails_closed() {
    let a = rsa_a();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut issuer = Idp::start(&[]).await.issuer(&["RS256"]);
    issuer.issuer = base.clone();
    issuer.jwks_uri = Some(format!("{base}/jwks"));
    let v = verifier(vec![issuer]);
    let e = v.verify(&sign(&a, &claims(&base))).await.unwrap_err();
    assert!(
        matches!(&e, JwtError::KeysUnavailable { source: Some(s), .. } if matches!(**s, KeyFetchError::Request { .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let a = ec();
    let idp = Idp::start(&[&a]).await;
    let mut issuer = idp.issuer(&["ES256"]);
    issuer.jwks_uri = None;
    let v = verifier(vec![issuer.clone()]);
    assert!(v.verify(&sign(&a, &claims(&idp.base))).await.is_ok());
    idp.state.lock().unwrap().discovery_issuer = Some("https://other.example.com".into());
    let v = verifier(vec![issuer]);
    let e = v.verify(&sign(&a, &claims(&idp.base))).await.unwrap_err();
    assert!(
        matches!(&e, JwtError::KeysUnavailable { source: Some(s), .. } if matches!(**s, KeyFetchError::IssuerMismatch { .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn keys_from_a_jwks_file() {
    let a = ed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(
        &path,
        json!({"keys": [a.jwk, {"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
    )
    .unwrap();
    let mut issuer = Idp::start(&[]).await.issuer(&["EdDSA"]);
    issuer.issuer = "https://idp.example.com".into();
    issuer.jwks_uri = None;
    issuer.jwks_file = Some(path);
    let v = verifier(vec![issuer]);
    assert!(v
        .verify(&sign(&a, &claims("https://idp.example.com")))
        .await
        .is_ok());
}

#[tokio::test]
async fn groups_kind_and_owner_follow_the_claim_mapping() {
    let a = rsa_a();
    let idp = Idp::start(&[&a]).await;
    let mut issuer = idp.issuer(&["RS256"]);
    issuer.claims = ClaimsConfig {
        id: "email".into(),
        id_prefix: "user:".into(),
        kind_claim: Some("tollgate_kind".into()),
        groups: Some("realm_access.roles".into()),
        group_prefix: "idp:".into(),
        owner: Some("owner".into()),
        ..ClaimsConfig::default()
    };
    let v = verifier(vec![issuer]);
    let mut c = claims(&idp.base);
    c["email"] = json!("Bob@Example.com");
    c["tollgate_kind"] = json!("service");
    c["realm_access"] = json!({"roles": "approvers"});
    c["owner"] = json!("team:Platform");
    let t = v.verify(&sign(&a, &c)).await.unwrap();
    assert_eq!(t.id.as_str(), "user:bob@example.com");
    assert_eq!(t.kind, SubjectKind::Service);
    assert_eq!(t.groups, vec![IdentityId::parse("idp:approvers").unwrap()]);
    assert_eq!(t.owner, Some(IdentityId::parse("team:platform").unwrap()));

    c["realm_access"] = json!({"roles": ["ok", "bad\u{200B}group"]});
    let e = v.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(matches!(e, JwtError::InvalidIdentity { .. }), "{e:?}");
    c["realm_access"] = json!({"roles": ["ok"]});
    c["tollgate_kind"] = json!("robot");
    let e = v.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::InvalidClaim { ref claim, .. } if claim == "tollgate_kind"),
        "{e:?}"
    );
    c.as_object_mut().unwrap().remove("tollgate_kind");
    let e = v.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(matches!(e, JwtError::MissingClaim { .. }), "{e:?}");
}

#[tokio::test]
async fn act_delegation_makes_the_actor_the_caller_acting_for_the_subject() {
    let a = rsa_a();
    let idp = Idp::start(&[&a]).await;
    let v = verifier(vec![idp.issuer(&["RS256"])]);
    let mut c = claims(&idp.base);
    c["act"] = json!({"sub": "billing-exporter", "act": {"sub": "older-actor"}});
    let t = v.verify(&sign(&a, &c)).await.unwrap();
    assert_eq!(t.id.as_str(), "agent:billing-exporter");
    assert_eq!(t.kind, SubjectKind::Agent);
    assert_eq!(
        t.acting_for,
        Some(IdentityId::parse("user:alice@example.com").unwrap())
    );
    assert!(
        t.groups.is_empty(),
        "the actor does not inherit the human's groups"
    );

    let mut no_delegation = idp.issuer(&["RS256"]);
    no_delegation.claims.delegation.act = false;
    let strict = verifier(vec![no_delegation]);
    let e = strict.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::InvalidClaim { ref claim, .. } if claim == "act"),
        "{e:?}"
    );

    c["act"] = json!("billing-exporter");
    let e = v.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::InvalidClaim { ref claim, .. } if claim == "act"),
        "{e:?}"
    );
    c["act"] = json!({"client_id": "x"});
    let e = v.verify(&sign(&a, &c)).await.unwrap_err();
    assert!(
        matches!(e, JwtError::MissingClaim { ref claim } if claim == "act.sub"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_configured_claim_names_the_human_an_agent_acts_for() {
    let a = rsa_a();
    let idp = Idp::start(&[&a]).await;
    let mut issuer = idp.issuer(&["RS256"]);
    issuer.claims.id_prefix = "agent:".into();
    issuer.claims.kind = SubjectKind::Agent;
    issuer.claims.delegation.acting_for_claim = Some("on_behalf_of".into());
    let v = verifier(vec![issuer]);
    let mut c = claims(&idp.base);
    c["sub"] = json!("support-bot");
    c["on_behalf_of"] = json!({"sub": "Carol@Example.com"});
    let t = v.verify(&sign(&a, &c)).await.unwrap();
    assert_eq!(t.id.as_str(), "agent:support-bot");
    assert_eq!(
        t.acting_for,
        Some(IdentityId::parse("user:carol@example.com").unwrap())
    );
    c.as_object_mut().unwrap().remove("on_behalf_of");
    assert_eq!(v.verify(&sign(&a, &c)).await.unwrap().acting_for, None);
}

#[tokio::test]
async fn config_is_validated_up_front() {
    let idp = Idp::start(&[]).await;
    let bad = |edit: &dyn Fn(&mut IssuerConfig)| {
        let mut issuer = idp.issuer(&["RS256"]);
        edit(&mut issuer);
        JwtVerifier::new(&JwtConfig {
            issuers: vec![issuer],
            ..JwtConfig::default()
        })
        .err()
        .map(|e| e.to_string())
    };
    assert!(bad(&|_| {}).is_none());
    assert!(bad(&|i| i.audiences.clear()).unwrap().contains("audiences"));
    assert!(bad(&|i| i.algorithms.clear())
        .unwrap()
        .contains("algorithms"));
    assert!(bad(&|i| i.algorithms = vec!["XS256".into()])
        .unwrap()
        .contains("XS256"));
    assert!(bad(&|i| i.jwks_file = Some("/etc/jwks.json".into()))
        .unwrap()
        .contains("at most one"));
    assert!(
        bad(&|i| i.jwks_uri = Some("http://idp.example.com/jwks".into()))
            .unwrap()
            .contains("not https")
    );
    assert!(bad(&|i| {
        i.issuer = "http://idp.example.com".into();
        i.jwks_uri = None;
    })
    .unwrap()
    .contains("not https"));
    let twice = JwtVerifier::new(&JwtConfig {
        issuers: vec![idp.issuer(&["RS256"]), idp.issuer(&["ES256"])],
        ..JwtConfig::default()
    });
    assert!(twice.err().unwrap().to_string().contains("twice"));
}

#[test]
fn yaml_config_reads_each_key_source() {
    let config: JwtConfig = yaml_serde::from_str(
        "issuers:\n\
         - issuer: https://idp.example.com\n  audiences: [tollgate]\n  algorithms: [RS256]\n\
         - issuer: https://b.example.com\n  audiences: [tollgate]\n  algorithms: [ES256]\n  jwks_uri: https://b.example.com/keys\n\
         - issuer: https://c.example.com\n  audiences: [tollgate]\n  algorithms: [EdDSA]\n  jwks_file: /etc/jwks.json\n  claims: {id: email, groups: roles}\n",
    )
    .unwrap();
    assert_eq!(
        (&config.issuers[0].jwks_uri, &config.issuers[0].jwks_file),
        (&None, &None)
    );
    assert_eq!(config.issuers[0].leeway, Duration::from_secs(30));
    assert_eq!(
        config.issuers[1].jwks_uri.as_deref(),
        Some("https://b.example.com/keys")
    );
    assert_eq!(
        config.issuers[2].jwks_file,
        Some(PathBuf::from("/etc/jwks.json"))
    );
    assert_eq!(config.issuers[2].claims.id, "email");
    assert_eq!(config.issuers[2].claims.id_prefix, "user:");
    assert!(yaml_serde::from_str::<JwtConfig>("isuers: []\n").is_err());
}
