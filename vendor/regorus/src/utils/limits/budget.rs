// Copyright (c) Microsoft Corporation.
// Licensed under the MIT License.

//! Per-thread evaluation budget (an opt-in embedder hook).
//!
//! The engines already check limits at their own pace: the VM between instructions, the
//! interpreter between expressions, and builtins call [`super::check_memory_limit_if_needed`]
//! inside their loops for the process-wide memory limit. A single builtin call
//! (`numbers.range(1, 100000000)`, `json.marshal` of a large value) can therefore run for
//! seconds and allocate gigabytes before either engine's own checks see it.
//!
//! An [`EvaluationBudget`] installed with [`with_evaluation_budget`] is checked at every one of
//! those points, by both engines and inside builtins: memory as the bytes this thread has
//! allocated and not freed since the budget started, time as wall-clock time since it started
//! (the clock is read every few checks). Large single allocations whose size a policy or its
//! input controls are checked before they are made ([`check_evaluation_allocation`]). Without
//! an installed budget nothing changes.

use core::cell::Cell;
use core::num::NonZeroU64;
use core::time::Duration;
use std::thread_local;

use super::time::monotonic_now;
use super::LimitError;

/// Time and memory allowed for the evaluations run inside [`with_evaluation_budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvaluationBudget {
    /// Wall-clock time allowed, from the moment the budget is installed.
    pub time_limit: Option<Duration>,
    /// Bytes this thread may allocate (net of frees) beyond what it held when the budget was
    /// installed. Enforced only with the `allocator-memory-limits` feature.
    pub memory_limit: Option<NonZeroU64>,
}

#[derive(Clone, Copy)]
struct ActiveBudget {
    budget: EvaluationBudget,
    started: Duration,
    baseline: i64,
    checks: u32,
}

thread_local! {
    static ACTIVE: Cell<Option<ActiveBudget>> = const { Cell::new(None) };
}

/// Read the clock on every this many checks (the checks themselves run per VM instruction,
/// per interpreter step and per element inside builtin loops).
const TIME_CHECK_STRIDE: u32 = 32;

/// Runs `operation` with `budget` installed on this thread; the previous budget (if any) is
/// restored afterwards, also on unwind.
pub fn with_evaluation_budget<R>(budget: EvaluationBudget, operation: impl FnOnce() -> R) -> R {
    let active = ActiveBudget {
        budget,
        started: monotonic_now().unwrap_or_default(),
        baseline: live_bytes(),
        checks: 0,
    };
    let previous = ACTIVE.with(|cell| cell.replace(Some(active)));
    let _restore = Restore(previous);
    operation()
}

struct Restore(Option<ActiveBudget>);

impl Drop for Restore {
    fn drop(&mut self) {
        ACTIVE.with(|cell| cell.set(self.0));
    }
}

/// Checks the installed budget (if any).
pub fn check_evaluation_budget() -> Result<(), LimitError> {
    check(0, false)
}

/// Checks that `bytes` more can be allocated within the installed budget (if any), and the
/// time budget; call before one allocation whose size a policy or its input chooses.
pub fn check_evaluation_allocation(bytes: u64) -> Result<(), LimitError> {
    check(bytes, true)
}

fn check(additional: u64, force_clock: bool) -> Result<(), LimitError> {
    ACTIVE.with(|cell| {
        let Some(mut active) = cell.get() else {
            return Ok(());
        };
        if let Some(limit) = active.budget.memory_limit {
            let live = live_bytes();
            // Frees of memory held before the budget started would otherwise hide new
            // allocations: count from the lowest point seen.
            active.baseline = active.baseline.min(live);
            let usage = live
                .saturating_sub(active.baseline)
                .unsigned_abs()
                .saturating_add(additional);
            if usage > limit.get() {
                cell.set(Some(active));
                return Err(LimitError::MemoryLimitExceeded {
                    usage,
                    limit: limit.get(),
                });
            }
        }
        active.checks = active.checks.wrapping_add(1);
        cell.set(Some(active));
        let Some(limit) = active.budget.time_limit else {
            return Ok(());
        };
        if !force_clock && active.checks % TIME_CHECK_STRIDE != 0 {
            return Ok(());
        }
        let Some(now) = monotonic_now() else {
            return Ok(());
        };
        let elapsed = now.saturating_sub(active.started);
        if elapsed > limit {
            return Err(LimitError::TimeLimitExceeded { elapsed, limit });
        }
        Ok(())
    })
}

#[cfg(all(feature = "allocator-memory-limits", not(miri)))]
fn live_bytes() -> i64 {
    mimalloc::limits::current_thread_live_bytes()
}

#[cfg(any(miri, not(feature = "allocator-memory-limits")))]
const fn live_bytes() -> i64 {
    0
}

#[cfg(all(test, feature = "allocator-memory-limits", not(miri)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const MIB: u64 = 1024 * 1024;

    fn budget(time_limit: Option<Duration>, memory: u64) -> EvaluationBudget {
        EvaluationBudget {
            time_limit,
            memory_limit: NonZeroU64::new(memory),
        }
    }

    #[test]
    fn no_budget_checks_nothing() {
        assert!(check_evaluation_budget().is_ok());
        assert!(check_evaluation_allocation(u64::MAX).is_ok());
    }

    #[test]
    fn memory_held_beyond_the_budget_is_an_error() {
        with_evaluation_budget(budget(None, MIB), || {
            assert!(check_evaluation_budget().is_ok());
            let held: Vec<u8> = alloc::vec![1; 2 * MIB as usize];
            let err = check_evaluation_budget().unwrap_err();
            assert!(matches!(err, LimitError::MemoryLimitExceeded { .. }), "{err}");
            drop(held);
            assert!(check_evaluation_budget().is_ok());
        });
    }

    #[test]
    fn an_allocation_is_checked_before_it_is_made() {
        with_evaluation_budget(budget(None, MIB), || {
            assert!(check_evaluation_allocation(MIB / 2).is_ok());
            assert!(check_evaluation_allocation(2 * MIB).is_err());
        });
    }

    #[test]
    fn time_past_the_budget_is_an_error_and_budgets_nest() {
        with_evaluation_budget(budget(Some(Duration::from_secs(3600)), 0), || {
            with_evaluation_budget(budget(Some(Duration::ZERO), 0), || {
                let installed = monotonic_now();
                while monotonic_now() == installed {}
                let err = check_evaluation_allocation(0).unwrap_err();
                assert!(matches!(err, LimitError::TimeLimitExceeded { .. }), "{err}");
            });
            assert!(check_evaluation_allocation(0).is_ok());
        });
        assert!(check_evaluation_allocation(0).is_ok());
    }
}
