use super::*;

fn token(auth_age: Option<u64>, acr: Option<&str>, amr: &[&str], now: SystemTime) -> VerifiedToken {
    VerifiedToken {
        id: IdentityId::parse("user:rita").unwrap(),
        kind: SubjectKind::User,
        groups: Vec::new(),
        owner: None,
        issuer: "https://idp.example.com".into(),
        auth_time: auth_age.map(|s| now - Duration::from_secs(s)),
        acr: acr.map(String::from),
        amr: amr.iter().map(|s| s.to_string()).collect(),
        acting_for: None,
        expires_at: now + Duration::from_secs(300),
    }
}

#[test]
fn fresh_mfa_counts() {
    let now = SystemTime::now();
    let policy = StepUpPolicy::default();
    assert_eq!(
        check_step_up(&token(Some(10), None, &["pwd", "mfa"], now), &policy, now),
        Ok(())
    );
    assert_eq!(
        check_step_up(&token(Some(299), None, &["hwk"], now), &policy, now),
        Ok(())
    );
}

#[test]
fn missing_stale_future_and_weak_are_refused_with_the_reason() {
    let now = SystemTime::now();
    let policy = StepUpPolicy::default();
    assert_eq!(
        check_step_up(&token(None, None, &["mfa"], now), &policy, now),
        Err(StepUpRefusal::NoAuthTime)
    );
    let stale = check_step_up(&token(Some(720), None, &["mfa"], now), &policy, now).unwrap_err();
    assert_eq!(
        stale.to_string(),
        "step-up required: auth_time older than 5m (12m ago)"
    );
    assert!(stale.remedy().contains("sign in again"));
    let future = now + Duration::from_secs(120);
    assert_eq!(
        check_step_up(&token(Some(0), None, &["mfa"], future), &policy, now),
        Err(StepUpRefusal::InFuture)
    );
    let weak = check_step_up(&token(Some(10), Some("1"), &["pwd"], now), &policy, now).unwrap_err();
    assert_eq!(
        weak.to_string(),
        "step-up required: acr/amr does not include mfa, hwk (acr: 1, amr: pwd)"
    );
    assert!(weak.remedy().contains("multi-factor"));
}

#[test]
fn acr_values_count_as_strong_when_configured() {
    let now = SystemTime::now();
    let policy = StepUpPolicy {
        acr_values: vec!["urn:example:loa:3".into()],
        amr_values: Vec::new(),
        ..StepUpPolicy::default()
    };
    assert_eq!(
        check_step_up(
            &token(Some(5), Some("urn:example:loa:3"), &[], now),
            &policy,
            now
        ),
        Ok(())
    );
    let weak = check_step_up(
        &token(Some(5), Some("urn:example:loa:1"), &["mfa"], now),
        &policy,
        now,
    );
    assert!(matches!(weak, Err(StepUpRefusal::Weak { .. })), "{weak:?}");
}

#[test]
fn policy_reads_from_yaml() {
    let p: StepUpPolicy = yaml_serde::from_str("max_age: 10m\namr_values: [hwk]\n").unwrap();
    assert_eq!(p.max_age, Duration::from_secs(600));
    assert_eq!(p.amr_values, ["hwk"]);
    assert!(p.acr_values.is_empty());
    assert!(yaml_serde::from_str::<StepUpPolicy>("maxage: 10m\n").is_err());
}
