//! The serving bundle and its atomic replacement.
//!
//! Readers take an `Arc` snapshot (`ArcSwap`, no lock) and use it for the whole decision, so
//! every answer is made by exactly one revision. A reload reads, compiles and checks the new
//! bundle off to the side; only a bundle that passed every step is swapped in.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use super::{
    archive::{BundleArchive, Stored},
    bundle::{Bundle, BundleError},
    compiled::{CompileError, CompiledBundle, EvalLimits},
    contract::RequirementDefaults,
    engine::ServingEngine,
    signature::{BundleVerifier, SignatureError},
};

/// Why a reload did not activate a bundle.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bundle could not be read.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The bundle did not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Verification is configured and the bundle's signature does not verify.
    #[error("bundle signature: {0}")]
    Signature(#[from] SignatureError),
    /// A signed bundle older than the newest that served: a replay or an unintended rollback.
    #[error("{0}")]
    Rollback(String),
    /// The release history could not be read or written, so no bundle may activate.
    #[error("bundle release history unavailable: {0}")]
    History(String),
}

/// Guards against serving an older signed release again: told about each signed bundle about
/// to serve, it refuses one below the newest that served (the history lives in the store, so
/// every replica agrees). Called on the reload thread, never on a decision's path.
pub trait ReleaseGuard: Send + Sync {
    /// Admits `bundle` (raising the floor to its sequence) or refuses it with a
    /// [`LoadError::Rollback`] or [`LoadError::History`].
    fn admit(&self, bundle: &Bundle) -> Result<(), LoadError>;
}

/// The outcome of the latest reload attempt and the counters operators watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStatus {
    /// Revision serving now, if any.
    pub active_revision: Option<Arc<str>>,
    /// Digest serving now.
    pub active_digest: Option<String>,
    /// When the serving bundle was activated.
    pub activated_at: Option<SystemTime>,
    /// Which evaluator serves it: the VM, or the interpreter (with the VM compiler's reason)
    /// for a bundle that uses Rego the VM does not compile yet.
    pub engine: Option<ServingEngine>,
    /// `Ok` or the error of the latest attempt.
    pub last_result: Option<Result<(), String>>,
    /// When the latest attempt ran.
    pub last_attempt_at: Option<SystemTime>,
    /// Successful activations since start.
    pub activations: u64,
    /// Rejected attempts since start.
    pub rejections: u64,
    /// Activated revisions that could not be archived (they serve, but cannot be replayed).
    pub archive_failures: u64,
}

/// What a successful reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// A new revision is serving.
    Activated,
    /// The content is identical to what is serving; nothing changed.
    Unchanged,
}

/// The policy a service decides with.
pub struct ActivePolicy {
    source: PathBuf,
    limits: EvalLimits,
    defaults: RequirementDefaults,
    archive: Option<BundleArchive>,
    verifier: Option<BundleVerifier>,
    guard: Option<Arc<dyn ReleaseGuard>>,
    active: ArcSwapOption<CompiledBundle>,
    status: Mutex<LoadStatus>,
    reload_lock: Mutex<()>,
    revision_tx: watch::Sender<Option<Arc<str>>>,
    attempts_tx: watch::Sender<u64>,
}

impl std::fmt::Debug for ActivePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivePolicy")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ActivePolicy {
    /// A store with nothing loaded yet; call [`Self::reload`].
    pub fn new(source: PathBuf, limits: EvalLimits, defaults: RequirementDefaults) -> Self {
        Self {
            source,
            limits,
            defaults,
            archive: None,
            verifier: None,
            guard: None,
            active: ArcSwapOption::empty(),
            status: Mutex::new(LoadStatus::default()),
            reload_lock: Mutex::new(()),
            revision_tx: watch::channel(None).0,
            attempts_tx: watch::channel(0).0,
        }
    }

    /// Archives every revision before it is activated, so decisions can be replayed against
    /// it later. A failed archive write is logged and counted, and the revision serves anyway:
    /// replay is for after the fact, serving is not.
    pub fn with_archive(mut self, archive: BundleArchive) -> Self {
        self.archive = Some(archive);
        self
    }

    /// Requires every bundle to carry a `.signatures.json` that `verifier` accepts; a bundle
    /// that does not verify is rejected like one that does not compile.
    pub fn with_verifier(mut self, verifier: BundleVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Refuses signed bundles older than the newest that served (only with a verifier: an
    /// unsigned bundle's sequence proves nothing).
    pub fn with_release_guard(mut self, guard: Arc<dyn ReleaseGuard>) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Where bundles are read from.
    pub fn source(&self) -> &PathBuf {
        &self.source
    }

    /// The serving bundle: a snapshot that stays valid across later swaps.
    pub fn current(&self) -> Option<Arc<CompiledBundle>> {
        self.active.load_full()
    }

    /// Follows the serving revision (for health reporting).
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<str>>> {
        self.revision_tx.subscribe()
    }

    /// Follows the number of completed reload attempts, good or bad (tests and tooling wait
    /// on it instead of polling).
    pub fn subscribe_attempts(&self) -> watch::Receiver<u64> {
        self.attempts_tx.subscribe()
    }

    /// A copy of the load status.
    pub fn status(&self) -> LoadStatus {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads and compiles the source; swaps it in only if every step passed. Blocking: call
    /// from a blocking thread in async code. Concurrent reloads run one at a time.
    pub fn reload(&self) -> Result<Reloaded, LoadError> {
        let _serial = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let started = SystemTime::now();
        let result = self.load_and_swap();
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.last_attempt_at = Some(started);
        match &result {
            Ok(Reloaded::Activated) => {
                let current = self.current();
                status.active_revision = current.as_ref().map(|b| b.revision.clone());
                status.active_digest = current.as_ref().map(|b| b.digest.clone());
                status.engine = current.as_ref().map(|b| b.serving_engine().clone());
                status.activated_at = Some(SystemTime::now());
                status.activations += 1;
                status.last_result = Some(Ok(()));
                tracing::info!(
                    bundle.revision = status.active_revision.as_deref().unwrap_or_default(),
                    bundle.source = %self.source.display(),
                    bundle.engine = status.engine.as_ref().map(ServingEngine::as_str),
                    "policy bundle activated"
                );
            }
            Ok(Reloaded::Unchanged) => status.last_result = Some(Ok(())),
            Err(e) => {
                status.rejections += 1;
                status.last_result = Some(Err(e.to_string()));
                tracing::error!(
                    error = %crate::telemetry::ErrorChain(e),
                    bundle.source = %self.source.display(),
                    bundle.active_revision = ?status.active_revision,
                    "policy bundle rejected; the active revision keeps serving"
                );
            }
        }
        drop(status);
        if matches!(result, Ok(Reloaded::Activated)) {
            self.revision_tx
                .send_replace(self.current().map(|b| b.revision.clone()));
        }
        self.attempts_tx.send_modify(|n| *n += 1);
        result
    }

    fn load_and_swap(&self) -> Result<Reloaded, LoadError> {
        let bundle = Bundle::load(&self.source)?;
        if let Some(verifier) = &self.verifier {
            verifier.verify(bundle.signatures.as_deref(), &bundle.files)?;
        }
        if let Some(current) = self.current() {
            if current.digest == bundle.digest && *current.revision == *bundle.revision {
                return Ok(Reloaded::Unchanged);
            }
        }
        let compiled = CompiledBundle::compile(&bundle, self.limits, self.defaults)?;
        if let (Some(guard), Some(_)) = (&self.guard, &self.verifier) {
            guard.admit(&bundle)?;
        }
        self.archive(&bundle);
        self.active.store(Some(Arc::new(compiled)));
        Ok(Reloaded::Activated)
    }

    /// Archives a revision about to serve. Runs on the reload thread, never on a decision's
    /// path, and before the swap, so every revision that decides anything was offered to the
    /// archive first.
    fn archive(&self, bundle: &Bundle) {
        let Some(archive) = &self.archive else {
            return;
        };
        match archive.store(bundle) {
            Ok(Stored::Written) => tracing::info!(
                bundle.revision = %bundle.revision,
                bundle.digest = %bundle.digest,
                archive = %archive.dir().display(),
                "policy bundle archived"
            ),
            Ok(Stored::AlreadyPresent) => {}
            Err(e) => {
                let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
                status.archive_failures += 1;
                tracing::error!(
                    error = %crate::telemetry::ErrorChain(&e),
                    bundle.revision = %bundle.revision,
                    bundle.digest = %bundle.digest,
                    "policy bundle not archived; it serves, but its decisions cannot be replayed"
                );
            }
        }
    }
}
