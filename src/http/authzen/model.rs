//! The AuthZEN wire shapes and their pure mapping onto tollgate's request and answers.
//!
//! Request (AuthZEN -> policy `input`):
//!
//! | AuthZEN                                   | tollgate input                           |
//! |-------------------------------------------|------------------------------------------|
//! | `subject.type`                            | `subject.kind` (agent, service, pipeline, user) |
//! | `subject.id`                              | `subject.id`, prefixed `type:` unless it already is |
//! | `subject.properties.on_behalf_of`, `owner`, `groups` | `subject.on_behalf_of`, `owner`, `groups` |
//! | other `subject.properties`                | `subject.attributes`                     |
//! | `action.name`, `action.properties`        | `action.name`, `action.params`           |
//! | `resource.type`, `id`, `properties`       | `resource.type`, `id`, `attributes`      |
//! | `context.intent`, `environment`, `request_id` | the same `context` fields            |
//! | `context.capability`                      | not input: a capability to redeem        |
//! | other `context` members                   | `context.attributes`                     |
//!
//! Answers: ALLOW is `decision: true`; DENY and PENDING_APPROVAL are `decision: false`, the
//! latter with `context.access_request` naming the approval and how to wait for it (in the
//! spirit of the AuthZEN access-request profile draft); a presented capability is
//! `decision: true` only for its one valid redemption.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    domain::{AuthzRequest, Effect, InvalidField},
    service::{Answer, Enforced},
};

/// One AuthZEN access evaluation request (also the defaults and the items of an
/// evaluations request). Every member is optional here so a missing one is named.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Evaluation {
    /// The subject.
    pub subject: Option<Entity>,
    /// The action.
    pub action: Option<WireAction>,
    /// The resource.
    pub resource: Option<Entity>,
    /// The context (free-form).
    pub context: Option<Map<String, Value>>,
}

/// A subject or resource.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Entity {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `id`.
    pub id: Option<String>,
    /// `properties`.
    pub properties: Option<Map<String, Value>>,
}

/// An action.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireAction {
    /// `name`.
    pub name: Option<String>,
    /// `properties`.
    pub properties: Option<Map<String, Value>>,
}

/// An access evaluations (boxcar) request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Evaluations {
    /// The top-level members: defaults for every item.
    #[serde(flatten)]
    pub defaults: Evaluation,
    /// The items; absent or empty means a single evaluation of the defaults.
    pub evaluations: Option<Vec<Evaluation>>,
    /// `options`, of which tollgate reads `evaluations_semantic`.
    pub options: Option<Map<String, Value>>,
}

/// How the items of an evaluations request are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// Every item, all answered (the default).
    ExecuteAll,
    /// In order, stopping after the first `decision: false` (like `&&`).
    DenyOnFirstDeny,
    /// In order, stopping after the first `decision: true` (like `||`).
    PermitOnFirstPermit,
}

impl Evaluations {
    /// The requested semantic; an unknown one names the field.
    pub fn semantic(&self) -> Result<Semantic, InvalidField> {
        let Some(v) = self
            .options
            .as_ref()
            .and_then(|o| o.get("evaluations_semantic"))
        else {
            return Ok(Semantic::ExecuteAll);
        };
        match v.as_str() {
            Some("execute_all") => Ok(Semantic::ExecuteAll),
            Some("deny_on_first_deny") => Ok(Semantic::DenyOnFirstDeny),
            Some("permit_on_first_permit") => Ok(Semantic::PermitOnFirstPermit),
            _ => Err(InvalidField::new(
                "options.evaluations_semantic",
                "must be execute_all, deny_on_first_deny or permit_on_first_permit",
            )),
        }
    }

    /// Each item with the top-level defaults filled in (a member an item names replaces the
    /// default whole).
    pub fn items(&self) -> Vec<Evaluation> {
        let d = &self.defaults;
        self.evaluations
            .iter()
            .flatten()
            .map(|e| Evaluation {
                subject: e.subject.clone().or_else(|| d.subject.clone()),
                action: e.action.clone().or_else(|| d.action.clone()),
                resource: e.resource.clone().or_else(|| d.resource.clone()),
                context: e.context.clone().or_else(|| d.context.clone()),
            })
            .collect()
    }
}

/// A request mapped onto tollgate's input, and the capability it presents, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The policy input.
    pub request: AuthzRequest,
    /// `context.capability`: a capability to redeem for this request.
    pub capability: Option<String>,
}

/// Maps one evaluation onto tollgate's request (see the module table); the error names the
/// AuthZEN field.
pub fn to_request(e: Evaluation) -> Result<Mapped, InvalidField> {
    let subject = e
        .subject
        .ok_or_else(|| InvalidField::new("subject", "is required"))?;
    let kind = required("subject.type", subject.kind)?;
    let id = required("subject.id", subject.id)?;
    let action = e
        .action
        .ok_or_else(|| InvalidField::new("action", "is required"))?;
    let resource = e
        .resource
        .ok_or_else(|| InvalidField::new("resource", "is required"))?;
    let mut req = AuthzRequest::default();
    req.subject.id = if id.starts_with(&format!("{kind}:")) {
        id
    } else {
        format!("{kind}:{id}")
    };
    req.subject.kind = kind;
    let mut props = subject.properties.unwrap_or_default();
    req.subject.on_behalf_of = take_string(&mut props, "subject.properties", "on_behalf_of")?;
    req.subject.owner = take_string(&mut props, "subject.properties", "owner")?;
    req.subject.groups = take_groups(&mut props)?;
    req.subject.attributes = props;
    req.action.name = required("action.name", action.name)?;
    req.action.params = action.properties.unwrap_or_default();
    req.resource.kind = required("resource.type", resource.kind)?;
    req.resource.id = required("resource.id", resource.id)?;
    req.resource.attributes = resource.properties.unwrap_or_default();
    let mut context = e.context.unwrap_or_default();
    req.context.intent = take_string(&mut context, "context", "intent")?;
    req.context.environment = take_string(&mut context, "context", "environment")?;
    req.context.request_id = take_string(&mut context, "context", "request_id")?;
    let capability = Some(take_string(&mut context, "context", "capability")?);
    req.context.attributes = context;
    Ok(Mapped {
        request: req,
        capability: capability.filter(|c| !c.is_empty()),
    })
}

fn required(field: &str, v: Option<String>) -> Result<String, InvalidField> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| InvalidField::new(field, "is required"))
}

fn take_string(
    map: &mut Map<String, Value>,
    within: &str,
    key: &str,
) -> Result<String, InvalidField> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(InvalidField::new(
            format!("{within}.{key}"),
            "must be a string",
        )),
    }
}

fn take_groups(props: &mut Map<String, Value>) -> Result<Vec<String>, InvalidField> {
    let bad = || InvalidField::new("subject.properties.groups", "must be an array of strings");
    match props.remove("groups") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|g| match g {
                Value::String(s) => Ok(s),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// A tollgate field path as the AuthZEN request spells it, for error messages.
pub fn authzen_field(field: &str) -> String {
    const RENAMES: [(&str, &str); 10] = [
        ("subject.kind", "subject.type"),
        ("subject.attributes", "subject.properties"),
        ("subject.on_behalf_of", "subject.properties.on_behalf_of"),
        ("subject.owner", "subject.properties.owner"),
        ("subject.groups", "subject.properties.groups"),
        ("action.params", "action.properties"),
        ("resource.attributes", "resource.properties"),
        ("context.attributes", "context"),
        ("request.", ""),
        ("requests", "evaluations"),
    ];
    for (from, to) in RENAMES {
        if let Some(rest) = field.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    field.to_string()
}

/// Where the answers point a PEP: the PDP's public base URL ("" when unknown: paths are
/// then relative).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// e.g. `https://tollgate.example.com`, no trailing slash.
    pub base: String,
}

impl Links {
    /// The console page of approval `id`.
    pub fn approval_page(&self, id: &str) -> String {
        format!("{}/console/approvals/{id}", self.base)
    }
}

/// The AuthZEN Decision for what tollgate answered.
pub fn decision(enforced: &Enforced, links: &Links) -> Value {
    match enforced {
        Enforced::Decision(answer) => answered(answer, links),
        Enforced::Redemption {
            decided,
            redemption,
        } => {
            let mut context = json!({
                "bundle_revision": &*decided.decision.revision,
                "capability_id": redemption.capability_id,
                "redeemed": redemption.allowed,
            });
            if let Some(a) = &redemption.approval_id {
                context["approval_id"] = json!(a);
            }
            if !redemption.allowed {
                context["reason"] = json!(redemption.reason);
            }
            json!({"decision": redemption.allowed, "context": context})
        }
    }
}

fn answered(answer: &Answer, links: &Links) -> Value {
    let d = &answer.decided.decision;
    let v = &d.verdict;
    let mut context = json!({
        "evaluation_id": d.id,
        "evaluated_at": humantime::format_rfc3339_millis(d.decided_at).to_string(),
        "bundle_revision": &*d.revision,
    });
    if !v.risk.is_empty() {
        context["risk"] = json!(v.risk);
    }
    if !v.obligations.is_empty() {
        context["obligations"] = json!(v.obligations);
    }
    match v.effect {
        Effect::Allow => {
            if let Some(c) = &answer.capability {
                context["capability"] = json!({
                    "token": c.token,
                    "expires_at": humantime::format_rfc3339(c.expires_at).to_string(),
                });
            }
        }
        Effect::Deny => {
            context["reason"] = json!(v.reasons.join("; "));
            context["reasons"] = json!(v.reasons);
        }
        Effect::PendingApproval => {
            context["reason"] = json!("approval_required");
            context["reasons"] = json!(v.reasons);
            context["access_request"] = access_request(answer, links);
        }
    }
    json!({"decision": v.effect == Effect::Allow, "context": context})
}

/// The pending approval and how to wait for it and complete the request.
fn access_request(answer: &Answer, links: &Links) -> Value {
    let id = answer.approval_id.as_deref().unwrap_or_default();
    let v = &answer.decided.decision.verdict;
    let expires_in = v.requirements.iter().map(|r| r.ttl.as_secs()).min();
    json!({
        "requestable": true,
        "status": "pending",
        "approval_id": id,
        "expires_in": expires_in,
        "requirements": v.requirements,
        "approval_url": links.approval_page(id),
        "wait": {
            "grpc": "tollgate.v1.Approvals/WaitForDecision",
            "poll": "tollgate.v1.Approvals/GetApproval",
            "approval_id": id,
        },
        "completion": "once approved, the approval carries a single-use capability bound to \
            this request; evaluate the same request again with it in context.capability to \
            redeem it (decision true once)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(v: Value) -> Evaluation {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_specification_request_example_maps_onto_the_input() {
        // Access Evaluation API, "Example Request".
        let m = to_request(eval(json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "resource": {"type": "account", "id": "123"},
            "action": {"name": "can_read", "properties": {"method": "GET"}},
            "context": {"time": "1985-10-26T01:22-07:00"}
        })))
        .unwrap();
        let r = &m.request;
        assert_eq!(
            (r.subject.id.as_str(), r.subject.kind.as_str()),
            ("user:alice@example.com", "user")
        );
        assert_eq!(r.action.name, "can_read");
        assert_eq!(r.action.params["method"], "GET");
        assert_eq!(
            (r.resource.kind.as_str(), r.resource.id.as_str()),
            ("account", "123")
        );
        assert_eq!(r.context.attributes["time"], "1985-10-26T01:22-07:00");
        assert_eq!(m.capability, None);
    }

    #[test]
    fn known_properties_are_lifted_and_the_capability_is_not_input() {
        let m = to_request(eval(json!({
            "subject": {"type": "agent", "id": "agent:exporter", "properties": {
                "on_behalf_of": "user:alice", "owner": "team:growth", "groups": ["exporters"],
                "department": "Sales"}},
            "resource": {"type": "dataset", "id": "users", "properties": {"classification": "pii"}},
            "action": {"name": "data.export"},
            "context": {"intent": "churn", "environment": "prod", "request_id": "r1",
                        "capability": "v4.public.x", "ip": "10.0.0.1"},
            "unknown_member": {"is": "ignored"}
        })))
        .unwrap();
        let r = &m.request;
        assert_eq!(r.subject.id, "agent:exporter");
        assert_eq!(r.subject.on_behalf_of, "user:alice");
        assert_eq!(r.subject.owner, "team:growth");
        assert_eq!(r.subject.groups, ["exporters"]);
        assert_eq!(
            r.subject.attributes,
            *json!({"department": "Sales"}).as_object().unwrap()
        );
        assert_eq!(r.resource.attributes["classification"], "pii");
        assert_eq!(
            (
                r.context.intent.as_str(),
                r.context.environment.as_str(),
                r.context.request_id.as_str()
            ),
            ("churn", "prod", "r1")
        );
        assert_eq!(
            r.context.attributes,
            *json!({"ip": "10.0.0.1"}).as_object().unwrap()
        );
        assert_eq!(m.capability.as_deref(), Some("v4.public.x"));
    }

    #[test]
    fn every_missing_required_member_is_named() {
        let full = json!({
            "subject": {"type": "user", "id": "alice"},
            "resource": {"type": "doc", "id": "1"},
            "action": {"name": "read"}
        });
        for (path, field) in [
            ("/subject", "subject"),
            ("/subject/type", "subject.type"),
            ("/subject/id", "subject.id"),
            ("/action", "action"),
            ("/action/name", "action.name"),
            ("/resource", "resource"),
            ("/resource/type", "resource.type"),
            ("/resource/id", "resource.id"),
        ] {
            let mut v = full.clone();
            let (parent, key) = path.rsplit_once('/').unwrap();
            v.pointer_mut(if parent.is_empty() { "" } else { parent })
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(key);
            let err = to_request(eval(v)).unwrap_err();
            assert_eq!(err.field, field);
        }
        let mut v = full.clone();
        v["subject"]["properties"] = json!({"groups": "admins"});
        assert_eq!(
            to_request(eval(v)).unwrap_err().field,
            "subject.properties.groups"
        );
    }

    #[test]
    fn items_take_the_defaults_they_do_not_override() {
        // Access Evaluations API, the default-values example with an overridden action.
        let e: Evaluations = serde_json::from_value(json!({
            "subject": {"type": "user", "id": "alice@example.com"},
            "context": {"time": "2024-05-31T15:22-07:00"},
            "action": {"name": "can_read"},
            "evaluations": [
                {"resource": {"type": "document", "id": "boxcarring.md"}},
                {"resource": {"type": "document", "id": "subject-search.md"}},
                {"action": {"name": "can_edit"}, "resource": {"type": "document", "id": "resource-search.md"}}
            ]
        }))
        .unwrap();
        assert_eq!(e.semantic().unwrap(), Semantic::ExecuteAll);
        let items: Vec<_> = e
            .items()
            .into_iter()
            .map(|i| to_request(i).unwrap().request)
            .collect();
        let names: Vec<_> = items.iter().map(|r| r.action.name.as_str()).collect();
        assert_eq!(names, ["can_read", "can_read", "can_edit"]);
        assert!(items
            .iter()
            .all(|r| r.subject.id == "user:alice@example.com"));
        assert!(items
            .iter()
            .all(|r| r.context.attributes.contains_key("time")));
    }

    #[test]
    fn semantics_parse_and_an_unknown_one_is_named() {
        for (s, want) in [
            ("execute_all", Semantic::ExecuteAll),
            ("deny_on_first_deny", Semantic::DenyOnFirstDeny),
            ("permit_on_first_permit", Semantic::PermitOnFirstPermit),
        ] {
            let e: Evaluations =
                serde_json::from_value(json!({"options": {"evaluations_semantic": s}})).unwrap();
            assert_eq!(e.semantic().unwrap(), want);
        }
        let e: Evaluations =
            serde_json::from_value(json!({"options": {"evaluations_semantic": "any"}})).unwrap();
        assert_eq!(
            e.semantic().unwrap_err().field,
            "options.evaluations_semantic"
        );
    }

    #[test]
    fn field_paths_are_spelled_as_authzen_spells_them() {
        assert_eq!(authzen_field("subject.kind"), "subject.type");
        assert_eq!(
            authzen_field("subject.groups[2]"),
            "subject.properties.groups[2]"
        );
        assert_eq!(
            authzen_field("action.params.rows"),
            "action.properties.rows"
        );
        assert_eq!(authzen_field("context.attributes.ip"), "context.ip");
        assert_eq!(authzen_field("resource.type"), "resource.type");
    }
}
