//! The verifier: walks the chain in seq order (paged, constant memory) and the signed
//! checkpoints, and names the first bad record. It trusts nothing in the rows: every hash is
//! re-derived, every indexed column is compared with the hashed body, every checkpoint's
//! signature is checked with the audit key.
//!
//! The database's own checkpoints are not enough: a writer to the database can delete them.
//! So the verifier also takes checkpoints anchored elsewhere ([`super::anchor`]: the
//! server's anchor file, files exported earlier), merged with the database's by seq, and it
//! checks the cadence the server was configured with: a long run of records that no
//! checkpoint covers is reported, not passed.

use std::{collections::VecDeque, time::Duration};

use super::{
    checkpoint::{self, CheckpointFault},
    AuditKey,
};
use crate::domain::{link, AuditEvent, AuditRecord, Checkpoint, GENESIS_HASH};
use crate::store::{AuditLog, StoreError};

/// What is wrong with the log: the first fault found, in seq order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// A record's content no longer matches what was chained.
    #[error("seq {seq}: edited: {what}")]
    Edited {
        /// The record.
        seq: i64,
        /// What differs.
        what: String,
    },
    /// Records are missing: the sequence jumps.
    #[error("seq {seq}: deleted: the log jumps from seq {} to seq {next}", seq - 1)]
    Deleted {
        /// The first missing seq.
        seq: i64,
        /// The seq found instead.
        next: i64,
    },
    /// A record sits at the wrong place: it was chained after another record.
    #[error("seq {seq}: reordered: this record was chained after another record than seq {}", seq - 1)]
    Reordered {
        /// Where it was found.
        seq: i64,
    },
    /// The log ends before a signed checkpoint: records after `last` were removed.
    #[error("seq {}: truncated after checkpoint {checkpoint}: the log ends at seq {last}, but checkpoint {checkpoint} was signed over more", last + 1)]
    Truncated {
        /// The checkpoint beyond the end.
        checkpoint: i64,
        /// The last record present.
        last: i64,
    },
    /// A checkpoint is not genuine.
    #[error("checkpoint {seq}: forged checkpoint: {why}")]
    ForgedCheckpoint {
        /// The checkpoint's seq.
        seq: i64,
        /// Why.
        why: String,
    },
    /// The head row disagrees with the records.
    #[error("head: {what}")]
    Head {
        /// What differs.
        what: String,
    },
    /// The index an audit query searches (`audit_index`) disagrees with the records
    /// at `seq`: a row edited, removed or added. The chain is intact, but a query could miss
    /// records or name the wrong ones.
    #[error("seq {seq}: index: the audit query's index disagrees with the log here (a row of it edited, removed or added)")]
    Index {
        /// The first seq where they disagree.
        seq: i64,
    },
    /// A run of records no checkpoint covers, longer than the configured cadence allows:
    /// checkpoints were deleted (or the checkpoint task was not running).
    #[error("seq {first}..{last}: no signed checkpoint covers these {} records ({why}); \
             checkpoints were deleted or never made", last - first + 1)]
    Uncovered {
        /// The run's first record.
        first: i64,
        /// The run's last record.
        last: i64,
        /// Which bound it breaks.
        why: String,
    },
}

/// The checkpoint cadence the server was configured with (`audit.checkpoint_every`,
/// `audit.checkpoint_interval`, `audit.max_batch`). A checkpoint is signed after `every`
/// records or `interval`, so a run of uncovered records is allowed up to twice `every` plus
/// two batches, or `interval` plus [`Cadence::SLACK`] between its first and last record's
/// times; anything longer is [`Fault::Uncovered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// `audit.checkpoint_every`.
    pub every: u64,
    /// `audit.checkpoint_interval`.
    pub interval: Duration,
    /// `audit.max_batch`.
    pub max_batch: usize,
}

impl Cadence {
    /// Time allowed beyond the interval: the checkpoint task's poll and a slow commit.
    pub const SLACK: Duration = Duration::from_secs(5);

    fn max_records(&self) -> i64 {
        let batches = u64::try_from(self.max_batch).unwrap_or(u64::MAX);
        i64::try_from(
            self.every
                .saturating_mul(2)
                .saturating_add(batches.saturating_mul(2)),
        )
        .unwrap_or(i64::MAX)
    }

    fn max_span(&self) -> Duration {
        self.interval.saturating_add(Self::SLACK)
    }
}

/// What the verifier checks beyond the chain and the database's checkpoints.
#[derive(Debug, Clone, Default)]
pub struct Anchors {
    /// Checkpoints from outside the database (anchor files, exports), in any order; merged
    /// with the database's by seq.
    pub checkpoints: Vec<Checkpoint>,
    /// The cadence to hold the log to; `None` checks none.
    pub cadence: Option<Cadence>,
}

/// Why verification could not run (as opposed to finding a fault).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There are checkpoints but no key to check them with.
    #[error("the log has signed checkpoints but no audit key was given to verify them")]
    NoKey,
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records walked (the last seq).
    pub records: i64,
    /// The last record's hash.
    pub head: String,
    /// Checkpoints verified.
    pub checkpoints: usize,
    /// The highest checkpoint's seq.
    pub last_checkpoint: Option<i64>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OK: {} records (seq 1..{}), head {}, {} signed checkpoints verified",
            self.records, self.records, self.head, self.checkpoints
        )?;
        match self.last_checkpoint {
            Some(seq) => write!(f, " (last at seq {seq})"),
            None => Ok(()),
        }
    }
}

/// How many recent hashes the walk remembers to tell a misplaced record from an edited one.
const LOOKBACK: usize = 64;

/// The walk's state: where the chain should continue.
struct Walk {
    expected: i64,
    prev: String,
    recent: VecDeque<String>,
}

/// Verifies the whole log in `store` against `key`, reading `page` records at a time, with the
/// anchored checkpoints and cadence in `anchors`. `Ok(Err(fault))` names the first bad record.
pub async fn verify(
    store: &dyn AuditLog,
    key: Option<&AuditKey>,
    page: u32,
    anchors: &Anchors,
) -> Result<Result<Report, Fault>, VerifyError> {
    let checkpoints = merged(all_checkpoints(store).await?, &anchors.checkpoints);
    if !checkpoints.is_empty() && key.is_none() {
        return Err(VerifyError::NoKey);
    }
    let mut gaps = Gaps::new(anchors.cadence);
    let mut pending = checkpoints.iter().peekable();
    let mut verified_through = 0;
    let mut walk = Walk {
        expected: 1,
        prev: GENESIS_HASH.to_string(),
        recent: VecDeque::with_capacity(LOOKBACK),
    };
    let page = page.max(1);
    loop {
        let records = store.range(walk.expected, page).await?;
        for (i, r) in records.iter().enumerate() {
            if let Err(fault) = check_record(r, &walk, &records[i + 1..]) {
                return Ok(Err(fault));
            }
            let mut covered = false;
            while let Some(cp) = pending.next_if(|cp| cp.seq <= r.seq) {
                if let (Some(key), true) = (key, cp.seq == r.seq) {
                    if let Err(fault) = check_checkpoint(key, cp, r, verified_through) {
                        return Ok(Err(fault));
                    }
                    covered = true;
                }
            }
            if covered {
                verified_through = r.seq;
            }
            if let Err(fault) = gaps.record(r, covered) {
                return Ok(Err(fault));
            }
            if walk.recent.len() == LOOKBACK {
                walk.recent.pop_front();
            }
            walk.recent
                .push_back(std::mem::replace(&mut walk.prev, r.hash.clone()));
            walk.expected += 1;
        }
        if records.len() < page as usize {
            break;
        }
    }
    let last = walk.expected - 1;
    if let Some(cp) = pending.next() {
        if let Some(key) = key {
            if let Err(e) = checkpoint::verify(key, cp) {
                return Ok(Err(forged(cp.seq, &e)));
            }
        }
        return Ok(Err(Fault::Truncated {
            checkpoint: cp.seq,
            last,
        }));
    }
    if let Err(fault) = check_head(store, last, &walk.prev).await? {
        return Ok(Err(fault));
    }
    if let Some(seq) = store.index_fault().await? {
        return Ok(Err(Fault::Index { seq }));
    }
    if let Err(fault) = gaps.finish() {
        return Ok(Err(fault));
    }
    Ok(Ok(Report {
        records: last,
        head: walk.prev,
        checkpoints: checkpoints.len(),
        last_checkpoint: checkpoints.last().map(|c| c.seq),
    }))
}

async fn all_checkpoints(store: &dyn AuditLog) -> Result<Vec<Checkpoint>, StoreError> {
    let mut all: Vec<Checkpoint> = Vec::new();
    loop {
        let after = all.last().map_or(0, |c| c.seq);
        let page = store.checkpoints(after, 1000).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

/// The database's checkpoints and the anchored ones, by seq, each distinct checkpoint once.
/// Checkpoints at one seq that differ in any way all stay and are all checked: a forged copy
/// beside a genuine one is still reported.
fn merged(mut all: Vec<Checkpoint>, anchored: &[Checkpoint]) -> Vec<Checkpoint> {
    all.extend_from_slice(anchored);
    all.sort_by(|a, b| (a.seq, &a.head_hash, &a.token).cmp(&(b.seq, &b.head_hash, &b.token)));
    all.dedup();
    all
}

/// Runs of records no checkpoint covers, held to the cadence.
struct Gaps {
    cadence: Option<Cadence>,
    /// The current run: its first record's seq and time, and its last record's.
    run: Option<((i64, i64), (i64, i64))>,
}

impl Gaps {
    fn new(cadence: Option<Cadence>) -> Self {
        Self { cadence, run: None }
    }

    /// `r` was walked; `covered` says a checkpoint was signed over it (ending the run).
    fn record(&mut self, r: &AuditRecord, covered: bool) -> Result<(), Fault> {
        let at = (r.seq, r.event.at.0);
        let run = match self.run {
            Some((first, _)) => (first, at),
            None => (at, at),
        };
        self.run = Some(run);
        self.check()?;
        if covered {
            self.run = None;
        }
        Ok(())
    }

    /// The log ended: the last run (records after the last checkpoint) is held to the cadence
    /// too.
    fn finish(&mut self) -> Result<(), Fault> {
        self.check()
    }

    fn check(&self) -> Result<(), Fault> {
        let (Some(cadence), Some(((first, first_at), (last, last_at)))) = (self.cadence, self.run)
        else {
            return Ok(());
        };
        let span = Duration::from_millis(u64::try_from(last_at - first_at).unwrap_or(0));
        let why = if last - first + 1 > cadence.max_records() {
            format!(
                "more than {} records, with checkpoint_every {}",
                cadence.max_records(),
                cadence.every
            )
        } else if span > cadence.max_span() {
            format!(
                "written over {}s, with checkpoint_interval {}s",
                span.as_secs(),
                cadence.interval.as_secs()
            )
        } else {
            return Ok(());
        };
        Err(Fault::Uncovered { first, last, why })
    }
}

fn forged(seq: i64, e: &CheckpointFault) -> Fault {
    Fault::ForgedCheckpoint {
        seq,
        why: e.to_string(),
    }
}

/// A checkpoint at record `r`: genuine, and signed over `r`'s hash.
fn check_checkpoint(
    key: &AuditKey,
    cp: &Checkpoint,
    r: &AuditRecord,
    verified_through: i64,
) -> Result<(), Fault> {
    checkpoint::verify(key, cp).map_err(|e| forged(cp.seq, &e))?;
    if cp.head_hash != r.hash {
        return Err(Fault::Edited {
            seq: r.seq,
            what: format!(
                "the chain differs from signed checkpoint {}: a record after seq {verified_through} \
                 and up to seq {} was rewritten and the hashes recomputed",
                cp.seq, r.seq
            ),
        });
    }
    Ok(())
}

/// One record against the walk: in sequence, hashed right, linked to the one before, and its
/// columns equal to its body.
fn check_record(r: &AuditRecord, walk: &Walk, ahead: &[AuditRecord]) -> Result<(), Fault> {
    let seq = walk.expected;
    if r.seq != seq {
        return Err(Fault::Deleted { seq, next: r.seq });
    }
    if r.hash != link(&r.prev_hash, &r.body) {
        return Err(Fault::Edited {
            seq,
            what: "its body does not match its hash".into(),
        });
    }
    if r.prev_hash != walk.prev {
        let misplaced = walk.recent.contains(&r.prev_hash)
            || ahead.iter().any(|later| later.hash == r.prev_hash);
        return Err(if misplaced {
            Fault::Reordered { seq }
        } else if seq == 1 {
            Fault::Edited {
                seq,
                what: "the first record does not start from the genesis hash".into(),
            }
        } else {
            Fault::Edited {
                seq: seq - 1,
                what: format!(
                    "its hash was recomputed: seq {seq} was chained after a different record"
                ),
            }
        });
    }
    check_columns(r)
}

/// The indexed columns must be copies of the hashed body's fields.
fn check_columns(r: &AuditRecord) -> Result<(), Fault> {
    let edited = |what: String| Fault::Edited { seq: r.seq, what };
    let body: AuditEvent = serde_json::from_str(&r.body)
        .map_err(|e| edited(format!("its body is not an audit event: {e}")))?;
    if body.canonical().ok().as_deref() != Some(r.body.as_str()) {
        return Err(edited("its body is not in canonical form".into()));
    }
    let c = &r.event;
    let pairs: [(&str, String, String); 14] = [
        ("id", c.id.clone(), body.id.clone()),
        ("at", c.at.to_string(), body.at.to_string()),
        ("kind", c.kind.as_str().into(), body.kind.as_str().into()),
        ("actor", c.actor.clone(), body.actor.clone()),
        ("subject_id", c.subject_id.clone(), body.subject_id.clone()),
        ("action", c.action.clone(), body.action.clone()),
        (
            "resource_type",
            c.resource_type.clone(),
            body.resource_type.clone(),
        ),
        (
            "resource_id",
            c.resource_id.clone(),
            body.resource_id.clone(),
        ),
        ("effect", c.effect.clone(), body.effect.clone()),
        (
            "decision_id",
            c.decision_id.clone(),
            body.decision_id.clone(),
        ),
        (
            "approval_id",
            c.approval_id.clone(),
            body.approval_id.clone(),
        ),
        (
            "capability_id",
            c.capability_id.clone(),
            body.capability_id.clone(),
        ),
        (
            "bundle_revision",
            c.bundle_revision.clone(),
            body.bundle_revision.clone(),
        ),
        ("trace_id", c.trace_id.clone(), body.trace_id.clone()),
    ];
    for (column, stored, hashed) in pairs {
        if stored != hashed {
            return Err(edited(format!(
                "column {column} is {stored:?} but the hashed body says {hashed:?}"
            )));
        }
    }
    Ok(())
}

/// The head row must name the last record.
async fn check_head(
    store: &dyn AuditLog,
    last: i64,
    last_hash: &str,
) -> Result<Result<(), Fault>, StoreError> {
    let (seq, hash) = store.head().await?;
    let what = if seq > last {
        format!(
            "the head says seq {seq} but the log ends at seq {last}: seq {} and later were deleted",
            last + 1
        )
    } else if seq < last {
        format!("the head says seq {seq} but the log goes on to seq {last}")
    } else if hash != last_hash {
        format!("the head's hash differs from seq {last}'s")
    } else {
        return Ok(Ok(()));
    };
    Ok(Err(Fault::Head { what }))
}

#[cfg(test)]
mod cadence_tests {
    use super::*;
    use crate::domain::{AuditKind, UnixMillis};

    fn record(seq: i64, at_ms: i64) -> AuditRecord {
        AuditRecord {
            seq,
            event: AuditEvent::new(AuditKind::Decision, UnixMillis(at_ms), "a"),
            body: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn a_run_longer_than_the_interval_is_uncovered_and_a_checkpoint_ends_a_run() {
        let cadence = Cadence {
            every: 1000,
            interval: Duration::from_secs(10),
            max_batch: 10,
        };
        let mut gaps = Gaps::new(Some(cadence));
        gaps.record(&record(1, 0), false).unwrap();
        gaps.record(&record(2, 14_000), true).unwrap();
        // A new run starts after the checkpoint.
        gaps.record(&record(3, 20_000), false).unwrap();
        let fault = gaps.record(&record(4, 35_001), false).unwrap_err();
        assert!(
            matches!(&fault, Fault::Uncovered { first: 3, last: 4, why } if why.contains("over 15s")),
            "{fault}"
        );
        let mut unchecked = Gaps::new(None);
        unchecked.record(&record(1, 0), false).unwrap();
        unchecked.record(&record(2, 999_999), false).unwrap();
        unchecked.finish().unwrap();
    }
}
