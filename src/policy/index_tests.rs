//! Unit tests of the rule indexer's classification and filtering. Equivalence of the
//! filtered programs with the full one is tested end to end in `tests/it/rule_index.rs`.

use regorus::Engine;

use super::*;

fn modules(texts: &[(&str, &str)]) -> Vec<Module> {
    texts
        .iter()
        .map(|(path, text)| Module {
            path: (*path).into(),
            text: (*text).into(),
        })
        .collect()
}

fn index(texts: &[(&str, &str)]) -> Option<RuleIndex> {
    let modules = modules(texts);
    let mut engine = Engine::new();
    for m in &modules {
        engine.add_policy(m.path.clone(), m.text.clone()).unwrap();
    }
    RuleIndex::build(&modules, engine.get_modules())
}

fn input(action: &str) -> Value {
    Value::from_json_str(&format!(r#"{{"action": {{"name": "{action}"}}}}"#)).unwrap()
}

/// The rule lines left after filtering for `action`, trimmed.
fn kept(ix: &RuleIndex, action: &str) -> Vec<String> {
    let selection = ix.select(&input(action)).unwrap();
    ix.filtered(&selection)
        .iter()
        .flat_map(|m| {
            m.text
                .lines()
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty() && !l.starts_with("package") && !l.starts_with('#'))
        .collect()
}

const POLICY: &str = r#"package tollgate

deny contains "a" if { input.action.name == "a"; input.x == 1 }
deny contains "b" if { "b" == input["action"]["name"] }
deny contains "c" if { input.action.name = "c" }
deny contains "u" if { input.x == 1; input.action.name == "u" }
deny contains "w" if { input.action.name == "w" with input.x as 1 }
default flag := false
flag if input.action.name == "f"
flag if input.action.name == "g"
level := 1 if { input.action.name == "e" } else := 2
pair := 1 if { input.action.name == "p" } else := 2 if { input.action.name == "p" }
f(x) := x if input.action.name == "fn"
"#;

#[test]
fn indexes_first_literal_equalities_only() {
    let ix = index(&[("p.rego", POLICY)]).unwrap();
    // a, b, c, flag (twice), pair.
    assert_eq!(ix.indexed_rules(), 6);
    let other = kept(&ix, "nothing");
    for line in [
        r#"deny contains "u" if { input.x == 1; input.action.name == "u" }"#,
        r#"deny contains "w" if { input.action.name == "w" with input.x as 1 }"#,
        "default flag := false",
        r#"level := 1 if { input.action.name == "e" } else := 2"#,
        r#"f(x) := x if input.action.name == "fn""#,
    ] {
        assert!(
            other.iter().any(|l| l == line),
            "{line} missing from {other:?}"
        );
    }
    for gone in [r#""a""#, r#""b""#, r#""c""#, r#"== "g""#] {
        assert!(
            !other.iter().any(|l| l.contains(gone)),
            "{gone} kept: {other:?}"
        );
    }
}

#[test]
fn keeps_what_the_selection_names() {
    let ix = index(&[("p.rego", POLICY)]).unwrap();
    let for_a = kept(&ix, "a");
    assert!(for_a.iter().any(|l| l.contains(r#"deny contains "a""#)));
    assert!(!for_a.iter().any(|l| l.contains(r#"deny contains "b""#)));
    let for_g = kept(&ix, "g");
    assert!(for_g.iter().any(|l| l.contains(r#""g""#)));
}

#[test]
fn every_declared_path_keeps_a_definition() {
    let ix = index(&[("p.rego", POLICY)]).unwrap();
    let other = kept(&ix, "nothing");
    // `flag` and `pair` have no unclassified definition: their first one stays.
    assert!(other
        .iter()
        .any(|l| l.contains(r#"flag if input.action.name == "f""#)));
    assert!(!other
        .iter()
        .any(|l| l.contains(r#"flag if input.action.name == "g""#)));
    assert!(other.iter().any(|l| l.starts_with("pair := 1")));
    // `deny` keeps its unclassified definitions, so its indexed ones all go.
    assert!(!other.iter().any(|l| l.contains(r#"deny contains "a""#)));
}

#[test]
fn filtering_keeps_offsets_and_lines() {
    let ix = index(&[("p.rego", POLICY)]).unwrap();
    let filtered = ix.filtered(&ix.select(&input("zzz")).unwrap());
    assert_eq!(filtered[0].text.len(), POLICY.len());
    assert_eq!(filtered[0].text.lines().count(), POLICY.lines().count());
    let line = |t: &str| t.lines().position(|l| l.contains("default flag")).unwrap();
    assert_eq!(line(&filtered[0].text), line(POLICY));
}

#[test]
fn non_string_values_select_the_full_program() {
    let ix = index(&[("p.rego", POLICY)]).unwrap();
    for raw in [
        r#"{"action": {"name": 5}}"#,
        r#"{"action": {"name": null}}"#,
        r#"{"action": {"name": ["a"]}}"#,
    ] {
        assert_eq!(
            ix.select(&Value::from_json_str(raw).unwrap()),
            None,
            "{raw}"
        );
    }
    for raw in [r#"{}"#, r#"{"action": 1}"#, r#"{"action": {}}"#] {
        let selection = ix.select(&Value::from_json_str(raw).unwrap()).unwrap();
        assert!(selection.is_other(), "{raw}");
    }
}

#[test]
fn other_keys_and_values_sets() {
    let ix = index(&[(
        "p.rego",
        r#"package tollgate
deny contains "t" if { input.resource.type == "bucket" }
deny contains "e" if { input.context.environment == "prod" }
m if { input.action.name == "x" } { input.action.name == "y" }
n if { input.action.name == "x" } { input.resource.type == "y" }
"#,
    )])
    .unwrap();
    // t, e and m; n tests two different keys and is unclassified.
    assert_eq!(ix.indexed_rules(), 3);
    let sel = ix
        .select(
            &Value::from_json_str(
                r#"{"action": {"name": "y"}, "resource": {"type": "bucket"}, "context": {}}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let text = &ix.filtered(&sel)[0].text;
    assert!(text.contains(r#"deny contains "t""#) && text.contains("m if"));
    assert!(!text.contains(r#"deny contains "e""#));
}

#[test]
fn nothing_to_index_or_input_rebound() {
    assert!(index(&[("p.rego", "package tollgate\nallow if input.x == 1\n")]).is_none());
    let rebound =
        "package tollgate\nimport data.lib.input\ndeny contains 1 if input.action.name == \"a\"\n";
    assert!(index(&[("p.rego", rebound)]).is_none());
    let aliased =
        "package tollgate\nimport data.lib as input\ndeny contains 1 if input.action.name == \"a\"\n";
    assert!(index(&[("p.rego", aliased)]).is_none());
    let plain = "package tollgate\nimport input\ndeny contains 1 if input.action.name == \"a\"\n";
    assert!(index(&[("p.rego", plain)]).is_some());
}

#[test]
fn with_on_input_is_found_in_tokens_not_comments() {
    let parse = |text: &str| {
        let mut engine = Engine::new();
        engine.add_policy("p.rego".into(), text.into()).unwrap();
        with_on_input(engine.get_modules())
    };
    assert!(parse("package t\nok if true\nt if ok with input as {}\n"));
    assert!(parse(
        "package t\nok if true\nt if ok with # c\n  input.action.name as \"x\"\n"
    ));
    assert!(!parse(
        "package t\n# t if ok with input as {}\nok if true\n"
    ));
    assert!(!parse(
        "package t\nok if true\nt if ok with data.t.ok as false\n"
    ));
}
