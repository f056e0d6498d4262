//! Prometheus metrics, served on the HTTP port at `/metrics` (OpenMetrics text).
//!
//! One [`Metrics`] per process, created by the wiring and handed to whoever observes
//! something: no global registry, so tests run servers side by side without sharing counts.
//! Every series is registered up front, so a dashboard sees zeros rather than gaps.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use crate::{domain::Effect, policy::LoadStatus};

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most distinct `action` label values; later ones are counted as [`OTHER_ACTION`], so a
/// caller inventing action names cannot blow up the series count.
pub const MAX_ACTIONS: usize = 256;

/// The `action` label once [`MAX_ACTIONS`] distinct values have been seen.
pub const OTHER_ACTION: &str = "other";

/// How an approval request ended, for the time-to-resolution histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Reviewers approved it.
    Approved,
    /// A reviewer denied it.
    Denied,
    /// Nobody decided before its deadline.
    Expired,
    /// The requester withdrew it.
    Cancelled,
}

impl Resolution {
    fn label(self) -> &'static str {
        match self {
            Resolution::Approved => "approved",
            Resolution::Denied => "denied",
            Resolution::Expired => "expired",
            Resolution::Cancelled => "cancelled",
        }
    }
}

/// Where a decision was asked, for the decision-latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// gRPC `Authorize`.
    Authorize,
    /// Envoy's `envoy.service.auth.v3.Authorization/Check`.
    ExtAuthz,
    /// An AuthZEN evaluation request (`/access/v1/evaluation` or `/evaluations`).
    AuthZen,
}

impl Surface {
    const ALL: [Surface; 3] = [Surface::Authorize, Surface::ExtAuthz, Surface::AuthZen];

    fn label(self) -> &'static str {
        match self {
            Surface::Authorize => "authorize",
            Surface::ExtAuthz => "ext_authz",
            Surface::AuthZen => "authzen",
        }
    }
}

/// What happened to a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapabilityEvent {
    /// Minted and stored (for an approval or an ALLOW obligation).
    Issued,
    /// Used, the one time it may be.
    Redeemed,
    /// A redemption was refused (reused, expired, wrong request, forged...).
    Refused,
}

impl CapabilityEvent {
    fn label(self) -> &'static str {
        match self {
            CapabilityEvent::Issued => "issued",
            CapabilityEvent::Redeemed => "redeemed",
            CapabilityEvent::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    effect: &'static str,
    action: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabels {
    surface: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BlownLabels {
    limit: &'static str,
    rule: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BacklogLabels {
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Bundle state already turned into series, so each scrape adds only what is new.
#[derive(Debug, Default)]
struct BundleSeen {
    revision: Option<String>,
    ok: u64,
    errors: u64,
}

/// The series tollgate exposes. Cheap to clone; clones share the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    decision_duration: HistogramFamily<SurfaceLabels>,
    /// `decision_duration`'s series, one per [`Surface`] (in [`Surface::ALL`]'s order),
    /// resolved once so a request observes without a label lookup.
    duration_by_surface: [Histogram; 3],
    evaluation_duration: Histogram,
    evaluation_limits: Family<BlownLabels, Counter>,
    approvals_pending: Gauge,
    approval_resolution: HistogramFamily<OutcomeLabels>,
    capabilities: Family<EventLabels, Counter>,
    bundle_info: Family<RevisionLabels, Gauge>,
    bundle_reloads: Family<ResultLabels, Counter>,
    bundle_last_reload_success: Gauge,
    audit_commit_duration: Histogram,
    audit_batch_size: Histogram,
    store_up: Gauge,
    store_outages: Counter,
    store_outage_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    notify_deliveries: Family<DeliveryLabels, Counter>,
    notify_outbox: Family<BacklogLabels, Gauge>,
    actions: RwLock<HashSet<String>>,
    bundle_seen: Mutex<BundleSeen>,
}

impl Inner {
    fn register_decisions(&mut self) {
        let r = &mut self.registry;
        r.register(
            "decisions",
            "Decisions answered, by effect and action",
            self.decisions.clone(),
        );
        r.register(
            "decision_duration_seconds",
            "Whole decision requests (Authorize, Envoy Check, AuthZEN), by surface: identity, \
             validation, policy, durable approval or capability",
            self.decision_duration.clone(),
        );
        r.register(
            "evaluation_duration_seconds",
            "Policy evaluation alone (cache hits are not evaluations)",
            self.evaluation_duration.clone(),
        );
        r.register(
            "evaluation_limits_exceeded",
            "Evaluations stopped by a limit (time, memory, instructions, regex_size, admission), \
             by the innermost rule being evaluated (the bundle's rules; empty for admission)",
            self.evaluation_limits.clone(),
        );
        r.register(
            "approvals_pending",
            "Approval requests waiting for reviewers",
            self.approvals_pending.clone(),
        );
        r.register(
            "approval_resolution_seconds",
            "Time from an approval request to its outcome",
            self.approval_resolution.clone(),
        );
        r.register(
            "capabilities",
            "Capabilities issued, redeemed, and redemptions refused",
            self.capabilities.clone(),
        );
    }

    fn register_bundle_and_audit(&mut self) {
        let r = &mut self.registry;
        r.register(
            "bundle_info",
            "The serving bundle revision (value 1)",
            self.bundle_info.clone(),
        );
        r.register(
            "bundle_reloads",
            "Bundle reload attempts by result",
            self.bundle_reloads.clone(),
        );
        r.register(
            "bundle_last_reload_success",
            "1 if the latest reload attempt succeeded, 0 if it was rejected",
            self.bundle_last_reload_success.clone(),
        );
        r.register(
            "audit_commit_duration_seconds",
            "Audit log group commits: time to durable",
            self.audit_commit_duration.clone(),
        );
        r.register(
            "audit_batch_size",
            "Audit records per group commit",
            self.audit_batch_size.clone(),
        );
        r.register(
            "store_up",
            "1 while the store commits (the health probe's last answer), 0 during an outage",
            self.store_up.clone(),
        );
        r.register(
            "store_outages",
            "Store outages that ended",
            self.store_outages.clone(),
        );
        r.register(
            "store_outage_seconds",
            "Total time the store could not commit, over ended outages",
            self.store_outage_seconds.clone(),
        );
        r.register(
            "notify_deliveries",
            "Notification delivery attempts by channel kind and result (delivered, retried, dead)",
            self.notify_deliveries.clone(),
        );
        r.register(
            "notify_outbox",
            "Notification deliveries waiting (pending), failing at least once (failing), given up (dead)",
            self.notify_outbox.clone(),
        );
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Latency buckets from 50 µs to 2.5 s: a decision is tens of microseconds of policy plus,
/// for PENDING and capability answers, a durable commit.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.5, 13))
}

/// Time-to-resolution buckets from 1 s to about 1.5 days.
fn resolution() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.5, 14))
}

impl Metrics {
    /// Every series, registered and at zero.
    pub fn new() -> Self {
        let decision_duration: HistogramFamily<SurfaceLabels> =
            Family::new_with_constructor(latency);
        let duration_by_surface = Surface::ALL.map(|surface| {
            let labels = SurfaceLabels {
                surface: surface.label(),
            };
            decision_duration.get_or_create(&labels).clone()
        });
        let mut inner = Inner {
            registry: Registry::with_prefix("tollgate"),
            decisions: Family::default(),
            decision_duration,
            duration_by_surface,
            evaluation_duration: latency(),
            evaluation_limits: Family::default(),
            approvals_pending: Gauge::default(),
            approval_resolution: Family::new_with_constructor(resolution),
            capabilities: Family::default(),
            bundle_info: Family::default(),
            bundle_reloads: Family::default(),
            bundle_last_reload_success: Gauge::default(),
            audit_commit_duration: latency(),
            audit_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            store_up: Gauge::default(),
            store_outages: Counter::default(),
            store_outage_seconds: Counter::default(),
            notify_deliveries: Family::default(),
            notify_outbox: Family::default(),
            actions: RwLock::new(HashSet::new()),
            bundle_seen: Mutex::new(BundleSeen::default()),
        };
        inner.register_decisions();
        inner.register_bundle_and_audit();
        Self {
            inner: Arc::new(inner),
        }
        .with_zeros()
    }

    /// Labelled series that exist before their first event, so rates start at zero.
    fn with_zeros(self) -> Self {
        for event in [
            CapabilityEvent::Issued,
            CapabilityEvent::Redeemed,
            CapabilityEvent::Refused,
        ] {
            let _created = self.inner.capabilities.get_or_create(&EventLabels {
                event: event.label(),
            });
        }
        for outcome in [
            Resolution::Approved,
            Resolution::Denied,
            Resolution::Expired,
            Resolution::Cancelled,
        ] {
            let _created = self
                .inner
                .approval_resolution
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.label(),
                });
        }
        for channel in ["slack", "teams", "webhook"] {
            for result in ["delivered", "retried", "dead"] {
                let _created = self
                    .inner
                    .notify_deliveries
                    .get_or_create(&DeliveryLabels { channel, result });
            }
        }
        for state in ["pending", "failing", "dead"] {
            let _created = self
                .inner
                .notify_outbox
                .get_or_create(&BacklogLabels { state });
        }
        for result in ["ok", "error"] {
            let _created = self
                .inner
                .bundle_reloads
                .get_or_create(&ResultLabels { result });
        }
        self
    }

    /// One notification delivery attempt to a `channel` kind (`slack`, `teams`, `webhook`)
    /// and how it ended (`delivered`, `retried`, `dead`).
    pub fn observe_notify(&self, channel: &'static str, result: &'static str) {
        self.inner
            .notify_deliveries
            .get_or_create(&DeliveryLabels { channel, result })
            .inc();
    }

    /// The outbox backlog: deliveries pending, pending after a failure, and dead.
    pub fn set_notify_backlog(&self, pending: u64, failing: u64, dead: u64) {
        for (state, n) in [("pending", pending), ("failing", failing), ("dead", dead)] {
            self.inner
                .notify_outbox
                .get_or_create(&BacklogLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// One answered decision; `evaluation` is the policy's share, `None` for a cache hit.
    pub fn observe_decision(&self, effect: Effect, action: &str, evaluation: Option<Duration>) {
        let labels = DecisionLabels {
            effect: effect.as_str(),
            action: self.action_label(action),
        };
        self.inner.decisions.get_or_create(&labels).inc();
        if let Some(took) = evaluation {
            self.inner.evaluation_duration.observe(took.as_secs_f64());
        }
    }

    /// Whether the store commits (the health probe's answer).
    pub fn set_store_up(&self, up: bool) {
        self.inner.store_up.set(i64::from(up));
    }

    /// A store outage of `took` ended.
    pub fn observe_store_outage(&self, took: std::time::Duration) {
        self.inner.store_outages.inc();
        self.inner.store_outage_seconds.inc_by(took.as_secs_f64());
    }

    /// An evaluation stopped by `limit` while evaluating `rule` (a rule of the serving bundle,
    /// so the label set is bounded by the bundle, not by callers).
    pub fn observe_blown_budget(&self, limit: &'static str, rule: &str) {
        let labels = BlownLabels {
            limit,
            rule: rule.to_string(),
        };
        self.inner.evaluation_limits.get_or_create(&labels).inc();
    }

    /// `action`, or [`OTHER_ACTION`] once [`MAX_ACTIONS`] others have been seen.
    fn action_label(&self, action: &str) -> String {
        let seen = |set: &HashSet<String>| set.contains(action);
        let known = match self.inner.actions.read() {
            Ok(set) => seen(&set),
            Err(p) => seen(&p.into_inner()),
        };
        if known {
            return action.to_string();
        }
        let mut set = self
            .inner
            .actions
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if set.contains(action) || set.len() < MAX_ACTIONS {
            set.insert(action.to_string());
            action.to_string()
        } else {
            OTHER_ACTION.to_string()
        }
    }

    /// One whole decision request on `surface`, answered or refused.
    pub fn observe_request(&self, surface: Surface, took: Duration) {
        self.inner.duration_by_surface[surface as usize].observe(took.as_secs_f64());
    }

    /// The number of pending approvals, as the store counts them.
    pub fn set_approvals_pending(&self, pending: u64) {
        self.inner
            .approvals_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// An approval request reached `outcome` `took` after it was created.
    pub fn observe_resolution(&self, outcome: Resolution, took: Duration) {
        self.inner
            .approval_resolution
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .observe(took.as_secs_f64());
    }

    /// A capability was issued or redeemed, or a redemption refused.
    pub fn observe_capability(&self, event: CapabilityEvent) {
        self.inner
            .capabilities
            .get_or_create(&EventLabels {
                event: event.label(),
            })
            .inc();
    }

    /// One audit group commit of `batch` records that took `took` to become durable.
    pub fn observe_audit_commit(&self, batch: usize, took: Duration) {
        self.inner.audit_batch_size.observe(batch as f64);
        self.inner.audit_commit_duration.observe(took.as_secs_f64());
    }

    /// Brings the bundle series up to date with the policy store: `attempts` reloads so
    /// far (read before `status`, so a reload finishing in between is never over-counted).
    pub fn observe_bundle(&self, attempts: u64, status: &LoadStatus) {
        let inner = &self.inner;
        let mut guard = inner.bundle_seen.lock().unwrap_or_else(|p| p.into_inner());
        let seen = &mut *guard;
        let ok = attempts.saturating_sub(status.rejections);
        for (result, now, before) in [
            ("ok", ok, &mut seen.ok),
            ("error", status.rejections, &mut seen.errors),
        ] {
            if now > *before {
                inner
                    .bundle_reloads
                    .get_or_create(&ResultLabels { result })
                    .inc_by(now - *before);
                *before = now;
            }
        }
        let revision = status.active_revision.as_deref().map(str::to_string);
        if revision != seen.revision {
            inner.bundle_info.clear();
            if let Some(revision) = &revision {
                inner
                    .bundle_info
                    .get_or_create(&RevisionLabels {
                        revision: revision.clone(),
                    })
                    .set(1);
            }
            seen.revision = revision;
        }
        let success = status.last_result.as_ref().is_some_and(Result::is_ok);
        inner.bundle_last_reload_success.set(i64::from(success));
    }

    /// Every series in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn every_series_is_exposed_from_the_start() {
        let text = Metrics::new().encode().unwrap();
        // Families without a member yet (decisions, bundle_info) appear with their first.
        for name in [
            "tollgate_decision_duration_seconds",
            "tollgate_evaluation_duration_seconds",
            "tollgate_approvals_pending",
            "tollgate_approval_resolution_seconds",
            "tollgate_capabilities",
            "tollgate_bundle_reloads",
            "tollgate_bundle_last_reload_success",
            "tollgate_audit_commit_duration_seconds",
            "tollgate_audit_batch_size",
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}\n{text}");
        }
        assert_eq!(
            sample(&text, r#"tollgate_capabilities_total{event="refused"}"#),
            Some("0")
        );
        for surface in ["authorize", "ext_authz", "authzen"] {
            let series =
                format!(r#"tollgate_decision_duration_seconds_count{{surface="{surface}"}}"#);
            assert_eq!(sample(&text, &series), Some("0"), "{series}");
        }
        assert_eq!(
            sample(
                &text,
                r#"tollgate_approval_resolution_seconds_count{outcome="expired"}"#
            ),
            Some("0")
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn action_labels_are_capped() {
        let m = Metrics::new();
        for i in 0..MAX_ACTIONS + 5 {
            m.observe_decision(Effect::Deny, &format!("a{i}"), None);
        }
        m.observe_decision(Effect::Deny, "a0", Some(Duration::from_micros(20)));
        let text = m.encode().unwrap();
        assert_eq!(
            sample(
                &text,
                r#"tollgate_decisions_total{effect="DENY",action="a0"}"#
            ),
            Some("2")
        );
        assert_eq!(
            sample(
                &text,
                r#"tollgate_decisions_total{effect="DENY",action="other"}"#
            ),
            Some("5")
        );
        assert_eq!(
            sample(&text, "tollgate_evaluation_duration_seconds_count"),
            Some("1")
        );
    }

    #[test]
    fn bundle_series_follow_the_store_status() {
        let m = Metrics::new();
        let mut status = LoadStatus {
            active_revision: Some("r1".into()),
            last_result: Some(Ok(())),
            ..LoadStatus::default()
        };
        m.observe_bundle(1, &status);
        m.observe_bundle(1, &status);
        status.active_revision = Some("r2".into());
        m.observe_bundle(2, &status);
        status.rejections = 1;
        status.last_result = Some(Err("bad".into()));
        m.observe_bundle(3, &status);
        let text = m.encode().unwrap();
        assert_eq!(
            sample(&text, r#"tollgate_bundle_info{revision="r2"}"#),
            Some("1")
        );
        assert_eq!(
            sample(&text, r#"tollgate_bundle_info{revision="r1"}"#),
            None
        );
        assert_eq!(
            sample(&text, r#"tollgate_bundle_reloads_total{result="ok"}"#),
            Some("2")
        );
        assert_eq!(
            sample(&text, r#"tollgate_bundle_reloads_total{result="error"}"#),
            Some("1")
        );
        assert_eq!(
            sample(&text, "tollgate_bundle_last_reload_success"),
            Some("0")
        );
    }

    #[test]
    fn audit_commits_fill_both_histograms() {
        let m = Metrics::new();
        m.observe_audit_commit(12, Duration::from_millis(3));
        let text = m.encode().unwrap();
        assert_eq!(sample(&text, "tollgate_audit_batch_size_sum"), Some("12.0"));
        assert_eq!(
            sample(&text, "tollgate_audit_commit_duration_seconds_count"),
            Some("1")
        );
    }
}
