//! A small client for agents and executors over tollgate's gRPC API, so an agent does not
//! hand-roll the pause-and-resume flow: [`Client::run`] authorizes, waits for a reviewer
//! (reconnecting the wait stream when it drops), redeems the approved capability for exactly
//! the approved request, and only then runs the action. DENY, a reviewer's denial, expiry and
//! a refused capability are typed errors ([`ClientError`]), never a silent skip.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tollgate::client::ClientError> {
//! use std::time::Duration;
//! use tollgate::{client::Client, grpc::pb};
//! let client = Client::connect("http://127.0.0.1:50051", Some("agent-token".into())).await?;
//! let request = pb::AuthorizeRequest::default(); // subject, action, resource, context
//! let rows = client
//!     .run(request, Duration::from_secs(900), |approved| async move {
//!         // approved.request is what a reviewer allowed (perhaps narrowed).
//!         approved.request.action.map(|a| a.name).unwrap_or_default()
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

use std::{future::Future, time::Duration};

use tonic::{transport::Channel, Code, Request, Status};

use crate::grpc::pb::{
    self, approvals_client::ApprovalsClient, authorizer_client::AuthorizerClient, ApprovalState,
    Effect,
};

/// Why a guarded action did not run.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error("cannot connect to tollgate: {0}")]
    Connect(#[source] tonic::transport::Error),
    /// A call failed (bad request, not authenticated, not permitted, unavailable).
    #[error("tollgate call failed: {0}")]
    Rpc(#[source] Status),
    /// The policy denied the request, or a reviewer did.
    #[error("denied: {}", reasons.join("; "))]
    Denied {
        /// The policy's reasons, or the reviewer's.
        reasons: Vec<String>,
        /// The approval a reviewer denied, if it came to that.
        approval_id: Option<String>,
    },
    /// Nobody decided before the approval expired, or the requester withdrew it.
    #[error("approval {approval_id} {state}")]
    Expired {
        /// The approval.
        approval_id: String,
        /// `expired` or `cancelled`.
        state: &'static str,
    },
    /// The caller's wait ran out while the approval was still pending (it stays pending).
    #[error("gave up waiting for approval {approval_id}")]
    WaitTimedOut {
        /// The approval, to resume waiting later.
        approval_id: String,
    },
    /// The capability was refused (already redeemed, expired, another request).
    #[error("capability refused: {reason}")]
    Refused {
        /// Why, for people.
        reason: String,
        /// Why, as a value to decide on (see [`ClientError::is_spent`]).
        refusal: pb::RedeemRefusal,
    },
    /// The bearer token is not a valid header value.
    #[error("the token is not a valid header value")]
    BadToken,
}

impl ClientError {
    /// Whether a redemption was refused because its approval is used up (its capability
    /// redeemed before, or past its deadline), rather than because this call is wrong: a
    /// caller may then ask anew for a fresh approval of the same request.
    pub fn is_spent(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                refusal: pb::RedeemRefusal::AlreadyRedeemed | pb::RedeemRefusal::Expired,
                ..
            }
        )
    }
}

/// What the action is allowed to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    /// The request to carry out: as asked, or as a reviewer narrowed it.
    pub request: pb::AuthorizeRequest,
    /// The approval, when there was one.
    pub approval_id: Option<String>,
    /// The reviewer's changes to the request (empty: as asked).
    pub changes: Vec<pb::ParamChange>,
}

/// A tollgate client: cheap to clone, one HTTP/2 connection.
#[derive(Clone)]
pub struct Client {
    authorizer: AuthorizerClient<Channel>,
    approvals: ApprovalsClient<Channel>,
    token: Option<String>,
}

/// The pause between reconnection attempts of a dropped wait.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(250);

impl Client {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`), sending `token` as a bearer
    /// token on every call.
    pub async fn connect(endpoint: &str, token: Option<String>) -> Result<Self, ClientError> {
        let channel = Channel::from_shared(endpoint.to_string())
            .map_err(|e| ClientError::Rpc(Status::invalid_argument(e.to_string())))?
            .connect()
            .await
            .map_err(ClientError::Connect)?;
        Ok(Self::from_channel(channel, token))
    }

    /// A client over an existing channel (TLS, custom timeouts).
    pub fn from_channel(channel: Channel, token: Option<String>) -> Self {
        Self {
            authorizer: AuthorizerClient::new(channel.clone()),
            approvals: ApprovalsClient::new(channel),
            token,
        }
    }

    fn call<T>(&self, msg: T) -> Result<Request<T>, ClientError> {
        let mut request = Request::new(msg);
        if let Some(t) = &self.token {
            let value = format!("Bearer {t}")
                .parse()
                .map_err(|_| ClientError::BadToken)?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// One `Authorize` call.
    pub async fn authorize(
        &self,
        req: pb::AuthorizeRequest,
    ) -> Result<pb::AuthorizeResponse, ClientError> {
        let mut c = self.authorizer.clone();
        let answer = c.authorize(self.call(req)?).await;
        answer.map(|r| r.into_inner()).map_err(ClientError::Rpc)
    }

    /// One `BatchAuthorize` call: every item decided by one bundle revision in one round
    /// trip, each answered with its decision or its own error, in request order.
    pub async fn authorize_batch(
        &self,
        batch: pb::BatchAuthorizeRequest,
    ) -> Result<pb::BatchAuthorizeResponse, ClientError> {
        let mut c = self.authorizer.clone();
        let answer = c.batch_authorize(self.call(batch)?).await;
        answer.map(|r| r.into_inner()).map_err(ClientError::Rpc)
    }

    /// Waits up to `within` for approval `id` to be decided, reconnecting when the stream
    /// drops; returns the approved approval (its capability set) or the typed outcome. A
    /// decision already made is returned even with no time left to wait (`within` zero).
    pub async fn wait(&self, id: &str, within: Duration) -> Result<pb::Approval, ClientError> {
        match self.decided(id).await {
            Ok(Some(decided)) => return Ok(decided),
            Ok(None) => {}
            // The stream below reconnects through what a look cannot.
            Err(ClientError::Rpc(s)) if retryable(&s) => {}
            Err(e) => return Err(e),
        }
        let waited = tokio::time::timeout(within, self.wait_forever(id)).await;
        let approval = waited.map_err(|_| ClientError::WaitTimedOut {
            approval_id: id.to_string(),
        })??;
        settled(approval)
    }

    async fn wait_forever(&self, id: &str) -> Result<pb::Approval, ClientError> {
        loop {
            let mut c = self.approvals.clone();
            let request = self.call(pb::WaitForDecisionRequest {
                approval_id: id.to_string(),
            })?;
            match c.wait_for_decision(request).await {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    loop {
                        match stream.message().await {
                            Ok(Some(a)) if a.state != ApprovalState::Pending as i32 => {
                                return Ok(a)
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => break,
                            Err(s) if retryable(&s) => break,
                            Err(s) => return Err(ClientError::Rpc(s)),
                        }
                    }
                }
                Err(s) if retryable(&s) => {}
                Err(s) => return Err(ClientError::Rpc(s)),
            }
            tracing::debug!(approval_id = %id, "wait stream dropped; reconnecting");
            tokio::time::sleep(RECONNECT_BACKOFF).await;
        }
    }

    /// Approval `id` if a reviewer already decided it (or it expired), without waiting:
    /// `None` while it is pending; the approved approval (its capability set); or the
    /// typed outcome, as [`Client::wait`] answers it.
    pub async fn decided(&self, id: &str) -> Result<Option<pb::Approval>, ClientError> {
        let mut c = self.approvals.clone();
        let request = self.call(pb::GetApprovalRequest {
            approval_id: id.to_string(),
        })?;
        let approval = c
            .get_approval(request)
            .await
            .map_err(ClientError::Rpc)?
            .into_inner();
        if approval.state == ApprovalState::Pending as i32 {
            return Ok(None);
        }
        settled(approval).map(Some)
    }

    /// Redeems `capability` for exactly `req`: allowed once.
    pub async fn redeem(
        &self,
        capability: &str,
        req: pb::AuthorizeRequest,
    ) -> Result<pb::RedeemCapabilityResponse, ClientError> {
        let mut c = self.approvals.clone();
        let request = self.call(pb::RedeemCapabilityRequest {
            capability: capability.to_string(),
            request: Some(req),
        })?;
        let answer = c
            .redeem_capability(request)
            .await
            .map_err(ClientError::Rpc)?
            .into_inner();
        if answer.allowed {
            Ok(answer)
        } else {
            Err(ClientError::Refused {
                refusal: answer.refusal(),
                reason: answer.reason,
            })
        }
    }

    /// The whole flow: authorize `req`; on ALLOW run `action` (redeeming a capability the
    /// policy asked for); on PENDING_APPROVAL wait up to `wait`, redeem the approval's
    /// capability for the approved request, then run `action` with it. Never runs `action`
    /// unless tollgate allowed exactly what it is given.
    pub async fn run<T, F, Fut>(
        &self,
        req: pb::AuthorizeRequest,
        wait: Duration,
        action: F,
    ) -> Result<T, ClientError>
    where
        F: FnOnce(Approved) -> Fut,
        Fut: Future<Output = T>,
    {
        let answer = self.authorize(req.clone()).await?;
        let approved = match Effect::try_from(answer.effect) {
            Ok(Effect::Allow) => {
                if !answer.capability.is_empty() {
                    self.redeem(&answer.capability, req.clone()).await?;
                }
                Approved {
                    request: req,
                    approval_id: None,
                    changes: Vec::new(),
                }
            }
            Ok(Effect::PendingApproval) => {
                tracing::info!(approval_id = %answer.approval_id, "waiting for a reviewer");
                let approval = self.wait(&answer.approval_id, wait).await?;
                let request = approval.request.clone().unwrap_or(req);
                self.redeem(&approval.capability, request.clone()).await?;
                Approved {
                    request,
                    approval_id: Some(approval.id),
                    changes: approval.changes,
                }
            }
            _ => {
                return Err(ClientError::Denied {
                    reasons: answer.reasons,
                    approval_id: None,
                })
            }
        };
        Ok(action(approved).await)
    }
}

/// A decided approval as the outcome the caller sees.
fn settled(a: pb::Approval) -> Result<pb::Approval, ClientError> {
    match ApprovalState::try_from(a.state) {
        Ok(ApprovalState::Approved) => Ok(a),
        Ok(ApprovalState::Denied) => Err(ClientError::Denied {
            reasons: a.reviews.iter().map(|r| r.reason.clone()).collect(),
            approval_id: Some(a.id),
        }),
        Ok(ApprovalState::Cancelled) => Err(ClientError::Expired {
            approval_id: a.id,
            state: "cancelled",
        }),
        _ => Err(ClientError::Expired {
            approval_id: a.id,
            state: "expired",
        }),
    }
}

/// Whether a failed wait is worth reconnecting (the server restarted or the link dropped).
fn retryable(s: &Status) -> bool {
    matches!(
        s.code(),
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Aborted | Code::Cancelled
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_redeemed_or_expired_capability_means_the_approval_is_spent() {
        use pb::RedeemRefusal as R;
        let refused = |refusal| ClientError::Refused {
            reason: "r".into(),
            refusal,
        };
        assert!(refused(R::AlreadyRedeemed).is_spent());
        assert!(refused(R::Expired).is_spent());
        for other in [
            R::Unspecified,
            R::Invalid,
            R::NotFound,
            R::Revoked,
            R::RequestMismatch,
            R::ApprovalNotInForce,
            R::PolicyDenies,
        ] {
            assert!(!refused(other).is_spent(), "{other:?}");
        }
        assert!(!ClientError::BadToken.is_spent());
    }
}
