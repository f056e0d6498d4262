//! Envoy's external authorization API (`envoy.service.auth.v3.Authorization/Check`) on the
//! gRPC port, built from Envoy's own protos (`proto/vendor/`). Envoy is the caller: it
//! authenticates like any gRPC client (a bearer token in its `initial_metadata`, or its
//! client certificate) and, to ask about the HTTP client's subject, must be a gateway identity.
//!
//! Each check maps the HTTP request onto the policy input ([`input`] documents the shape),
//! makes one call into the domain ([`crate::service::Tollgate::enforce`]) and answers:
//!
//! - ALLOW: forwarded; when the policy asked for a capability it goes upstream in the
//!   capability header (`forward_capability`); a redeemed capability adds the approval id.
//! - DENY: 403 with a JSON body of the reasons.
//! - PENDING_APPROVAL: `pending_status` (403 unless configured) with the approval id in the
//!   approval header and a JSON body saying where to wait and how to retry: the same request
//!   with the approved capability in the capability header, which is then redeemed, once.
//! - a bad request: 400 naming the field; any other fault denies (fail closed).

pub mod input;
pub mod subject;

use std::{sync::Arc, time::Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::{
    domain::Effect,
    http::error::HttpError,
    identity::Authenticator,
    service::{Answer, Enforced, Tollgate},
    telemetry::{metrics::Surface, Metrics},
};

/// Generated code for Envoy's ext_authz v3 API and the packages it imports, laid out as the
/// proto packages so the generated cross-references resolve.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
pub mod pb {
    /// `envoy.*`
    pub mod envoy {
        /// `envoy.service.*`
        pub mod service {
            /// `envoy.service.auth.*`
            pub mod auth {
                /// `envoy.service.auth.v3`
                pub mod v3 {
                    tonic::include_proto!("envoy.service.auth.v3");
                }
            }
        }
        /// `envoy.config.*`
        pub mod config {
            /// `envoy.config.core.*`
            pub mod core {
                /// `envoy.config.core.v3`
                pub mod v3 {
                    tonic::include_proto!("envoy.config.core.v3");
                }
            }
        }
        /// `envoy.type.*`
        pub mod r#type {
            /// `envoy.type.v3`
            pub mod v3 {
                tonic::include_proto!("envoy.r#type.v3");
            }
        }
    }
    /// `google.*`
    pub mod google {
        /// `google.rpc`
        pub mod rpc {
            tonic::include_proto!("google.rpc");
        }
    }
    /// `xds.*`
    pub mod xds {
        /// `xds.core.*`
        pub mod core {
            /// `xds.core.v3`
            pub mod v3 {
                tonic::include_proto!("xds.core.v3");
            }
        }
    }
    pub use envoy::config::core::v3 as core;
    pub use envoy::r#type::v3 as types;
    pub use envoy::service::auth::v3 as auth;
}

use pb::{auth, core, types};

/// How Envoy's requests are read and answered (`ext_authz` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtAuthzConfig {
    /// A verified JWT claim naming the subject ([`subject`]); none by default.
    pub subject_claim: Option<subject::SubjectClaim>,
    /// A request header naming the subject, trusted only behind a layer that sets it and strips
    /// the client's own ([`subject`]); "" (the default) never reads one.
    pub subject_header: String,
    /// Source principals (e.g. SPIFFE ids) and the subject ids they stand for.
    pub principals: std::collections::BTreeMap<String, String>,
    /// The request header naming the human an agent acts for.
    pub on_behalf_of_header: String,
    /// The request header carrying the client's stated intent, shown to reviewers.
    pub intent_header: String,
    /// The request header a client retries with, carrying its approved capability; also the
    /// header a capability is forwarded upstream in.
    pub capability_header: String,
    /// The response header naming a pending approval.
    pub approval_header: String,
    /// The HTTP status of a PENDING_APPROVAL answer.
    pub pending_status: u16,
    /// Whether an ALLOW whose policy asks for a capability forwards it upstream.
    pub forward_capability: bool,
}

impl Default for ExtAuthzConfig {
    fn default() -> Self {
        Self {
            subject_claim: None,
            subject_header: String::new(),
            principals: std::collections::BTreeMap::new(),
            on_behalf_of_header: "x-tollgate-on-behalf-of".into(),
            intent_header: "x-tollgate-intent".into(),
            capability_header: "x-tollgate-capability".into(),
            approval_header: "x-tollgate-approval-id".into(),
            pending_status: 403,
            forward_capability: true,
        }
    }
}

impl ExtAuthzConfig {
    /// Why the settings are unusable, if they are: (field, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let optional = [("ext_authz.subject_header", &self.subject_header)];
        let headers = optional
            .into_iter()
            .filter(|(_, name)| !name.is_empty())
            .chain([
                ("ext_authz.on_behalf_of_header", &self.on_behalf_of_header),
                ("ext_authz.intent_header", &self.intent_header),
                ("ext_authz.capability_header", &self.capability_header),
                ("ext_authz.approval_header", &self.approval_header),
            ]);
        for (field, name) in headers {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err((field, format!("{name:?} is not a header name")));
            }
        }
        if !(200..=599).contains(&self.pending_status) {
            return Err(("ext_authz.pending_status", "must be 200..=599".into()));
        }
        Ok(())
    }
}

/// Serves `envoy.service.auth.v3.Authorization`.
#[derive(Clone)]
pub struct ExtAuthzService {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
    config: Arc<ExtAuthzConfig>,
    /// The HTTP port's public base URL ("" when unknown), for approval links.
    public_url: Arc<str>,
    metrics: Metrics,
}

impl ExtAuthzService {
    /// Answers with `tollgate`, identifying Envoy with `auth`; each Check's latency goes to
    /// `metrics`.
    pub fn new(
        tollgate: Tollgate,
        auth: Arc<Authenticator>,
        config: ExtAuthzConfig,
        public_url: Option<&str>,
        metrics: Metrics,
    ) -> Self {
        Self {
            tollgate,
            auth,
            config: Arc::new(config),
            public_url: public_url.unwrap_or_default().trim_end_matches('/').into(),
            metrics,
        }
    }

    async fn check_in(
        &self,
        request: Request<auth::CheckRequest>,
    ) -> Result<auth::CheckResponse, Status> {
        let (caller, call) = super::authorizer::identify(&self.auth, &request).await?;
        let (req, capability) = match input::to_request(request.into_inner(), &self.config) {
            Ok(mapped) => mapped,
            Err(f) => return Ok(self.error(&HttpError::invalid(&f))),
        };
        match self
            .tollgate
            .enforce(&caller, req, capability.as_deref(), &call)
            .await
        {
            Ok(Enforced::Decision(answer)) => Ok(self.answered(&answer)),
            Ok(Enforced::Redemption { redemption, .. }) if redemption.allowed => {
                let approval = redemption.approval_id.unwrap_or_default();
                Ok(ok(vec![header(&self.config.approval_header, &approval)]))
            }
            Ok(Enforced::Redemption { redemption, .. }) => Ok(denied(
                403,
                Vec::new(),
                &json!({"decision": "deny", "reasons": [redemption.reason]}),
            )),
            Err(e) => Ok(self.error(&HttpError::service(&e))),
        }
    }

    fn answered(&self, answer: &Answer) -> auth::CheckResponse {
        let verdict = &answer.decided.decision.verdict;
        match verdict.effect {
            Effect::Allow => {
                let mut headers = vec![header(
                    "x-tollgate-decision-id",
                    &answer.decided.decision.id,
                )];
                if let Some(c) = answer
                    .capability
                    .as_ref()
                    .filter(|_| self.config.forward_capability)
                {
                    headers.push(header(&self.config.capability_header, &c.token));
                }
                ok(headers)
            }
            Effect::Deny => denied(
                403,
                Vec::new(),
                &json!({"decision": "deny", "reasons": verdict.reasons}),
            ),
            Effect::PendingApproval => {
                let id = answer.approval_id.clone().unwrap_or_default();
                let body = json!({
                    "decision": "pending_approval",
                    "approval_id": id,
                    "approval_url": format!("{}/console/approvals/{id}", self.public_url),
                    "reasons": verdict.reasons,
                    "wait": "tollgate.v1.Approvals/WaitForDecision",
                    "retry": format!(
                        "once approved, repeat this exact request with the approval's \
                         capability in the {} header", self.config.capability_header),
                });
                let headers = vec![header(&self.config.approval_header, &id)];
                denied(self.config.pending_status, headers, &body)
            }
        }
    }

    fn error(&self, e: &HttpError) -> auth::CheckResponse {
        denied(e.status.as_u16(), Vec::new(), &json!({"error": e.message}))
    }
}

#[tonic::async_trait]
impl auth::authorization_server::Authorization for ExtAuthzService {
    async fn check(
        &self,
        request: Request<auth::CheckRequest>,
    ) -> Result<Response<auth::CheckResponse>, Status> {
        let started = Instant::now();
        let span = tracing::info_span!("ext_authz.check", "otel.kind" = "server");
        let checked = self.check_in(request).instrument(span).await;
        self.metrics
            .observe_request(Surface::ExtAuthz, started.elapsed());
        checked.map(Response::new)
    }
}

fn header(key: &str, value: &str) -> core::HeaderValueOption {
    core::HeaderValueOption {
        header: Some(core::HeaderValue {
            key: key.to_string(),
            value: value.to_string(),
            ..Default::default()
        }),
        append_action: core::header_value_option::HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

fn ok(headers: Vec<core::HeaderValueOption>) -> auth::CheckResponse {
    auth::CheckResponse {
        status: Some(pb::google::rpc::Status {
            code: tonic::Code::Ok as i32,
            ..Default::default()
        }),
        http_response: Some(auth::check_response::HttpResponse::OkResponse(
            auth::OkHttpResponse {
                headers,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn denied(
    status: u16,
    mut headers: Vec<core::HeaderValueOption>,
    body: &serde_json::Value,
) -> auth::CheckResponse {
    headers.push(header("content-type", "application/json"));
    auth::CheckResponse {
        status: Some(pb::google::rpc::Status {
            code: tonic::Code::PermissionDenied as i32,
            message: body.to_string(),
            ..Default::default()
        }),
        http_response: Some(auth::check_response::HttpResponse::DeniedResponse(
            auth::DeniedHttpResponse {
                status: Some(types::HttpStatus {
                    code: i32::from(status),
                }),
                headers,
                body: body.to_string(),
            },
        )),
        ..Default::default()
    }
}
