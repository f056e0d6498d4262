//! What "modify" may do to a request's parameters: narrow, never widen.
//!
//! Policy-independent and strict, because the service cannot know what a parameter means:
//! the same keys at every level; a number may only go down and stay non-negative; a
//! duration string ("2h") may only get shorter; a list may only lose elements (and not all
//! of them, since an empty list often means "everything"); anything else stays exactly as
//! asked. The narrowed request is then re-evaluated by the policy.

use serde::Serialize;
use serde_json::{Map, Value};

/// One parameter a reviewer changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamChange {
    /// Dotted path, e.g. `action.params.rows`.
    pub path: String,
    /// The value the requester asked for.
    pub before: Value,
    /// The value the reviewer approved.
    pub after: Value,
}

/// Why a modification is not a narrowing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct NotNarrower {
    /// The offending parameter.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn refuse(path: &str, message: &str) -> NotNarrower {
    NotNarrower {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// The changes from `before` to `after` under `prefix`, if every one narrows; at least one
/// change is required.
pub fn narrowing(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Result<Vec<ParamChange>, NotNarrower> {
    let mut changes = Vec::new();
    compare_maps(prefix, before, after, &mut changes)?;
    if changes.is_empty() {
        return Err(refuse(prefix, "nothing was narrowed"));
    }
    Ok(changes)
}

fn compare_maps(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changes: &mut Vec<ParamChange>,
) -> Result<(), NotNarrower> {
    for key in before.keys() {
        if !after.contains_key(key) {
            return Err(refuse(&format!("{prefix}.{key}"), "cannot be removed"));
        }
    }
    for (key, a) in after {
        let path = format!("{prefix}.{key}");
        let Some(b) = before.get(key) else {
            return Err(refuse(&path, "cannot be added"));
        };
        compare(&path, b, a, changes)?;
    }
    Ok(())
}

fn compare(
    path: &str,
    before: &Value,
    after: &Value,
    changes: &mut Vec<ParamChange>,
) -> Result<(), NotNarrower> {
    if before == after {
        return Ok(());
    }
    let narrower = match (before, after) {
        (Value::Object(b), Value::Object(a)) => return compare_maps(path, b, a, changes),
        (Value::Number(b), Value::Number(a)) => {
            let (b, a) = (
                b.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            );
            if !(0.0..=b).contains(&a) {
                return Err(refuse(
                    path,
                    "a number may only be lowered, and not below 0",
                ));
            }
            true
        }
        (Value::String(b), Value::String(a)) => {
            match (humantime::parse_duration(b), humantime::parse_duration(a)) {
                (Ok(b), Ok(a)) if !a.is_zero() && a <= b => true,
                (Ok(_), Ok(_)) => return Err(refuse(path, "a duration may only be shortened")),
                _ => {
                    return Err(refuse(
                        path,
                        "only numbers, durations and lists can be narrowed",
                    ))
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            if a.is_empty() {
                return Err(refuse(path, "a list cannot be emptied"));
            }
            if !a.iter().all(|x| b.contains(x)) {
                return Err(refuse(path, "a list may only lose elements"));
            }
            true
        }
        _ => {
            return Err(refuse(
                path,
                "only numbers, durations and lists can be narrowed",
            ))
        }
    };
    if narrower {
        changes.push(ParamChange {
            path: path.to_string(),
            before: before.clone(),
            after: after.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn check(before: Value, after: Value) -> Result<Vec<ParamChange>, NotNarrower> {
        narrowing("action.params", &map(before), &map(after))
    }

    #[test]
    fn fewer_rows_shorter_durations_and_smaller_lists_narrow() {
        let changes = check(
            json!({"rows": 250000, "ttl": "2h", "tables": ["a", "b"], "dest": "s3://x", "opts": {"limit": 5}}),
            json!({"rows": 10000, "ttl": "30m", "tables": ["a"], "dest": "s3://x", "opts": {"limit": 1}}),
        )
        .unwrap();
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "action.params.opts.limit",
                "action.params.rows",
                "action.params.tables",
                "action.params.ttl"
            ]
        );
        assert_eq!(changes[1].before, json!(250000));
        assert_eq!(changes[1].after, json!(10000));
    }

    #[test]
    fn widening_or_changing_meaning_is_refused() {
        let cases = [
            (
                json!({"rows": 10}),
                json!({"rows": 11}),
                "action.params.rows",
            ),
            (
                json!({"rows": 10}),
                json!({"rows": -1}),
                "action.params.rows",
            ),
            (
                json!({"ttl": "1h"}),
                json!({"ttl": "2h"}),
                "action.params.ttl",
            ),
            (
                json!({"dest": "s3://a"}),
                json!({"dest": "s3://b"}),
                "action.params.dest",
            ),
            (
                json!({"t": ["a"]}),
                json!({"t": ["a", "b"]}),
                "action.params.t",
            ),
            (json!({"t": ["a"]}), json!({"t": []}), "action.params.t"),
            (
                json!({"rows": 10, "filter": "x"}),
                json!({"rows": 5}),
                "action.params.filter",
            ),
            (
                json!({"rows": 10}),
                json!({"rows": 5, "all": true}),
                "action.params.all",
            ),
            (
                json!({"rows": 10}),
                json!({"rows": "5"}),
                "action.params.rows",
            ),
            (json!({"rows": 10}), json!({"rows": 10}), "action.params"),
        ];
        for (before, after, path) in cases {
            let err = check(before.clone(), after.clone()).unwrap_err();
            assert_eq!(err.path, path, "{before} -> {after}: {err}");
        }
    }
}
