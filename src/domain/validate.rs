//! Input validation: every bad field is named, nothing malformed reaches the policy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::AuthzRequest;

/// A request field that is missing, too large or malformed. Becomes `InvalidArgument` at the
/// protocol edge, with `field` as the violation's field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    /// Dotted path of the offending field, e.g. `action.params.rows`.
    pub field: String,
    /// What is wrong, in a sentence fragment.
    pub message: String,
}

impl InvalidField {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same violation, its field path prefixed (for batch items).
    pub fn within(self, prefix: &str) -> Self {
        Self {
            field: format!("{prefix}.{}", self.field),
            message: self.message,
        }
    }
}

/// Bounds on free-form request content, so one request cannot exhaust the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputLimits {
    /// Deepest nesting allowed inside params and attributes (an object directly under
    /// `params` is depth 1).
    pub max_depth: usize,
    /// Most values (objects, arrays and scalars) in all free-form maps together.
    pub max_values: usize,
    /// Longest string value, in bytes.
    pub max_string_bytes: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_values: 10_000,
            max_string_bytes: 64 * 1024,
        }
    }
}

impl AuthzRequest {
    /// Checks required fields, sizes and nesting; the first violation is returned.
    pub fn validate(&self, limits: &InputLimits) -> Result<(), InvalidField> {
        let s = &self.subject;
        identifier("subject.id", &s.id, 256, true)?;
        if super::SubjectKind::parse(&s.kind).is_none() {
            let message = if s.kind.is_empty() {
                "is required".to_string()
            } else {
                format!("must be one of {}", super::SubjectKind::spellings())
            };
            return Err(InvalidField::new("subject.kind", message));
        }
        identifier("subject.on_behalf_of", &s.on_behalf_of, 256, false)?;
        identifier("subject.owner", &s.owner, 256, false)?;
        if s.groups.len() > 64 {
            return Err(InvalidField::new("subject.groups", "at most 64 groups"));
        }
        for (i, g) in s.groups.iter().enumerate() {
            identifier(&format!("subject.groups[{i}]"), g, 128, true)?;
        }
        identifier("action.name", &self.action.name, 128, true)?;
        identifier("resource.type", &self.resource.kind, 128, true)?;
        identifier("resource.id", &self.resource.id, 512, false)?;
        text("context.intent", &self.context.intent, 4096)?;
        identifier("context.environment", &self.context.environment, 64, false)?;
        identifier("context.request_id", &self.context.request_id, 128, false)?;

        let mut budget = limits.max_values;
        for (field, map) in [
            ("subject.attributes", &s.attributes),
            ("action.params", &self.action.params),
            ("resource.attributes", &self.resource.attributes),
            ("context.attributes", &self.context.attributes),
        ] {
            free_form_map(field, map, 1, limits, &mut budget)?;
        }
        Ok(())
    }
}

impl AuthzRequest {
    /// Puts every identity of the subject (id, on_behalf_of, owner, groups) in its one
    /// canonical form (see [`super::IdentityId`]), so the policy, the binding hash and the
    /// separation-of-duties rules all see one spelling; a field that is not an identity
    /// (invisible or control characters, white space...) is named. Empty fields stay empty for
    /// the caller's identity to fill or for validation to name.
    pub fn canonicalize_identities(&mut self) -> Result<(), InvalidField> {
        let s = &mut self.subject;
        for (field, value) in [
            ("subject.id", &mut s.id),
            ("subject.on_behalf_of", &mut s.on_behalf_of),
            ("subject.owner", &mut s.owner),
        ] {
            canonical(field, value)?;
        }
        for (i, g) in s.groups.iter_mut().enumerate() {
            canonical(&format!("subject.groups[{i}]"), g)?;
        }
        Ok(())
    }
}

/// `value` in canonical form, unless empty.
fn canonical(field: &str, value: &mut String) -> Result<(), InvalidField> {
    if value.is_empty() {
        return Ok(());
    }
    *value = super::canonical_id(value).map_err(|e| InvalidField::new(field, e.to_string()))?;
    Ok(())
}

/// A short printable identifier: no control, invisible or white-space characters, bounded
/// length.
fn identifier(field: &str, value: &str, max: usize, required: bool) -> Result<(), InvalidField> {
    if value.is_empty() {
        return if required {
            Err(InvalidField::new(field, "is required"))
        } else {
            Ok(())
        };
    }
    if value.trim() != value {
        return Err(InvalidField::new(
            field,
            "must not have leading or trailing whitespace",
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(InvalidField::new(field, "must not contain whitespace"));
    }
    text(field, value, max)?;
    if let Some((position, ch, class)) = super::first_forbidden(value) {
        let message = format!(
            "contains a forbidden {class} character U+{:04X} at position {position}",
            u32::from(ch)
        );
        return Err(InvalidField::new(field, message));
    }
    Ok(())
}

/// Free text: bounded, no control characters except newline and tab.
fn text(field: &str, value: &str, max: usize) -> Result<(), InvalidField> {
    if value.len() > max {
        return Err(InvalidField::new(field, format!("longer than {max} bytes")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(InvalidField::new(field, "contains control characters"));
    }
    Ok(())
}

fn free_form_map(
    field: &str,
    map: &Map<String, Value>,
    depth: usize,
    limits: &InputLimits,
    budget: &mut usize,
) -> Result<(), InvalidField> {
    for (key, value) in map {
        let path = format!("{field}.{key}");
        if key.len() > 256 {
            return Err(InvalidField::new(path, "key longer than 256 bytes"));
        }
        free_form(&path, value, depth, limits, budget)?;
    }
    Ok(())
}

fn free_form(
    field: &str,
    value: &Value,
    depth: usize,
    limits: &InputLimits,
    budget: &mut usize,
) -> Result<(), InvalidField> {
    if *budget == 0 {
        return Err(InvalidField::new(
            field,
            format!("request has more than {} values", limits.max_values),
        ));
    }
    *budget -= 1;
    match value {
        Value::String(s) if s.len() > limits.max_string_bytes => Err(InvalidField::new(
            field,
            format!("string longer than {} bytes", limits.max_string_bytes),
        )),
        Value::Object(_) | Value::Array(_) if depth > limits.max_depth => Err(InvalidField::new(
            field,
            format!("nested deeper than {} levels", limits.max_depth),
        )),
        Value::Object(map) => free_form_map(field, map, depth + 1, limits, budget),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
            free_form(&format!("{field}[{i}]"), v, depth + 1, limits, budget)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> AuthzRequest {
        serde_json::from_value(json!({
            "subject": {"id": "agent:a", "kind": "agent"},
            "action": {"name": "data.export", "params": {"rows": 1}},
            "resource": {"type": "dataset", "id": "users"},
        }))
        .unwrap()
    }

    fn field_of(req: &AuthzRequest) -> String {
        req.validate(&InputLimits::default()).unwrap_err().field
    }

    #[test]
    fn a_minimal_request_is_valid() {
        valid().validate(&InputLimits::default()).unwrap();
    }

    #[test]
    fn required_fields_are_named() {
        let mut r = valid();
        r.subject.id.clear();
        assert_eq!(field_of(&r), "subject.id");
        let mut r = valid();
        r.subject.kind = "robot".into();
        assert_eq!(field_of(&r), "subject.kind");
        let mut r = valid();
        r.action.name.clear();
        assert_eq!(field_of(&r), "action.name");
        let mut r = valid();
        r.resource.kind.clear();
        assert_eq!(field_of(&r), "resource.type");
    }

    #[test]
    fn deep_nesting_names_the_deepest_path() {
        let mut v = json!(1);
        for _ in 0..20 {
            v = json!({ "n": v });
        }
        let mut r = valid();
        r.action.params.insert("deep".into(), v);
        let field = field_of(&r);
        assert!(field.starts_with("action.params.deep.n.n"), "{field}");
    }

    #[test]
    fn value_budget_is_shared_across_maps() {
        let limits = InputLimits {
            max_values: 4, // [1, 2] is three values, params.rows one more
            ..InputLimits::default()
        };
        let mut r = valid();
        r.subject.attributes.insert("a".into(), json!([1, 2]));
        r.context.attributes.insert("b".into(), json!(1));
        assert_eq!(
            r.validate(&limits).unwrap_err().field,
            "context.attributes.b"
        );
    }

    #[test]
    fn control_characters_and_oversize_are_rejected() {
        let mut r = valid();
        r.context.intent = "a\u{7}".into();
        assert_eq!(field_of(&r), "context.intent");
        let mut r = valid();
        r.resource.id = "x".repeat(513);
        assert_eq!(field_of(&r), "resource.id");
        let mut r = valid();
        r.subject.groups = vec!["ok".into(), String::new()];
        assert_eq!(field_of(&r), "subject.groups[1]");
    }
}
