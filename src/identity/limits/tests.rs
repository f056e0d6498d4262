use governor::clock::FakeRelativeClock;

use super::*;

fn id(s: &str) -> IdentityId {
    IdentityId::parse(s).unwrap()
}

fn config(calls: u32, per_secs: u64) -> LimitsConfig {
    let rate = Rate {
        calls: NonZeroU32::new(calls).unwrap(),
        per: Duration::from_secs(per_secs),
    };
    LimitsConfig {
        authorize: rate,
        approve: rate,
        max_pending_per_subject: 2,
        max_identities: 1000,
    }
}

fn passed(
    limits: &RateLimits<FakeRelativeClock>,
    call: LimitedCall,
    who: &IdentityId,
    n: usize,
) -> usize {
    (0..n).filter(|_| limits.check(call, who).is_ok()).count()
}

#[test]
fn a_burst_above_one_identitys_limit_does_not_touch_another() {
    let limits = RateLimits::with_clock(&config(5, 60), FakeRelativeClock::default()).unwrap();
    let noisy = id("agent:noisy");
    let quiet = id("agent:quiet");
    assert_eq!(passed(&limits, LimitedCall::Authorize, &noisy, 50), 5);
    assert_eq!(passed(&limits, LimitedCall::Authorize, &quiet, 5), 5);
    // The noisy agent is still refused, and its Approve bucket is its own.
    assert!(limits.check(LimitedCall::Authorize, &noisy).is_err());
    assert_eq!(passed(&limits, LimitedCall::Approve, &noisy, 5), 5);
}

#[test]
fn refusals_say_when_to_retry_and_the_bucket_refills() {
    let clock = FakeRelativeClock::default();
    let limits = RateLimits::with_clock(&config(3, 3), clock.clone()).unwrap();
    let bot = id("agent:bot");
    assert_eq!(passed(&limits, LimitedCall::Approve, &bot, 3), 3);
    let refused = limits.check(LimitedCall::Approve, &bot).unwrap_err();
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    assert!(
        matches!(&refused, LimitError::RateLimited { call: LimitedCall::Approve, identity, .. } if identity == "agent:bot"),
        "{refused:?}"
    );
    clock.advance(Duration::from_millis(400));
    assert_eq!(
        limits
            .check(LimitedCall::Approve, &bot)
            .unwrap_err()
            .retry_after(),
        Some(Duration::from_millis(600))
    );
    clock.advance(Duration::from_millis(600));
    assert!(limits.check(LimitedCall::Approve, &bot).is_ok());
    assert!(limits.check(LimitedCall::Approve, &bot).is_err());
}

#[test]
fn aliases_of_one_identity_share_a_bucket() {
    let limits = RateLimits::with_clock(&config(4, 60), FakeRelativeClock::default()).unwrap();
    for alias in ["agent:Bot", "AGENT:BOT", " agent:bot", "agent:ｂｏｔ"] {
        assert!(
            limits.check(LimitedCall::Authorize, &id(alias)).is_ok(),
            "{alias}"
        );
    }
    assert!(limits
        .check(LimitedCall::Authorize, &id("agent:bot"))
        .is_err());
}

#[test]
fn memory_is_bounded_by_max_identities() {
    let mut cfg = config(1, 60);
    cfg.max_identities = 16;
    let limits = RateLimits::with_clock(&cfg, FakeRelativeClock::default()).unwrap();
    for i in 0..500 {
        let _ = limits.check(LimitedCall::Authorize, &id(&format!("agent:a{i}")));
    }
    let tracked = limits.tracked(LimitedCall::Authorize);
    assert!(tracked <= 16, "{tracked} buckets kept");
    // With LRU every new identity is admitted: the newest one is limited right away.
    assert!(limits
        .check(LimitedCall::Authorize, &id("agent:a499"))
        .is_err());
}

#[test]
fn pending_quota_refuses_at_the_limit() {
    let limits = RateLimits::with_clock(&config(1, 1), FakeRelativeClock::default()).unwrap();
    let bot = id("agent:bot");
    assert!(limits.check_pending(&bot, 0).is_ok());
    assert!(limits.check_pending(&bot, 1).is_ok());
    let refused = limits.check_pending(&bot, 2).unwrap_err();
    assert_eq!(refused.retry_after(), None);
    assert_eq!(
        refused.to_string(),
        "agent:bot already has 2 pending approval requests (limit 2)"
    );
}

#[test]
fn config_defaults_parse_and_bad_values_are_refused() {
    let parsed: LimitsConfig = yaml_serde::from_str("approve: {calls: 10, per: 30s}\n").unwrap();
    assert_eq!(parsed.approve.calls.get(), 10);
    assert_eq!(parsed.approve.per, Duration::from_secs(30));
    assert_eq!(parsed.authorize, LimitsConfig::default().authorize);
    assert!(yaml_serde::from_str::<LimitsConfig>("approve: {calls: 0, per: 1s}\n").is_err());
    assert!(yaml_serde::from_str::<LimitsConfig>("aprove: {calls: 1, per: 1s}\n").is_err());
    let mut cfg = config(1, 1);
    cfg.approve.per = Duration::ZERO;
    assert!(matches!(
        RateLimits::new(&cfg),
        Err(LimitError::Config {
            field: "limits.approve",
            ..
        })
    ));
    cfg = config(1, 1);
    cfg.max_identities = 0;
    assert!(RateLimits::new(&cfg).is_err());
}
