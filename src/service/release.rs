//! No rollback by replay: the [`ReleaseGuard`] the serving policy consults before a signed
//! bundle activates, keeping the release floor in the store so every replica agrees.
//!
//! A signed bundle carries a sequence in its signed `.manifest` (`metadata.sequence`, or a
//! revision that is a plain number). It may serve when its sequence is above the floor (the
//! newest that served), when it is the floor's own bundle again (a restart), or when an admin
//! allowed its digest once (`tollgate bundle allow-rollback`). Once a sequenced release has
//! served, a signed bundle without a sequence is refused too: otherwise stripping the number
//! would be the way around the floor. The store being unreachable refuses the bundle (fail
//! closed): the serving revision keeps serving.

use std::sync::Arc;

use crate::{
    domain::UnixMillis,
    policy::{active::ReleaseGuard, Bundle, LoadError},
    store::{PolicyFloor, PolicyHistory},
    telemetry::ErrorChain,
};

/// The store-backed guard. Its calls block on the runtime: they run on the reload thread (a
/// blocking thread), never on a runtime worker.
pub struct StoredReleaseGuard {
    history: Arc<dyn PolicyHistory>,
    runtime: tokio::runtime::Handle,
}

impl StoredReleaseGuard {
    /// A guard over `history`, blocking on `runtime` for its queries.
    pub fn new(history: Arc<dyn PolicyHistory>, runtime: tokio::runtime::Handle) -> Self {
        Self { history, runtime }
    }
}

impl ReleaseGuard for StoredReleaseGuard {
    fn admit(&self, bundle: &Bundle) -> Result<(), LoadError> {
        let history = self.history.clone();
        let (digest, revision, sequence) = (
            bundle.digest.clone(),
            bundle.revision.clone(),
            bundle.sequence,
        );
        let answer = self.runtime.block_on(async move {
            let Some(sequence) = sequence else {
                let floor = history.floor().await?;
                if floor.sequence == 0 || floor.allowed_digest == digest {
                    return Ok(Ok(()));
                }
                return Ok(Err(floor));
            };
            let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
            let now = UnixMillis::from_time(std::time::SystemTime::now());
            history.raise_floor(sequence, &digest, &revision, now).await
        });
        match answer {
            Ok(Ok(())) => Ok(()),
            Ok(Err(floor)) => Err(LoadError::Rollback(refusal(bundle, &floor))),
            Err(e) => Err(LoadError::History(ErrorChain(&e).to_string())),
        }
    }
}

fn refusal(bundle: &Bundle, floor: &PolicyFloor) -> String {
    let this = match bundle.sequence {
        Some(n) => format!("sequence {n}"),
        None => "no sequence".to_string(),
    };
    format!(
        "rollback refused: bundle {} ({this}, digest {}) is older than release {} (sequence {}) \
         which already served; a replayed old release cannot serve again. To roll back on \
         purpose run `tollgate bundle allow-rollback --digest {}`",
        bundle.revision, bundle.digest, floor.revision, floor.sequence, bundle.digest
    )
}
