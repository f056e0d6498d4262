//! Rule indexing: the serving path (which evaluates only the rules the index selects for an
//! input) gives exactly the answer of evaluating every rule, errors included, and the
//! reference interpreter's answer. Over the shipped bundle plus generated rules of every
//! shape the indexer meets: indexed `deny` rules, rules that raise an error after the index
//! literal, unclassifiable rules, complete rules with defaults, `else` chains, conflicts,
//! `=` unification, resource-type keys, heads that fail.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value as Json};
use tollgate::{
    domain::{EvalFailure, FailureKind, PolicyOutcome},
    policy::{
        agreement, input::json as to_value, Agreement, Bundle, CompiledBundle, EvalLimits,
        RequirementDefaults,
    },
};

/// How many rules of each shape the generated module has.
const PER_SHAPE: usize = 6;

/// Generated rules of every shape; `i` runs over `0..PER_SHAPE`.
fn generated_module() -> String {
    let mut rego = String::from("package tollgate\n\n");
    for i in 0..PER_SHAPE {
        rego.push_str(&format!(
            r#"
# Indexed, fires only for its action and a matching intent.
deny contains "gen {i}" if {{
	input.action.name == "gen.action.{i}"
	input.context.intent == "x{i}"
}}

# Indexed, raises an error after the index literal for a non-numeric intent.
deny contains "err {i}" if {{
	input.action.name == "gen.err.{i}"
	to_number(input.context.intent) > 0
}}

# Indexed, binds a variable with an erroring expression after the index literal.
deny contains "err2 {i}" if {{
	input.action.name == "gen.err2.{i}"
	n := to_number(input.context.intent)
	n > 0
}}

# Indexed, the head raises an error for a non-numeric intent once the body holds.
deny contains sprintf("head2 %v", [to_number(input.context.intent)]) if input.action.name == "gen.head2.{i}"

# Unclassifiable: the action test comes second.
deny contains "unc {i}" if {{
	input.resource.id == "r-{i}"
	input.action.name == "gen.action.{i}"
}}

# Complete rule with a default, two indexed definitions.
default gen_flag_{i} := false

gen_flag_{i} if input.action.name == "gen.flag.{i}"

gen_flag_{i} if {{
	input.action.name == "gen.flag2.{i}"
	input.context.environment == "prod"
}}

deny contains "flag {i}" if gen_flag_{i}

# else chains, all branches indexed.
gen_level_{i} := "a" if {{
	input.action.name == "gen.else.{i}"
	input.context.environment == "prod"
}} else := "b" if {{
	input.action.name == "gen.else.{i}"
}}

deny contains sprintf("level %s", [gen_level_{i}]) if input.action.name == "gen.else.{i}"

# An else without a body: unclassifiable.
gen_plain_{i} := 1 if input.action.name == "gen.else.{i}" else := 2

obligations contains {{"type": "plain", "n": gen_plain_{i}}} if input.action.name == "gen.else.{i}"

# Conflicting complete values for the same action: an error there.
gen_conf_{i} := 1 if input.action.name == "gen.conf.{i}"

gen_conf_{i} := 2 if {{
	input.action.name == "gen.conf.{i}"
	input.context.environment == "prod"
}}

deny contains "conf {i}" if gen_conf_{i} == 1

# Unification, literal first.
deny contains "unify {i}" if {{
	"gen.unify.{i}" = input.action.name
	input.context.intent == ""
}}

# A resource-type key.
deny contains "type {i}" if {{
	input.resource.type == "gen_type_{i}"
	input.action.name != "dataset.read"
}}

# A head that fails (a number where the contract wants a string) for its action.
deny contains count(input.context.intent) if input.action.name == "gen.head.{i}"

# Partial object, indexed.
gen_obj_{i}[input.subject.id] := input.context.intent if input.action.name == "gen.obj.{i}"

deny contains sprintf("obj %v", [count(gen_obj_{i})]) if input.action.name == "gen.obj.{i}"
"#
        ));
    }
    rego
}

fn shipped_files() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn compile(files: Vec<(String, Vec<u8>)>) -> CompiledBundle {
    let bundle = Bundle::from_files("generated".into(), files).unwrap();
    CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .unwrap()
}

fn generated() -> &'static CompiledBundle {
    static B: OnceLock<CompiledBundle> = OnceLock::new();
    B.get_or_init(|| {
        let mut files = shipped_files();
        files.push(("gen.rego".into(), generated_module().into_bytes()));
        let b = compile(files);
        assert_eq!(b.serving_engine().as_str(), "vm");
        b
    })
}

/// Indexed == every rule, exactly; and the reference interpreter agrees.
fn check(b: &CompiledBundle, input: &Json) -> Result<(), String> {
    let value = to_value(input);
    let indexed = b.evaluate(value.clone());
    let full = b.evaluate_unindexed(value.clone());
    if indexed != full {
        return Err(format!(
            "input {input}\n  indexed: {indexed:?}\n  full:    {full:?}"
        ));
    }
    let reference = b.evaluate_interpreted(value);
    if agreement(&indexed, &reference) == Agreement::Different {
        return Err(format!(
            "input {input}\n  indexed:   {indexed:?}\n  reference: {reference:?}"
        ));
    }
    Ok(())
}

fn action_name() -> impl Strategy<Value = Option<Json>> {
    let mut names: Vec<String> = [
        "data.export",
        "dataset.read",
        "secret.read",
        "iam.role.grant",
        "unknown.thing",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..PER_SHAPE + 1 {
        for shape in [
            "action", "err", "err2", "flag", "flag2", "else", "conf", "unify", "head", "head2",
            "obj",
        ] {
            names.push(format!("gen.{shape}.{i}"));
        }
    }
    prop_oneof![
        8 => prop::sample::select(names).prop_map(|n| Some(Json::from(n))),
        1 => Just(None),
        1 => prop_oneof![
            Just(Json::Null),
            Just(json!(5)),
            Just(json!(["gen.action.1"])),
            Just(json!({"name": "gen.action.1"})),
            Just(json!(true)),
        ]
        .prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = Json> {
    let types = prop::sample::select(vec![
        "dataset",
        "secret",
        "gen_type_0",
        "gen_type_3",
        "gen_type_9",
    ]);
    let intents = prop::sample::select(vec![
        "",
        "x0",
        "x2",
        "12",
        "abc",
        "quarterly analysis TICKET-1",
    ]);
    let envs = prop::sample::select(vec!["prod", "dev", ""]);
    let ids = prop::sample::select(vec!["r-0", "r-1", "r-7"]);
    (action_name(), types, intents, envs, ids).prop_map(|(name, rtype, intent, env, id)| {
        let mut action = json!({"params": {"rows": 10, "dest": "s3://corp-analytics-eu/x"}});
        if let Some(name) = name {
            action["name"] = name;
        }
        json!({
            "subject": {"id": "agent:p", "kind": "agent", "owner": "team:growth", "groups": []},
            "action": action,
            "resource": {"type": rtype, "id": id, "attributes": {"classification": "internal"}},
            "context": {"environment": env, "intent": intent},
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn indexed_evaluation_is_full_evaluation(input in request()) {
        let outcome = check(generated(), &input);
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

#[test]
fn the_generated_bundle_is_indexed() {
    let (rules, values) = generated().index_size().unwrap();
    // Per shape: gen, err, err2, 2 flags, else, else's deny and obligations, 2 conflicting,
    // unify, type, head, head2, obj and its deny.
    assert!(rules >= PER_SHAPE * 16, "{rules} rules indexed");
    assert!(values >= PER_SHAPE * 11, "{values} values");
}

fn small(rego: &str) -> CompiledBundle {
    compile(vec![("p.rego".into(), rego.as_bytes().to_vec())])
}

const EDGES: &str = r#"package tollgate

default allow := false

allow if input.ok == true

deny contains "boom" if {
	input.action.name == "boom"
	to_number(input.x) > 0
}

deny contains "always" if input.x == "always"

deny contains "second" if {
	input.x == "second"
	input.action.name == "zzz"
}
"#;

fn edge_input(action: Json, x: &str) -> Json {
    json!({"action": {"name": action}, "x": x, "ok": true})
}

#[test]
fn an_error_after_the_index_literal_still_denies_its_action() {
    let b = small(EDGES);
    assert!(b.index_size().is_some());
    let failed = b
        .evaluate(to_value(&edge_input(json!("boom"), "abc")))
        .unwrap_err();
    assert_eq!(failed.kind, FailureKind::Evaluation, "{failed:?}");
    // Any other action never reaches it.
    let other = b
        .evaluate(to_value(&edge_input(json!("read"), "abc")))
        .unwrap();
    assert!(other.allow && other.deny.is_empty(), "{other:?}");
}

#[test]
fn unclassifiable_rules_are_always_evaluated() {
    let b = small(EDGES);
    // (For `boom` the indexed rule raises an error on this input, as it should.)
    for action in ["zzz", "read", ""] {
        let out = b
            .evaluate(to_value(&edge_input(json!(action), "always")))
            .unwrap();
        assert_eq!(out.deny, vec!["always".to_string()], "{action}");
    }
    let out = b
        .evaluate(to_value(&edge_input(json!("zzz"), "second")))
        .unwrap();
    assert_eq!(out.deny, vec!["second".to_string()]);
}

/// The claim the indexer rests on, checked on both engines without the indexer: for an input
/// whose action is not the literal (another string, absent, or not a string at all), a rule
/// whose first literal is `input.action.name == "boom"` contributes nothing and raises
/// nothing, so the bundle without it answers the same.
#[test]
fn a_rule_whose_index_literal_fails_contributes_nothing_on_either_engine() {
    let with_rule = small(EDGES);
    let without = small(&EDGES.replace("input.action.name == \"boom\"", "false"));
    let actions = [
        Some(json!("zzz")),
        Some(json!("")),
        Some(json!(5)),
        Some(json!(null)),
        Some(json!(true)),
        Some(json!(["boom"])),
        Some(json!({"boom": 1})),
        None,
    ];
    for action in actions {
        let input = match &action {
            Some(a) => edge_input(a.clone(), "abc"),
            None => json!({"x": "abc", "ok": true}),
        };
        let value = to_value(&input);
        let answers: [(&str, Result<PolicyOutcome, EvalFailure>); 4] = [
            ("vm with", with_rule.evaluate_vm(value.clone())),
            ("vm without", without.evaluate_vm(value.clone())),
            (
                "interpreter with",
                with_rule.evaluate_interpreted(value.clone()),
            ),
            ("indexed", with_rule.evaluate(value.clone())),
        ];
        let reference = without.evaluate_interpreted(value);
        assert!(reference.is_ok(), "{input}: {reference:?}");
        for (name, answer) in answers {
            assert_eq!(answer, reference, "{name} on {input}");
        }
    }
}

#[test]
fn a_bundle_served_by_the_interpreter_is_indexed_unless_with_replaces_the_input() {
    // `with` (here on data, not on the input) makes the VM compiler refuse the bundle.
    let refused = format!(
        "{EDGES}\nswitched if data.switch == true\n\ndeny contains \"switched\" if {{\n\tinput.x == \"switch\"\n\tswitched with data.switch as true\n}}\n"
    );
    let b = small(&refused);
    assert_eq!(b.serving_engine().as_str(), "interpreter");
    assert!(b.index_size().is_some());
    let failed = b.evaluate(to_value(&edge_input(json!("boom"), "abc")));
    assert!(failed.is_err(), "{failed:?}");
    check(&b, &edge_input(json!("read"), "always")).unwrap();
    check(&b, &edge_input(json!("read"), "switch")).unwrap();

    // `mocked` evaluates `boom_rule` under another action than the decision's.
    let with_input = format!(
        "{EDGES}
boom_rule if input.action.name == \"boom2\"

boom_rule if input.action.name == \"boom\"

mocked if boom_rule with input.action.name as \"boom\"

deny contains \"mocked\" if mocked
"
    );
    let b = small(&with_input);
    assert_eq!(b.serving_engine().as_str(), "interpreter");
    assert!(b.index_size().is_none());
    let out = b.evaluate(to_value(&json!({"action": {"name": "read"}, "x": "5"})));
    assert!(out.unwrap().deny.contains(&"mocked".to_string()));
}

#[test]
fn many_distinct_actions_each_get_their_own_program() {
    let mut rego = String::from(EDGES);
    for i in 0..40 {
        rego.push_str(&format!(
            "\ndeny contains \"d{i}\" if {{\n\tinput.action.name == \"a.{i}\"\n\tinput.x == \"{i}\"\n}}\n"
        ));
    }
    let b = small(&rego);
    assert_eq!(b.index_size(), Some((41, 41)));
    for i in 0..40 {
        let out = b
            .evaluate(to_value(&edge_input(
                json!(format!("a.{i}")),
                &i.to_string(),
            )))
            .unwrap();
        assert_eq!(out.deny, vec![format!("d{i}")]);
        check(&b, &edge_input(json!(format!("a.{i}")), "none")).unwrap();
    }
}
