//! The `Authorizer` service: validate, call the domain, convert.

use std::{sync::Arc, time::Instant};

use tonic::{Request, Response, Status};

use super::{convert, pb, status, trace};
use crate::{
    domain::Caller,
    identity::{Authenticator, Credentials},
    service::{Answer, Call, Mode, Tollgate},
    telemetry::{metrics::Surface, Metrics},
};

/// Serves `tollgate.v1.Authorizer`.
#[derive(Clone)]
pub struct AuthorizerService {
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
    metrics: Metrics,
}

impl AuthorizerService {
    /// Answers with `tollgate`, identifying callers with `auth`, timing calls in `metrics`.
    pub fn new(tollgate: Tollgate, auth: Arc<Authenticator>, metrics: Metrics) -> Self {
        Self {
            tollgate,
            auth,
            metrics,
        }
    }

    async fn authorize_in(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<pb::AuthorizeResponse, Status> {
        let (caller, call) = identify(&self.auth, &request).await?;
        let req = convert::request(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let answer = self
            .tollgate
            .authorize(&caller, req, &call)
            .await
            .map_err(|e| status::service(&e))?;
        Ok(response(&answer))
    }

    async fn batch_in(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<pb::BatchAuthorizeResponse, Status> {
        let (caller, call) = identify(&self.auth, &request).await?;
        let pb::BatchAuthorizeRequest { requests, dry_run } = request.into_inner();
        let items = requests.into_iter().map(convert::request).collect();
        let mode = if dry_run { Mode::DryRun } else { Mode::Act };
        let batch = self
            .tollgate
            .authorize_batch(&caller, items, mode, &call)
            .await
            .map_err(|e| status::service(&e))?;
        let results = batch
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| pb::BatchItem {
                outcome: Some(match item {
                    Ok(answer) => pb::batch_item::Outcome::Decision(response(&answer)),
                    Err(e) => pb::batch_item::Outcome::Error(status::item_error(i, &e)),
                }),
            })
            .collect();
        Ok(pb::BatchAuthorizeResponse {
            results,
            bundle_revision: batch.revision,
        })
    }
}

/// The wire answer.
fn response(answer: &Answer) -> pb::AuthorizeResponse {
    pb::AuthorizeResponse {
        approval_id: answer.approval_id.clone().unwrap_or_default(),
        capability: answer
            .capability
            .as_ref()
            .map(|c| c.token.clone())
            .unwrap_or_default(),
        ..convert::response(&answer.decided.decision)
    }
}

/// The verified caller of a gRPC request and how the call reached us.
pub async fn identify<T>(auth: &Authenticator, req: &Request<T>) -> Result<(Caller, Call), Status> {
    let authorization = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let certificate = crate::identity::tls::peer_of(req).map(|p| &p.identity);
    let credentials = Credentials {
        authorization,
        certificate,
    };
    let caller = auth
        .authenticate(credentials)
        .await
        .map_err(|e| status::auth(&e))?;
    let call = Call {
        inbound_traceparent: trace::inbound_traceparent(req.metadata()),
    };
    Ok((caller, call))
}

#[tonic::async_trait]
impl pb::authorizer_server::Authorizer for AuthorizerService {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let started = Instant::now();
        let span = trace::server_span("tollgate.v1.Authorizer/Authorize", request.metadata());
        let result = trace::in_span(span, self.authorize_in(request)).await;
        self.metrics
            .observe_request(Surface::Authorize, started.elapsed());
        result
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let span = trace::server_span("tollgate.v1.Authorizer/BatchAuthorize", request.metadata());
        trace::in_span(span, self.batch_in(request)).await
    }
}
