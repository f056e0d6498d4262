//! What a capability is bound to: everything the decision saw, the bundle that decided and the
//! approval that granted it, so that any change to any of them voids it.
//!
//! # The binding, precisely
//!
//! `binding = hex(SHA-256(JCS(document)))` where JCS is the JSON Canonicalization Scheme (RFC
//! 8785, the construction the OpenID AuthZEN access-request draft uses for its binding hash)
//! and `document` is
//!
//! ~~~json
//! {"approval": "<approval id>" | null,
//!  "bundle":   "<digest of the bundle that decided>",
//!  "input":    {"subject":  {"id", "kind", "on_behalf_of", "owner", "groups", "attributes"},
//!               "action":   {"name", "params"},
//!               "resource": {"type", "id", "attributes"},
//!               "context":  {"intent", "environment", "attributes"}}}
//! ~~~
//!
//! `input` is the policy's input as decided (identities in canonical form, the subject bound to
//! the verified caller) without `context.request_id`, the client's idempotency key. Groups are
//! sorted and deduplicated (they are a set to the policy). Numbers keep the form the request
//! gave them (whole numbers are integers). Anyone holding the request, the bundle digest and
//! the approval id can recompute it with any RFC 8785 implementation.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::request::AuthzRequest;

impl AuthzRequest {
    /// The `input` part of the binding: the request as the policy saw it, without the
    /// idempotency key.
    pub fn bound_input(&self) -> Value {
        let s = &self.subject;
        let mut groups = s.groups.clone();
        groups.sort();
        groups.dedup();
        json!({
            "subject": {
                "id": s.id, "kind": s.kind, "on_behalf_of": s.on_behalf_of,
                "owner": s.owner, "groups": groups, "attributes": s.attributes,
            },
            "action": {"name": self.action.name, "params": self.action.params},
            "resource": {
                "type": self.resource.kind, "id": self.resource.id,
                "attributes": self.resource.attributes,
            },
            "context": {
                "intent": self.context.intent, "environment": self.context.environment,
                "attributes": self.context.attributes,
            },
        })
    }

    /// SHA-256 (hex) of the JCS form of [`Self::bound_input`]: equal requests hash equally
    /// whatever order the caller wrote them in. An approval's `request_hash`: what an
    /// idempotency key is compared by, and what a narrowing replaces.
    pub fn request_hash(&self) -> String {
        self.bound().request_hash()
    }

    /// The capability binding of this request decided by bundle `bundle_digest` under
    /// approval `approval_id` (`None` for an ALLOW's capability); see the module docs.
    pub fn binding_hash(&self, bundle_digest: &str, approval_id: Option<&str>) -> String {
        self.bound().binding_hash(bundle_digest, approval_id)
    }

    /// The canonical form of [`Self::bound_input`], made once for both hashes: minting a
    /// capability needs the binding, and its audit record the request hash.
    pub fn bound(&self) -> Bound<'_> {
        Bound {
            request: self,
            input: canonical(&self.bound_input()),
        }
    }
}

/// A request with its bound input in RFC 8785 form ([`AuthzRequest::bound`]).
#[derive(Debug)]
pub struct Bound<'a> {
    request: &'a AuthzRequest,
    input: Vec<u8>,
}

impl Bound<'_> {
    /// The request.
    pub fn request(&self) -> &AuthzRequest {
        self.request
    }

    /// [`AuthzRequest::request_hash`].
    pub fn request_hash(&self) -> String {
        hex::encode(Sha256::digest(&self.input))
    }

    /// [`AuthzRequest::binding_hash`]. The document's JCS form is written around the input's:
    /// RFC 8785 writes an object's members in key order (`approval` < `bundle` < `input`),
    /// each value in its own canonical form, with nothing between them but `:` and `,`.
    pub fn binding_hash(&self, bundle_digest: &str, approval_id: Option<&str>) -> String {
        let approval = canonical(&json!(approval_id));
        let bundle = canonical(&json!(bundle_digest));
        let mut hash = Sha256::new();
        for part in [
            b"{\"approval\":".as_slice(),
            &approval,
            b",\"bundle\":",
            &bundle,
            b",\"input\":",
            &self.input,
            b"}",
        ] {
            hash.update(part);
        }
        hex::encode(hash.finalize())
    }
}

/// The RFC 8785 form of `v`.
///
/// serde_json's compact form already is that form, byte for byte, when every number is an
/// integer a double holds exactly (JCS writes numbers as ECMAScript doubles, and those print
/// as their digits) and no object key holds a character beyond the Basic Multilingual Plane
/// (JCS sorts keys by UTF-16 code units, serde_json's map by code point: the two orders
/// differ only between such a character and U+E000..U+FFFF); serde_json escapes strings as
/// JCS does. Such values, which every request with whole-number parameters and plain keys
/// is, take that path (the crate re-parses every key and buffers every value); every other
/// value takes the crate. `canonical_is_the_jcs_crates_form` holds the two equal.
fn canonical(v: &Value) -> Vec<u8> {
    let bytes = if serde_json_writes_jcs(v) {
        serde_json::to_vec(v)
    } else {
        serde_json_canonicalizer::to_vec(v)
    };
    // A `Value` always serialises; an error would mean a non-finite float, which the gRPC
    // edge refuses and serde_json cannot hold, so the empty input hashes instead.
    bytes.unwrap_or_default()
}

/// The largest integer up to which every integer is a double: 2^53.
const EXACT_IN_A_DOUBLE: u64 = 1 << 53;

/// Whether serde_json's compact form of `v` is its RFC 8785 form ([`canonical`]).
fn serde_json_writes_jcs(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u <= EXACT_IN_A_DOUBLE,
            (None, Some(i)) => i.unsigned_abs() <= EXACT_IN_A_DOUBLE,
            (None, None) => false,
        },
        Value::Array(items) => items.iter().all(serde_json_writes_jcs),
        Value::Object(map) => map.iter().all(|(key, value)| {
            key.chars().all(|c| u32::from(c) <= 0xFFFF) && serde_json_writes_jcs(value)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(params: Value) -> AuthzRequest {
        serde_json::from_value(json!({
            "subject": {"id": "agent:a", "kind": "agent", "on_behalf_of": "user:alice",
                        "owner": "team:t", "groups": ["b", "a"], "attributes": {"tier": 1}},
            "action": {"name": "data.export", "params": params},
            "resource": {"type": "dataset", "id": "users", "attributes": {"classification": "pii"}},
            "context": {"intent": "x", "environment": "prod", "request_id": "r1",
                        "attributes": {"ticket": "T-1"}}
        }))
        .unwrap()
    }

    #[test]
    fn key_order_group_order_and_the_idempotency_key_do_not_matter() {
        let a = req(json!({"rows": 10, "dest": "s3://x"}));
        let mut b = req(json!({"dest": "s3://x", "rows": 10}));
        b.subject.groups = vec!["a".into(), "b".into(), "a".into()];
        b.context.request_id = "r2".into();
        assert_eq!(a.request_hash(), b.request_hash());
        assert_eq!(
            a.binding_hash("sha256:d", Some("ap")),
            b.binding_hash("sha256:d", Some("ap"))
        );
    }

    #[test]
    fn everything_the_decision_saw_is_bound() {
        let a = req(json!({"rows": 10}));
        let base = a.binding_hash("sha256:d", Some("ap"));
        let mut changed: Vec<(&str, AuthzRequest)> = Vec::new();
        let mut push = |what, edit: &dyn Fn(&mut AuthzRequest)| {
            let mut c = a.clone();
            edit(&mut c);
            changed.push((what, c));
        };
        push("params", &|c| {
            c.action
                .params
                .insert("rows".into(), json!(11))
                .map(drop)
                .unwrap_or(())
        });
        push("subject.id", &|c| c.subject.id = "agent:b".into());
        push("subject.kind", &|c| c.subject.kind = "service".into());
        push("on_behalf_of", &|c| {
            c.subject.on_behalf_of = "user:bob".into()
        });
        push("owner", &|c| c.subject.owner = "team:u".into());
        push("groups", &|c| c.subject.groups.push("c".into()));
        push("subject.attributes", &|c| {
            c.subject
                .attributes
                .insert("tier".into(), json!(2))
                .map(drop)
                .unwrap_or(())
        });
        push("action", &|c| c.action.name = "data.delete".into());
        push("resource.id", &|c| c.resource.id = "orders".into());
        push("resource.type", &|c| c.resource.kind = "table".into());
        push("resource.attributes", &|c| {
            c.resource
                .attributes
                .insert("classification".into(), json!("internal"))
                .map(drop)
                .unwrap_or(())
        });
        push("environment", &|c| c.context.environment = "dev".into());
        push("intent", &|c| c.context.intent = "y".into());
        push("context.attributes", &|c| {
            c.context
                .attributes
                .insert("ticket".into(), json!("T-2"))
                .map(drop)
                .unwrap_or(())
        });
        for (what, c) in changed {
            assert_ne!(c.binding_hash("sha256:d", Some("ap")), base, "{what}");
        }
        assert_ne!(a.binding_hash("sha256:e", Some("ap")), base, "bundle");
        assert_ne!(a.binding_hash("sha256:d", Some("other")), base, "approval");
        assert_ne!(a.binding_hash("sha256:d", None), base, "no approval");
    }

    /// The binding as the module docs define it: one canonicalisation of the whole document.
    fn binding_by_definition(r: &AuthzRequest, bundle: &str, approval: Option<&str>) -> String {
        let doc = json!({"approval": approval, "bundle": bundle, "input": r.bound_input()});
        hex::encode(Sha256::digest(canonical(&doc)))
    }

    #[test]
    fn the_binding_written_around_the_input_is_the_documents_canonical_form() {
        let r = req(json!({"rows": 10, "dest": "s3://x", "\u{1F600}": [1.5, "\u{e000}"]}));
        for (bundle, approval) in [
            ("sha256:d", None),
            ("sha256:d", Some("ap")),
            ("", Some("")),
            (
                "quote \" back \\ tab \t nul \u{0}",
                Some("\u{1F600}\u{e000}é"),
            ),
        ] {
            assert_eq!(
                r.binding_hash(bundle, approval),
                binding_by_definition(&r, bundle, approval),
                "{bundle:?} {approval:?}"
            );
        }
        assert_eq!(
            r.request_hash(),
            hex::encode(Sha256::digest(canonical(&r.bound_input())))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_binding_is_the_documents_canonical_form(
            bundle in ".*",
            approval in proptest::option::of(".*"),
            key in ".*",
            value in ".*",
        ) {
            let r = req(json!({ key: value }));
            proptest::prop_assert_eq!(
                r.binding_hash(&bundle, approval.as_deref()),
                binding_by_definition(&r, &bundle, approval.as_deref())
            );
        }
    }

    /// The two places serde_json's compact form is not RFC 8785's: keys beyond the Basic
    /// Multilingual Plane beside keys in U+E000..U+FFFF (ordered differently) and integers a
    /// double cannot hold (JCS rounds them). `canonical` must give the JCS form there too.
    #[test]
    fn where_serde_json_is_not_jcs_canonical_is_jcs() {
        let jcs = |v: &Value| serde_json_canonicalizer::to_vec(v).unwrap();
        let keys = json!({"\u{e000}": 1, "\u{1F600}": 2});
        let beyond = json!({"rows": EXACT_IN_A_DOUBLE + 1, "back": -(1_i64 << 53) - 1});
        for v in [keys, beyond] {
            assert_ne!(serde_json::to_vec(&v).unwrap(), jcs(&v), "{v}");
            assert_eq!(canonical(&v), jcs(&v), "{v}");
        }
        // The fast path leans on serde_json's map being sorted: a dependency that turned on
        // serde_json's `preserve_order` would write keys in insertion order.
        let written_unsorted = json!({"b": 1, "a": {"d": 1, "c": 2}});
        assert!(serde_json_writes_jcs(&written_unsorted));
        assert_eq!(
            canonical(&written_unsorted),
            br#"{"a":{"c":2,"d":1},"b":1}"#
        );
        let edge = json!({"max": EXACT_IN_A_DOUBLE, "min": -(1_i64 << 53), "bmp": {"\u{ffff}": 0}});
        assert!(serde_json_writes_jcs(&edge));
        assert_eq!(serde_json::to_vec(&edge).unwrap(), jcs(&edge));
    }

    /// Any JSON value: strings over control characters, quotes, backslashes, U+007F, U+2028,
    /// U+E000..U+FFFF and beyond the BMP, keys over a few of those; integers of any size;
    /// fractions.
    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let text = "[\\x00-\\x1f\"\\\\a-z\\x7f\u{e9}\u{2028}\u{e000}\u{fffd}\u{ffff}\u{10000}\u{1F600}]{0,6}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-(1_i64 << 54)..(1_i64 << 54)).prop_map(Value::from),
            (-1e6_f64..1e6).prop_map(Value::from),
            text.prop_map(Value::from),
        ];
        // Keys from few characters, so that an object's keys often differ first where one
        // holds U+E000..U+FFFF and another a character beyond the BMP.
        let key = "[a\\x00\"\u{e000}\u{ffff}\u{10000}\u{1F600}]{0,3}";
        leaf.prop_recursive(3, 32, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn canonical_is_the_jcs_crates_form(v in any_value()) {
            proptest::prop_assert_eq!(
                canonical(&v),
                serde_json_canonicalizer::to_vec(&v).unwrap()
            );
        }
    }

    #[test]
    fn the_document_is_rfc_8785() {
        // Keys sorted by UTF-16 code units, no whitespace, integers as integers.
        let v = json!({"b": 1, "a": [true, null, "é"], "c": {"z": 1.5, "y": 10}});
        let jcs = String::from_utf8(serde_json_canonicalizer::to_vec(&v).unwrap()).unwrap();
        assert_eq!(jcs, r#"{"a":[true,null,"é"],"b":1,"c":{"y":10,"z":1.5}}"#);
    }
}
