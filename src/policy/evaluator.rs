//! Where evaluations run, so a burst of expensive ones cannot hold up cheap ones.
//!
//! Every evaluation first runs inline, on the request's own thread, for at most
//! `limits.inline_slice` (2 ms by default): a cheap decision (tens of microseconds) is
//! answered there with no thread hop. One that outlasts the slice is cut (the slice is a time
//! budget enforced inside evaluation, like the full one) and run again from the start on a
//! bounded pool of `limits.workers` threads (one per core), with what is left of its time
//! budget once a worker is free. At most `limits.queue` evaluations wait for a worker; one
//! arriving beyond that is denied at once (admission). So:
//!
//! - a request thread is never held by one evaluation for longer than the slice, whatever
//!   else is running, and a cheap decision waits at most for the slices of the evaluations
//!   ahead of it on its thread;
//! - an expensive evaluation denies within the slice plus its time budget (waiting for a
//!   worker counts against the budget), and its memory stays within its budget;
//! - memory held by waiting evaluations is bounded by the queue;
//! - pool threads run at a lower scheduling priority (nice 10 on Linux), so while expensive
//!   evaluations keep every core busy the request threads still get the CPU first and a
//!   cheap decision's slice is not eaten by waiting for a core.
//!
//! A blown bound is reported to an observer (the metrics) with the rule that blew it.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use regorus::Value;
use tokio::sync::oneshot;

use super::{
    compiled::CompiledBundle,
    limits::{BlownBudget, EvalLimits, Evaluated, Limit},
    program::forget_thread_engines,
};
use crate::domain::{EvalFailure, FailureKind, PolicyOutcome};

/// Told about every blown bound, with the rule that blew it.
pub type LimitObserver = Arc<dyn Fn(&BlownBudget) + Send + Sync>;

struct Job {
    bundle: Arc<CompiledBundle>,
    input: Value,
    queued_at: Instant,
    reply: oneshot::Sender<Evaluated>,
}

/// Runs evaluations inline when cheap and on a bounded pool when not. Cheap to clone; the
/// pool's threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Evaluator {
    jobs: SyncSender<Job>,
    inline_slice: Duration,
    queue: usize,
    observer: Option<LimitObserver>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("inline_slice", &self.inline_slice)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Evaluator {
    /// Starts the pool `limits` describes. The per-evaluation budget itself comes from each
    /// bundle's own limits (the same configuration).
    pub fn new(limits: &EvalLimits) -> Self {
        let (jobs, receiver) = mpsc::sync_channel(limits.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..limits.pool_size() {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tollgate-eval-{n}"))
                .spawn(move || work(&receiver));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an evaluation worker");
            }
        }
        Self {
            jobs,
            inline_slice: limits.inline_slice,
            queue: limits.queue,
            observer: None,
        }
    }

    /// Reports every blown bound to `observer` (with the rule that blew it).
    pub fn with_observer(
        mut self,
        observer: impl Fn(&BlownBudget) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Evaluates `input` with `bundle`: inline if it fits the slice, else on the pool. Every
    /// failure (a runtime error, a blown bound, no room to wait) is an `Err`, which denies.
    pub async fn evaluate(
        &self,
        bundle: &Arc<CompiledBundle>,
        input: Value,
    ) -> Result<PolicyOutcome, EvalFailure> {
        let evaluated = self.run(bundle, input).await;
        if let (Some(blown), Some(observer)) = (&evaluated.blown, &self.observer) {
            observer(blown);
        }
        evaluated.result
    }

    async fn run(&self, bundle: &Arc<CompiledBundle>, input: Value) -> Evaluated {
        let timeout = bundle.limits().timeout;
        let started = Instant::now();
        if !self.inline_slice.is_zero() {
            // Values share their contents: keeping a copy for the retry is a reference count.
            let inline = bundle.evaluate_within(input.clone(), self.inline_slice.min(timeout));
            if !inline.out_of_time() || self.inline_slice >= timeout {
                return inline;
            }
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            bundle: bundle.clone(),
            input,
            queued_at: started,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Evaluated::blown(
                    Limit::Admission,
                    String::new(),
                    format!(
                        "{} expensive evaluations are already waiting for a worker",
                        self.queue
                    ),
                )
            }
            Err(TrySendError::Disconnected(_)) => return unavailable("no evaluation worker"),
        }
        answer
            .await
            .unwrap_or_else(|_| unavailable("the evaluation worker stopped"))
    }
}

fn unavailable(message: &str) -> Evaluated {
    Evaluated::finished(Err(EvalFailure::new(FailureKind::Evaluation, message)))
}

/// The pool threads' nice value: below the request threads, above idle work.
#[cfg(target_os = "linux")]
const POOL_NICE: i32 = 10;

/// Lowers this thread's scheduling priority (Linux: nice is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), POOL_NICE)
    {
        tracing::warn!(error = %e, "could not lower an evaluation worker's priority");
    }
}

/// A pool thread: takes jobs until every sender is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let next = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.recv()
        };
        let Ok(job) = next else {
            return;
        };
        let _ = job
            .reply
            .send(run_job(job.bundle, job.input, job.queued_at));
    }
}

/// Runs one job with what is left of its time budget; a panic in the engine denies.
fn run_job(bundle: Arc<CompiledBundle>, input: Value, queued_at: Instant) -> Evaluated {
    let timeout = bundle.limits().timeout;
    let Some(left) = timeout.checked_sub(queued_at.elapsed()) else {
        return Evaluated::blown(
            Limit::Admission,
            String::new(),
            format!("no evaluation worker was free within the {timeout:?} budget"),
        );
    };
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| bundle.evaluate_within(input, left)));
    ran.unwrap_or_else(|_| {
        forget_thread_engines();
        tracing::error!(
            bundle.revision = %bundle.revision,
            "policy evaluation panicked; the decision denies"
        );
        Evaluated::finished(Err(EvalFailure::new(
            FailureKind::Evaluation,
            "the policy engine failed",
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Bundle, RequirementDefaults};

    const POLICY: &str = r#"package tollgate

import rego.v1

allow if input.mode == "cheap"

allow if {
	input.mode == "spin"
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i * j < 0
}
"#;

    fn bundle(limits: EvalLimits) -> Arc<CompiledBundle> {
        let files = vec![("policy.rego".to_string(), POLICY.as_bytes().to_vec())];
        let bundle = Bundle::from_files("test".into(), files).unwrap();
        Arc::new(CompiledBundle::compile(&bundle, limits, RequirementDefaults::default()).unwrap())
    }

    fn input(mode: &str) -> Value {
        Value::from_json_str(&format!(r#"{{"mode": "{mode}"}}"#)).unwrap()
    }

    fn limits() -> EvalLimits {
        EvalLimits {
            timeout: Duration::from_millis(50),
            max_instructions: usize::MAX,
            inline_slice: Duration::from_millis(1),
            workers: 1,
            queue: 1,
            ..EvalLimits::default()
        }
    }

    #[tokio::test]
    async fn cheap_allows_and_expensive_denies_with_the_rule_reported() {
        let limits = limits();
        let blown = Arc::new(Mutex::new(Vec::new()));
        let seen = blown.clone();
        let evaluator =
            Evaluator::new(&limits).with_observer(move |b| seen.lock().unwrap().push(b.clone()));
        let b = bundle(limits);
        assert!(evaluator.evaluate(&b, input("cheap")).await.unwrap().allow);
        let err = evaluator.evaluate(&b, input("spin")).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Limit, "{err:?}");
        let blown = blown.lock().unwrap().clone();
        assert_eq!(blown.len(), 1, "{blown:?}");
        assert_eq!(blown[0].limit, Limit::Time);
        assert_eq!(blown[0].rule, "data.tollgate.allow", "{err:?}");
    }

    #[tokio::test]
    async fn beyond_the_queue_expensive_evaluations_are_refused_at_once() {
        let limits = limits();
        let evaluator = Evaluator::new(&limits);
        let b = bundle(limits);
        // One runs on the worker, one waits, the rest find the queue full.
        let all =
            futures::future::join_all((0..6).map(|_| evaluator.evaluate(&b, input("spin")))).await;
        let admission = all
            .iter()
            .filter(|r| {
                r.as_ref()
                    .is_err_and(|e| e.message.contains("waiting for a worker"))
            })
            .count();
        assert!(all
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.kind == FailureKind::Limit)));
        assert!(admission >= 1, "{all:?}");
    }

    #[tokio::test]
    async fn a_zero_slice_sends_everything_to_the_pool() {
        let limits = EvalLimits {
            inline_slice: Duration::ZERO,
            ..limits()
        };
        let evaluator = Evaluator::new(&limits);
        let b = bundle(limits);
        assert!(evaluator.evaluate(&b, input("cheap")).await.unwrap().allow);
    }
}
