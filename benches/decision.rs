//! Decision-path benchmarks, every variant side by side in one run so ratios are meaningful.
//!
//! - `vm_thread_local`: the regorus register VM, one per worker, loaded once per revision.
//! - `serving_path`: what `Authorize` runs after decoding: validate, build input, evaluate
//!   (the VM alone, with strict rule errors), decide.
//! - `serving_path_interpreter_confirmed`: the serving path before the VM patch, for the
//!   ratio: the VM, then the interpreter for every answer that did not deny through `deny`.
//! - `evaluator_inline`: `serving_path`'s evaluation through `policy::Evaluator` (what the
//!   server runs: inline under the slice budget, pool only for expensive ones), so the cost of
//!   the admission machinery on a cheap decision shows against `serving_path`.
//! - `interpreter_clone_per_call`: clone the prepared `Engine` for every call.
//! - `interpreter_reused`: one prepared `Engine` reused across calls.
//! - `compiled_policy`: regorus `CompiledPolicy::eval_with_input`.
//! - `rules_<n>/<case>/{indexed,unindexed}`: the serving path over the shipped bundle plus
//!   `n` generated `deny` rules that never fire for the case (each tests its own action
//!   name first), with the rule index (what serves) and with every rule evaluated; and
//!   `rules_<n>/compile`, the bundle load (compile, index, the program for unindexed
//!   actions).
//!
//! Run: `cargo bench --bench decision` (`-- rules_` for the rule-count groups only).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{hint::black_box, path::Path, sync::Arc};

use criterion::{criterion_group, criterion_main, Criterion};
use regorus::{Engine, Rc, Value};
use tollgate::{
    domain::{decide, AuthzRequest, InputLimits},
    policy::{
        contract::{ENTRY_MODULE, ENTRY_RULE},
        input::to_input,
        Bundle, CompiledBundle, EvalLimits, Evaluator, RequirementDefaults,
    },
};

fn request(json: serde_json::Value) -> AuthzRequest {
    serde_json::from_value(json).expect("valid request")
}

fn cases() -> Vec<(&'static str, AuthzRequest)> {
    vec![
        (
            "allow_read",
            request(serde_json::json!({
                "subject": {"id": "agent:reporter", "kind": "agent", "owner": "team:growth", "groups": ["analysts"]},
                "action": {"name": "dataset.read", "params": {"table": "users"}},
                "resource": {"type": "dataset", "id": "users-eu", "attributes": {"classification": "internal"}},
                "context": {"environment": "prod", "intent": "dashboard refresh"}
            })),
        ),
        (
            "pending_export",
            request(serde_json::json!({
                "subject": {"id": "agent:billing-exporter", "kind": "agent", "on_behalf_of": "user:alice@example.com", "owner": "team:growth", "groups": ["exporters"]},
                "action": {"name": "data.export", "params": {"table": "users", "rows": 250000, "dest": "s3://corp-analytics-eu/churn"}},
                "resource": {"type": "dataset", "id": "users-eu", "attributes": {"classification": "pii"}},
                "context": {"intent": "quarterly churn analysis requested in TICKET-812", "environment": "prod", "request_id": "r1"}
            })),
        ),
    ]
}

fn prepared_engine(bundle: &Bundle, with_tests: bool) -> Engine {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(true);
    for m in bundle
        .modules
        .iter()
        .filter(|m| with_tests || !m.path.ends_with("_test.rego"))
    {
        engine
            .add_policy(m.path.clone(), m.text.clone())
            .expect("policy parses");
    }
    engine
        .add_policy("entry.rego".into(), ENTRY_MODULE.into())
        .expect("entry parses");
    engine
        .add_data(Value::from(bundle.data.clone()))
        .expect("data loads");
    engine
}

/// The shipped bundle plus `n` deny rules, each for its own action, none for the cases.
fn bundle_with_rules(n: usize) -> Bundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("policies")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect();
    let mut rego = String::from("package tollgate\n");
    for i in 0..n {
        rego.push_str(&format!(
            "\ndeny contains \"generated rule {i}\" if {{\n\tinput.action.name == \"gen.action.{i}\"\n\tinput.context.intent == \"never {i}\"\n}}\n"
        ));
    }
    files.push(("generated.rego".into(), rego.into_bytes()));
    Bundle::from_files(dir, files).expect("bundle")
}

fn rule_count(c: &mut Criterion) {
    let limits = InputLimits::default();
    for n in [10, 100, 1000] {
        let bundle = bundle_with_rules(n);
        let compile = || {
            CompiledBundle::compile(
                &bundle,
                EvalLimits::default(),
                RequirementDefaults::default(),
            )
            .expect("bundle compiles")
        };
        let compiled = compile();
        assert_eq!(compiled.index_size(), Some((n, n)));
        let mut group = c.benchmark_group(format!("rules_{n}"));
        for (name, req) in cases() {
            let indexed = compiled.evaluate(to_input(&req));
            assert_eq!(indexed, compiled.evaluate_unindexed(to_input(&req)));
            group.bench_function(format!("{name}/indexed"), |b| {
                b.iter(|| {
                    let req = black_box(&req);
                    req.validate(&limits).expect("valid");
                    black_box(decide(compiled.evaluate(to_input(req))))
                })
            });
            group.bench_function(format!("{name}/unindexed"), |b| {
                b.iter(|| {
                    let req = black_box(&req);
                    req.validate(&limits).expect("valid");
                    black_box(decide(compiled.evaluate_unindexed(to_input(req))))
                })
            });
        }
        group.sample_size(10);
        group.bench_function("compile", |b| b.iter(|| black_box(compile())));
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let bundle = Bundle::load(&path).expect("bundle loads");
    let compiled = CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .expect("bundle compiles");
    let engine = prepared_engine(&bundle, true);
    let engine_no_tests = prepared_engine(&bundle, false);
    let policy = engine
        .clone()
        .compile_with_entrypoint(&Rc::from(ENTRY_RULE))
        .expect("compiles");
    let limits = InputLimits::default();
    let evaluator = Evaluator::new(&EvalLimits::default());
    let shared = Arc::new(
        CompiledBundle::compile(
            &bundle,
            EvalLimits::default(),
            RequirementDefaults::default(),
        )
        .expect("bundle compiles"),
    );

    for (name, req) in cases() {
        let input = to_input(&req);
        let mut group = c.benchmark_group(name);
        group.bench_function("vm_thread_local", |b| {
            b.iter(|| black_box(compiled.evaluate_vm(black_box(input.clone()))))
        });
        group.bench_function("serving_path", |b| {
            b.iter(|| {
                let req = black_box(&req);
                req.validate(&limits).expect("valid");
                black_box(decide(compiled.evaluate(to_input(req))))
            })
        });
        group.bench_function("evaluator_inline", |b| {
            b.iter(|| {
                let req = black_box(&req);
                req.validate(&limits).expect("valid");
                let outcome =
                    futures::executor::block_on(evaluator.evaluate(&shared, to_input(req)));
                black_box(decide(outcome))
            })
        });
        group.bench_function("serving_path_interpreter_confirmed", |b| {
            b.iter(|| {
                let req = black_box(&req);
                req.validate(&limits).expect("valid");
                let input = to_input(req);
                let outcome = match compiled.evaluate_vm(input.clone()) {
                    Ok(o) if o.deny.is_empty() => compiled.evaluate_interpreter_local(input),
                    other => other,
                };
                black_box(decide(outcome))
            })
        });
        group.bench_function("interpreter_clone_per_call", |b| {
            b.iter(|| black_box(compiled.evaluate_interpreted(black_box(input.clone()))))
        });
        let mut reused = engine.clone();
        group.bench_function("interpreter_reused", |b| {
            b.iter(|| {
                reused.set_input(black_box(input.clone()));
                black_box(reused.eval_rule(ENTRY_RULE.to_string()).expect("evaluates"))
            })
        });
        let mut reused_no_tests = engine_no_tests.clone();
        group.bench_function("interpreter_reused_without_test_modules", |b| {
            b.iter(|| {
                reused_no_tests.set_input(black_box(input.clone()));
                black_box(
                    reused_no_tests
                        .eval_rule(ENTRY_RULE.to_string())
                        .expect("evaluates"),
                )
            })
        });
        group.bench_function("compiled_policy", |b| {
            b.iter(|| {
                black_box(
                    policy
                        .eval_with_input(black_box(input.clone()))
                        .expect("evaluates"),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench, rule_count);
criterion_main!(benches);
