//! One evaluable program: a set of Rego modules compiled to VM bytecode (when the VM
//! compiler accepts them) and prepared for the tree interpreter, and how it runs on a
//! worker thread.
//!
//! A bundle has one for all its rules and, with rule indexing ([`super::index`]), one per
//! selection of rules. Each worker thread keeps its own VM (and interpreter) per program,
//! built on first use and dropped when the thread moves to another bundle revision, so
//! evaluation never takes a lock and never shares a VM mutably.

use std::{
    cell::RefCell,
    num::NonZeroU64,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use regorus::{
    languages::rego::compiler::{Compiler, CompilerError},
    rvm::{
        program::Program,
        vm::{RegoVM, VmError},
    },
    with_evaluation_budget, Engine, MemoryBudgetConfig, Rc, Value,
};

use super::{
    bundle::Module,
    compiled::CompileError,
    contract::{self, RequirementDefaults, ENTRY_MODULE, ENTRY_RULE},
    engine::ServingEngine,
    limits::{bounded, engine_failure, vm_failure, EvalLimits, Evaluated},
};
use crate::domain::{EvalFailure, FailureKind};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a bundle revision or a program, never reused in this process.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Most programs a worker thread keeps a VM (or interpreter) for: a bundle with many index
/// keys does not keep a VM per key per thread forever.
const WORKER_SLOTS: usize = 32;

thread_local! {
    /// This worker's VMs: (bundle revision id, program id, VM).
    static WORKER_VMS: RefCell<Vec<(u64, u64, RegoVM)>> = const { RefCell::new(Vec::new()) };
    /// This worker's prepared interpreters, the same way.
    static WORKER_ENGINES: RefCell<Vec<(u64, u64, Engine)>> = const { RefCell::new(Vec::new()) };
}

/// Forgets this thread's cached VMs and interpreters, after a panic left them in an unknown
/// state.
pub(crate) fn forget_thread_engines() {
    WORKER_VMS.with(|cell| cell.replace(Vec::new()));
    WORKER_ENGINES.with(|cell| cell.replace(Vec::new()));
}

/// A compiled program. Immutable once built.
pub(crate) struct Prepared {
    id: u64,
    /// The VM program, absent when the VM compiler refused these modules.
    program: Option<Arc<Program>>,
    serving: ServingEngine,
    engine: Mutex<Engine>,
}

/// An interpreter with tollgate's settings and no modules yet.
pub(crate) fn new_engine(limits: &EvalLimits) -> Engine {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.set_execution_timer_config(limits.vm_timer());
    engine
}

/// Adds `modules` to a fresh engine, without the checks [`super::CompiledBundle::compile`]
/// makes on the bundle's own modules (a filtered copy of them passed those already).
pub(crate) fn engine_with(modules: &[Module], limits: &EvalLimits) -> Result<Engine, CompileError> {
    let mut engine = new_engine(limits);
    for m in modules {
        engine
            .add_policy(m.path.clone(), m.text.clone())
            .map_err(|e| CompileError::Parse {
                path: m.path.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(engine)
}

impl Prepared {
    /// Adds the entry module and `data` to `engine` (which holds the policy modules) and
    /// compiles it: VM bytecode where the VM compiler accepts it, else the interpreter
    /// serves. `revision` is for the log.
    pub(crate) fn compile(
        mut engine: Engine,
        data: &Value,
        revision: &str,
    ) -> Result<Self, CompileError> {
        engine
            .add_policy("tollgate_entry.rego".into(), ENTRY_MODULE.into())
            .map_err(|e| CompileError::Compile(e.to_string()))?;
        engine
            .add_data(data.clone())
            .map_err(|e| CompileError::Data(e.to_string()))?;
        let compiled = engine
            .compile_with_entrypoint(&Rc::from(ENTRY_RULE))
            .map_err(|e| CompileError::Compile(e.to_string()))?;
        let (program, serving) = match Compiler::compile_from_policy(&compiled, &[ENTRY_RULE]) {
            Ok(program) => (Some(program), ServingEngine::Vm),
            Err(e) if policy_is_wrong(&e.error) => {
                return Err(CompileError::Compile(bounded(e.to_string())))
            }
            Err(e) => {
                let vm_refusal = bounded(e.to_string());
                tracing::warn!(
                    bundle.revision = %revision,
                    reason = %vm_refusal,
                    "the VM compiler refused this bundle; the interpreter will serve it"
                );
                (None, ServingEngine::Interpreter { vm_refusal })
            }
        };
        Ok(Self {
            id: next_id(),
            program,
            serving,
            engine: Mutex::new(engine),
        })
    }

    /// Which evaluator serves this program.
    pub(crate) fn serving(&self) -> &ServingEngine {
        &self.serving
    }

    /// Whether the VM compiler accepted this program.
    pub(crate) fn has_vm(&self) -> bool {
        self.program.is_some()
    }

    /// A clone of the prepared interpreter.
    pub(crate) fn engine(&self) -> Engine {
        match self.engine.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads `data` into a VM for this program now, so a rule/data conflict fails the load
    /// instead of the first request. Nothing to check where the interpreter serves.
    pub(crate) fn check_data(&self, data: &Value, limits: &EvalLimits) -> Result<(), VmError> {
        match &self.program {
            Some(program) => load_vm(program, data, limits).map(drop),
            None => Ok(()),
        }
    }
}

/// A VM loaded with `program` and `data`, under `limits`.
fn load_vm(program: &Arc<Program>, data: &Value, limits: &EvalLimits) -> Result<RegoVM, VmError> {
    let mut vm = RegoVM::new();
    vm.load_program(program.clone());
    vm.set_data(data.clone())?;
    vm.set_strict_builtin_errors(true);
    // Without this, regorus's VM drops errors raised in rule bodies (an erroring `deny`
    // body would read as "no reason to deny") and turns conflicting values into
    // undefined; with it, the VM fails exactly where the interpreter does.
    vm.set_strict_rule_errors(true);
    vm.set_max_instructions(limits.max_instructions);
    vm.set_execution_timer_config(Some(limits.vm_timer()));
    vm.set_memory_budget_config(
        NonZeroU64::new(limits.max_memory_bytes).map(|limit| MemoryBudgetConfig { limit }),
    );
    Ok(vm)
}

/// What a program runs with: the bundle's data, limits and contract defaults, and the
/// bundle revision's id (worker threads drop their VMs of other revisions).
pub(crate) struct RunContext<'a> {
    pub(crate) revision_id: u64,
    pub(crate) data: &'a Value,
    pub(crate) limits: &'a EvalLimits,
    pub(crate) defaults: &'a RequirementDefaults,
}

/// Takes this thread's slot for `key` out of `slots`, or makes room for a new one (dropping
/// other revisions' slots, then the oldest).
fn take_slot<T>(slots: &mut Vec<(u64, u64, T)>, revision: u64, program: u64) -> Option<T> {
    if let Some(i) = slots
        .iter()
        .position(|(r, p, _)| *r == revision && *p == program)
    {
        return Some(slots.swap_remove(i).2);
    }
    slots.retain(|(r, _, _)| *r == revision);
    if slots.len() >= WORKER_SLOTS {
        slots.remove(0);
    }
    None
}

/// Runs `prepared` on this worker's VM for it (loaded once per program per thread).
pub(crate) fn run_vm(
    prepared: &Prepared,
    cx: &RunContext<'_>,
    input: Value,
    time_limit: Duration,
) -> Evaluated {
    let Some(program) = &prepared.program else {
        let failure = EvalFailure::new(
            FailureKind::Evaluation,
            "the VM compiler refused this bundle",
        );
        return Evaluated::finished(Err(failure));
    };
    WORKER_VMS.with(|cell| {
        let taken = take_slot(&mut cell.borrow_mut(), cx.revision_id, prepared.id);
        let mut vm = match taken {
            Some(vm) => vm,
            None => match load_vm(program, cx.data, cx.limits) {
                Ok(vm) => vm,
                Err(e) => return vm_failure(&e, String::new),
            },
        };
        vm.set_input(input);
        let budget = cx.limits.budget(time_limit);
        match with_evaluation_budget(budget, || vm.execute_entry_point_by_index(0)) {
            Ok(value) => {
                let parsed = contract::parse_outcome(&value, cx.defaults);
                cell.borrow_mut().push((cx.revision_id, prepared.id, vm));
                Evaluated::finished(parsed)
            }
            // A VM that failed mid-run is not trusted for the next request: not put back.
            Err(e) => vm_failure(&e, || vm.failed_rule().unwrap_or_default().into()),
        }
    })
}

/// Runs `prepared` on this worker's interpreter for it (cloned once per program per thread,
/// then reused: regorus resets evaluation state on every `eval_rule`).
pub(crate) fn run_interpreter(
    prepared: &Prepared,
    cx: &RunContext<'_>,
    input: Value,
    time_limit: Duration,
) -> Evaluated {
    WORKER_ENGINES.with(|cell| {
        let taken = take_slot(&mut cell.borrow_mut(), cx.revision_id, prepared.id);
        let mut engine = taken.unwrap_or_else(|| prepared.engine());
        engine.set_input(input);
        let budget = cx.limits.budget(time_limit);
        match with_evaluation_budget(budget, || engine.eval_rule(ENTRY_RULE.to_string())) {
            Ok(value) => {
                let parsed = contract::parse_outcome(&value, cx.defaults);
                cell.borrow_mut()
                    .push((cx.revision_id, prepared.id, engine));
                Evaluated::finished(parsed)
            }
            Err(e) => engine_failure(&e, || engine.limited_rule().unwrap_or_default().into()),
        }
    })
}

/// Runs `prepared` with the evaluator that serves it.
pub(crate) fn run(
    prepared: &Prepared,
    cx: &RunContext<'_>,
    input: Value,
    time_limit: Duration,
) -> Evaluated {
    match prepared.serving {
        ServingEngine::Vm => run_vm(prepared, cx, input, time_limit),
        ServingEngine::Interpreter { .. } => run_interpreter(prepared, cx, input, time_limit),
    }
}

/// VM compiler errors that mean the policy itself is wrong, not that the VM lacks a feature:
/// the interpreter would fail every evaluation that reaches the call. Such a bundle is
/// rejected like one that does not parse, so it never replaces the last good one; every
/// other refusal (`with`, constant-key partial objects...) falls back to the interpreter.
fn policy_is_wrong(e: &CompilerError) -> bool {
    matches!(
        e,
        CompilerError::UnknownFunction { .. }
            | CompilerError::UnknownBuiltinFunction { .. }
            | CompilerError::NotBuiltinFunction { .. }
    )
}
