//! The policy input for an HTTP request Envoy asks about, in the spirit of OPA's Envoy plugin
//! but in tollgate's subject/action/resource/context shape, so the same policy serves gRPC,
//! AuthZEN and Envoy callers:
//!
//! | Envoy `CheckRequest`                          | tollgate input                          |
//! |-----------------------------------------------|-----------------------------------------|
//! | a verified JWT claim, a trusted header, else the source principal ([`super::subject`]) | `subject.id`; `subject.kind` its prefix (`agent:x` is an agent) |
//! | header `on_behalf_of_header`                  | `subject.on_behalf_of`                  |
//! | `request.http.method`                         | `action.name` = `http.<method, lower case>`, `action.params.method` |
//! | `request.http.path` (before `?`)              | `action.params.path`                    |
//! | the query string                              | `action.params.query` (name -> last value) |
//! | `request.http.body` / `raw_body` (when Envoy sends it) | `action.params.body`: JSON when it parses, else the text |
//! | `request.http.host` + path                    | `resource.type` = `http`, `resource.id` = `host/path` |
//! | `host`, `scheme`, destination principal       | `resource.attributes.{host, scheme, principal}` |
//! | header `intent_header`, `x-request-id`        | `context.intent`, `context.request_id`  |
//! | other headers, source/destination, protocol, context extensions | `context.attributes.{headers, source, destination, protocol, context_extensions}` |
//!
//! Headers never input: `authorization`, `proxy-authorization`, `cookie`, the capability
//! header (which is not input but the capability to redeem), and the headers that change on
//! every attempt (`content-length`, tracing, `x-envoy-*`, `x-forwarded-*`); peer addresses are
//! input without their (ephemeral) ports. The capability binds the whole input as decided
//! (see `docs/security.md`), so a retry must repeat the request exactly. The capability binds subject,
//! action (method, path, query, body) and resource, so a retry must repeat exactly those.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{pb::auth, ExtAuthzConfig};
use crate::domain::{AuthzRequest, InvalidField};

/// Headers that carry secrets and are never policy input.
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Headers that differ on every attempt of the same request (hop-by-hop, tracing, proxy
/// bookkeeping): not input, so a capability minted for a request still binds its retry.
const VOLATILE_HEADERS: [&str; 5] = [
    "content-length",
    "traceparent",
    "tracestate",
    "x-request-start",
    "x-amzn-trace-id",
];
const VOLATILE_PREFIXES: [&str; 3] = ["x-envoy-", "x-forwarded-", "x-b3-"];

/// The policy input for `check`, and the capability it presents, if any.
pub fn to_request(
    check: auth::CheckRequest,
    config: &ExtAuthzConfig,
) -> Result<(AuthzRequest, Option<String>), InvalidField> {
    let attributes = check.attributes.unwrap_or_default();
    let source = attributes.source.unwrap_or_default();
    let destination = attributes.destination.unwrap_or_default();
    let http = attributes
        .request
        .and_then(|r| r.http)
        .ok_or_else(|| InvalidField::new("attributes.request.http", "is required"))?;
    let mut headers: BTreeMap<String, String> = http
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let mut take = |name: &str| {
        headers
            .remove(&name.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let capability = take(&config.capability_header);
    let on_behalf_of = take(&config.on_behalf_of_header);
    let intent = take(&config.intent_header);
    let request_id = take("x-request-id");
    let subject_id = super::subject::subject_of(
        attributes.metadata_context.as_ref(),
        &source.principal,
        &mut headers,
        config,
    )?;
    for name in SECRET_HEADERS.iter().chain(&VOLATILE_HEADERS) {
        headers.remove(*name);
    }
    headers.retain(|name, _| !VOLATILE_PREFIXES.iter().any(|p| name.starts_with(p)));
    let kind = subject_id
        .split_once(':')
        .map(|(k, _)| k.to_string())
        .unwrap_or_default();
    let (path, query) = http
        .path
        .split_once('?')
        .map_or((http.path.as_str(), ""), |(p, q)| (p, q));

    let mut req = AuthzRequest::default();
    req.subject.id = subject_id;
    req.subject.kind = kind;
    req.subject.on_behalf_of = on_behalf_of;
    req.action.name = format!("http.{}", http.method.to_ascii_lowercase());
    let mut params = Map::new();
    params.insert("method".into(), json!(http.method));
    params.insert("path".into(), json!(path));
    if !query.is_empty() {
        let parsed: Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        params.insert("query".into(), Value::Object(parsed));
    }
    if let Some(body) = body(http.body, http.raw_body) {
        params.insert("body".into(), body);
    }
    req.action.params = params;
    req.resource.kind = "http".into();
    req.resource.id = format!("{}{path}", http.host);
    req.resource.attributes = object(json!({
        "host": http.host,
        "scheme": http.scheme,
        "principal": destination.principal,
    }));
    req.context.intent = intent;
    req.context.request_id = request_id;
    req.context.attributes = object(json!({
        "headers": headers,
        "protocol": http.protocol,
        "source": peer(&source),
        "destination": peer(&destination),
        "context_extensions": attributes.context_extensions.into_iter().collect::<BTreeMap<_, _>>(),
    }));
    Ok((req, Some(capability).filter(|c| !c.trim().is_empty())))
}

/// The body as JSON when it parses, else as text; `None` when Envoy sent none.
fn body(text: String, raw: Vec<u8>) -> Option<Value> {
    let text = if text.is_empty() {
        String::from_utf8_lossy(&raw).into_owned()
    } else {
        text
    };
    if text.is_empty() {
        return None;
    }
    Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn peer(p: &auth::attribute_context::Peer) -> Value {
    use super::pb::core::address;
    // The address without its port: a client's ephemeral port changes on every connection,
    // and the capability must still bind a retry from the same client.
    let address = match p.address.as_ref().and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(s)) => s.address.clone(),
        _ => String::new(),
    };
    json!({"principal": p.principal, "address": address})
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)], path: &str, body: &str) -> auth::CheckRequest {
        auth::CheckRequest {
            attributes: Some(auth::AttributeContext {
                source: Some(auth::attribute_context::Peer {
                    principal: "spiffe://example.org/agent".into(),
                    ..Default::default()
                }),
                request: Some(auth::attribute_context::Request {
                    http: Some(auth::attribute_context::HttpRequest {
                        method: "POST".into(),
                        path: path.into(),
                        host: "api.internal".into(),
                        scheme: "http".into(),
                        protocol: "HTTP/1.1".into(),
                        body: body.into(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn an_http_request_becomes_the_documented_input() {
        let (req, capability) = to_request(
            check(
                &[
                    ("x-tollgate-subject", "agent:exporter"),
                    ("x-tollgate-on-behalf-of", "user:alice"),
                    ("x-tollgate-intent", "churn"),
                    ("x-request-id", "r-1"),
                    ("authorization", "Bearer secret"),
                    ("cookie", "s=1"),
                    ("x-tollgate-capability", "v4.public.cap"),
                    ("accept", "application/json"),
                ],
                "/v1/exports?dataset=users&rows=10",
                r#"{"format": "csv"}"#,
            ),
            &behind_an_authenticating_proxy(),
        )
        .unwrap();
        assert_eq!(capability.as_deref(), Some("v4.public.cap"));
        assert_eq!(
            (req.subject.id.as_str(), req.subject.kind.as_str()),
            ("agent:exporter", "agent")
        );
        assert_eq!(req.subject.on_behalf_of, "user:alice");
        assert_eq!(req.action.name, "http.post");
        assert_eq!(
            Value::Object(req.action.params),
            json!({"method": "POST", "path": "/v1/exports",
                   "query": {"dataset": "users", "rows": "10"}, "body": {"format": "csv"}})
        );
        assert_eq!(
            (req.resource.kind.as_str(), req.resource.id.as_str()),
            ("http", "api.internal/v1/exports")
        );
        assert_eq!(
            (req.context.intent.as_str(), req.context.request_id.as_str()),
            ("churn", "r-1")
        );
        assert_eq!(
            req.context.attributes["headers"],
            json!({"accept": "application/json"})
        );
        assert_eq!(
            req.context.attributes["source"]["principal"],
            "spiffe://example.org/agent"
        );
    }

    /// A deployment whose proxy in front sets `x-tollgate-subject` and strips the client's.
    fn behind_an_authenticating_proxy() -> ExtAuthzConfig {
        ExtAuthzConfig {
            subject_header: "x-tollgate-subject".into(),
            ..ExtAuthzConfig::default()
        }
    }

    /// `check` with `jwt_authn`'s verified payload `claims` in its metadata.
    fn with_jwt(mut check: auth::CheckRequest, claims: Value) -> auth::CheckRequest {
        let payload = crate::grpc::convert::to_struct(claims.as_object().unwrap());
        let namespace = prost_types::Struct {
            fields: [(
                "jwt_payload".to_string(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StructValue(payload)),
                },
            )]
            .into(),
        };
        if let Some(a) = check.attributes.as_mut() {
            a.metadata_context = Some(crate::grpc::ext_authz::pb::core::Metadata {
                filter_metadata: [("envoy.filters.http.jwt_authn".to_string(), namespace)].into(),
                ..Default::default()
            });
        }
        check
    }

    #[test]
    fn by_default_a_client_cannot_name_its_subject_in_a_header() {
        let spoofed = check(&[("x-tollgate-subject", "user:admin")], "/", "");
        let (req, _) = to_request(spoofed, &ExtAuthzConfig::default()).unwrap();
        assert_eq!(req.subject.id, "spiffe://example.org/agent");
        // Still visible to the policy, as what it is: a header the client sent.
        assert_eq!(
            req.context.attributes["headers"]["x-tollgate-subject"],
            "user:admin"
        );
    }

    #[test]
    fn a_verified_jwt_claim_names_the_subject_before_any_header_or_principal() {
        let config = ExtAuthzConfig {
            subject_claim: Some(super::super::subject::SubjectClaim::default()),
            ..behind_an_authenticating_proxy()
        };
        let spoofed = check(&[("x-tollgate-subject", "user:admin")], "/", "");
        let (req, _) = to_request(
            with_jwt(spoofed.clone(), json!({"sub": "agent:exporter"})),
            &config,
        )
        .unwrap();
        assert_eq!(req.subject.id, "agent:exporter");
        // No token verified: the next configured source.
        let (req, _) = to_request(spoofed.clone(), &config).unwrap();
        assert_eq!(req.subject.id, "user:admin");
        let err = to_request(with_jwt(spoofed, json!({"sub": 7})), &config).unwrap_err();
        assert_eq!(
            err.field,
            "attributes.metadata_context.envoy.filters.http.jwt_authn.jwt_payload.sub"
        );
    }

    #[test]
    fn a_mapped_source_principal_stands_for_its_subject() {
        let config = ExtAuthzConfig {
            principals: [(
                "spiffe://example.org/agent".to_string(),
                "agent:exporter".to_string(),
            )]
            .into(),
            ..ExtAuthzConfig::default()
        };
        let (req, _) = to_request(check(&[], "/", ""), &config).unwrap();
        assert_eq!(
            (req.subject.id.as_str(), req.subject.kind.as_str()),
            ("agent:exporter", "agent")
        );
    }

    #[test]
    fn the_source_principal_is_the_subject_without_the_header_and_a_text_body_stays_text() {
        let (req, capability) =
            to_request(check(&[], "/ping", "hello"), &ExtAuthzConfig::default()).unwrap();
        assert_eq!(req.subject.id, "spiffe://example.org/agent");
        assert_eq!(req.action.params["body"], "hello");
        assert_eq!(capability, None);
    }

    #[test]
    fn a_request_without_http_attributes_or_subject_names_the_field() {
        let err = to_request(auth::CheckRequest::default(), &ExtAuthzConfig::default());
        assert_eq!(err.unwrap_err().field, "attributes.request.http");
        let mut no_subject = check(&[], "/", "");
        if let Some(a) = no_subject.attributes.as_mut() {
            a.source = None;
        }
        let err = to_request(no_subject.clone(), &ExtAuthzConfig::default()).unwrap_err();
        assert_eq!(err.field, "attributes.source.principal");
        // A header alone is no subject unless the deployment says it is trusted.
        let named = |mut c: auth::CheckRequest| {
            if let Some(http) = c
                .attributes
                .as_mut()
                .and_then(|a| a.request.as_mut())
                .and_then(|r| r.http.as_mut())
            {
                http.headers
                    .insert("x-tollgate-subject".into(), "agent:a".into());
            }
            c
        };
        let err = to_request(named(no_subject.clone()), &ExtAuthzConfig::default()).unwrap_err();
        assert_eq!(err.field, "attributes.source.principal");
        let (req, _) = to_request(named(no_subject), &behind_an_authenticating_proxy()).unwrap();
        assert_eq!(req.subject.id, "agent:a");
    }
}
