//! Signed checkpoints: every `checkpoint_every` records, or every `checkpoint_interval` when
//! there are new records, the head `(seq, hash)` is signed with the audit key and stored.
//! Exported elsewhere (`tollgate audit checkpoints`), a checkpoint pins everything up to its
//! seq: a rewritten history no longer matches it, and a log cut short of it is truncated.
//! Replicas racing to sign the same seq keep the first (`ON CONFLICT DO NOTHING`). Every
//! checkpoint is also written to the [`Anchor`] outside the database as it is made.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use super::{
    anchor::{Anchor, AnchorError},
    AuditKey, AuditKeyError,
};
use crate::{
    domain::{Checkpoint, UnixMillis},
    store::{AuditLog, StoreError},
};

/// Why a checkpoint could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading the head or storing the checkpoint failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] AuditKeyError),
    /// The anchor could not be written (the checkpoint was not stored either).
    #[error(transparent)]
    Anchor(#[from] AnchorError),
}

/// What a checkpoint token signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointClaims {
    /// The last record covered.
    pub seq: i64,
    /// Its hash.
    pub head: String,
    /// When it was signed, Unix ms.
    pub at: i64,
}

/// A checkpoint for the head `(seq, head)` at `at`, signed with `key`.
pub fn sign(
    key: &AuditKey,
    seq: i64,
    head: &str,
    at: UnixMillis,
) -> Result<Checkpoint, AuditKeyError> {
    let claims = CheckpointClaims {
        seq,
        head: head.to_string(),
        at: at.as_i64(),
    };
    let payload = serde_json::to_vec(&claims).map_err(|e| AuditKeyError::Crypto(e.to_string()))?;
    Ok(Checkpoint {
        seq,
        head_hash: head.to_string(),
        at,
        token: key.sign(&payload)?,
    })
}

/// Why a stored checkpoint is not genuine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointFault {
    /// The token does not verify with the audit key (re-signed with another key, or garbage).
    #[error("its signature does not verify with the audit key")]
    Signature,
    /// The token verifies but says something else than the stored columns (edited row).
    #[error("its stored seq/head/time differ from what was signed")]
    Edited,
}

/// Checks `cp`'s signature with `key` and that the stored columns are what was signed.
pub fn verify(key: &AuditKey, cp: &Checkpoint) -> Result<CheckpointClaims, CheckpointFault> {
    let payload = key
        .verify(&cp.token)
        .map_err(|_| CheckpointFault::Signature)?;
    let claims: CheckpointClaims =
        serde_json::from_str(&payload).map_err(|_| CheckpointFault::Signature)?;
    if claims.seq != cp.seq || claims.head != cp.head_hash || claims.at != cp.at.as_i64() {
        return Err(CheckpointFault::Edited);
    }
    Ok(claims)
}

/// Signs the current head if it is past the last checkpoint, anchors it, then stores it;
/// returns the new checkpoint (`None` when there was nothing new, or another replica stored
/// this seq first). Anchored first: a checkpoint in the database always has its anchor.
pub async fn checkpoint_now(
    store: &dyn AuditLog,
    key: &AuditKey,
    anchor: Option<&Anchor>,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let (seq, hash) = store.head().await?;
    let last = store.last_checkpoint().await?.map_or(0, |c| c.seq);
    if seq <= last {
        return Ok(None);
    }
    let cp = sign(
        key,
        seq,
        &hash,
        UnixMillis::from_time(std::time::SystemTime::now()),
    )?;
    if let Some(anchor) = anchor {
        anchor.write(&cp).await?;
    }
    Ok(store.insert_checkpoint(&cp).await?.then_some(cp))
}

/// How often the background task looks at the head.
const POLL: Duration = Duration::from_secs(1);

/// What the checkpoint task needs: where the log is, the key, the anchor and the cadence.
pub struct Checkpointer {
    /// The log.
    pub store: Arc<dyn AuditLog>,
    /// The signing key.
    pub key: Arc<AuditKey>,
    /// Where each checkpoint is anchored.
    pub anchor: Option<Anchor>,
    /// Sign after this many new records...
    pub every: u64,
    /// ...or after this long, when there are new records.
    pub interval: Duration,
}

/// Counts committed records and wakes the checkpoint task when `every` have accumulated, so
/// a checkpoint follows a burst at once instead of at the next poll. Cheap: one atomic add
/// per committed batch.
#[derive(Clone)]
pub struct Trigger {
    every: u64,
    since: Arc<std::sync::atomic::AtomicU64>,
    wake: Arc<tokio::sync::Notify>,
}

impl Trigger {
    /// A trigger that fires every `every` records.
    pub fn new(every: u64) -> Self {
        Self {
            every,
            since: Arc::default(),
            wake: Arc::default(),
        }
    }

    /// `records` more were committed.
    pub fn committed(&self, records: usize) {
        use std::sync::atomic::Ordering;
        let records = u64::try_from(records).unwrap_or(u64::MAX);
        let before = self.since.fetch_add(records, Ordering::Relaxed);
        if before < self.every && before.saturating_add(records) >= self.every {
            self.wake.notify_one();
        }
    }

    fn reset(&self) {
        self.since.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Checkpointer {
    /// Writes checkpoints until `shutdown`: when `every` records have accumulated since the
    /// last one (woken by `trigger`, or seen at the poll), or `interval` has passed and there
    /// are new records.
    pub async fn run(self, trigger: Trigger, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(POLL.min(self.interval));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_written = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {}
                () = trigger.wake.notified() => {}
            }
            trigger.reset();
            if !self.due(last_written).await {
                continue;
            }
            match checkpoint_now(self.store.as_ref(), &self.key, self.anchor.as_ref()).await {
                Ok(written) => {
                    last_written = tokio::time::Instant::now();
                    if let Some(cp) = written {
                        tracing::info!(audit.seq = cp.seq, "audit checkpoint signed and anchored");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::ErrorChain(&e), "audit checkpoint failed; retrying")
                }
            }
        }
    }

    async fn due(&self, last_written: tokio::time::Instant) -> bool {
        match (self.store.head().await, self.store.last_checkpoint().await) {
            (Ok((seq, _)), Ok(last)) => {
                let behind = seq - last.map_or(0, |c| c.seq);
                behind > 0
                    && (u64::try_from(behind).unwrap_or(0) >= self.every
                        || last_written.elapsed() >= self.interval)
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %crate::telemetry::ErrorChain(&e), "audit checkpoint: cannot read the head");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_verify_and_catch_edits_and_other_keys() {
        let key = AuditKey::generate().unwrap();
        let cp = sign(&key, 7, "ab", UnixMillis(1_000)).unwrap();
        assert_eq!(verify(&key, &cp).unwrap().seq, 7);
        let edited = Checkpoint {
            head_hash: "cd".into(),
            ..cp.clone()
        };
        assert_eq!(verify(&key, &edited), Err(CheckpointFault::Edited));
        let forged = sign(&AuditKey::generate().unwrap(), 7, "ab", UnixMillis(1_000)).unwrap();
        assert_eq!(verify(&key, &forged), Err(CheckpointFault::Signature));
    }

    #[tokio::test]
    async fn checkpoint_now_signs_new_heads_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SqliteStore::open(dir.path().join("t.db"))
            .await
            .unwrap();
        let key = AuditKey::generate().unwrap();
        let anchor = Anchor::new(&Default::default(), dir.path()).unwrap();
        assert_eq!(
            checkpoint_now(&store, &key, Some(&anchor)).await.unwrap(),
            None
        );
        let e =
            crate::domain::AuditEvent::new(crate::domain::AuditKind::Decision, UnixMillis(1), "a");
        let batch = crate::store::Batch::of_events(vec![e]);
        crate::store::BatchStore::commit(&store, &batch)
            .await
            .unwrap();
        let written = checkpoint_now(&store, &key, Some(&anchor)).await.unwrap();
        assert_eq!(written.map(|c| c.seq), Some(1));
        assert_eq!(
            checkpoint_now(&store, &key, Some(&anchor)).await.unwrap(),
            None
        );
        let cp = store.last_checkpoint().await.unwrap().unwrap();
        assert_eq!(
            super::super::anchor::read(anchor.file()).unwrap(),
            vec![cp.clone()]
        );
        assert_eq!(
            verify(&key, &cp).unwrap().head,
            store.head().await.unwrap().1
        );
    }
}
