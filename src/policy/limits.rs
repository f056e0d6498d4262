//! Bounds on one evaluation, and how a blown bound is reported.
//!
//! The time and memory budget is enforced *inside* evaluation by the vendored regorus
//! (`vendor/PATCHES.md`, patch 0002: a per-thread `EvaluationBudget` checked by both engines
//! and inside the loops of expensive builtins), so an expensive rule is stopped near the
//! budget instead of seconds and gigabytes after it. The instruction limit is the VM's own.
//! Where evaluations run (inline, or on the bounded pool) is [`super::evaluator`]'s job.

use std::{
    num::{NonZeroU32, NonZeroU64},
    time::Duration,
};

use regorus::{
    rvm::vm::VmError, utils::limits::ExecutionTimerConfig, EvaluationBudget, LimitError,
};
use serde::{Deserialize, Serialize};

use crate::domain::{EvalFailure, FailureKind, PolicyOutcome};

/// Bounds on one evaluation and on the evaluations running at once (config `limits:`), so a
/// pathological policy or input can neither hang nor exhaust the server, nor hold up cheap
/// decisions. Exceeding any of them denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalLimits {
    /// Wall-clock budget per evaluation, waiting for a pool worker included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most VM instructions per evaluation.
    pub max_instructions: usize,
    /// Most bytes an evaluation may allocate beyond its starting point.
    pub max_memory_bytes: u64,
    /// How long an evaluation may run on the request's own thread. Cheap decisions (tens of
    /// microseconds) finish within it and never change threads; one that does not is cut and
    /// run again on the evaluation pool, so it cannot hold the request threads. Zero sends
    /// every evaluation to the pool.
    #[serde(with = "humantime_serde")]
    pub inline_slice: Duration,
    /// Evaluation pool threads; 0 means one per core.
    pub workers: usize,
    /// Evaluations that may wait for a pool worker (admission). An expensive evaluation
    /// arriving when this many already wait is denied at once.
    pub queue: usize,
}

impl Default for EvalLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(100),
            max_instructions: 2_000_000,
            max_memory_bytes: 64 * 1024 * 1024,
            inline_slice: Duration::from_millis(2),
            workers: 0,
            queue: 64,
        }
    }
}

impl EvalLimits {
    /// The evaluation pool's size: `workers`, or one per core.
    pub fn pool_size(&self) -> usize {
        match self.workers {
            0 => num_cpus::get().max(1),
            n => n,
        }
    }

    /// The regorus budget for an evaluation allowed `time_limit`.
    pub(crate) fn budget(&self, time_limit: Duration) -> EvaluationBudget {
        EvaluationBudget {
            time_limit: Some(time_limit),
            memory_limit: NonZeroU64::new(self.max_memory_bytes),
        }
    }

    /// The VM's own timer (a backstop to the budget, which also covers builtins).
    pub(crate) fn vm_timer(&self) -> ExecutionTimerConfig {
        ExecutionTimerConfig {
            limit: self.timeout,
            check_interval: NonZeroU32::MIN.saturating_add(63),
        }
    }
}

/// Which bound an evaluation blew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The wall-clock budget.
    Time,
    /// The memory budget.
    Memory,
    /// The VM's instruction limit.
    Instructions,
    /// A regular expression too large to compile.
    RegexSize,
    /// Not admitted to a pool worker: the queue was full, or no worker was free before the
    /// time budget ran out.
    Admission,
}

impl Limit {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Time => "time",
            Limit::Memory => "memory",
            Limit::Instructions => "instructions",
            Limit::RegexSize => "regex_size",
            Limit::Admission => "admission",
        }
    }
}

/// A blown bound and the innermost rule being evaluated when it blew (a `data.` path; empty
/// when no rule was running, as for admission), for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlownBudget {
    /// Which bound.
    pub limit: Limit,
    /// The rule, such as `data.tollgate.deny`.
    pub rule: String,
}

/// One evaluation's answer and, when it was cut off, what cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The outcome, or why there is none (every failure denies).
    pub result: Result<PolicyOutcome, EvalFailure>,
    /// Set when a limit stopped the evaluation.
    pub blown: Option<BlownBudget>,
}

impl Evaluated {
    /// A finished evaluation (no limit involved).
    pub fn finished(result: Result<PolicyOutcome, EvalFailure>) -> Self {
        Self {
            result,
            blown: None,
        }
    }

    /// An evaluation stopped by `limit` while evaluating `rule`.
    pub fn blown(limit: Limit, rule: String, message: impl Into<String>) -> Self {
        Self {
            result: Err(EvalFailure::new(FailureKind::Limit, message)),
            blown: Some(BlownBudget { limit, rule }),
        }
    }

    /// Whether the time budget (or a slice of it) stopped it.
    pub fn out_of_time(&self) -> bool {
        matches!(&self.blown, Some(b) if b.limit == Limit::Time)
    }
}

/// Engine messages can be long and may quote input; the reason keeps the first part.
pub(crate) fn bounded(message: String) -> String {
    const MAX: usize = 300;
    if message.len() <= MAX {
        return message;
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// A VM failure; `rule` is the innermost rule on the VM's call stack when it failed.
pub(crate) fn vm_failure(e: &VmError, rule: impl FnOnce() -> String) -> Evaluated {
    let limit = match e {
        VmError::InstructionLimitExceeded { .. } => Limit::Instructions,
        VmError::TimeLimitExceeded { .. } => Limit::Time,
        VmError::MemoryLimitExceeded { .. } | VmError::MemoryBudgetExceeded { .. } => Limit::Memory,
        VmError::RegexSizeLimitExceeded { .. } => Limit::RegexSize,
        _ => match limit_in_text(&e.to_string()) {
            Some(limit) => limit,
            None => {
                let message = bounded(without_pc(&e.to_string()));
                let failure = EvalFailure::new(FailureKind::Evaluation, message);
                return Evaluated::finished(Err(failure));
            }
        },
    };
    Evaluated::blown(limit, rule(), bounded(e.to_string()))
}

/// `message` without the VM's ` (pc=N)` notes. A program counter means nothing to a caller,
/// and it differs between the full program and a rule-indexed one (`super::index`) for the
/// same error, so a reason that carried it would not replay identically.
fn without_pc(message: &str) -> String {
    const NOTE: &str = " (pc=";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(NOTE) {
        let after = &rest[at + NOTE.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            out.push_str(&rest[..at]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..at + NOTE.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A limit a builtin reported inside its own error (json.marshal, sprintf and friends wrap
/// the [`LimitError`] into their message, so its type is lost): the budget still blew, and it
/// is reported and counted as such. Both ways the evaluation denies.
fn limit_in_text(message: &str) -> Option<Limit> {
    if message.contains("execution exceeded time limit") {
        Some(Limit::Time)
    } else if message.contains("execution exceeded memory limit") {
        Some(Limit::Memory)
    } else if message.contains("compiled regex exceeded size limit") {
        Some(Limit::RegexSize)
    } else {
        None
    }
}

/// An interpreter failure; `rule` is the rule the vendored interpreter says a limit blew in.
pub(crate) fn engine_failure(e: &anyhow::Error, rule: impl FnOnce() -> String) -> Evaluated {
    let limit = match e.chain().find_map(|c| c.downcast_ref::<LimitError>()) {
        Some(LimitError::TimeLimitExceeded { .. }) => Limit::Time,
        Some(LimitError::MemoryLimitExceeded { .. }) => Limit::Memory,
        Some(LimitError::RegexSizeLimitExceeded { .. }) => Limit::RegexSize,
        None => match limit_in_text(&format!("{e:#}")) {
            Some(limit) => limit,
            None => {
                let failure = EvalFailure::new(FailureKind::Evaluation, bounded(format!("{e:#}")));
                return Evaluated::finished(Err(failure));
            }
        },
    };
    Evaluated::blown(limit, rule(), bounded(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_limit_wrapped_into_a_builtin_message_is_still_a_limit() {
        let e =
            anyhow::anyhow!("json.marshal: execution exceeded time limit (elapsed=1ns, limit=1ns)");
        let out = engine_failure(&e, || "data.tollgate.deny".into());
        assert_eq!(out.blown.map(|b| b.limit), Some(Limit::Time));
        let other = engine_failure(&anyhow::anyhow!("division by zero"), String::new);
        assert_eq!(other.blown, None);
        assert_eq!(other.result.unwrap_err().kind, FailureKind::Evaluation);
    }

    use super::*;

    #[test]
    fn program_counters_are_not_part_of_a_reason() {
        assert_eq!(
            without_pc("x: multiple outputs (pc=437)"),
            "x: multiple outputs"
        );
        assert_eq!(without_pc("a (pc=1) b (pc=22)"), "a b");
        assert_eq!(without_pc("a (pc=x) (pc=)"), "a (pc=x) (pc=)");
    }

    #[test]
    fn defaults_run_out_of_the_box() {
        let l = EvalLimits::default();
        assert!(l.pool_size() >= 1);
        assert!(l.inline_slice < l.timeout);
        let l = EvalLimits { workers: 3, ..l };
        assert_eq!(l.pool_size(), 3);
    }

    #[test]
    fn failures_say_which_limit_and_rule() {
        let e = VmError::TimeLimitExceeded {
            elapsed: Duration::from_millis(101),
            limit: Duration::from_millis(100),
            pc: 7,
        };
        let out = vm_failure(&e, || "data.tollgate.deny".into());
        assert!(out.out_of_time());
        assert_eq!(out.blown.unwrap().rule, "data.tollgate.deny");
        assert_eq!(out.result.unwrap_err().kind, FailureKind::Limit);

        let e = anyhow::Error::new(LimitError::MemoryLimitExceeded { usage: 2, limit: 1 });
        let out = engine_failure(&e, || "data.tollgate.allow".into());
        let blown = out.blown.unwrap();
        assert_eq!(
            (blown.limit, blown.rule.as_str()),
            (Limit::Memory, "data.tollgate.allow")
        );

        let out = engine_failure(&anyhow::anyhow!("divide by zero"), String::new);
        assert_eq!(out.blown, None);
        assert_eq!(out.result.unwrap_err().kind, FailureKind::Evaluation);
    }
}
