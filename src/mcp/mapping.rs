//! How a `tools/call` becomes an `Authorize` request: the tool name (with a prefix) is the
//! action, the arguments are its params, the agent the gateway speaks for is the subject, and
//! a small YAML mapping names the resource and the context. The idempotency key is a digest
//! of everything that identifies the call, so the same call maps to the same approval and a
//! client that gave up waiting resumes it by calling again; once that approval is used up,
//! the gateway asks under the key's next generation, so an identical later call gets a new
//! approval (see [`with_generation`]).

use std::{collections::BTreeMap, path::Path};

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::McpError;
use crate::grpc::{convert::to_struct, pb};

/// The `_meta` keys a client may state its intent under (the prefixed one first).
pub const INTENT_META_KEYS: [&str; 2] = ["tollgate/intent", "intent"];

/// The mapping file (`--mapping`): how tool calls read to the policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mapping {
    /// Prepended to the tool name to form the action (default `mcp.`).
    pub action_prefix: Option<String>,
    /// The resource of a tool without its own entry (default type `mcp.tool`, id the tool).
    pub resource: ResourceMapping,
    /// Context every call carries.
    pub context: ContextMapping,
    /// Per-tool resources, by tool name.
    pub tools: BTreeMap<String, ResourceMapping>,
}

/// Where a call's resource comes from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceMapping {
    /// The resource type (default `mcp.tool`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A fixed resource id.
    pub id: Option<String>,
    /// The argument whose (string or number) value is the resource id; wins over `id`.
    pub id_argument: Option<String>,
    /// Fixed resource attributes.
    pub attributes: Map<String, Json>,
}

/// Context every call carries.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextMapping {
    /// The deployment environment, e.g. `prod`.
    pub environment: String,
    /// Fixed context attributes (`input.context.attributes`).
    pub attributes: Map<String, Json>,
}

/// The agent the gateway speaks for (flags, never the MCP client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The subject id, e.g. `agent:billing-exporter`.
    pub id: String,
    /// Its kind, e.g. `agent`.
    pub kind: String,
    /// Who is accountable for it.
    pub owner: String,
    /// The human it acts for.
    pub on_behalf_of: String,
}

impl Mapping {
    /// Reads the YAML file at `path`.
    pub fn load(path: &Path) -> Result<Self, McpError> {
        let text = std::fs::read_to_string(path).map_err(|e| McpError::Mapping {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        yaml_serde::from_str(&text).map_err(|e| McpError::Mapping {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// The action a tool is asked as.
    pub fn action(&self, tool: &str) -> String {
        format!("{}{tool}", self.action_prefix.as_deref().unwrap_or("mcp."))
    }

    /// The `Authorize` request for `agent` calling `tool` with `args`, stating `intent`.
    pub fn request(
        &self,
        agent: &Agent,
        tool: &str,
        args: &Map<String, Json>,
        intent: &str,
    ) -> pb::AuthorizeRequest {
        let resource = self.tools.get(tool).unwrap_or(&self.resource);
        let id = resource
            .id_argument
            .as_ref()
            .and_then(|a| args.get(a))
            .and_then(|v| match v {
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .or_else(|| resource.id.clone())
            .unwrap_or_else(|| tool.to_string());
        pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                id: agent.id.clone(),
                kind: agent.kind.clone(),
                on_behalf_of: agent.on_behalf_of.clone(),
                owner: agent.owner.clone(),
                groups: Vec::new(),
                attributes: None,
            }),
            action: Some(pb::Action {
                name: self.action(tool),
                params: Some(to_struct(args)),
            }),
            resource: Some(pb::Resource {
                r#type: resource.kind.clone().unwrap_or_else(|| "mcp.tool".into()),
                id,
                attributes: Some(to_struct(&resource.attributes)),
            }),
            context: Some(pb::Context {
                intent: intent.to_string(),
                environment: self.context.environment.clone(),
                request_id: idempotency_key(agent, tool, args, intent),
                attributes: Some(to_struct(&self.context.attributes)),
            }),
        }
    }
}

/// The idempotency key of a call: a SHA-256 over subject, tool, arguments (serde_json keeps
/// object keys sorted, so equal arguments digest equally) and intent. The intent is part of
/// it because the approval binds it: the same call with another intent is another request.
pub fn idempotency_key(
    agent: &Agent,
    tool: &str,
    args: &Map<String, Json>,
    intent: &str,
) -> String {
    let identity = serde_json::json!({
        "subject": agent.id, "kind": agent.kind, "tool": tool, "arguments": args, "intent": intent,
    });
    let digest = Sha256::digest(identity.to_string().as_bytes());
    format!("mcp-{}", hex::encode(digest))
}

/// `req` asked under generation `generation` of its idempotency key: generation 0 is the key
/// itself, generation `n` the key with `-n` appended (a new approval request, as tollgate
/// answers a key with its one approval whatever became of it).
pub fn with_generation(mut req: pb::AuthorizeRequest, generation: u32) -> pb::AuthorizeRequest {
    if generation > 0 {
        if let Some(context) = req.context.as_mut() {
            context.request_id = format!("{}-{generation}", context.request_id);
        }
    }
    req
}

/// The intent a client stated in the call's `_meta`, if any.
pub fn intent(meta: &Map<String, Json>) -> String {
    INTENT_META_KEYS
        .iter()
        .find_map(|k| meta.get(*k).and_then(Json::as_str))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Agent {
        Agent {
            id: "agent:a".into(),
            kind: "agent".into(),
            owner: "team:t".into(),
            on_behalf_of: String::new(),
        }
    }

    fn args(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_same_call_has_the_same_key_and_any_change_another() {
        let a = args(serde_json::json!({"table": "users", "rows": 5}));
        let b = args(serde_json::json!({"rows": 5, "table": "users"}));
        let key = idempotency_key(&agent(), "export", &a, "");
        assert_eq!(key, idempotency_key(&agent(), "export", &b, ""));
        let c = args(serde_json::json!({"table": "users", "rows": 6}));
        assert_ne!(key, idempotency_key(&agent(), "export", &c, ""));
        assert_ne!(key, idempotency_key(&agent(), "delete", &a, ""));
        assert_ne!(key, idempotency_key(&agent(), "export", &a, "why"));
        assert!(key.len() <= 128, "fits context.request_id");
    }

    #[test]
    fn the_mapping_names_resource_and_context() {
        let m: Mapping = yaml_serde::from_str(
            "action_prefix: tools.\ncontext: {environment: prod}\n\
             tools: {export: {type: dataset, id_argument: table}}\n",
        )
        .unwrap();
        let r = m.request(
            &agent(),
            "export",
            &args(serde_json::json!({"table": "users"})),
            "churn",
        );
        assert_eq!(r.action.unwrap().name, "tools.export");
        let res = r.resource.unwrap();
        assert_eq!((res.r#type.as_str(), res.id.as_str()), ("dataset", "users"));
        let ctx = r.context.unwrap();
        assert_eq!(
            (ctx.environment.as_str(), ctx.intent.as_str()),
            ("prod", "churn")
        );
        let other = m.request(&agent(), "echo", &Map::new(), "");
        let res = other.resource.unwrap();
        assert_eq!((res.r#type.as_str(), res.id.as_str()), ("mcp.tool", "echo"));
    }

    #[test]
    fn a_later_generation_is_another_key_and_the_first_is_the_key() {
        let req = Mapping::default().request(&agent(), "export", &Map::new(), "");
        let key = req.context.clone().unwrap().request_id;
        let first = with_generation(req.clone(), 0).context.unwrap().request_id;
        let next = with_generation(req.clone(), 1).context.unwrap().request_id;
        let after = with_generation(req, 2).context.unwrap().request_id;
        assert_eq!(first, key);
        assert_eq!(next, format!("{key}-1"));
        assert_ne!(after, next);
        assert!(after.len() <= 128, "fits context.request_id");
    }

    #[test]
    fn intent_comes_from_meta() {
        let meta = args(serde_json::json!({"tollgate/intent": "why", "intent": "other"}));
        assert_eq!(intent(&meta), "why");
        assert_eq!(intent(&Map::new()), "");
    }
}
