//! A bundle compiled for serving: regorus VM bytecode for the hot path, the prepared tree
//! interpreter as the reference, both under the same limits.
//!
//! The VM path compiles once per bundle revision and keeps one `RegoVM` per worker thread
//! (thread-local, rebuilt when the revision changes), so evaluation never takes a lock and
//! never shares a VM mutably. The VM runs with strict rule errors (tollgate's patch to the
//! vendored regorus, `vendor/PATCHES.md`): an error anywhere in any rule aborts the
//! evaluation, exactly as in the interpreter, so the VM's answer is served alone. The
//! interpreter path clones the prepared `Engine` per call; it is slower and exists to prove
//! the VM right (see the golden and differential tests), and it serves the bundles the VM
//! compiler refuses (see [`super::engine`]).

use std::{
    cell::RefCell,
    num::NonZeroU64,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime},
};

use regorus::{
    languages::rego::compiler::{Compiler, CompilerError},
    rvm::{
        program::Program,
        vm::{RegoVM, VmError},
    },
    with_evaluation_budget, Engine, MemoryBudgetConfig, Rc, Value,
};

pub use super::limits::EvalLimits;
use super::{
    bundle::{Bundle, Module},
    contract::{self, RequirementDefaults, ENTRY_MODULE, ENTRY_PACKAGE, ENTRY_RULE},
    engine::ServingEngine,
    limits::{bounded, engine_failure, vm_failure, Evaluated},
};
use crate::domain::{EvalFailure, FailureKind, PolicyOutcome};

/// Why a bundle could not be compiled. The last good bundle keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// A module does not parse.
    #[error("{path}: {message}")]
    Parse {
        /// The module's path in the bundle.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A module's package lies outside the manifest roots.
    #[error("{path}: package {package} is outside the bundle roots")]
    OutsideRoots {
        /// The module's path.
        path: String,
        /// Its package.
        package: String,
    },
    /// A module uses the package reserved for tollgate's entry rule.
    #[error("{0}: package {ENTRY_PACKAGE} is reserved")]
    ReservedPackage(String),
    /// No module defines package `tollgate`, so every decision would be default deny.
    #[error("no module defines package tollgate")]
    NoPolicyPackage,
    /// The data document is rejected by the engine.
    #[error("data: {0}")]
    Data(String),
    /// The interpreter's compilation failed (VM code generation failing is not an error: the
    /// interpreter serves such a bundle).
    #[error("compile: {0}")]
    Compile(String),
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// A bundle ready to evaluate. Immutable; swapped as a whole.
pub struct CompiledBundle {
    /// The bundle revision every decision reports.
    pub revision: Arc<str>,
    /// SHA-256 of the bundle content, hex.
    pub digest: String,
    /// Where it came from.
    pub source: PathBuf,
    /// The Rego sources (kept for the test runner and replay).
    pub modules: Vec<Module>,
    /// When it was compiled.
    pub compiled_at: SystemTime,
    generation: u64,
    /// The VM program, absent when the VM compiler refused the bundle.
    program: Option<Arc<Program>>,
    serving: ServingEngine,
    data: Value,
    engine: Mutex<Engine>,
    limits: EvalLimits,
    defaults: RequirementDefaults,
}

impl std::fmt::Debug for CompiledBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledBundle")
            .field("revision", &self.revision)
            .field("digest", &self.digest)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// This worker's VM and the generation of the bundle it was loaded with.
    static WORKER_VM: RefCell<Option<(u64, RegoVM)>> = const { RefCell::new(None) };
    /// This worker's prepared interpreter and its bundle generation.
    static WORKER_ENGINE: RefCell<Option<(u64, Engine)>> = const { RefCell::new(None) };
}

impl CompiledBundle {
    /// Parses, checks and compiles `bundle`; fails without side effects.
    pub fn compile(
        bundle: &Bundle,
        limits: EvalLimits,
        defaults: RequirementDefaults,
    ) -> Result<Self, CompileError> {
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(true);
        engine.set_execution_timer_config(limits.vm_timer());
        let mut has_policy_package = false;
        for m in &bundle.modules {
            let package = engine
                .add_policy(m.path.clone(), m.text.clone())
                .map_err(|e| CompileError::Parse {
                    path: m.path.clone(),
                    message: e.to_string(),
                })?;
            let package = package
                .strip_prefix("data.")
                .unwrap_or(&package)
                .to_string();
            if package == ENTRY_PACKAGE || package.starts_with(&format!("{ENTRY_PACKAGE}.")) {
                return Err(CompileError::ReservedPackage(m.path.clone()));
            }
            if !bundle.package_in_roots(&package) {
                return Err(CompileError::OutsideRoots {
                    path: m.path.clone(),
                    package,
                });
            }
            has_policy_package |= package == "tollgate";
        }
        if !has_policy_package {
            return Err(CompileError::NoPolicyPackage);
        }
        engine
            .add_policy("tollgate_entry.rego".into(), ENTRY_MODULE.into())
            .map_err(|e| CompileError::Compile(e.to_string()))?;
        let data = super::input::json(&bundle.data);
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
                    bundle.revision = %bundle.revision,
                    reason = %vm_refusal,
                    "the VM compiler refused this bundle; the interpreter will serve it"
                );
                (None, ServingEngine::Interpreter { vm_refusal })
            }
        };
        let compiled = Self {
            revision: Arc::from(bundle.revision.as_str()),
            digest: bundle.digest.clone(),
            source: bundle.source.clone(),
            modules: bundle.modules.clone(),
            compiled_at: SystemTime::now(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            program,
            serving,
            data,
            engine: Mutex::new(engine),
            limits,
            defaults,
        };
        // Loading the data into a VM catches rule/data conflicts now, not on the first request.
        if let Some(program) = &compiled.program {
            compiled
                .new_vm(program)
                .map_err(|e| CompileError::Data(e.to_string()))?;
        }
        Ok(compiled)
    }

    /// Which evaluator serves this bundle.
    pub fn serving_engine(&self) -> &ServingEngine {
        &self.serving
    }

    fn new_vm(&self, program: &Arc<Program>) -> Result<RegoVM, VmError> {
        let mut vm = RegoVM::new();
        vm.load_program(program.clone());
        vm.set_data(self.data.clone())?;
        vm.set_strict_builtin_errors(true);
        // Without this, regorus's VM drops errors raised in rule bodies (an erroring `deny`
        // body would read as "no reason to deny") and turns conflicting values into
        // undefined; with it, the VM fails exactly where the interpreter does.
        vm.set_strict_rule_errors(true);
        vm.set_max_instructions(self.limits.max_instructions);
        vm.set_execution_timer_config(Some(self.limits.vm_timer()));
        vm.set_memory_budget_config(
            NonZeroU64::new(self.limits.max_memory_bytes).map(|limit| MemoryBudgetConfig { limit }),
        );
        Ok(vm)
    }

    /// The serving path: the VM's answer alone, or the interpreter's for a bundle the VM
    /// compiler refused ([`Self::serving_engine`]), under the full budget on this thread.
    /// Any error (a runtime error in any rule, a conflict, a limit) is an `Err`, which the
    /// caller turns into DENY. The server goes through [`super::Evaluator`] instead, which
    /// also bounds how many expensive evaluations run at once.
    ///
    /// Serving the VM alone is safe only because it runs with strict rule errors (see
    /// `new_vm`'s use of `set_strict_rule_errors`): without that patch regorus 0.14's VM
    /// discards an error raised inside a `deny` or `approval` body and the decision silently
    /// allows. The golden and differential tests hold the VM to the interpreter, errors
    /// included.
    pub fn evaluate(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        self.evaluate_within(input, self.limits.timeout).result
    }

    /// The serving path with at most `time_limit` of wall-clock time (the memory budget and
    /// instruction limit unchanged), reporting which limit stopped it, if one did.
    pub fn evaluate_within(&self, input: Value, time_limit: Duration) -> Evaluated {
        match self.serving {
            ServingEngine::Vm => self.run_vm(input, time_limit),
            ServingEngine::Interpreter { .. } => self.run_interpreter(input, time_limit),
        }
    }

    /// The bundle's evaluation limits.
    pub fn limits(&self) -> &EvalLimits {
        &self.limits
    }

    /// Evaluates `input` on this worker's VM (loaded once per revision per thread). Fails
    /// for a bundle the VM compiler refused.
    pub fn evaluate_vm(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        self.run_vm(input, self.limits.timeout).result
    }

    fn run_vm(&self, input: Value, time_limit: Duration) -> Evaluated {
        let Some(program) = &self.program else {
            let failure = EvalFailure::new(
                FailureKind::Evaluation,
                "the VM compiler refused this bundle",
            );
            return Evaluated::finished(Err(failure));
        };
        WORKER_VM.with(|cell| {
            let mut slot = cell.borrow_mut();
            let vm = match slot.as_mut() {
                Some((generation, vm)) if *generation == self.generation => vm,
                _ => match self.new_vm(program) {
                    Ok(vm) => &mut slot.insert((self.generation, vm)).1,
                    Err(e) => return vm_failure(&e, String::new),
                },
            };
            vm.set_input(input);
            let budget = self.limits.budget(time_limit);
            match with_evaluation_budget(budget, || vm.execute_entry_point_by_index(0)) {
                Ok(value) => Evaluated::finished(contract::parse_outcome(&value, &self.defaults)),
                Err(e) => {
                    let failed = vm_failure(&e, || vm.failed_rule().unwrap_or_default().into());
                    // A VM that failed mid-run is not trusted for the next request.
                    *slot = None;
                    failed
                }
            }
        })
    }

    /// Evaluates `input` on this worker's prepared interpreter (cloned once per revision per
    /// thread, then reused: regorus resets evaluation state on every `eval_rule`).
    pub fn evaluate_interpreter_local(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        self.run_interpreter(input, self.limits.timeout).result
    }

    fn run_interpreter(&self, input: Value, time_limit: Duration) -> Evaluated {
        WORKER_ENGINE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let engine = match slot.as_mut() {
                Some((generation, engine)) if *generation == self.generation => engine,
                _ => &mut slot.insert((self.generation, self.engine())).1,
            };
            engine.set_input(input);
            let budget = self.limits.budget(time_limit);
            match with_evaluation_budget(budget, || engine.eval_rule(ENTRY_RULE.to_string())) {
                Ok(value) => Evaluated::finished(contract::parse_outcome(&value, &self.defaults)),
                Err(e) => {
                    let failed =
                        engine_failure(&e, || engine.limited_rule().unwrap_or_default().into());
                    *slot = None;
                    failed
                }
            }
        })
    }

    /// Evaluates `input` on a clone of the prepared tree interpreter: the reference path.
    pub fn evaluate_interpreted(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        let mut engine = self.engine();
        engine.set_input(input);
        let budget = self.limits.budget(self.limits.timeout);
        match with_evaluation_budget(budget, || engine.eval_rule(ENTRY_RULE.to_string())) {
            Ok(value) => contract::parse_outcome(&value, &self.defaults),
            Err(e) => {
                engine_failure(&e, || engine.limited_rule().unwrap_or_default().into()).result
            }
        }
    }

    /// A clone of the prepared interpreter, for tooling (tests, coverage).
    pub fn engine(&self) -> Engine {
        match self.engine.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Forgets this thread's cached VM and interpreter, after a panic left them in an unknown
/// state.
pub(crate) fn forget_thread_engines() {
    WORKER_VM.with(|cell| cell.replace(None));
    WORKER_ENGINE.with(|cell| cell.replace(None));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(rego: &str) -> Result<CompiledBundle, CompileError> {
        let files = vec![("policy.rego".to_string(), rego.as_bytes().to_vec())];
        let bundle = Bundle::from_files("test".into(), files).unwrap();
        CompiledBundle::compile(
            &bundle,
            EvalLimits::default(),
            RequirementDefaults::default(),
        )
    }

    #[test]
    fn the_vm_serves_what_it_compiles() {
        let b = compile("package tollgate\n\nallow if input.x == 1\n").unwrap();
        assert_eq!(b.serving_engine(), &ServingEngine::Vm);
    }

    #[test]
    fn the_interpreter_serves_what_the_vm_refuses() {
        let b =
            compile("package tollgate\n\nok if input.x == 1\n\nallow if ok with input.x as 1\n")
                .unwrap();
        let reason = b.serving_engine().vm_refusal().unwrap();
        assert!(reason.contains("with"), "{reason}");
        let out = b.evaluate(Value::from_json_str("{}").unwrap()).unwrap();
        assert!(out.allow);
        assert!(b.evaluate_vm(Value::new_object()).is_err());
    }

    #[test]
    fn a_call_to_an_unknown_function_is_still_rejected() {
        let err = compile("package tollgate\n\nallow if no_such_fn(1)\n").unwrap_err();
        assert!(matches!(err, CompileError::Compile(_)), "{err}");
    }
}
