//! Proto <-> domain conversions: small pure functions, the only code that reads both.

use std::time::SystemTime;

use prost_types::{value::Kind, ListValue, Struct, Timestamp, Value as PbValue};
use serde_json::{Map, Number, Value as Json};

use super::pb;
use crate::domain::{
    Action, AuthzRequest, Context, Decision, Effect, InvalidField, Requirement, Resource, Subject,
    UnixMillis,
};

/// Deepest `Struct` nesting converted; deeper input is refused here before validation sees
/// it (prost's own decode limit is higher).
const MAX_STRUCT_DEPTH: usize = 32;

/// Converts a wire request. Missing messages become empty ones, which validation then names.
pub fn request(req: pb::AuthorizeRequest) -> Result<AuthzRequest, InvalidField> {
    let pb::AuthorizeRequest {
        subject,
        action,
        resource,
        context,
    } = req;
    let s = subject.unwrap_or_default();
    let a = action.unwrap_or_default();
    let r = resource.unwrap_or_default();
    let c = context.unwrap_or_default();
    Ok(AuthzRequest {
        subject: Subject {
            id: s.id,
            kind: s.kind,
            on_behalf_of: s.on_behalf_of,
            owner: s.owner,
            groups: s.groups,
            attributes: structure(s.attributes, "subject.attributes")?,
        },
        action: Action {
            name: a.name,
            params: structure(a.params, "action.params")?,
        },
        resource: Resource {
            kind: r.r#type,
            id: r.id,
            attributes: structure(r.attributes, "resource.attributes")?,
        },
        context: Context {
            intent: c.intent,
            environment: c.environment,
            request_id: c.request_id,
            attributes: structure(c.attributes, "context.attributes")?,
        },
    })
}

/// A free-form wire map as JSON; `field` names it in errors.
pub fn structure(s: Option<Struct>, field: &str) -> Result<Map<String, Json>, InvalidField> {
    let Some(s) = s else {
        return Ok(Map::new());
    };
    fields(s, field, 1)
}

fn fields(s: Struct, field: &str, depth: usize) -> Result<Map<String, Json>, InvalidField> {
    s.fields
        .into_iter()
        .map(|(k, v)| {
            let path = format!("{field}.{k}");
            let json = value(v, &path, depth)?;
            Ok((k, json))
        })
        .collect()
}

fn value(v: PbValue, field: &str, depth: usize) -> Result<Json, InvalidField> {
    if depth > MAX_STRUCT_DEPTH {
        return Err(InvalidField::new(
            field,
            format!("nested deeper than {MAX_STRUCT_DEPTH} levels"),
        ));
    }
    Ok(match v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::NumberValue(n)) => Json::Number(
            number(n).ok_or_else(|| InvalidField::new(field, "number must be finite"))?,
        ),
        Some(Kind::StructValue(s)) => Json::Object(fields(s, field, depth + 1)?),
        Some(Kind::ListValue(l)) => Json::Array(
            l.values
                .into_iter()
                .enumerate()
                .map(|(i, v)| value(v, &format!("{field}[{i}]"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Whole numbers that fit become integers, so `rows: 250000` reads as 250000 in Rego and in
/// the capability hash, not 250000.0.
fn number(n: f64) -> Option<Number> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        Some(Number::from(i))
    } else {
        Number::from_f64(n)
    }
}

/// A wire `Struct` as a JSON object for display (`{}` when absent): never fails, so
/// non-finite numbers show as `null`; whole numbers print without `.0`.
pub fn struct_json(value: Option<&Struct>) -> Json {
    let fields = value.map(|s| &s.fields);
    Json::Object(
        fields
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect(),
    )
}

/// A wire value as JSON for display (see [`struct_json`]).
pub fn value_json(value: &PbValue) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n).map_or(Json::Null, Json::Number),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(value_json).collect()),
        Some(Kind::StructValue(s)) => struct_json(Some(s)),
    }
}

/// The wire timestamp of a stored time.
pub fn timestamp(t: UnixMillis) -> Timestamp {
    let ms = t.as_i64();
    Timestamp {
        seconds: ms.div_euclid(1000),
        // In 0..1e9 by construction.
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// The wire timestamp of a clock reading.
pub fn system_time(t: SystemTime) -> Timestamp {
    Timestamp::from(t)
}

/// The stored time of a valid wire timestamp (nanos in range, year 0001 to 9999); `field`
/// names it in the error.
pub fn millis(t: &Timestamp, field: &str) -> Result<UnixMillis, InvalidField> {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(0..1_000_000_000).contains(&t.nanos) || !(MIN..=MAX).contains(&t.seconds) {
        return Err(InvalidField::new(field, "not a valid timestamp"));
    }
    Ok(UnixMillis(
        t.seconds * 1000 + i64::from(t.nanos) / 1_000_000,
    ))
}

/// Converts a JSON object to a proto `Struct`.
pub fn to_struct(map: &Map<String, Json>) -> Struct {
    Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
    }
}

/// A JSON value on the wire.
pub fn to_value(v: &Json) -> PbValue {
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(to_value).collect(),
        }),
        Json::Object(m) => Kind::StructValue(to_struct(m)),
    };
    PbValue { kind: Some(kind) }
}

/// The wire effect.
pub fn effect(e: Effect) -> pb::Effect {
    match e {
        Effect::Allow => pb::Effect::Allow,
        Effect::Deny => pb::Effect::Deny,
        Effect::PendingApproval => pb::Effect::PendingApproval,
    }
}

/// The wire form of one approval requirement.
pub fn requirement(r: &Requirement) -> pb::ApprovalRequirement {
    pb::ApprovalRequirement {
        groups: r.groups.clone(),
        quorum: r.quorum,
        ttl: prost_types::Duration::try_from(r.ttl).ok(),
        capability_ttl: prost_types::Duration::try_from(r.capability_ttl).ok(),
        risk: r.risk.clone(),
        step_up: r.step_up,
        reason: r.reason.clone(),
    }
}

/// The wire form of a domain request (what reviewers see, what approvals store).
pub fn to_request(r: &AuthzRequest) -> pb::AuthorizeRequest {
    let opt = |m: &Map<String, Json>| (!m.is_empty()).then(|| to_struct(m));
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            id: r.subject.id.clone(),
            kind: r.subject.kind.clone(),
            on_behalf_of: r.subject.on_behalf_of.clone(),
            owner: r.subject.owner.clone(),
            groups: r.subject.groups.clone(),
            attributes: opt(&r.subject.attributes),
        }),
        action: Some(pb::Action {
            name: r.action.name.clone(),
            params: opt(&r.action.params),
        }),
        resource: Some(pb::Resource {
            r#type: r.resource.kind.clone(),
            id: r.resource.id.clone(),
            attributes: opt(&r.resource.attributes),
        }),
        context: Some(pb::Context {
            intent: r.context.intent.clone(),
            environment: r.context.environment.clone(),
            request_id: r.context.request_id.clone(),
            attributes: opt(&r.context.attributes),
        }),
    }
}

/// The wire answer for a decision.
pub fn response(d: &Decision) -> pb::AuthorizeResponse {
    let v = &d.verdict;
    pb::AuthorizeResponse {
        decision_id: d.id.clone(),
        effect: effect(v.effect) as i32,
        reasons: v.reasons.clone(),
        risk: v.risk.clone(),
        obligations: v.obligations.iter().map(to_struct).collect(),
        bundle_revision: d.revision.to_string(),
        approval_id: String::new(),
        requirements: v.requirements.iter().map(requirement).collect(),
        decided_at: Some(system_time(d.decided_at)),
        cached: d.cached,
        capability: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> PbValue {
        PbValue {
            kind: Some(Kind::NumberValue(n)),
        }
    }

    #[test]
    fn whole_numbers_become_integers_and_nan_is_refused() {
        assert_eq!(
            value(num(250000.0), "f", 1).unwrap(),
            serde_json::json!(250000)
        );
        assert_eq!(value(num(2.5), "f", 1).unwrap(), serde_json::json!(2.5));
        assert_eq!(value(num(f64::NAN), "x.y", 1).unwrap_err().field, "x.y");
    }

    #[test]
    fn timestamps_round_trip_before_and_after_the_epoch() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1, -1001] {
            let t = UnixMillis(ms);
            assert_eq!(millis(&timestamp(t), "t").unwrap(), t);
        }
    }

    #[test]
    fn display_json_keeps_integers_and_nulls_what_json_cannot_hold() {
        let s = to_struct(
            serde_json::json!({"rows": 1200, "ratio": 0.5, "tags": ["a"], "n": null})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            struct_json(Some(&s)),
            serde_json::json!({"rows": 1200, "ratio": 0.5, "tags": ["a"], "n": null})
        );
        let mut inf = Struct::default();
        inf.fields.insert("x".into(), num(f64::INFINITY));
        assert_eq!(struct_json(Some(&inf)), serde_json::json!({"x": null}));
        assert_eq!(struct_json(None), serde_json::json!({}));
    }

    #[test]
    fn deep_structs_name_the_field() {
        let mut v = num(1.0);
        for _ in 0..40 {
            v = PbValue {
                kind: Some(Kind::ListValue(ListValue { values: vec![v] })),
            };
        }
        let err = value(v, "action.params.p", 1).unwrap_err();
        assert!(
            err.field.starts_with("action.params.p[0][0]"),
            "{}",
            err.field
        );
    }
}
