use super::*;

fn mapper() -> PeerMapper {
    PeerMapper::new(&patterns()).unwrap()
}

fn der(leaf: &Leaf) -> Vec<u8> {
    CertificateDer::from_pem_slice(leaf.cert.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn spiffe_ids_are_validated() {
    for ok in [
        "spiffe://corp.example/agents/billing",
        "spiffe://td",
        "spiffe://a-b_c.d/x.y/Z_9-",
    ] {
        assert_eq!(validate_spiffe_ok(ok), ok);
    }
    for bad in [
        "SPIFFE://corp.example/a",
        "spiffe://Corp.example/a",
        "spiffe:///a",
        "spiffe://corp.example:8443/a",
        "spiffe://user@corp.example/a",
        "spiffe://corp.example/a//b",
        "spiffe://corp.example/a/",
        "spiffe://corp.example/../a",
        "spiffe://corp.example/a?x=1",
        "spiffe://corp.example/a#f",
        "spiffe://corp.example/a%20b",
    ] {
        assert!(peer::validate_spiffe(bad).is_err(), "{bad}");
    }
}

fn validate_spiffe_ok(s: &str) -> String {
    peer::validate_spiffe(s).unwrap()
}

#[test]
fn patterns_map_spiffe_and_cn_with_captures() {
    let ca = Ca::new("ca");
    let m = mapper();
    let id = m
        .identify(&der(
            &ca.client(spiffe("spiffe://corp.example/agents/Billing"))
        ))
        .unwrap();
    assert_eq!(id.id.as_str(), "agent:billing");
    assert_eq!(id.kind, SubjectKind::Agent);
    assert_eq!(id.groups, vec![IdentityId::parse("agents").unwrap()]);
    assert_eq!(id.owner, Some(IdentityId::parse("team:ml").unwrap()));
    assert_eq!(
        id.name,
        CertName::Spiffe("spiffe://corp.example/agents/Billing".into())
    );
    // `*` is one segment: a deeper path does not match.
    let deep = m.identify(&der(&ca.client(spiffe("spiffe://corp.example/agents/a/b"))));
    assert!(
        matches!(deep, Err(PeerIdentityError::NoMatch { .. })),
        "{deep:?}"
    );
    // Another trust domain does not match.
    let other = m.identify(&der(
        &ca.client(spiffe("spiffe://evil.example/agents/billing"))
    ));
    assert!(
        matches!(other, Err(PeerIdentityError::NoMatch { .. })),
        "{other:?}"
    );
    let etl = m
        .identify(&der(&ca.client(cn("etl.pipelines.corp.example"))))
        .unwrap();
    assert_eq!(etl.id.as_str(), "pipeline:etl");
    let nested = m.identify(&der(&ca.client(cn("a.b.pipelines.corp.example"))));
    assert!(
        matches!(nested, Err(PeerIdentityError::NoMatch { .. })),
        "{nested:?}"
    );
}

#[test]
fn a_spiffe_id_wins_over_the_cn_and_a_bad_one_is_not_skipped() {
    let ca = Ca::new("ca");
    let m = mapper();
    let both = ca.client(|p| {
        spiffe("spiffe://corp.example/agents/billing")(p);
        cn("etl.pipelines.corp.example")(p);
    });
    assert_eq!(
        m.identify(&der(&both)).unwrap().id.as_str(),
        "agent:billing"
    );
    let bad = ca.client(|p| {
        spiffe("spiffe://corp.example/agents/../admin")(p);
        cn("etl.pipelines.corp.example")(p);
    });
    assert!(matches!(
        m.identify(&der(&bad)),
        Err(PeerIdentityError::InvalidSpiffe { .. })
    ));
    let two = ca.client(|p| {
        spiffe("spiffe://corp.example/agents/a")(p);
        spiffe("spiffe://corp.example/agents/b")(p);
    });
    assert_eq!(
        m.identify(&der(&two)),
        Err(PeerIdentityError::SeveralSpiffe { count: 2 })
    );
    let nameless = ca.client(|_| {});
    assert_eq!(m.identify(&der(&nameless)), Err(PeerIdentityError::NoName));
    assert!(matches!(
        m.identify(b"garbage"),
        Err(PeerIdentityError::Unparsable(_))
    ));
}

#[test]
fn double_star_captures_the_rest_and_bad_results_are_refused() {
    let rule = |spiffe_pattern: &str, id: &str| PeerPattern {
        spiffe: Some(spiffe_pattern.into()),
        cn: None,
        id: id.into(),
        kind: SubjectKind::Service,
        groups: vec!["ns:{1}".into()],
        owner: None,
        asserts_subjects: true,
    };
    let m =
        PeerMapper::new(&[rule("spiffe://corp.example/ns/*/sa/**", "service:{1}/{2}")]).unwrap();
    let ca = Ca::new("ca");
    let id = m
        .identify(&der(
            &ca.client(spiffe("spiffe://corp.example/ns/prod/sa/api/v2"))
        ))
        .unwrap();
    assert_eq!(id.id.as_str(), "service:prod/api/v2");
    assert_eq!(id.groups, vec![IdentityId::parse("ns:prod").unwrap()]);
    assert!(id.asserts_subjects);

    assert!(
        PeerMapper::new(&[rule("spiffe://corp.example/*", "service:{2}")]).is_err(),
        "too many captures"
    );
    assert!(PeerMapper::new(&[rule("https://corp.example/*", "x:{1}")]).is_err());
    let mut both = rule("spiffe://corp.example/*", "x:{1}");
    both.cn = Some("*".into());
    assert!(PeerMapper::new(&[both]).is_err());
}
