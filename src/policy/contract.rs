//! The policy contract: which rules tollgate reads and what shapes they must have.
//!
//! Policies live in package `tollgate` and may define `deny` (set of strings), `approval`
//! (set of requirement objects), `allow` (boolean), `risk` (low|medium|high|critical),
//! `obligations` (set of objects with a string `type`) and `mask` (set of dotted input
//! paths). tollgate evaluates one generated entry rule that collects all six, so shared
//! helper rules run once per decision; each is wrapped in a comprehension so an undefined
//! rule reads as "absent" instead of making the whole result undefined. Any other shape is
//! a contract violation, which denies.

use std::time::Duration;

use regorus::Value;
use serde_json::Map;

use crate::domain::{EvalFailure, FailureKind, PolicyOutcome, Requirement};

/// Package tollgate's generated entry module lives in; bundles may not define it.
pub const ENTRY_PACKAGE: &str = "tollgate_entry";
/// The rule tollgate evaluates.
pub const ENTRY_RULE: &str = "data.tollgate_entry.result";
/// The package policies must define.
pub const POLICY_PACKAGE: &str = "data.tollgate";

/// Source of the generated entry module.
pub const ENTRY_MODULE: &str = r#"package tollgate_entry

result := {
	"deny": [x | x := data.tollgate.deny],
	"approval": [x | x := data.tollgate.approval],
	"allow": [x | x := data.tollgate.allow],
	"risk": [x | x := data.tollgate.risk],
	"obligations": [x | x := data.tollgate.obligations],
	"mask": [x | x := data.tollgate.mask],
}
"#;

/// Risk labels the contract accepts.
pub const RISKS: [&str; 4] = ["low", "medium", "high", "critical"];

/// Defaults for requirement fields a policy leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequirementDefaults {
    /// Pending approval lifetime when `ttl` is absent.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Capability lifetime when `capability_ttl` is absent.
    #[serde(with = "humantime_serde")]
    pub capability_ttl: Duration,
}

impl Default for RequirementDefaults {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            capability_ttl: Duration::from_secs(300),
        }
    }
}

fn violation(message: impl Into<String>) -> EvalFailure {
    EvalFailure::new(FailureKind::Contract, message)
}

/// Checks the entry rule's value against the contract.
pub fn parse_outcome(
    result: &Value,
    defaults: &RequirementDefaults,
) -> Result<PolicyOutcome, EvalFailure> {
    let Ok(obj) = result.as_object() else {
        return Err(violation("entry result is undefined"));
    };
    // Each field is a comprehension over one rule: `[]` or `[value]`. regorus's VM yields
    // `[undefined]` for a rule the bundle does not declare where the interpreter yields `[]`;
    // both mean "absent".
    let field = |name: &str| -> Option<&Value> {
        obj.get(&Value::from(name))
            .and_then(|v| v.as_array().ok())
            .and_then(|a| a.first())
            .filter(|v| !matches!(v, Value::Undefined))
    };
    let mut deny = members(field("deny"), "deny")?
        .iter()
        .map(|v| string(v, "deny members must be strings"))
        .collect::<Result<Vec<_>, _>>()?;
    deny.sort();
    deny.dedup();
    let risk = match field("risk") {
        None => String::new(),
        Some(v) => {
            let r = string(v, "risk must be a string")?;
            if !RISKS.contains(&r.as_str()) {
                return Err(violation(format!(
                    "risk must be one of {}, got {r:?}",
                    RISKS.join(", ")
                )));
            }
            r
        }
    };
    let approval = members(field("approval"), "approval")?
        .iter()
        .map(|v| requirement(v, defaults, &risk))
        .collect::<Result<Vec<_>, _>>()?;
    let allow = match field("allow") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(violation("allow must be a boolean")),
    };
    let obligations = members(field("obligations"), "obligations")?
        .iter()
        .map(obligation)
        .collect::<Result<Vec<_>, _>>()?;
    let mask = members(field("mask"), "mask")?
        .iter()
        .map(|v| string(v, "mask members must be strings"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyOutcome {
        deny,
        approval,
        allow,
        risk,
        obligations,
        mask,
    })
}

/// The members of a set (or array) rule; absent is empty.
fn members<'a>(value: Option<&'a Value>, rule: &str) -> Result<Vec<&'a Value>, EvalFailure> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Set(s)) => Ok(s.iter().collect()),
        Some(Value::Array(a)) => Ok(a.iter().collect()),
        Some(_) => Err(violation(format!("{rule} must be a set"))),
    }
}

fn string(value: &Value, message: &str) -> Result<String, EvalFailure> {
    match value {
        Value::String(s) => Ok(s.to_string()),
        _ => Err(violation(message)),
    }
}

fn requirement(
    value: &Value,
    defaults: &RequirementDefaults,
    risk: &str,
) -> Result<Requirement, EvalFailure> {
    let Value::Object(obj) = value else {
        return Err(violation("approval members must be objects"));
    };
    let get = |k: &str| obj.get(&Value::from(k));
    for key in obj.keys() {
        let known = matches!(
            key.as_string().map(|s| s.as_ref()),
            Ok("groups" | "quorum" | "ttl" | "capability_ttl" | "risk" | "step_up" | "reason")
        );
        if !known {
            return Err(violation(format!("approval has unknown field {key}")));
        }
    }
    let groups = match get("groups") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|g| string(g, "approval.groups must be strings"))
            .collect::<Result<_, _>>()?,
        Some(Value::Set(s)) => s
            .iter()
            .map(|g| string(g, "approval.groups must be strings"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(violation("approval.groups must be an array")),
    };
    let quorum = match get("quorum") {
        Some(Value::Number(n)) => n.as_u64().filter(|q| (1..=100).contains(q)),
        _ => None,
    }
    .ok_or_else(|| violation("approval.quorum must be an integer from 1 to 100"))?;
    let duration = |k: &str, default: Duration| -> Result<Duration, EvalFailure> {
        match get(k) {
            None => Ok(default),
            Some(Value::String(s)) => humantime::parse_duration(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| violation(format!("approval.{k} must be a duration like \"15m\""))),
            Some(_) => Err(violation(format!("approval.{k} must be a duration string"))),
        }
    };
    let reason = match get("reason") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.to_string(),
        _ => return Err(violation("approval.reason must be a non-empty string")),
    };
    let req_risk = match get("risk") {
        None => risk.to_string(),
        Some(Value::String(s)) if RISKS.contains(&s.as_ref()) => s.to_string(),
        Some(_) => {
            return Err(violation(
                "approval.risk must be low, medium, high or critical",
            ))
        }
    };
    let step_up = match get("step_up") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(violation("approval.step_up must be a boolean")),
    };
    Ok(Requirement {
        groups,
        quorum: quorum as u32,
        ttl: duration("ttl", defaults.ttl)?,
        capability_ttl: duration("capability_ttl", defaults.capability_ttl)?,
        risk: req_risk,
        step_up,
        reason,
    })
}

fn obligation(value: &&Value) -> Result<Map<String, serde_json::Value>, EvalFailure> {
    let json = serde_json::to_value(value).map_err(|e| violation(e.to_string()))?;
    match json {
        serde_json::Value::Object(map)
            if map.get("type").is_some_and(serde_json::Value::is_string) =>
        {
            Ok(map)
        }
        _ => Err(violation("obligations must be objects with a string type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<PolicyOutcome, EvalFailure> {
        parse_outcome(
            &Value::from_json_str(json).unwrap(),
            &RequirementDefaults::default(),
        )
    }

    #[test]
    fn absent_rules_are_empty() {
        let o =
            parse(r#"{"deny":[],"approval":[],"allow":[],"risk":[],"obligations":[],"mask":[]}"#)
                .unwrap();
        assert_eq!(o, PolicyOutcome::default());
    }

    #[test]
    fn undefined_members_are_absent() {
        let mut v = Value::from_json_str(
            r#"{"deny":[],"approval":[],"allow":[],"risk":[],"obligations":[],"mask":[]}"#,
        )
        .unwrap();
        for key in ["deny", "allow", "risk"] {
            v.as_object_mut()
                .unwrap()
                .insert(Value::from(key), Value::from(vec![Value::Undefined]));
        }
        let o = parse_outcome(&v, &RequirementDefaults::default()).unwrap();
        assert_eq!(o, PolicyOutcome::default());
    }

    #[test]
    fn requirement_defaults_and_inherited_risk() {
        let o = parse(
            r#"{"deny":[],"approval":[[{"quorum":2,"reason":"r","groups":["sre"]}]],"allow":[true],
                "risk":["high"],"obligations":[],"mask":[]}"#,
        )
        .unwrap();
        let r = &o.approval[0];
        assert_eq!((r.quorum, r.risk.as_str()), (2, "high"));
        assert_eq!(r.ttl, Duration::from_secs(3600));
    }

    #[test]
    fn wrong_shapes_are_violations() {
        for bad in [
            r#"{"deny":["x"]}"#,
            r#"{"deny":[[1]]}"#,
            r#"{"allow":["yes"]}"#,
            r#"{"risk":["extreme"]}"#,
            r#"{"approval":[["s"]]}"#,
            r#"{"approval":[[{"reason":"r"}]]}"#,
            r#"{"approval":[[{"reason":"r","quorum":0}]]}"#,
            r#"{"approval":[[{"reason":"r","quorum":1,"ttl":"soon"}]]}"#,
            r#"{"approval":[[{"reason":"","quorum":1}]]}"#,
            r#"{"approval":[[{"reason":"r","quorum":1,"qorum":2}]]}"#,
            r#"{"obligations":[[{"kind":"x"}]]}"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.kind, FailureKind::Contract, "{bad}");
        }
    }
}
