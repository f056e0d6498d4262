//! `enforce`: the use case of an enforcement point in the request path (Envoy ext_authz, the
//! AuthZEN API), which asks once and, after an approval, asks again presenting the capability
//! it was given. Without a capability it is [`Tollgate::authorize`]. With one, the request is
//! decided again by the serving policy first (a request the policy now denies is denied and
//! the capability is not consumed), then the capability is redeemed for exactly the request
//! as decided: allowed once, by a caller in its audience.

use futures::future::BoxFuture;

use super::{Answer, Call, Role, Roles, ServiceError, Tollgate};
use crate::{
    approval::{workflow::RedeemChecks, Redemption},
    domain::{AuthzRequest, Caller, Decided, Effect},
};

/// What an enforcement point is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Enforced {
    /// The policy's answer (no capability was presented, or the policy now denies).
    Decision(Box<Answer>),
    /// A presented capability was redeemed for the request (or refused: see `allowed`).
    Redemption {
        /// The request as decided (subject bound, identities canonical).
        decided: Box<Decided>,
        /// The redemption's outcome.
        redemption: Redemption,
    },
}

impl Tollgate {
    /// Decides `req` for `caller`; with a `capability` presented, redeems it for the request
    /// as decided instead of asking for approval again. See the module documentation.
    pub async fn enforce(
        &self,
        caller: &Caller,
        req: AuthzRequest,
        capability: Option<&str>,
        call: &Call,
    ) -> Result<Enforced, ServiceError> {
        let Some(token) = capability.filter(|t| !t.trim().is_empty()) else {
            let answer = self.authorize(caller, req, call).await?;
            return Ok(Enforced::Decision(Box::new(answer)));
        };
        let gateway = self.admit(caller)?;
        let decided = self.inner.decider.decide(caller, gateway, req).await?;
        if decided.decision.verdict.effect == Effect::Deny {
            // Recorded and answered like any denial; the capability stays unused.
            let answer = self.answer(decided, caller, call).await?;
            return Ok(Enforced::Decision(Box::new(answer)));
        }
        self.require(caller, Role::Redeem)?;
        let in_audience = |audience: &[String]| Roles::in_audience(caller, audience);
        // The serving policy decided this very request just above and did not deny it.
        let redecide =
            |_: AuthzRequest| -> BoxFuture<'_, Result<(), String>> { Box::pin(async { Ok(()) }) };
        let checks = RedeemChecks {
            in_audience: &in_audience,
            redecide: &redecide,
        };
        let redemption = self
            .inner
            .workflow
            .redeem(token, &decided.request, &call.audit(caller), checks)
            .await?;
        super::spans::record_redemption(&tracing::Span::current(), &redemption);
        Ok(Enforced::Redemption {
            decided: Box::new(decided),
            redemption,
        })
    }
}
