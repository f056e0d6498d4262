//! The vendored regorus VM patch (`vendor/PATCHES.md`): `RegoVM::set_strict_rule_errors`.
//! Off, the VM keeps upstream 0.14.1 behaviour (an erroring body does not match, a value
//! conflict is undefined); on, both are errors, as in the interpreter. Both sides are
//! asserted so a regorus upgrade that changes either is noticed.

use regorus::{
    languages::rego::compiler::Compiler,
    rvm::vm::{RegoVM, VmError},
    Engine, Rc, Value,
};

const POLICY: &str = r#"package p

import rego.v1

default allow := true

deny contains "negative" if to_number(input.n) < 0

default cap := 100

cap := 10 if input.conflict

cap := 1000 if input.conflict

blocked if {
	input.block
	"a" + 1 > 0
}

# Each field in a comprehension, so one undefined rule does not make the result undefined.
result := {"deny": deny, "cap": [x | x := cap], "blocked": [x | x := blocked]}
"#;

fn run(strict_rule_errors: bool, input: &str) -> Result<Value, VmError> {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.add_policy("p.rego".into(), POLICY.into()).unwrap();
    let compiled = engine
        .compile_with_entrypoint(&Rc::from("data.p.result"))
        .unwrap();
    let program = Compiler::compile_from_policy(&compiled, &["data.p.result"]).unwrap();
    let mut vm = RegoVM::new();
    vm.load_program(program);
    vm.set_data(Value::new_object()).unwrap();
    vm.set_strict_builtin_errors(true);
    vm.set_strict_rule_errors(strict_rule_errors);
    vm.set_input(Value::from_json_str(input).unwrap());
    vm.execute_entry_point_by_index(0)
}

/// The defined members of a `[x | x := rule]` field (regorus's VM yields `[undefined]` for
/// an undefined rule where the interpreter yields `[]`).
fn defined(v: &Value, name: &str) -> Vec<Value> {
    let field = field(v, name);
    let items = field.as_array().unwrap();
    items
        .iter()
        .filter(|x| **x != Value::Undefined)
        .cloned()
        .collect()
}

fn field(v: &Value, name: &str) -> Value {
    v.as_object()
        .unwrap()
        .get(&Value::from(name))
        .cloned()
        .unwrap_or(Value::Undefined)
}

#[test]
fn without_the_switch_the_vm_keeps_upstream_behaviour() {
    // A strict builtin error in the deny body: the body silently does not match.
    let v = run(false, r#"{"n": "x"}"#).unwrap();
    assert_eq!(field(&v, "deny"), Value::new_set());
    // Conflicting values of a rule with a default: undefined, the default skipped.
    let v = run(false, r#"{"n": 1, "conflict": true}"#).unwrap();
    assert_eq!(defined(&v, "cap"), []);
    // An arithmetic type error in a helper body: the helper is undefined.
    let v = run(false, r#"{"n": 1, "block": true}"#).unwrap();
    assert_eq!(defined(&v, "blocked"), []);
}

#[test]
fn with_the_switch_errors_and_conflicts_abort_evaluation() {
    let err = run(true, r#"{"n": "x"}"#).unwrap_err();
    assert!(
        err.to_string().contains("could not parse string as number"),
        "{err}"
    );
    let err = run(true, r#"{"n": 1, "conflict": true}"#).unwrap_err();
    assert!(
        matches!(&err, VmError::ConflictingRuleValues { rule, .. } if rule.ends_with("cap")),
        "{err:?}"
    );
    let err = run(true, r#"{"n": 1, "block": true}"#).unwrap_err();
    assert!(matches!(err, VmError::InvalidAddition { .. }), "{err:?}");
}

#[test]
fn with_the_switch_bodies_that_do_not_match_are_still_quiet() {
    let v = run(true, r#"{"n": 5}"#).unwrap();
    assert_eq!(field(&v, "deny"), Value::new_set());
    assert_eq!(defined(&v, "cap"), [Value::from(100_u64)]);
    let v = run(true, r#"{"n": -5, "block": false}"#).unwrap();
    let deny = field(&v, "deny");
    let members: Vec<&Value> = deny.as_set().unwrap().iter().collect();
    assert_eq!(members, [&Value::from("negative")]);
}
