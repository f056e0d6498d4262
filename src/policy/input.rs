//! The policy `input` document, built straight from the domain request.

use std::collections::BTreeMap;

use regorus::Value;
use serde_json::{Map, Value as Json};

use crate::domain::AuthzRequest;

/// Builds `input` without a JSON round trip: this runs on every decision.
pub fn to_input(req: &AuthzRequest) -> Value {
    let s = &req.subject;
    let groups: Vec<Value> = s.groups.iter().map(|g| Value::from(g.as_str())).collect();
    object([
        (
            "subject",
            object([
                ("id", Value::from(s.id.as_str())),
                ("kind", Value::from(s.kind.as_str())),
                ("on_behalf_of", Value::from(s.on_behalf_of.as_str())),
                ("owner", Value::from(s.owner.as_str())),
                ("groups", Value::from(groups)),
                ("attributes", map(&s.attributes)),
            ]),
        ),
        (
            "action",
            object([
                ("name", Value::from(req.action.name.as_str())),
                ("params", map(&req.action.params)),
            ]),
        ),
        (
            "resource",
            object([
                ("type", Value::from(req.resource.kind.as_str())),
                ("id", Value::from(req.resource.id.as_str())),
                ("attributes", map(&req.resource.attributes)),
            ]),
        ),
        (
            "context",
            object([
                ("intent", Value::from(req.context.intent.as_str())),
                ("environment", Value::from(req.context.environment.as_str())),
                ("request_id", Value::from(req.context.request_id.as_str())),
                ("attributes", map(&req.context.attributes)),
            ]),
        ),
    ])
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let map: BTreeMap<Value, Value> = fields
        .into_iter()
        .map(|(k, v)| (Value::from(k), v))
        .collect();
    Value::from(map)
}

fn map(m: &Map<String, Json>) -> Value {
    let map: BTreeMap<Value, Value> = m
        .iter()
        .map(|(k, v)| (Value::from(k.as_str()), json(v)))
        .collect();
    Value::from(map)
}

/// Converts a JSON value; numbers keep their integer or float form.
pub fn json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::from(a.iter().map(json).collect::<Vec<_>>()),
        Json::Object(m) => map(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_matches_the_serde_shape() {
        let req: AuthzRequest = serde_json::from_value(serde_json::json!({
            "subject": {"id": "agent:a", "kind": "agent", "groups": ["g"], "attributes": {"x": [1, 2.5, null]}},
            "action": {"name": "data.export", "params": {"rows": 250000, "neg": -3}},
            "resource": {"type": "dataset", "id": "users"},
            "context": {"environment": "prod"}
        }))
        .unwrap();
        let via_serde = Value::from(serde_json::to_value(&req).unwrap());
        assert_eq!(to_input(&req), via_serde);
    }
}
