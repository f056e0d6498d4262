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

use std::{path::PathBuf, sync::Arc, time::Duration, time::SystemTime};

use moka::sync::Cache;
use regorus::{unstable::Module as Ast, unstable::Ref, with_evaluation_budget, Engine, Value};

pub use super::limits::EvalLimits;
use super::{
    bundle::{Bundle, Module},
    contract::{self, RequirementDefaults, ENTRY_PACKAGE, ENTRY_RULE},
    engine::ServingEngine,
    index::{self, RuleIndex, Selection},
    limits::{engine_failure, Evaluated},
    program::{self, Prepared, RunContext},
};
use crate::domain::{EvalFailure, PolicyOutcome};

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

/// Most filtered programs a bundle keeps compiled at once (one per selection of index
/// values seen). A bundle with more keys than this recompiles the least used on demand.
const INDEXED_PROGRAMS: u64 = 256;

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
    id: u64,
    /// Every rule of the bundle: the reference, and what serves inputs the index cannot
    /// classify.
    full: Arc<Prepared>,
    index: Option<Indexed>,
    data: Value,
    limits: EvalLimits,
    defaults: RequirementDefaults,
}

/// The rule index and the filtered programs it selects.
struct Indexed {
    rules: RuleIndex,
    /// The program for inputs that hold no indexed value (compiled at load: most decisions
    /// use it).
    other: Arc<Prepared>,
    /// Programs for selections that hold indexed values, compiled on first use.
    selected: Cache<Selection, Arc<Prepared>>,
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

impl CompiledBundle {
    /// Parses, checks and compiles `bundle`, and indexes its rules; fails without side
    /// effects.
    pub fn compile(
        bundle: &Bundle,
        limits: EvalLimits,
        defaults: RequirementDefaults,
    ) -> Result<Self, CompileError> {
        let mut engine = program::new_engine(&limits);
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
        let parsed = engine.get_modules().clone();
        let data = super::input::json(&bundle.data);
        let full = Prepared::compile(engine, &data, &bundle.revision)?;
        // Loading the data into a VM catches rule/data conflicts now, not on the first request.
        full.check_data(&data, &limits)
            .map_err(|e| CompileError::Data(e.to_string()))?;
        let index = build_index(bundle, &parsed, &full, &data, &limits);
        Ok(Self {
            revision: Arc::from(bundle.revision.as_str()),
            digest: bundle.digest.clone(),
            source: bundle.source.clone(),
            modules: bundle.modules.clone(),
            compiled_at: SystemTime::now(),
            id: program::next_id(),
            full: Arc::new(full),
            index,
            data,
            limits,
            defaults,
        })
    }

    /// Which evaluator serves this bundle (its full program; a filtered program the VM
    /// compiler refused would fall back to the interpreter the same way).
    pub fn serving_engine(&self) -> &ServingEngine {
        self.full.serving()
    }

    /// How many rules the index can leave out and how many distinct input values it keys
    /// them on; `None` when the bundle has no indexable rule (every decision evaluates
    /// every rule, as it must).
    pub fn index_size(&self) -> Option<(usize, usize)> {
        self.index
            .as_ref()
            .map(|ix| (ix.rules.indexed_rules(), ix.rules.values()))
    }

    fn context(&self) -> RunContext<'_> {
        RunContext {
            revision_id: self.id,
            data: &self.data,
            limits: &self.limits,
            defaults: &self.defaults,
        }
    }

    /// The program that evaluates `input`: the filtered one its selection of index values
    /// names, or the full one for what the index cannot classify.
    fn program_for(&self, input: &Value) -> Arc<Prepared> {
        let Some(ix) = &self.index else {
            return self.full.clone();
        };
        match ix.rules.select(input) {
            None => self.full.clone(),
            Some(selection) if selection.is_other() => ix.other.clone(),
            Some(selection) => ix.selected.get_with_by_ref(&selection, || {
                filtered_program(&ix.rules, &selection, self, &self.full)
            }),
        }
    }

    /// The serving path: the VM's answer alone, or the interpreter's for a bundle the VM
    /// compiler refused ([`Self::serving_engine`]), under the full budget on this thread,
    /// over the rules the index selects for `input`. Any error (a runtime error in any
    /// rule, a conflict, a limit) is an `Err`, which the caller turns into DENY. The server
    /// goes through [`super::Evaluator`] instead, which also bounds how many expensive
    /// evaluations run at once.
    ///
    /// Serving the VM alone is safe only because it runs with strict rule errors (see
    /// `program::load_vm`'s use of `set_strict_rule_errors`): without that patch regorus
    /// 0.14's VM discards an error raised inside a `deny` or `approval` body and the
    /// decision silently allows. The golden and differential tests hold the VM to the
    /// interpreter, errors included, and the indexed path to the full one.
    pub fn evaluate(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        self.evaluate_within(input, self.limits.timeout).result
    }

    /// The serving path with at most `time_limit` of wall-clock time (the memory budget and
    /// instruction limit unchanged), reporting which limit stopped it, if one did.
    pub fn evaluate_within(&self, input: Value, time_limit: Duration) -> Evaluated {
        let prepared = self.program_for(&input);
        program::run(&prepared, &self.context(), input, time_limit)
    }

    /// The serving path without the rule index: every rule evaluated. For the differential
    /// tests and the benchmarks, which hold the indexed path to it.
    pub fn evaluate_unindexed(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        let limit = self.limits.timeout;
        program::run(&self.full, &self.context(), input, limit).result
    }

    /// The bundle's evaluation limits.
    pub fn limits(&self) -> &EvalLimits {
        &self.limits
    }

    /// Evaluates `input` with every rule on this worker's VM (loaded once per revision per
    /// thread). Fails for a bundle the VM compiler refused.
    pub fn evaluate_vm(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        program::run_vm(&self.full, &self.context(), input, self.limits.timeout).result
    }

    /// Evaluates `input` with every rule on this worker's prepared interpreter (cloned once
    /// per revision per thread, then reused: regorus resets evaluation state on every
    /// `eval_rule`).
    pub fn evaluate_interpreter_local(&self, input: Value) -> Result<PolicyOutcome, EvalFailure> {
        program::run_interpreter(&self.full, &self.context(), input, self.limits.timeout).result
    }

    /// Evaluates `input` on a clone of the prepared tree interpreter with every rule: the
    /// reference path.
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

    /// A clone of the prepared interpreter with every rule, for tooling (tests, coverage).
    pub fn engine(&self) -> Engine {
        self.full.engine()
    }
}

/// Indexes `bundle`'s rules and compiles the program for inputs that hold no indexed value.
/// `None` (every decision evaluates every rule) when nothing can be left out, when a `with`
/// could evaluate a rule under another input than the decision's (possible only where the
/// interpreter serves: the VM compiler refuses `with`), or when the filtered program does
/// not compile (which would be a bug in the indexer, logged).
fn build_index(
    bundle: &Bundle,
    parsed: &[Ref<Ast>],
    full: &Prepared,
    data: &Value,
    limits: &EvalLimits,
) -> Option<Indexed> {
    let rules = RuleIndex::build(&bundle.modules, parsed)?;
    if !full.has_vm() && index::with_on_input(parsed) {
        tracing::info!(
            bundle.revision = %bundle.revision,
            "a `with` modifier replaces the input somewhere in this bundle; rules are not indexed"
        );
        return None;
    }
    let other = rules.filtered(&rules.other());
    let other = match compile_modules(&other, data, limits, &bundle.revision) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(
                bundle.revision = %bundle.revision,
                error = %e,
                "the rule index's program does not compile; every rule will be evaluated"
            );
            return None;
        }
    };
    tracing::info!(
        bundle.revision = %bundle.revision,
        indexed_rules = rules.indexed_rules(),
        index_values = rules.values(),
        "rule index built"
    );
    Some(Indexed {
        rules,
        other: Arc::new(other),
        selected: Cache::new(INDEXED_PROGRAMS),
    })
}

fn compile_modules(
    modules: &[Module],
    data: &Value,
    limits: &EvalLimits,
    revision: &str,
) -> Result<Prepared, CompileError> {
    let engine = program::engine_with(modules, limits)?;
    let prepared = Prepared::compile(engine, data, revision)?;
    prepared
        .check_data(data, limits)
        .map_err(|e| CompileError::Data(e.to_string()))?;
    Ok(prepared)
}

/// The program for `selection`, or the full one (always right, only slower) if it does not
/// compile.
fn filtered_program(
    rules: &RuleIndex,
    selection: &Selection,
    bundle: &CompiledBundle,
    full: &Arc<Prepared>,
) -> Arc<Prepared> {
    let modules = rules.filtered(selection);
    match compile_modules(&modules, &bundle.data, &bundle.limits, &bundle.revision) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::warn!(
                bundle.revision = %bundle.revision,
                error = %e,
                "a rule index program does not compile; evaluating every rule for it"
            );
            full.clone()
        }
    }
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
