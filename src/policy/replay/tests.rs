use std::{fs, path::Path};

use serde_json::json;

use super::*;
use crate::policy::Bundle;

const A: &str = r#"package tollgate

default allow := false

allow if input.action.name == "read"

allow if {
	input.action.name == "export"
	input.action.params.rows <= 1000
}

approval contains {"groups": ["security"], "quorum": 1, "reason": "large export"} if {
	input.action.name == "export"
	input.action.params.rows > 1000
}
"#;

const B: &str = r#"package tollgate

default allow := false

allow if input.action.name == "read"

deny contains "exports are frozen" if input.action.name == "export"
"#;

fn write(dir: &Path, revision: &str, rego: &str) -> Bundle {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join(".manifest"),
        format!(r#"{{"revision": "{revision}"}}"#),
    )
    .unwrap();
    fs::write(dir.join("policy.rego"), rego).unwrap();
    Bundle::load(dir).unwrap()
}

fn compiled(bundle: &Bundle) -> Arc<CompiledBundle> {
    Arc::new(
        CompiledBundle::compile(
            bundle,
            EvalLimits::default(),
            RequirementDefaults::default(),
        )
        .unwrap(),
    )
}

/// A decision as recorded under `bundle`: its answer is whatever `bundle` answers.
fn recorded(id: &str, bundle: &Bundle, action: &str, rows: u64) -> RecordedDecision {
    let input = json!({
        "subject": {"id": "agent:a", "kind": "agent"},
        "action": {"name": action, "params": {"rows": rows}},
        "resource": {"type": "dataset", "id": "users"},
    });
    let mut d = RecordedDecision {
        decision_id: id.into(),
        action: action.into(),
        effect: String::new(),
        reasons: Vec::new(),
        bundle_revision: bundle.revision.clone(),
        bundle_digest: bundle.digest.clone(),
        masked: Vec::new(),
        input,
    };
    let a = answer(&compiled(bundle), &d).unwrap();
    d.effect = a.effect;
    d.reasons = a.reasons;
    d
}

#[test]
fn a_decision_replays_against_its_own_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(&tmp.path().join("a"), "a", A);
    let b = write(&tmp.path().join("b"), "b", B);
    let archive = BundleArchive::new(tmp.path().join("archive"));
    archive.store(&a).unwrap();
    archive.store(&b).unwrap();
    let replayer = Replayer::new(
        archive,
        EvalLimits::default(),
        RequirementDefaults::default(),
    );
    let big = recorded("d1", &a, "export", 5000);
    assert_eq!(big.effect, "PENDING_APPROVAL");
    let out = replayer.replay(&big).unwrap();
    assert!(out.reproduced, "{out:?}");
    assert_eq!(out.bundle_revision, "a");
    assert_eq!(out.replayed, out.recorded);
    assert_eq!(out.note, None);
    // The same request recorded under B replays as B's answer, not A's.
    let under_b = recorded("d2", &b, "export", 5000);
    let out = replayer.replay(&under_b).unwrap();
    assert!(out.reproduced);
    assert_eq!(out.replayed.effect, "DENY");
    assert_eq!(out.replayed.reasons, vec!["exports are frozen"]);
}

#[test]
fn a_different_answer_is_reported_with_both_verdicts_and_the_masking_note() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(&tmp.path().join("a"), "a", A);
    let archive = BundleArchive::new(tmp.path().join("archive"));
    archive.store(&a).unwrap();
    let mut d = recorded("d1", &a, "export", 10);
    // As if the trail said otherwise (or the value was masked to something else).
    d.effect = "DENY".into();
    d.reasons = vec!["something".into()];
    d.masked = vec!["action.params.rows".into()];
    let out = replay(archive.dir(), &d).unwrap();
    assert!(!out.reproduced);
    assert_eq!(out.recorded.effect, "DENY");
    assert_eq!(out.replayed.effect, "ALLOW");
    let note = out.note.unwrap();
    assert!(
        note.contains("action.params.rows") && note.contains("masking"),
        "{note}"
    );
}

#[test]
fn missing_archives_digests_and_bad_inputs_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(&tmp.path().join("a"), "a", A);
    let empty = tmp.path().join("empty");
    let d = recorded("d1", &a, "read", 0);
    assert!(matches!(
        replay(&empty, &d),
        Err(ReplayError::Archive(ArchiveError::Missing(_)))
    ));
    let mut no_digest = d.clone();
    no_digest.bundle_digest.clear();
    assert!(matches!(
        replay(&empty, &no_digest),
        Err(ReplayError::NoDigest(_))
    ));
    let mut bad = d;
    bad.input = json!({"subject": "not an object"});
    assert!(matches!(
        answer(&compiled(&a), &bad),
        Err(ReplayError::Input { .. })
    ));
}

#[test]
fn impact_counts_transitions_per_action_with_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(&tmp.path().join("a"), "a", A);
    let b = write(&tmp.path().join("b"), "b", B);
    let mut decisions = vec![
        recorded("r1", &a, "read", 0),
        recorded("e1", &a, "export", 10),
        recorded("e2", &a, "export", 20),
        recorded("e3", &a, "export", 30),
        recorded("p1", &a, "export", 5000),
    ];
    let mut broken = recorded("x1", &a, "export", 1);
    broken.input = json!([1, 2]);
    decisions.push(broken);
    let report = impact(compiled(&b), &decisions, 2);
    assert_eq!(report.candidate_revision, "b");
    assert_eq!(report.total, 6);
    assert_eq!(report.unchanged, 1);
    assert_eq!(report.changed, 4);
    assert_eq!(report.unreplayable, 1);
    assert_eq!(report.unreplayable_examples[0].0, "x1");
    assert_eq!(report.transitions.len(), 2);
    let first = &report.transitions[0];
    assert_eq!((first.from.as_str(), first.to.as_str()), ("ALLOW", "DENY"));
    assert_eq!(first.count, 3);
    assert_eq!(first.examples, vec!["e1", "e2"]);
    let second = &report.transitions[1];
    assert_eq!(
        (second.from.as_str(), second.to.as_str(), second.count),
        ("PENDING_APPROVAL", "DENY", 1)
    );
    let export = report
        .actions
        .iter()
        .find(|x| x.action == "export")
        .unwrap();
    assert_eq!((export.total, export.changed), (4, 4));
    assert_eq!(export.transitions["ALLOW -> DENY"], 3);
    let read = report.actions.iter().find(|x| x.action == "read").unwrap();
    assert_eq!((read.total, read.changed), (1, 0));
    // Against itself, nothing changes.
    let same = impact(compiled(&a), &decisions[..5], 2);
    assert_eq!((same.unchanged, same.changed), (5, 0));
}
