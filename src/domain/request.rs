//! The authorization request, shaped exactly like the policy's `input`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One authorization question. Serialises to the policy `input` document, so a field added
/// here is visible to policies under the same name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzRequest {
    /// Who wants to act.
    #[serde(default)]
    pub subject: Subject,
    /// What they want to do.
    #[serde(default)]
    pub action: Action,
    /// What it is done to.
    #[serde(default)]
    pub resource: Resource,
    /// Why and where.
    #[serde(default)]
    pub context: Context,
}

/// The acting identity. `id` is the verified caller once identity checks have run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Stable identifier, e.g. `agent:billing-exporter`.
    #[serde(default)]
    pub id: String,
    /// `agent`, `service`, `pipeline` or `user`.
    #[serde(default)]
    pub kind: String,
    /// The human an agent acts for; never allowed to approve for it.
    #[serde(default)]
    pub on_behalf_of: String,
    /// The accountable owner, e.g. `team:growth`.
    #[serde(default)]
    pub owner: String,
    /// Group memberships.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Free-form attributes.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// The privileged operation and its exact parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Dotted name, e.g. `data.export`.
    #[serde(default)]
    pub name: String,
    /// Parameters of this invocation.
    #[serde(default)]
    pub params: Map<String, Value>,
}

/// The target of the action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Resource type, e.g. `dataset`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Resource identifier.
    #[serde(default)]
    pub id: String,
    /// Free-form attributes such as a data classification.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// Intent, environment and idempotency key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Human-readable purpose shown to reviewers.
    #[serde(default)]
    pub intent: String,
    /// Deployment environment, e.g. `prod`.
    #[serde(default)]
    pub environment: String,
    /// Client-chosen idempotency key.
    #[serde(default)]
    pub request_id: String,
    /// Free-form context.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}
