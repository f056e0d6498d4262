//! Golden decisions: every `tests/golden/*.yaml` file names a bundle, optionally the engine
//! that must serve it, and cases (input -> expected effect, reasons, requirements...). Each
//! case runs through validation, the serving path (rule-indexed), every rule without the
//! index, and the tree interpreter (the reference).
//! Where the VM serves, it must give the interpreter's answer, errors included; the one
//! tolerated difference is the VM failing where the interpreter does not (that denies, so it
//! is safe, and it is reported). Where the VM compiler refused the bundle, the interpreter
//! serves. The served result must match the expectation.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_json::Value as Json;
use tollgate::{
    domain::{decide, AuthzRequest, Effect, FailureKind, InputLimits},
    policy::{
        agreement, input::to_input, Agreement, Bundle, CompiledBundle, EvalLimits,
        RequirementDefaults, ServingEngine,
    },
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoldenFile {
    bundle: PathBuf,
    /// `vm` or `interpreter`: which engine must serve the bundle.
    engine: Option<String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    input: Json,
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    effect: Option<Effect>,
    reasons: Option<Vec<String>>,
    reasons_contain: Option<Vec<String>>,
    risk: Option<String>,
    requirements: Option<Vec<ExpectedRequirement>>,
    obligations: Option<Vec<Json>>,
    mask: Option<Vec<String>>,
    error_field: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct ExpectedRequirement {
    groups: Vec<String>,
    quorum: u32,
}

/// Cases where the VM failed (so the answer is DENY) and the interpreter did not: the one
/// tolerated difference, reported by the runner.
static VM_ONLY_FAILURES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs one case; returns a description of every mismatch.
fn run_case(bundle: &CompiledBundle, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let req: AuthzRequest = match serde_json::from_value(case.input.clone()) {
        Ok(r) => r,
        Err(e) => return vec![format!("input does not parse: {e}")],
    };
    let validated = req.validate(&InputLimits::default());
    if let Some(field) = &case.expect.error_field {
        match validated {
            Err(f) if &f.field == field => {}
            Err(f) => problems.push(format!("expected invalid {field}, got invalid {}", f.field)),
            Ok(()) => problems.push(format!("expected invalid {field}, request was valid")),
        }
        return problems;
    }
    if let Err(f) = validated {
        return vec![format!("request unexpectedly invalid: {f}")];
    }
    let input = to_input(&req);
    let served = bundle.evaluate(input.clone());
    let reference = bundle.evaluate_interpreted(input.clone());
    let vm = match bundle.serving_engine() {
        ServingEngine::Vm => bundle.evaluate_vm(input.clone()),
        // The interpreter serves: the served answer is what must match the reference.
        ServingEngine::Interpreter { .. } => served.clone(),
    };
    // The rule index is an evaluation detail: evaluating every rule answers the same, word
    // for word (a blown limit says how far it got, which varies from run to run).
    let unindexed = bundle.evaluate_unindexed(input.clone());
    let same = match (&served, &unindexed) {
        (Err(a), Err(b)) if a.kind == FailureKind::Limit => b.kind == FailureKind::Limit,
        _ => served == unindexed,
    };
    if !same {
        problems.push(format!(
            "the rule index changed the answer:\n  served:    {served:?}\n  unindexed: {unindexed:?}"
        ));
    }
    if agreement(&served, &vm) != Agreement::Same {
        problems.push(format!(
            "the serving path is not the serving engine's answer:\n  served: {served:?}\n  vm:     {vm:?}"
        ));
    }
    match agreement(&vm, &reference) {
        Agreement::Same => {}
        Agreement::VmOnlyFailure => {
            VM_ONLY_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            println!("tolerated: {} :: the VM failed alone: {vm:?}", case.name);
        }
        Agreement::Different => problems.push(format!(
            "VM and interpreter disagree:\n  vm:          {vm:?}\n  interpreter: {reference:?}"
        )),
    }
    let v = decide(served);
    let e = &case.expect;
    if let Some(effect) = e.effect {
        if v.effect != effect {
            problems.push(format!(
                "effect {:?}, expected {effect:?} (reasons {:?})",
                v.effect, v.reasons
            ));
        }
    }
    if let Some(reasons) = &e.reasons {
        let mut want = reasons.clone();
        want.sort();
        if v.reasons != want {
            problems.push(format!("reasons {:?}, expected {want:?}", v.reasons));
        }
    }
    for needle in e.reasons_contain.iter().flatten() {
        if !v.reasons.iter().any(|r| r.contains(needle.as_str())) {
            problems.push(format!("no reason contains {needle:?}: {:?}", v.reasons));
        }
    }
    if let Some(risk) = &e.risk {
        if &v.risk != risk {
            problems.push(format!("risk {:?}, expected {risk:?}", v.risk));
        }
    }
    if let Some(reqs) = &e.requirements {
        let normalize = |groups: &[String], quorum: u32| {
            let mut groups = groups.to_vec();
            groups.sort();
            ExpectedRequirement { groups, quorum }
        };
        let mut got: Vec<ExpectedRequirement> = v
            .requirements
            .iter()
            .map(|r| normalize(&r.groups, r.quorum))
            .collect();
        let mut want: Vec<ExpectedRequirement> = reqs
            .iter()
            .map(|r| normalize(&r.groups, r.quorum))
            .collect();
        got.sort();
        want.sort();
        if got != want {
            problems.push(format!("requirements {got:?}, expected {want:?}"));
        }
    }
    if let Some(obligations) = &e.obligations {
        let canon = |list: Vec<Json>| {
            let mut s: Vec<String> = list.iter().map(Json::to_string).collect();
            s.sort();
            s
        };
        let got = canon(v.obligations.iter().cloned().map(Json::Object).collect());
        if got != canon(obligations.clone()) {
            problems.push(format!("obligations {got:?}, expected {obligations:?}"));
        }
    }
    if let Some(mask) = &e.mask {
        let mut want = mask.clone();
        want.sort();
        let mut got = v.mask.clone();
        got.sort();
        if got != want {
            problems.push(format!("mask {got:?}, expected {want:?}"));
        }
    }
    problems
}

fn compile(path: &Path) -> CompiledBundle {
    let bundle = Bundle::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn golden_cases() {
    let mut failures = BTreeMap::new();
    let mut total = 0;
    let mut by_effect: BTreeMap<String, usize> = BTreeMap::new();
    for file in golden_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let golden: GoldenFile =
            yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let bundle = compile(&root().join(&golden.bundle));
        assert!(!golden.cases.is_empty(), "{} has no cases", file.display());
        if let Some(engine) = &golden.engine {
            let serving = bundle.serving_engine();
            assert_eq!(
                serving.as_str(),
                engine,
                "{}: served by {serving:?}",
                file.display()
            );
        }
        for case in &golden.cases {
            total += 1;
            let key = case
                .expect
                .effect
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| "INVALID".into());
            *by_effect.entry(key).or_default() += 1;
            let problems = run_case(&bundle, case);
            if !problems.is_empty() {
                let name = format!(
                    "{} :: {}",
                    file.file_name().unwrap().to_string_lossy(),
                    case.name
                );
                failures.insert(name, problems);
            }
        }
    }
    println!("{total} golden cases by expected effect: {by_effect:?}");
    println!(
        "{} cases where the VM failed and the interpreter did not (DENY; tolerated)",
        VM_ONLY_FAILURES.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(total > 0, "no golden cases found");
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .map(|(name, p)| format!("{name}\n    {}", p.join("\n    ")))
            .collect();
        panic!(
            "{} of {total} golden cases failed:\n{}",
            failures.len(),
            report.join("\n")
        );
    }
}

/// The runner itself must be able to fail: a wrong expectation is reported.
#[test]
fn a_wrong_expectation_fails() {
    let bundle = compile(&root().join("policies"));
    let case = Case {
        name: "wrong".into(),
        input: serde_json::json!({
            "subject": {"id": "agent:x", "kind": "agent"},
            "action": {"name": "no.such.action"},
            "resource": {"type": "thing"}
        }),
        expect: Expect {
            effect: Some(Effect::Allow),
            ..Expect::default()
        },
    };
    assert!(!run_case(&bundle, &case).is_empty());
}
