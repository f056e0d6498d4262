//! Group commit: one task owns the store's writes. Callers queue either a [`Batch`] (writes
//! no compare-and-set guards: audit events of decisions, refused redemptions and bundle
//! reloads, the capabilities minted for ALLOW answers) or a [`Change`] (an approval created,
//! reviewed, moved or approved with its capability, a capability redeemed) and wait; the task
//! takes everything queued (up to a cap) into ONE transaction and answers every waiter after
//! the commit, so many concurrent answers and state changes share one fsync. Changes run one
//! after another inside that transaction, each in its own savepoint, so every compare-and-set
//! is exactly as strict as alone. A failed commit answers every waiter with the error: the
//! caller then fails closed (no answer without its record).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use futures::stream::{FuturesUnordered, StreamExt};

use super::{health::StoreHealth, Batch, BatchStore, Change, Changed, StoreError};

/// Called after each commit with the number of events and how long the commit took (metrics).
pub type BatchObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

/// Why a batch was not committed. The caller must not give the answer it describes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// The batch's transaction failed; nothing in it was stored.
    #[error("the audit record could not be committed")]
    Commit(#[source] Arc<StoreError>),
    /// The store is known to be down (the health probe failed); nothing was tried.
    #[error("{0}")]
    Unavailable(String),
    /// The group commit has stopped (shutting down); nothing more is stored.
    #[error("the audit writer has stopped")]
    Closed,
}

/// One caller's share of a transaction.
enum Job {
    /// Unguarded writes; answered with the seq of the batch's last event.
    Batch {
        batch: Batch,
        done: oneshot::Sender<Result<i64, CommitError>>,
    },
    /// A compare-and-set change; answered with its outcome (its own error, if it failed
    /// alone, is the inner one).
    Change {
        change: Box<Change>,
        done: oneshot::Sender<Result<Result<Changed, StoreError>, CommitError>>,
    },
}

/// A handle to the group-commit task. Cheap to clone. The task stops, after committing
/// everything already queued, when its shutdown future resolves (later submissions fail with
/// [`CommitError::Closed`]) or when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the task over `store`, committing at most `max_batch` callers' batches per
    /// transaction and telling `observer` about each commit, until `shutdown` resolves (start
    /// it after the servers have drained, so in-flight calls still commit). The join handle
    /// resolves once the queue is drained.
    pub fn spawn(
        store: Arc<dyn BatchStore>,
        max_batch: usize,
        observer: Option<BatchObserver>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (Self, JoinHandle<()>) {
        Self::spawn_watched(store, max_batch, observer, None, shutdown)
    }

    /// [`Self::spawn`], failing batches at once with [`CommitError::Unavailable`] while
    /// `health` says the store is down (instead of holding callers behind a dead database),
    /// and telling it when a commit fails.
    pub fn spawn_watched(
        store: Arc<dyn BatchStore>,
        max_batch: usize,
        observer: Option<BatchObserver>,
        health: Option<StoreHealth>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (Self, JoinHandle<()>) {
        let max_batch = max_batch.max(1);
        // Room for a few batches: beyond that, callers wait to queue (backpressure).
        let (queue, rx) = mpsc::channel(max_batch.saturating_mul(4));
        let task = tokio::spawn(run(store, rx, max_batch, observer, health, shutdown));
        (Self { queue }, task)
    }

    /// Commits `batch` with whatever else is queued; returns the seq of its last event (or
    /// of the head before it, when it has none) once committed.
    pub async fn submit(&self, batch: Batch) -> Result<i64, CommitError> {
        let (done, answer) = oneshot::channel();
        let job = Job::Batch { batch, done };
        self.queue
            .send(job)
            .await
            .map_err(|_| CommitError::Closed)?;
        answer.await.map_err(|_| CommitError::Closed)?
    }

    /// Applies `change` in the next shared transaction; its outcome once committed. A failed
    /// transaction is [`StoreError::Commit`]: nothing of the change was stored.
    pub async fn change(&self, change: Change) -> Result<Changed, StoreError> {
        let (done, answer) = oneshot::channel();
        let job = Job::Change {
            change: Box::new(change),
            done,
        };
        let closed = || StoreError::Commit(CommitError::Closed);
        self.queue.send(job).await.map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| closed())?
            .map_err(StoreError::Commit)?
    }
}

/// The waiters of one transaction.
#[derive(Default)]
struct Waiters {
    /// Each batch's waiter and how many events it added: its seq is the last of them.
    batches: Vec<(oneshot::Sender<Result<i64, CommitError>>, usize)>,
    /// Each change's waiter, in the order of `changes`.
    changes: Vec<oneshot::Sender<Result<Result<Changed, StoreError>, CommitError>>>,
}

impl Waiters {
    /// Answers everyone with `error`.
    fn fail(self, error: &CommitError) {
        for (done, _) in self.batches {
            let _ = done.send(Err(error.clone()));
        }
        for done in self.changes {
            let _ = done.send(Err(error.clone()));
        }
    }
}

async fn run(
    store: Arc<dyn BatchStore>,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    observer: Option<BatchObserver>,
    health: Option<StoreHealth>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let in_flight = store.commits_in_flight().max(1);
    let mut running = FuturesUnordered::new();
    let mut closing = false;
    let mut open = true;
    let mut jobs = Vec::with_capacity(max_batch);
    while open || !running.is_empty() {
        tokio::select! {
            // `recv_many` waits for one job, then takes whatever else is queued; 0 means the
            // channel is closed (shutdown, or every handle gone) and empty: drained. Jobs are
            // taken only while a transaction may start; meanwhile they queue into the next.
            taken = rx.recv_many(&mut jobs, max_batch), if open && running.len() < in_flight => {
                if taken == 0 {
                    open = false;
                    continue;
                }
                let (changes, batch, waiters) = gather(&mut jobs);
                if let Some(reason) = health.as_ref().and_then(StoreHealth::down_reason) {
                    waiters.fail(&CommitError::Unavailable(reason));
                    continue;
                }
                let (observer, health) = (observer.as_ref(), health.as_ref());
                running.push(commit(&*store, changes, batch, waiters, observer, health));
            }
            Some(()) = running.next() => {}
            () = &mut shutdown, if !closing => {
                // No new jobs; the ones queued are still committed.
                rx.close();
                closing = true;
            }
        }
    }
    tracing::debug!("audit writer drained");
}

/// One transaction's share of the queue: its changes, in the shared lock order, the batches'
/// writes merged, and the waiters of both.
fn gather(jobs: &mut Vec<Job>) -> (Vec<Change>, Batch, Waiters) {
    let mut batch = Batch::default();
    let mut queued = Vec::new();
    let mut waiters = Waiters::default();
    for job in jobs.drain(..) {
        match job {
            Job::Batch { batch: b, done } => {
                waiters.batches.push((done, b.events.len()));
                batch.events.extend(b.events);
                batch.capabilities.extend(b.capabilities);
            }
            Job::Change { change, done } => queued.push((change, done)),
        }
    }
    // In the shared lock order, so this transaction and any other (a replica's, or this
    // replica's next) never wait for each other in a cycle. None of these changes waited
    // for another's answer, so any order is one they could have run in; a stable sort
    // keeps one approval's changes in the order they came.
    queued.sort_by(|(a, _), (b, _)| a.lock_order().cmp(&b.lock_order()));
    let mut changes = Vec::with_capacity(queued.len());
    for (change, done) in queued {
        changes.push(*change);
        waiters.changes.push(done);
    }
    (changes, batch, waiters)
}

/// Commits one transaction and answers its waiters.
async fn commit(
    store: &dyn BatchStore,
    changes: Vec<Change>,
    batch: Batch,
    waiters: Waiters,
    observer: Option<&BatchObserver>,
    health: Option<&StoreHealth>,
) {
    let (n_changes, n_events) = (changes.len(), batch.events.len());
    let started = Instant::now();
    let result = store.commit_all(changes, batch).await;
    let took = started.elapsed();
    match result {
        Ok(committed) => {
            let records = committed.records.len() + committed.change_records;
            if let Some(observe) = observer {
                observe(records, took);
            }
            tracing::debug!(
                audit.batch = records,
                audit.changes = n_changes,
                audit.commit_us = took.as_micros() as u64,
                "audit batch committed"
            );
            let mut seq = match committed.records.first() {
                Some(r) => r.seq - 1,
                None => 0,
            };
            for (done, n) in waiters.batches {
                seq += i64::try_from(n).unwrap_or(0);
                // A caller that gave up waiting is fine: its records are committed.
                let _ = done.send(Ok(seq));
            }
            for (done, outcome) in waiters.changes.into_iter().zip(committed.changes) {
                let _ = done.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!(error = %crate::telemetry::ErrorChain(&e), audit.batch = n_events, audit.changes = n_changes, "audit batch failed to commit; failing its callers closed");
            if let Some(health) = health {
                health.suspect();
            }
            waiters.fail(&CommitError::Commit(Arc::new(e)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::{AuditEvent, AuditKind, UnixMillis};
    use crate::store::{AuditLog, CapabilityStore, SqliteStore};

    async fn store() -> (Arc<SqliteStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).await.unwrap();
        (Arc::new(store), dir)
    }

    fn events<const N: usize>(seqs: [i64; N]) -> Batch {
        Batch {
            capabilities: Vec::new(),
            events: seqs.map(event).to_vec(),
        }
    }

    fn event(i: i64) -> AuditEvent {
        AuditEvent::new(AuditKind::Decision, UnixMillis(i), "agent:a")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn queued_events_commit_together_up_to_the_cap() {
        let (store, _dir) = store().await;
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = batches.clone();
        let observer: BatchObserver = Arc::new(move |n, _| seen.lock().unwrap().push(n));
        let (writer, task) =
            GroupCommit::spawn(store.clone(), 16, Some(observer), std::future::pending());
        // One thread: many sends are queued before the writer task gets to run.
        let seqs = futures::future::join_all((0..100).map(|i| writer.submit(events([i])))).await;
        let mut seqs: Vec<i64> = seqs.into_iter().map(Result::unwrap).collect();
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=100).collect::<Vec<_>>(),
            "every caller got its own seq"
        );
        let batches = batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 100);
        assert!(
            batches.iter().all(|&n| n <= 16),
            "the cap holds: {batches:?}"
        );
        assert!(
            batches.contains(&16),
            "queued events share commits: {batches:?}"
        );
        drop(writer);
        task.await.unwrap();
        assert_eq!(store.head().await.unwrap().0, 100);
    }

    #[tokio::test]
    async fn capabilities_commit_with_their_events() {
        let (store, _dir) = store().await;
        let (writer, _task) = GroupCommit::spawn(store.clone(), 8, None, std::future::pending());
        let issue = |id: &str, seqs: &[i64]| Batch {
            capabilities: vec![crate::store::issued_capability(id)],
            events: seqs.iter().copied().map(event).collect(),
        };
        let (a, b, c) = tokio::join!(
            writer.submit(issue("cap-a", &[1, 2])),
            writer.submit(events([3])),
            writer.submit(issue("cap-b", &[4, 5])),
        );
        let mut seqs = [a.unwrap(), b.unwrap(), c.unwrap()];
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            [2, 3, 5],
            "each caller gets the seq of its last event"
        );
        for id in ["cap-a", "cap-b"] {
            assert!(
                store
                    .get_capability(id, UnixMillis(2))
                    .await
                    .unwrap()
                    .is_some(),
                "{id}"
            );
        }
        // A capability that cannot be stored fails its batch: nothing of it is recorded.
        let err = writer.submit(issue("cap-a", &[6])).await;
        assert!(matches!(err, Err(CommitError::Commit(_))), "{err:?}");
        assert_eq!(store.head().await.unwrap().0, 5);
        // ...and leaves nothing open behind it: the next batch commits, right after the last.
        assert_eq!(writer.submit(issue("cap-c", &[7])).await.unwrap(), 6);
        assert_eq!(store.head().await.unwrap().0, 6);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_waiter() {
        let (store, _dir) = store().await;
        store.close().await;
        let (writer, _task) = GroupCommit::spawn(store, 64, None, std::future::pending());
        let results = futures::future::join_all((0..5).map(|i| writer.submit(events([i])))).await;
        for r in results {
            assert!(matches!(r, Err(CommitError::Commit(_))), "{r:?}");
        }
    }

    #[tokio::test]
    async fn dropping_the_handles_drains_the_queue() {
        let (store, _dir) = store().await;
        let (writer, task) = GroupCommit::spawn(store.clone(), 4, None, std::future::pending());
        let callers: Vec<_> = (0..20)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { w.submit(events([i])).await })
            })
            .collect();
        drop(writer);
        for c in callers {
            c.await.unwrap().unwrap();
        }
        task.await.unwrap();
        assert_eq!(store.head().await.unwrap().0, 20);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn shutdown_commits_what_is_queued_then_refuses() {
        let (store, _dir) = store().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let (writer, task) = GroupCommit::spawn(store.clone(), 4, None, async {
            let _ = stopped.await;
        });
        let queued: Vec<_> = (0..10)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { w.submit(events([i])).await })
            })
            .collect();
        // Let every caller queue its event before the shutdown (one thread: they run first).
        tokio::task::yield_now().await;
        stop.send(()).unwrap();
        for q in queued {
            q.await.unwrap().unwrap();
        }
        task.await.unwrap();
        assert!(matches!(
            writer.submit(events([99])).await,
            Err(CommitError::Closed)
        ));
        assert_eq!(store.head().await.unwrap().0, 10);
    }

    /// A store whose commits each return only once two of them are open at once.
    #[derive(Debug)]
    struct Overlapping {
        in_flight: usize,
        both_open: tokio::sync::Barrier,
    }

    #[async_trait::async_trait]
    impl BatchStore for Overlapping {
        async fn commit_all(
            &self,
            _changes: Vec<Change>,
            _batch: Batch,
        ) -> Result<crate::store::Committed, StoreError> {
            self.both_open.wait().await;
            Ok(crate::store::Committed::default())
        }

        fn commits_in_flight(&self) -> usize {
            self.in_flight
        }
    }

    /// With room for two transactions, a caller queued while one commits starts the second
    /// at once (and each is answered after its own commit) instead of waiting for the first.
    #[tokio::test(flavor = "current_thread")]
    async fn a_store_with_room_commits_two_transactions_at_once() {
        let store = Arc::new(Overlapping {
            in_flight: 2,
            both_open: tokio::sync::Barrier::new(2),
        });
        let (writer, _task) = GroupCommit::spawn(store, 1, None, std::future::pending());
        let first = tokio::spawn({
            let w = writer.clone();
            async move { w.submit(events([1])).await }
        });
        let second = tokio::spawn(async move { writer.submit(events([2])).await });
        // Were one commit at a time, neither could return: the deadline makes that a failure.
        let answered = tokio::time::timeout(Duration::from_secs(10), async {
            (first.await.unwrap(), second.await.unwrap())
        })
        .await
        .expect("the second transaction never started while the first was open");
        assert!(answered.0.is_ok() && answered.1.is_ok(), "{answered:?}");
    }
}
