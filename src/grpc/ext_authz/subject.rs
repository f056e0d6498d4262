//! Whom an Envoy request is decided for. Only what something verified may name the subject:
//!
//! 1. `subject_claim`: a claim of a JWT that Envoy's `jwt_authn` filter verified and put in the
//!    request's dynamic metadata (`payload_in_metadata`), which the ext_authz filter forwards
//!    (`metadata_context_namespaces`). The client cannot write dynamic metadata.
//! 2. `subject_header`: a request header, off by default, for deployments where a layer in
//!    front authenticates the client, sets the header and strips the client's own. Enabled
//!    without such a layer, any client could name any subject.
//! 3. The source's principal (Envoy's verified peer identity, e.g. the SPIFFE id of a client
//!    certificate), through `principals` when it maps it, else as it is.
//!
//! The first that is configured and present wins; with none, the request is refused.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use serde::{Deserialize, Serialize};

use super::{pb::core::Metadata, ExtAuthzConfig};
use crate::domain::InvalidField;

/// Where a verified JWT claim naming the subject sits in the check's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubjectClaim {
    /// The metadata namespace (the `jwt_authn` filter's name).
    pub namespace: String,
    /// The key `jwt_authn` stores the verified payload under (its `payload_in_metadata`).
    pub payload: String,
    /// The claim holding the subject id.
    pub claim: String,
}

impl Default for SubjectClaim {
    fn default() -> Self {
        Self {
            namespace: "envoy.filters.http.jwt_authn".into(),
            payload: "jwt_payload".into(),
            claim: "sub".into(),
        }
    }
}

impl SubjectClaim {
    /// The claim's dotted path in the check, for errors.
    fn path(&self) -> String {
        format!(
            "attributes.metadata_context.{}.{}.{}",
            self.namespace, self.payload, self.claim
        )
    }

    /// The claim, if the metadata holds it; an error if it is there but not a string.
    fn read(&self, metadata: Option<&Metadata>) -> Result<Option<String>, InvalidField> {
        let claim = metadata
            .and_then(|m| m.filter_metadata.get(&self.namespace))
            .and_then(|ns| ns.fields.get(&self.payload))
            .and_then(|payload| match &payload.kind {
                Some(Kind::StructValue(claims)) => claims.fields.get(&self.claim),
                _ => None,
            });
        match claim.map(|c| &c.kind) {
            None => Ok(None),
            Some(Some(Kind::StringValue(s))) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(InvalidField::new(self.path(), "must be a non-empty string")),
        }
    }
}

/// The subject of a request with the check's `metadata` (its `metadata_context`), from the
/// verified `principal` of its source; `headers` (lower-case names) lose the subject header,
/// which is never policy input.
pub fn subject_of(
    metadata: Option<&Metadata>,
    principal: &str,
    headers: &mut BTreeMap<String, String>,
    config: &ExtAuthzConfig,
) -> Result<String, InvalidField> {
    let header = Some(config.subject_header.to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .and_then(|name| headers.remove(&name))
        .filter(|v| !v.is_empty());
    if let Some(claim) = &config.subject_claim {
        if let Some(subject) = claim.read(metadata)? {
            return Ok(subject);
        }
    }
    if let Some(subject) = header {
        return Ok(subject);
    }
    if principal.is_empty() {
        return Err(InvalidField::new(
            "attributes.source.principal",
            "is required: no verified subject (configure ext_authz.subject_claim for a JWT \
             Envoy verified, or present a client certificate)",
        ));
    }
    Ok(config
        .principals
        .get(principal)
        .cloned()
        .unwrap_or_else(|| principal.to_string()))
}
