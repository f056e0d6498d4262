//! The outbox worker: writes reminders that fell due, routes new events to their channels,
//! claims due deliveries with a lease, sends them and settles each with its outcome. One
//! runs per replica; the store's compare-and-set leases keep them from sending twice.

use std::{collections::HashMap, future::Future, sync::Arc};

use super::{
    backoff,
    config::{secret, NotifyConfig, NotifyConfigError},
    message::{Notice, NoticeContext},
    route::{targets, ChannelKind},
    slack::{self, SlackApi},
    teams,
    webhook::{self, SigningKey},
    SendError,
};
use crate::{
    approval::{Workflow, WorkflowError},
    domain::{
        Delivery, DeliveryOutcome, DeliveryState, NewDelivery, NotifyEvent, NotifyKind, Routed,
        UnixMillis, Viewer,
    },
    store::{OutboxStore, StoreError},
    telemetry::{ErrorChain, Metrics},
};

/// Most events routed, or deliveries claimed, per pass.
const BATCH: u32 = 32;

/// Most outbox rows deleted per retention batch: short write transactions, so a purge never
/// holds up the decisions' commits for long.
const PURGE_BATCH: u32 = 200;

/// How often an idle worker looks for rows past their retention.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The least time between two passes woken by changes: a stream of approval changes (a
/// busy store makes hundreds a second) is handled in one pass per interval instead of one
/// pass, and its reads, per change. A notification is at most this much later.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(25);

/// How many passes of one drain run between two recounts of the backlog gauge.
const BACKLOG_EVERY: usize = 8;

/// The next approval change heard on `changes`; never, with no subscription.
async fn next_change(
    changes: Option<&mut tokio::sync::broadcast::Receiver<String>>,
) -> Result<String, tokio::sync::broadcast::error::RecvError> {
    match changes {
        Some(changes) => changes.recv().await,
        None => std::future::pending().await,
    }
}

/// What one pass did: its work (events routed, deliveries attempted, rows purged) and
/// whether any of its batches was full.
struct Step {
    work: usize,
    full: bool,
}

/// A configured channel, secrets resolved.
#[derive(Clone)]
enum Channel {
    Slack { channel: String },
    Teams { url: String },
    Webhook { url: String, key: SigningKey },
}

/// What [`Notifier::new`] needs.
pub struct NotifierParts {
    /// `notify:`.
    pub config: NotifyConfig,
    /// The outbox.
    pub outbox: Arc<dyn OutboxStore>,
    /// Reads approvals as they stand (the messages show the latest state).
    pub workflow: Workflow,
    /// Delivery counters and the backlog gauge.
    pub metrics: Metrics,
    /// `audit.mask`: the same paths are masked in every message.
    pub mask: Vec<String>,
    /// The console's base URL, for "Review in console" links.
    pub console_base: String,
}

/// The worker. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: NotifyConfig,
    channels: HashMap<String, Channel>,
    outbox: Arc<dyn OutboxStore>,
    workflow: Workflow,
    metrics: Metrics,
    mask: Vec<String>,
    console_base: String,
    http: reqwest::Client,
    slack: Option<SlackApi>,
    /// This worker's lease owner name.
    owner: String,
    /// When the next retention batch is due (Unix ms; 0: at the first pass).
    next_purge: std::sync::atomic::AtomicI64,
}

impl Notifier {
    /// Resolves the channels' secrets and builds the clients. Without a route no event can
    /// reach a channel, so the outbox is told not to write them
    /// ([`OutboxStore::write_events`]); with routes it writes them (its default).
    pub fn new(parts: NotifierParts) -> Result<Self, NotifyConfigError> {
        let NotifierParts {
            config,
            outbox,
            workflow,
            metrics,
            mask,
            console_base,
        } = parts;
        config.validate()?;
        outbox.write_events(!config.routes.is_empty());
        let http = super::http_client(config.http_timeout)?;
        let mut channels = HashMap::new();
        for (i, c) in config.channels.iter().enumerate() {
            let field = format!("notify.channels[{i}]");
            let channel = if let Some(s) = &c.slack {
                Channel::Slack {
                    channel: s.channel.clone(),
                }
            } else if let Some(t) = &c.teams {
                Channel::Teams {
                    url: secret(&format!("{field}.teams.url"), &t.url, t.url_file.as_ref())?,
                }
            } else if let Some(w) = &c.webhook {
                let s = secret(
                    &format!("{field}.webhook.secret"),
                    &w.secret,
                    w.secret_file.as_ref(),
                )?;
                let key = SigningKey::parse(&s).map_err(|message| NotifyConfigError {
                    field: format!("{field}.webhook.secret"),
                    message,
                })?;
                Channel::Webhook {
                    url: w.url.clone(),
                    key,
                }
            } else {
                continue;
            };
            channels.insert(c.name.clone(), channel);
        }
        let s = &config.slack;
        let token = secret(
            "notify.slack.bot_token",
            &s.bot_token,
            s.bot_token_file.as_ref(),
        )?;
        let slack = (!token.is_empty()).then(|| SlackApi::new(http.clone(), &s.api_base, &token));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                channels,
                outbox,
                workflow,
                metrics,
                mask,
                console_base,
                http,
                slack,
                owner: format!("notifier-{}", uuid::Uuid::now_v7()),
                next_purge: std::sync::atomic::AtomicI64::new(0),
            }),
        })
    }

    /// The Slack Web API client, when a bot token is configured.
    pub fn slack(&self) -> Option<&SlackApi> {
        self.inner.slack.as_ref()
    }

    /// Runs until `shutdown`: a pass whenever an approval changes on any replica, and every
    /// `poll_interval` (retries fall due, reminders, other replicas' events). Without a
    /// route a change brings no event (see [`Self::new`]), so only the interval's passes run:
    /// they still send what was routed before and purge.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let routes = !self.inner.config.routes.is_empty();
        let mut changes = routes.then(|| self.inner.workflow.subscribe());
        let mut tick = tokio::time::interval(self.inner.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_pass = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {}
                changed = next_change(changes.as_mut()) => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = changed {
                        return;
                    }
                    // Let a burst of changes gather, then take them all in one pass.
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep_until(last_pass + COALESCE) => {}
                    }
                    while changes.as_mut().is_some_and(|c| c.try_recv().is_ok()) {}
                }
            }
            self.drain().await;
            last_pass = tokio::time::Instant::now();
        }
    }

    /// Keeps passing while a pass fills one of its batches (more is waiting); a pass that
    /// took everything there was hands back to [`Self::run`], whose wait gathers what comes
    /// next. The backlog gauge is recounted every few passes and at the end, so a worker busy
    /// retrying never shows a stale count for long.
    async fn drain(&self) {
        let mut passes = 0usize;
        loop {
            let passed = self.step().await;
            passes += 1;
            match passed {
                Ok(Step { full: true, .. }) => {
                    if passes.is_multiple_of(BACKLOG_EVERY) {
                        self.refresh_backlog().await;
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %ErrorChain(&e), "notification outbox unavailable; retrying on the next tick");
                    break;
                }
            }
        }
        self.refresh_backlog().await;
    }

    /// One pass: reminders, routing, then one batch of deliveries; returns the work done.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        Ok(self.step().await?.work)
    }

    /// [`Self::pass`], and whether any of its batches was full.
    async fn step(&self) -> Result<Step, StoreError> {
        let inner = &self.inner;
        let now = inner.workflow.now();
        if !inner.config.reminder_before.is_zero() && !inner.config.routes.is_empty() {
            inner
                .outbox
                .enqueue_reminders(now, inner.config.reminder_before)
                .await?;
        }
        let mut routed = Vec::new();
        for event in inner.outbox.unrouted(BATCH).await? {
            let deliveries = self.deliveries(&event).await?;
            routed.push(Routed { event, deliveries });
        }
        let routed_full = routed.len() >= BATCH as usize;
        let mut work = routed.len();
        inner.outbox.route(routed).await?;
        let lease_until = now.plus(inner.config.lease);
        let claimed = inner
            .outbox
            .claim(&inner.owner, now, lease_until, BATCH)
            .await?;
        let claimed_full = claimed.len() >= BATCH as usize;
        work += claimed.len();
        for delivery in claimed {
            let outcome = self.attempt(&delivery).await;
            let settled = inner
                .outbox
                .settle(&delivery, &inner.owner, &outcome, inner.workflow.now())
                .await?;
            self.observe(&delivery, &outcome, settled);
        }
        let purged = self.purge(now).await?;
        Ok(Step {
            work: work + purged,
            full: routed_full || claimed_full || purged >= PURGE_BATCH as usize,
        })
    }

    /// Retention: when due, deletes one batch of delivered and dead rows past
    /// `notify.retention` and `notify.dead_retention`; the rows deleted (a full batch keeps
    /// the worker draining, anything less waits [`PURGE_EVERY`]).
    async fn purge(&self, now: UnixMillis) -> Result<usize, StoreError> {
        use std::sync::atomic::Ordering;
        let inner = &self.inner;
        if now.0 < inner.next_purge.load(Ordering::Relaxed) {
            return Ok(0);
        }
        // Zero keeps rows forever: a cut-off before every row.
        let cutoff = |keep: std::time::Duration| {
            if keep.is_zero() {
                UnixMillis(i64::MIN)
            } else {
                UnixMillis(
                    now.0
                        .saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX)),
                )
            }
        };
        let (delivered, dead) = (
            cutoff(inner.config.retention),
            cutoff(inner.config.dead_retention),
        );
        if delivered.0 == i64::MIN && dead.0 == i64::MIN {
            return Ok(0);
        }
        let gone = inner
            .outbox
            .purge_deliveries(now, delivered, dead, PURGE_BATCH)
            .await?;
        if gone > 0 {
            tracing::info!(rows = gone, "outbox rows past their retention deleted");
        }
        if gone < u64::from(PURGE_BATCH) {
            inner
                .next_purge
                .store(now.plus(PURGE_EVERY).0, Ordering::Relaxed);
        }
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    /// The deliveries `event` gets: the channels its approval routes to that want its kind.
    /// A store that cannot be read fails the pass (the event stays unrouted and is tried
    /// again); only an approval that is gone or unreadable sends its event nowhere.
    async fn deliveries(&self, event: &NotifyEvent) -> Result<Vec<NewDelivery>, StoreError> {
        let inner = &self.inner;
        if inner.config.routes.is_empty() {
            // Nowhere to go: routed without reading its approval.
            return Ok(Vec::new());
        }
        match inner.workflow.view(&event.approval_id, Viewer::Party).await {
            Ok(view) => Ok(
                targets(&inner.config, &view.request.action.name, &view.requirements)
                    .into_iter()
                    .filter(|t| t.kind.wants(event.kind))
                    .map(|t| NewDelivery {
                        channel: t.channel,
                        next_attempt_at: event.at,
                    })
                    .collect(),
            ),
            Err(WorkflowError::Store(e)) => Err(e),
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), approval.id = %event.approval_id, event = event.kind.as_str(), "cannot read the approval of a notification; it goes nowhere");
                Ok(Vec::new())
            }
        }
    }

    /// Sends one delivery and says how it went.
    async fn attempt(&self, d: &Delivery) -> DeliveryOutcome {
        let inner = &self.inner;
        let Some(channel) = inner.channels.get(&d.channel) else {
            return DeliveryOutcome::Dead {
                error: format!("channel {} is no longer configured", d.channel),
            };
        };
        let sent = match self.notice(d).await {
            Ok(Some((notice, original))) => self.send(channel, d, &notice, original).await,
            Ok(None) => Ok(String::new()),
            // The store could not be read: no fault of the receiver's, so no attempt is spent
            // (an outage longer than `retry.max_attempts` backoffs must not kill a delivery).
            Err(WorkflowError::Store(e)) => {
                tracing::warn!(error = %ErrorChain(&e), channel = %d.channel, approval.id = %d.event.approval_id, "cannot read a notification's approval; trying it again later");
                return DeliveryOutcome::Deferred {
                    at: inner.workflow.now().plus(inner.config.retry.initial),
                };
            }
            // Anything else is the approval itself (gone, unreadable), as when routing: no
            // later attempt reads it better, so the delivery dies now.
            Err(e) => Err(SendError::permanent(format!("reading the approval: {e}"))),
        };
        match sent {
            Ok(external_ref) => DeliveryOutcome::Delivered { external_ref },
            Err(e) if !e.retryable || d.attempts >= inner.config.retry.max_attempts => {
                DeliveryOutcome::Dead { error: e.message }
            }
            Err(e) => {
                let mut random = [0u8; 8];
                let _ = getrandom::fill(&mut random);
                let wait = backoff(
                    &inner.config.retry,
                    d.attempts,
                    e.retry_after,
                    u64::from_le_bytes(random),
                );
                DeliveryOutcome::Retry {
                    at: inner.workflow.now().plus(wait),
                    error: e.message,
                }
            }
        }
    }

    /// The notice for `d` and, for Slack, the request's original message; `None` when there
    /// is nothing to say any more (a reminder for a request that has ended).
    async fn notice(
        &self,
        d: &Delivery,
    ) -> Result<Option<(Notice, Option<String>)>, WorkflowError> {
        let inner = &self.inner;
        let view = inner
            .workflow
            .view(&d.event.approval_id, Viewer::Party)
            .await?;
        if d.event.kind == NotifyKind::Reminder && view.approval.state.is_terminal() {
            return Ok(None);
        }
        let siblings = inner.outbox.deliveries_of(&d.event.approval_id).await?;
        let requested = siblings
            .iter()
            .find(|s| s.event.kind == NotifyKind::Requested);
        let policy_reasons: Vec<String> = requested
            .and_then(|s| serde_json::from_value(s.event.body["reasons"].clone()).ok())
            .unwrap_or_default();
        let original = siblings
            .iter()
            .find(|s| {
                s.event.kind == NotifyKind::Requested
                    && s.channel == d.channel
                    && s.state == DeliveryState::Delivered
                    && !s.external_ref.is_empty()
            })
            .map(|s| s.external_ref.clone());
        let mention = targets(&inner.config, &view.request.action.name, &view.requirements)
            .into_iter()
            .find(|t| t.channel == d.channel)
            .map(|t| t.mention)
            .unwrap_or_default();
        let notice = Notice::build(
            &view,
            NoticeContext {
                event: d.event.kind,
                policy_reasons: &policy_reasons,
                mask: &inner.mask,
                console_base: &inner.console_base,
                mention: &mention,
                redeemed_at: (d.event.kind == NotifyKind::Redeemed).then_some(d.event.at),
            },
        );
        Ok(Some((notice, original)))
    }

    async fn send(
        &self,
        channel: &Channel,
        d: &Delivery,
        notice: &Notice,
        original: Option<String>,
    ) -> Result<String, SendError> {
        let inner = &self.inner;
        match channel {
            Channel::Slack { channel } => {
                let api = inner
                    .slack
                    .as_ref()
                    .ok_or_else(|| SendError::permanent("no Slack bot token configured"))?;
                let original = original.as_deref().and_then(slack::parse_ref);
                let call = slack::call_for(notice, channel, original);
                let reference = api.send(&call).await?;
                // Only the request's own message is edited later.
                Ok(if d.event.kind == NotifyKind::Requested {
                    reference
                } else {
                    String::new()
                })
            }
            Channel::Teams { url } => {
                teams::post(&inner.http, url, &teams::message(notice)).await?;
                Ok(String::new())
            }
            Channel::Webhook { url, key } => {
                let body = webhook::payload(notice, d.event.at);
                let now = inner.workflow.now();
                webhook::post(&inner.http, url, key, &d.event.id, &body, now).await?;
                Ok(String::new())
            }
        }
    }

    /// Logs and counts an attempt's outcome.
    fn observe(&self, d: &Delivery, outcome: &DeliveryOutcome, settled: bool) {
        let kind = self
            .inner
            .channels
            .get(&d.channel)
            .map_or("unknown", |c| match c {
                Channel::Slack { .. } => ChannelKind::Slack.as_str(),
                Channel::Teams { .. } => ChannelKind::Teams.as_str(),
                Channel::Webhook { .. } => ChannelKind::Webhook.as_str(),
            });
        let (event, approval) = (d.event.kind.as_str(), d.event.approval_id.as_str());
        if !settled {
            tracing::warn!(channel = %d.channel, approval.id = %approval, event, "a notification's lease ran out before it was settled; another worker has it");
        }
        let result = match outcome {
            DeliveryOutcome::Delivered { .. } => {
                tracing::info!(channel = %d.channel, approval.id = %approval, event, attempt = d.attempts, "notification delivered");
                "delivered"
            }
            DeliveryOutcome::Retry { error, at } => {
                tracing::warn!(channel = %d.channel, approval.id = %approval, event, attempt = d.attempts, next_attempt_at = at.0, error = %error, "notification delivery failed; will retry");
                "retried"
            }
            DeliveryOutcome::Dead { error } => {
                tracing::error!(channel = %d.channel, approval.id = %approval, event, attempt = d.attempts, error = %error, "notification delivery gave up");
                "dead"
            }
            DeliveryOutcome::Deferred { .. } => "deferred",
        };
        self.inner.metrics.observe_notify(kind, result);
    }

    async fn refresh_backlog(&self) {
        match self.inner.outbox.delivery_stats(0).await {
            Ok(s) => self
                .inner
                .metrics
                .set_notify_backlog(s.pending, s.failing, s.dead),
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "counting the notification backlog failed")
            }
        }
    }
}
