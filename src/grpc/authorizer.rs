//! The `Authorizer` service: validate, call the domain, convert.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{convert, pb, status};
use crate::{
    domain::InvalidField,
    identity::{Authenticator, Caller},
    service::{DecideError, Decider},
};

/// Most items in one `BatchAuthorize`.
pub const MAX_BATCH: usize = 128;

/// Serves `tollgate.v1.Authorizer`.
#[derive(Clone)]
pub struct AuthorizerService {
    decider: Decider,
    auth: Arc<Authenticator>,
}

impl AuthorizerService {
    /// A service deciding with `decider`, identifying callers with `auth`.
    pub fn new(decider: Decider, auth: Arc<Authenticator>) -> Self {
        Self { decider, auth }
    }
}

/// The verified caller of a gRPC request.
pub fn caller<T>(auth: &Authenticator, req: &Request<T>) -> Result<Caller, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    auth.authenticate(header).map_err(|e| status::auth(&e))
}

#[tonic::async_trait]
impl pb::authorizer_server::Authorizer for AuthorizerService {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let caller = caller(&self.auth, &request)?;
        let req = convert::request(request.into_inner()).map_err(|f| status::invalid(&f))?;
        let decision = self
            .decider
            .decide(&caller, req)
            .map_err(|e| status::decide(&e))?;
        Ok(Response::new(convert::response(&decision)))
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let caller = caller(&self.auth, &request)?;
        let items = request.into_inner().requests;
        if items.is_empty() {
            return Err(status::invalid(&InvalidField::new("requests", "is empty")));
        }
        if items.len() > MAX_BATCH {
            return Err(status::invalid(&InvalidField::new(
                "requests",
                format!("at most {MAX_BATCH} items"),
            )));
        }
        let reqs = items.into_iter().map(convert::request).collect();
        let (revision, results) = self
            .decider
            .decide_batch(&caller, reqs)
            .map_err(|e| status::decide(&e))?;
        let results = results
            .into_iter()
            .enumerate()
            .map(|(i, r)| pb::BatchItem {
                outcome: Some(match r {
                    Ok(d) => pb::batch_item::Outcome::Decision(convert::response(&d)),
                    Err(e) => pb::batch_item::Outcome::Error(item_error(i, &e)),
                }),
            })
            .collect();
        Ok(Response::new(pb::BatchAuthorizeResponse {
            results,
            bundle_revision: revision.to_string(),
        }))
    }
}

fn item_error(index: usize, e: &DecideError) -> pb::ItemError {
    let prefix = format!("requests[{index}]");
    let field = match e {
        DecideError::Invalid(f) => format!("{prefix}.{}", f.field),
        DecideError::SubjectMismatch { field, .. } => format!("{prefix}.{field}"),
        DecideError::NoBundle => prefix,
    };
    let (code, message) = status::item_code(e);
    pb::ItemError {
        code,
        field,
        message,
    }
}
