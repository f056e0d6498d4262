//! Wiring: build state, load policy, start the gRPC and HTTP servers, reload on change or
//! SIGHUP, drain on SIGINT/SIGTERM.

use std::{net::SocketAddr, sync::Arc, time::SystemTime};

use anyhow::Context as _;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    approval::{Clock, Workflow},
    audit::{self, AuditKey, Auditor},
    capability::CapabilityKey,
    config::Config,
    grpc::{self, GrpcConfig},
    http::{
        self,
        console::{
            keys::{ConsoleKeys, DEEP_LINK_TTL},
            Console, ConsoleParts,
        },
        slack::{SlackInteractions, SlackParts},
    },
    identity::{
        limits::RateLimits,
        tls::{Alpn, PeerMapper, TlsIncoming, TlsReloader},
    },
    identity::{AuthMode, Authenticator},
    notify::{Notifier, NotifierParts},
    policy::{
        watch as policy_watch, ActivePolicy, BundleArchive, BundleVerifier, DecisionCache,
        Evaluator,
    },
    service::{release::StoredReleaseGuard, Decider, Parts, Tollgate},
    store::{AuditLog, BatchObserver, GroupCommit, PostgresStore, SqliteStore, Stores},
    telemetry::{ErrorChain, Metrics},
};

/// The capability signing key's file name in the data directory (PASERK, mode 0600).
pub const CAPABILITY_KEY_FILE: &str = "capability-ed25519.paserk";

/// The console secret's file name in the data directory (hex, mode 0600).
pub const CONSOLE_KEY_FILE: &str = "console-secret.hex";

/// The audit checkpoint key's file name in the data directory (PASERK, mode 0600).
pub const AUDIT_KEY_FILE: &str = "audit-ed25519.paserk";

/// Where the audit key is: `audit.key_file`, else in the data directory.
pub fn audit_key_path(config: &Config) -> std::path::PathBuf {
    config
        .audit
        .key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(AUDIT_KEY_FILE))
}

/// What `start_with` takes besides the configuration.
#[derive(Clone)]
pub struct StartOptions {
    /// Where approval and capability deadlines read the time (tests control it).
    pub clock: Clock,
    /// Told the size and commit time of every audit group commit (metrics).
    pub audit_observer: Option<BatchObserver>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemTime::now),
            audit_observer: None,
        }
    }
}

/// The audit writer's observer: the Prometheus series, then the caller's own (tests), if any.
fn audit_metrics(metrics: &Metrics, extra: Option<BatchObserver>) -> BatchObserver {
    let metrics = metrics.clone();
    Arc::new(move |batch, took| {
        metrics.observe_audit_commit(batch, took);
        if let Some(extra) = &extra {
            extra(batch, took);
        }
    })
}

/// The group commit and what to finish after the servers stop.
struct CommitShutdown {
    stop: tokio::sync::oneshot::Sender<()>,
    writer: JoinHandle<()>,
    /// The audit log, its key and anchor, for a last checkpoint (audit enabled only).
    checkpoint: Option<(Arc<dyn AuditLog>, Arc<AuditKey>, audit::anchor::Anchor)>,
}

/// A started server: its bound addresses and a handle to stop it.
pub struct Running {
    /// Where gRPC listens (useful when configured with port 0).
    pub grpc_addr: SocketAddr,
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    /// The policy store (tests and tooling inspect it).
    pub policies: Arc<ActivePolicy>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    commit: CommitShutdown,
}

impl Running {
    /// Asks every server to stop accepting and drain.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Waits until every server has stopped, then drains the group commit (calls still in
    /// flight while the servers drained were recorded) and signs a last checkpoint.
    pub async fn wait(self) -> anyhow::Result<()> {
        for task in self.tasks {
            task.await.context("server task panicked")??;
        }
        let commit = self.commit;
        // The receiver only goes away with the writer task, which is awaited next.
        let _ = commit.stop.send(());
        commit.writer.await.context("audit writer panicked")?;
        if let Some((log, key, anchor)) = commit.checkpoint {
            if let Err(e) =
                audit::checkpoint::checkpoint_now(log.as_ref(), &key, Some(&anchor)).await
            {
                tracing::error!(error = %ErrorChain(&e), "final audit checkpoint failed");
            }
        }
        Ok(())
    }
}

fn shutdown_signal(
    rx: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        // An error means the sender is gone, which also means stop.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Loads policy and starts serving. A bundle that fails to load does not stop start-up:
/// the server answers UNAVAILABLE and health says NOT_SERVING until a good bundle arrives.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    start_with_clock(config, Arc::new(SystemTime::now)).await
}

/// [`start`], with approval and capability deadlines read from `clock` (tests control time).
pub async fn start_with_clock(config: &Config, clock: Clock) -> anyhow::Result<Running> {
    start_with(
        config,
        StartOptions {
            clock,
            ..StartOptions::default()
        },
    )
    .await
}

/// [`start`] with [`StartOptions`].
pub async fn start_with(config: &Config, options: StartOptions) -> anyhow::Result<Running> {
    let StartOptions {
        clock,
        audit_observer,
    } = options;
    if config.auth.mode == AuthMode::Insecure {
        tracing::warn!(
            "INSECURE DEVELOPMENT MODE: callers are not authenticated and request bodies are \
             trusted as the subject's identity. Configure auth.mode: static_tokens before \
             serving anything real."
        );
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let certificates = config.tls.as_ref().is_some_and(|t| !t.peers.is_empty());
    let auth = Arc::new(Authenticator::new(&config.auth, certificates)?);
    let key_file = config
        .capability_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(CAPABILITY_KEY_FILE));
    let capability_key = Arc::new(CapabilityKey::load_or_generate(&key_file)?);
    let stores = open_store(config).await?;
    let mut policies =
        ActivePolicy::new(config.bundle.path.clone(), config.limits, config.approvals)
            .with_archive(BundleArchive::in_data_dir(&config.data_dir));
    if let Some(verification) = &config.bundle.verification {
        let guard =
            StoredReleaseGuard::new(stores.policy.clone(), tokio::runtime::Handle::current());
        policies = policies
            .with_verifier(
                BundleVerifier::from_config(verification).context("bundle.verification")?,
            )
            .with_release_guard(Arc::new(guard));
    }
    let policies = Arc::new(policies);
    let initial = policies.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || initial.reload()).await? {
        tracing::error!(error = %ErrorChain(&e), "no policy bundle loaded at start-up; serving NOT_SERVING until one loads");
    }
    let metrics = Metrics::new();
    let (shutdown, rx) = watch::channel(false);
    let mut tasks: Vec<JoinHandle<anyhow::Result<()>>> = Vec::new();
    let observer = audit_metrics(&metrics, audit_observer);
    let (auditor, commit) =
        start_audit(config, &stores, observer, &policies, &rx, &mut tasks).await?;
    // From here on approval and capability state changes share the decisions' transactions.
    let stores = stores.grouped(auditor.group_commit().clone());
    let (probe, probe_metrics, stop_probe) = (
        stores.liveness.clone(),
        metrics.clone(),
        shutdown_signal(&rx),
    );
    let health = stores.health.clone();
    tasks.push(tokio::spawn(async move {
        health.run(probe, probe_metrics, stop_probe).await;
        Ok(())
    }));
    let mut workflow = Workflow::new(&stores, capability_key.clone(), clock, auditor.clone())
        .with_metrics(metrics.clone());
    if let Some(feed) = stores.feed.clone() {
        workflow = workflow
            .with_feed(feed)
            .await
            .context("listening for approval changes on PostgreSQL")?;
    }
    let blown = metrics.clone();
    let evaluator = Evaluator::new(&config.limits)
        .with_observer(move |b| blown.observe_blown_budget(b.limit.as_str(), &b.rule));
    let decider = Decider::new(
        policies.clone(),
        DecisionCache::new(&config.decision_cache),
        config.input,
        evaluator,
    );
    let tollgate = Tollgate::new(Parts {
        decider,
        workflow: workflow.clone(),
        auditor,
        audit_log: stores.audit.clone(),
        outbox: stores.outbox.clone(),
        key: capability_key.clone(),
        roles: config.roles().map_err(anyhow::Error::msg)?,
        step_up: config.auth.step_up.clone(),
        limits: Arc::new(RateLimits::new(&config.rate_limits)?),
        max_pending_per_subject: config.rate_limits.max_pending_per_subject,
        allow_capability_ttl: config.approvals.capability_ttl,
        metrics: metrics.clone(),
    });

    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("binding gRPC {}", config.grpc_addr))?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding HTTP {}", config.http_addr))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let (grpc_listener, http_listener) = match &config.tls {
        None => (
            grpc::Listener::Tcp(grpc_listener),
            http::Listener::Tcp(http_listener),
        ),
        Some(tls) => {
            let reloader = TlsReloader::load(tls).context("tls")?;
            let peers = Arc::new(PeerMapper::new(&tls.peers).context("tls.peers")?);
            tasks.push({
                let watcher = reloader.watch(shutdown_signal(&rx));
                tokio::spawn(async move {
                    watcher.await.context("TLS reload watcher")?;
                    Ok(())
                })
            });
            let (r, p) = (reloader.clone(), peers.clone());
            (
                grpc::Listener::Tls(TlsIncoming::new(grpc_listener, r, Alpn::Grpc, p)?),
                http::Listener::Tls(TlsIncoming::new(
                    http_listener,
                    reloader,
                    Alpn::Http1,
                    peers,
                )?),
            )
        }
    };

    let grpc_config = GrpcConfig {
        max_message_bytes: config.max_message_bytes,
        metrics: metrics.clone(),
        store_health: stores.health.clone(),
        ext_authz: config.ext_authz.clone(),
        public_url: config.public_url.clone(),
    };
    let stop = shutdown_signal(&rx);
    tasks.push(tokio::spawn(sweep(
        workflow.clone(),
        metrics.clone(),
        shutdown_signal(&rx),
    )));
    let console_url = console_base(config, http_addr);
    let notifier = Notifier::new(NotifierParts {
        config: config.notify.clone(),
        outbox: stores.outbox.clone(),
        workflow: workflow.clone(),
        metrics: metrics.clone(),
        mask: config.audit.mask.clone(),
        console_base: console_url.clone(),
    })
    .context("notify")?;
    let console_key = config
        .notify
        .console_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(CONSOLE_KEY_FILE));
    let console_keys =
        ConsoleKeys::load_or_generate(&console_key).context("notify.console_key_file")?;
    let slack = SlackInteractions::new(SlackParts {
        config: config.notify.slack.clone(),
        api: notifier.slack().cloned(),
        nonces: stores.nonces.clone(),
        keys: console_keys.clone(),
        console_base: console_url.clone(),
        link_ttl: DEEP_LINK_TTL,
        tollgate: tollgate.clone(),
    })
    .context("notify.slack")?
    .map(Arc::new);
    tasks.push(tokio::spawn({
        let stop = shutdown_signal(&rx);
        async move {
            notifier.run(stop).await;
            Ok(())
        }
    }));
    tasks.push(tokio::spawn(track_pending(
        workflow,
        metrics.clone(),
        shutdown_signal(&rx),
    )));
    let console = Console::new(ConsoleParts {
        tollgate: tollgate.clone(),
        auth: auth.clone(),
        keys: console_keys,
        config: config.console.clone(),
        base: console_url,
        secure: config.tls.is_some(),
        step_up_max_age: config.auth.step_up.max_age,
        nonces: stores.nonces.clone(),
        http: crate::notify::http_client(std::time::Duration::from_secs(10))
            .context("console HTTP client")?,
        stop: rx.clone(),
    })
    .map(Arc::new);
    let (http_tollgate, http_auth) = (tollgate.clone(), auth.clone());
    tasks.push(tokio::spawn(async move {
        grpc::serve(grpc_listener, tollgate, auth, grpc_config, stop)
            .await
            .context("gRPC server")
    }));
    let stop = shutdown_signal(&rx);
    let mut jwks = capability_key.jwks();
    if let (Some((_, key, _)), Some(keys)) = (&commit.checkpoint, jwks["keys"].as_array_mut()) {
        keys.push(key.jwk());
    }
    let http_state = http::HttpState {
        policies: policies.clone(),
        jwks: Arc::new(jwks),
        metrics,
        insecure: config.auth.mode == AuthMode::Insecure,
        tollgate: http_tollgate,
        auth: http_auth,
        store_health: stores.health.clone(),
        slack,
        public_url: config.public_url.clone(),
        console,
    };
    tasks.push(tokio::spawn(async move {
        http::serve(http_listener, http_state, stop)
            .await
            .context("HTTP server")
    }));
    if config.bundle.watch {
        let stop = shutdown_signal(&rx);
        let watched = policies.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = policy_watch::watch(watched, stop).await {
                tracing::error!(error = %ErrorChain(&e), "bundle watcher stopped; reload with SIGHUP or PolicyAdmin/ReloadBundle");
            }
            Ok(())
        }));
    }
    tracing::info!(grpc = %grpc_addr, http = %http_addr, bundle = %config.bundle.path.display(), "tollgate serving");
    Ok(Running {
        grpc_addr,
        http_addr,
        policies,
        shutdown,
        tasks,
        commit,
    })
}

/// Where "Review in console" links point: `notify.console_url`, else the HTTP address.
fn console_base(config: &Config, http_addr: SocketAddr) -> String {
    if config.notify.console_url.is_empty() {
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{http_addr}")
    } else {
        config.notify.console_url.clone()
    }
}

/// Starts the group commit and, unless `audit.enabled: false` (which records nothing and
/// says so), the audit trail's tasks (checkpoints, bundle events); returns the auditor the
/// service records with.
async fn start_audit(
    config: &Config,
    stores: &Stores,
    observer: BatchObserver,
    policies: &Arc<ActivePolicy>,
    rx: &watch::Receiver<bool>,
    tasks: &mut Vec<JoinHandle<anyhow::Result<()>>>,
) -> anyhow::Result<(Auditor, CommitShutdown)> {
    let c = &config.audit;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let trigger = audit::checkpoint::Trigger::new(c.checkpoint_every);
    let counted = trigger.clone();
    let observer: BatchObserver = Arc::new(move |records, took| {
        counted.committed(records);
        observer(records, took);
    });
    let (commit, writer) = GroupCommit::spawn_watched(
        stores.batches.clone(),
        c.max_batch,
        Some(observer),
        Some(stores.health.clone()),
        async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        },
    );
    if !c.enabled {
        tracing::warn!(
            "AUDIT TRAIL DISABLED (audit.enabled: false): no decision, approval or capability \
             event is recorded. Use only for benchmarks and throwaway set-ups."
        );
        let shutdown = CommitShutdown {
            stop,
            writer,
            checkpoint: None,
        };
        return Ok((Auditor::disabled(commit), shutdown));
    }
    let key_path = audit_key_path(config);
    let key = Arc::new(
        AuditKey::load_or_generate(&key_path)
            .with_context(|| format!("audit key {}", key_path.display()))?,
    );
    let anchor = audit::anchor::Anchor::new(&c.anchor, &config.data_dir).context("audit.anchor")?;
    // Records left by a previous run (a crash) are covered before any new one is written,
    // so a run of uncovered records never spans the downtime.
    if let Err(e) =
        audit::checkpoint::checkpoint_now(stores.audit.as_ref(), &key, Some(&anchor)).await
    {
        tracing::error!(error = %ErrorChain(&e), "start-up audit checkpoint failed; the task retries");
    }
    let auditor = Auditor::new(commit, c.mask.clone());
    let checkpointer = audit::checkpoint::Checkpointer {
        store: stores.audit.clone(),
        key: key.clone(),
        anchor: Some(anchor.clone()),
        every: c.checkpoint_every,
        interval: c.checkpoint_interval,
    };
    let stop_checkpoints = shutdown_signal(rx);
    tasks.push(tokio::spawn(async move {
        checkpointer.run(trigger, stop_checkpoints).await;
        Ok(())
    }));
    let (p, a, stop_bundles) = (policies.clone(), auditor.clone(), shutdown_signal(rx));
    tasks.push(tokio::spawn(async move {
        audit::record_bundle_events(p, a, stop_bundles).await;
        Ok(())
    }));
    tracing::info!(audit.kid = %key.kid(), audit.max_batch = c.max_batch, audit.anchor = %anchor.file().display(), "audit trail recording");
    let shutdown = CommitShutdown {
        stop,
        writer,
        checkpoint: Some((stores.audit.clone(), key, anchor)),
    };
    Ok((auditor, shutdown))
}

/// Opens the configured store: PostgreSQL (with its cross-replica change feed) when a URL
/// is set, else SQLite in the data dir. The server and the offline tools (`tollgate audit`,
/// `tollgate bundle impact`) open it here, so they always read the same database.
pub async fn open_store(config: &Config) -> anyhow::Result<Stores> {
    Ok(match &config.store.url {
        Some(url) => {
            let options = url.parse().context("store.url is not a PostgreSQL URL")?;
            let pg = PostgresStore::connect_durable(
                options,
                config.store.acquire_timeout,
                config.audit.durability,
            )
            .await
            .context("connecting to PostgreSQL (store.url)")?;
            let feed = Arc::new(pg.changes());
            Stores::of(pg, Some(feed))
        }
        None => {
            let path = config.data_dir.join(SQLITE_FILE);
            let sqlite = SqliteStore::open_durable(&path, config.audit.durability)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            Stores::of(sqlite, None)
        }
    })
}

/// Expires pending approvals and capabilities past their deadlines (also those that fell due
/// while the server was down) and wakes their waiters, every [`SWEEP_EVERY`]; then counts
/// what is still pending (approvals made on other replicas included).
async fn sweep(
    workflow: Workflow,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tick.tick() => {
                if let Err(e) = workflow.sweep().await {
                    tracing::error!(error = %ErrorChain(&e), "expiry sweep failed; reads still enforce deadlines");
                }
                refresh_pending(&workflow, &metrics).await;
            }
        }
    }
}

/// The least time between two recounts of pending approvals: a count scans every pending
/// row (100,000 of them in the benchmark), so under a stream of changes one count covers
/// whatever happened within this interval instead of one count per change.
const RECOUNT_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Recounts pending approvals after approval changes (local, or announced by another
/// replica), at most every [`RECOUNT_AT_MOST_EVERY`], so the gauge follows requests and
/// reviews without waiting for the sweeper.
async fn track_pending(
    workflow: Workflow,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let mut changes = workflow.subscribe();
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            changed = changes.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = changed {
                    return Ok(());
                }
                let next = tokio::time::Instant::now() + RECOUNT_AT_MOST_EVERY;
                // One count covers a burst: skip the changes already queued behind this one.
                while changes.try_recv().is_ok() {}
                refresh_pending(&workflow, &metrics).await;
                // Changes during the pause are still queued: the next count covers them.
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep_until(next) => {}
                }
            }
        }
    }
}

async fn refresh_pending(workflow: &Workflow, metrics: &Metrics) {
    match workflow.count_pending().await {
        Ok(n) => metrics.set_approvals_pending(n),
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), "counting pending approvals failed; the gauge keeps its last value")
        }
    }
}

/// How often the expiry sweeper runs. Reads enforce deadlines on their own; the sweeper
/// makes the stored state and the waiters catch up.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The SQLite database's file name in the data directory.
pub const SQLITE_FILE: &str = "tollgate.db";

/// Runs until SIGINT or SIGTERM, reloading the bundle on SIGHUP.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(&config).await?;
    wait_for_signals(&running.policies).await?;
    tracing::info!("shutting down: draining in-flight calls");
    running.shutdown();
    running.wait().await
}

#[cfg(unix)]
async fn wait_for_signals(policies: &Arc<ActivePolicy>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = hup.recv() => {
                let p = policies.clone();
                // The outcome is logged and kept in the status by the store.
                let _ = tokio::task::spawn_blocking(move || p.reload()).await;
            }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_: &Arc<ActivePolicy>) -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}
