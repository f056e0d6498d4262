//! The Rego unit test runner behind `tollgate test`: every rule named `test_*` in the bundle
//! must evaluate to `true`.

use std::time::{Duration, Instant};

use regorus::Value;

use super::compiled::CompiledBundle;

/// One test's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// `data.<package>.<rule>`.
    pub name: String,
    /// `Ok` when the rule is true, else what it was.
    pub outcome: Result<(), String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Finds `test_*` rules (at the start of a line, as `opa test` expects) in every module and
/// evaluates each on a fresh interpreter clone, so tests cannot affect each other.
pub fn run_tests(bundle: &CompiledBundle, filter: Option<&str>) -> Vec<TestResult> {
    let mut names = Vec::new();
    for m in &bundle.modules {
        let Some(package) = package_of(&m.text) else {
            continue;
        };
        for line in m.text.lines() {
            let Some(rest) = line.strip_prefix("test_") else {
                continue;
            };
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let name = format!("data.{package}.test_{ident}");
            if !names.contains(&name) && filter.is_none_or(|f| name.contains(f)) {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let start = Instant::now();
            let mut engine = bundle.engine();
            let outcome = match engine.eval_rule(name.clone()) {
                Ok(Value::Bool(true)) => Ok(()),
                Ok(Value::Undefined) => Err("undefined (a condition did not hold)".to_string()),
                Ok(other) => Err(format!("evaluated to {other}")),
                Err(e) => Err(format!("error: {e:#}")),
            };
            TestResult {
                name,
                outcome,
                elapsed: start.elapsed(),
            }
        })
        .collect()
}

fn package_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("package ")?;
        Some(rest.split_whitespace().next()?.to_string())
    })
}
