//! Redaction before recording: the values at the policy's `mask` paths and at the configured
//! `audit.mask` paths are replaced by [`MASKED`], so secrets in a request never reach the trail.
//!
//! Paths are dotted input paths (`action.params.password`, `subject.attributes.token`), as in
//! the policy contract. A path through an array applies to every element (`action.params.
//! items.secret` masks `secret` in each item), and `*` matches every key at its level, so
//! `context.attributes.*` masks a whole free-form map's values while keeping its keys.

use serde_json::Value;

/// What a masked value becomes.
pub const MASKED: &str = "[masked]";

/// Replaces every value at `paths` in `input` by [`MASKED`]; returns the paths that matched
/// something, sorted and deduplicated (recorded in the event's `detail.masked`). Paths that
/// match nothing are ignored: a policy may mask a field a request does not have.
pub fn mask<'a>(input: &mut Value, paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut masked: Vec<String> = paths
        .into_iter()
        .filter(|path| !path.is_empty())
        .filter(|path| {
            let segments: Vec<&str> = path.split('.').collect();
            mask_at(input, &segments)
        })
        .map(str::to_string)
        .collect();
    masked.sort();
    masked.dedup();
    masked
}

/// Masks `segments` under `value`; true if anything was masked.
fn mask_at(value: &mut Value, segments: &[&str]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        *value = Value::String(MASKED.to_string());
        return true;
    };
    match value {
        Value::Object(map) if *first == "*" => {
            let mut any = false;
            for child in map.values_mut() {
                any |= mask_at(child, rest);
            }
            any
        }
        Value::Object(map) => map
            .get_mut(*first)
            .is_some_and(|child| mask_at(child, rest)),
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                any |= mask_at(item, segments);
            }
            any
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input() -> Value {
        json!({
            "subject": {"id": "agent:a", "attributes": {"token": "t0k3n", "team": "growth"}},
            "action": {"name": "db.connect", "params": {
                "password": "hunter2", "host": "db1",
                "users": [{"name": "a", "secret": "s1"}, {"name": "b", "secret": "s2"}]}},
            "resource": {"type": "db", "id": "x", "attributes": {}},
            "context": {"attributes": {"Authorization": "Bearer x", "ticket": "T-1"}}
        })
    }

    #[test]
    fn masks_values_and_lists_the_paths() {
        let mut v = input();
        let masked = mask(
            &mut v,
            [
                "subject.attributes.token",
                "action.params.password",
                "action.params.password",
            ],
        );
        assert_eq!(
            masked,
            ["action.params.password", "subject.attributes.token"]
        );
        assert_eq!(v["action"]["params"]["password"], MASKED);
        assert_eq!(v["subject"]["attributes"]["token"], MASKED);
        assert_eq!(
            v["subject"]["attributes"]["team"], "growth",
            "siblings untouched"
        );
        assert_eq!(v["action"]["params"]["host"], "db1");
        assert!(!v.to_string().contains("hunter2"));
        assert!(!v.to_string().contains("t0k3n"));
    }

    #[test]
    fn whole_subtrees_arrays_and_wildcards() {
        let mut v = input();
        let masked = mask(
            &mut v,
            [
                "action.params.users.secret",
                "context.attributes.*",
                "resource.attributes.*",
            ],
        );
        assert_eq!(
            masked,
            ["action.params.users.secret", "context.attributes.*"]
        );
        assert_eq!(
            v["action"]["params"]["users"][0],
            json!({"name": "a", "secret": MASKED})
        );
        assert_eq!(v["action"]["params"]["users"][1]["secret"], MASKED);
        assert_eq!(
            v["context"]["attributes"],
            json!({"Authorization": MASKED, "ticket": MASKED})
        );
        let mut v = input();
        assert_eq!(mask(&mut v, ["action.params"]), ["action.params"]);
        assert_eq!(v["action"]["params"], MASKED, "a map masked whole");
    }

    #[test]
    fn paths_that_match_nothing_are_ignored() {
        let mut v = input();
        let before = v.clone();
        let masked = mask(
            &mut v,
            ["action.params.nope", "subject.id.deeper", "", "nowhere"],
        );
        assert!(masked.is_empty());
        assert_eq!(v, before);
    }
}
