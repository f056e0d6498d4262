//! The request binding: what a capability is bound to, so that any change to who, what or
//! on which resource voids it.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::request::AuthzRequest;

impl AuthzRequest {
    /// SHA-256 (hex) of the canonical JSON of subject id and on-behalf-of, action name and
    /// params, resource type and id. Intent, environment, attributes and the idempotency key
    /// are context, not the action, and are not part of the binding.
    ///
    /// Canonical: object keys are sorted (serde_json's map is ordered), whole numbers are
    /// integers (the gRPC edge converts them), so equal requests hash equally whatever order
    /// the caller wrote them in.
    pub fn binding_hash(&self) -> String {
        let canonical = json!({
            "subject": {"id": self.subject.id, "on_behalf_of": self.subject.on_behalf_of},
            "action": {"name": self.action.name, "params": self.action.params},
            "resource": {"type": self.resource.kind, "id": self.resource.id},
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(params: serde_json::Value) -> AuthzRequest {
        serde_json::from_value(json!({
            "subject": {"id": "agent:a", "kind": "agent", "on_behalf_of": "user:alice"},
            "action": {"name": "data.export", "params": params},
            "resource": {"type": "dataset", "id": "users"},
            "context": {"intent": "x", "request_id": "r1"}
        }))
        .unwrap()
    }

    #[test]
    fn key_order_does_not_matter_but_every_bound_field_does() {
        let a = req(json!({"rows": 10, "dest": "s3://x"}));
        let b: AuthzRequest = serde_json::from_str(
            r#"{"action": {"params": {"dest": "s3://x", "rows": 10}, "name": "data.export"},
                "resource": {"id": "users", "type": "dataset"},
                "subject": {"on_behalf_of": "user:alice", "kind": "agent", "id": "agent:a"},
                "context": {"intent": "other intent", "request_id": "r2"}}"#,
        )
        .unwrap();
        assert_eq!(a.binding_hash(), b.binding_hash());

        let base = a.binding_hash();
        let mut changed = vec![req(json!({"rows": 11, "dest": "s3://x"}))];
        let mut c = a.clone();
        c.subject.id = "agent:b".into();
        changed.push(c);
        let mut c = a.clone();
        c.subject.on_behalf_of = "user:bob".into();
        changed.push(c);
        let mut c = a.clone();
        c.action.name = "data.delete".into();
        changed.push(c);
        let mut c = a.clone();
        c.resource.id = "orders".into();
        changed.push(c);
        let mut c = a.clone();
        c.resource.kind = "table".into();
        changed.push(c);
        for c in changed {
            assert_ne!(c.binding_hash(), base, "{c:?}");
        }
    }
}
