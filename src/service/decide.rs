//! The decision pipeline: identity -> validation -> cache -> policy -> verdict. The use cases
//! in this module's parent call it; nothing here knows about gRPC or HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use crate::{
    domain::{
        decide, same_identity, AuthzRequest, Caller, Decided, Decision, Delegation, InputLimits,
        InvalidField, Principal, Subject, Verdict,
    },
    policy::{input::to_input, ActivePolicy, CompiledBundle, DecisionCache, Evaluator},
};

/// Why no decision was made. Mapped to a gRPC status in exactly one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// A request field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No bundle has loaded yet, so nothing can be decided.
    #[error("no policy bundle is loaded")]
    NoBundle,
    /// The caller may not ask about this subject.
    #[error("{field}: {message}")]
    SubjectMismatch {
        /// The subject field that disagrees with the verified identity.
        field: &'static str,
        /// What disagrees.
        message: String,
    },
}

/// Makes decisions. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Decider {
    policies: Arc<ActivePolicy>,
    cache: Option<DecisionCache>,
    limits: InputLimits,
    evaluator: Evaluator,
}

impl Decider {
    /// A decider over `policies`, evaluating through `evaluator` (inline when cheap, on its
    /// bounded pool when not).
    pub fn new(
        policies: Arc<ActivePolicy>,
        cache: Option<DecisionCache>,
        limits: InputLimits,
        evaluator: Evaluator,
    ) -> Self {
        Self {
            policies,
            cache,
            limits,
            evaluator,
        }
    }

    /// The serving policy (for status and reload).
    pub fn policies(&self) -> &Arc<ActivePolicy> {
        &self.policies
    }

    /// Decides one request. The protocol handler's span describes it (effect, action,
    /// revision, timings), so this adds no span of its own.
    pub async fn decide(
        &self,
        caller: &Caller,
        gateway: bool,
        req: AuthzRequest,
    ) -> Result<Decided, DecideError> {
        let bundle = self.snapshot()?;
        self.decide_on(&bundle, caller, gateway, req).await
    }

    /// The serving bundle, for deciding several requests by one revision with
    /// [`Self::decide_on`] (a batch whose items each get their own span).
    pub fn snapshot(&self) -> Result<Arc<CompiledBundle>, DecideError> {
        self.policies.current().ok_or(DecideError::NoBundle)
    }

    /// Decides one request with `bundle`, a [`Self::snapshot`].
    pub async fn decide_on(
        &self,
        bundle: &Arc<CompiledBundle>,
        caller: &Caller,
        gateway: bool,
        mut req: AuthzRequest,
    ) -> Result<Decided, DecideError> {
        req.canonicalize_identities()?;
        let delegation = bind_subject(caller, gateway, &mut req)?;
        let mut decided = self.decide_bound(bundle, req).await?;
        decided.decision.on_behalf_of = delegation;
        Ok(decided)
    }

    /// Decides `req`, whose subject is already bound to a verified identity (a stored
    /// request a reviewer narrows): validated and evaluated like any other.
    pub async fn decide_stored(&self, req: AuthzRequest) -> Result<Decided, DecideError> {
        let bundle = self.snapshot()?;
        self.decide_bound(&bundle, req).await
    }

    async fn decide_bound(
        &self,
        bundle: &Arc<CompiledBundle>,
        req: AuthzRequest,
    ) -> Result<Decided, DecideError> {
        req.validate(&self.limits)?;
        let cache = self
            .cache
            .as_ref()
            .and_then(|c| Some((c, DecisionCache::key(&bundle.digest, &req)?)));
        let hit = cache.as_ref().and_then(|(c, key)| c.get(key));
        let cached = hit.is_some();
        let mut eval_duration = Duration::ZERO;
        let verdict = match hit {
            Some(v) => Verdict::clone(&v),
            None => {
                let started = Instant::now();
                let outcome = self.evaluator.evaluate(bundle, to_input(&req)).await;
                eval_duration = started.elapsed();
                // A failed evaluation may be transient (a time limit): never remember it.
                let cacheable = outcome.is_ok();
                let verdict = decide(outcome);
                if let (true, Some((c, key))) = (cacheable, cache) {
                    c.put(key, &verdict);
                }
                verdict
            }
        };
        let decision = Decision {
            id: uuid::Uuid::now_v7().to_string(),
            verdict,
            revision: bundle.revision.clone(),
            bundle_digest: Arc::from(bundle.digest.as_str()),
            decided_at: SystemTime::now(),
            cached,
            eval_duration,
            on_behalf_of: Delegation::None,
        };
        tracing::debug!(
            decision.id = %decision.id,
            effect = decision.verdict.effect.as_str(),
            bundle.revision = %decision.revision,
            cached,
            "decided"
        );
        Ok(Decided {
            decision,
            request: req,
        })
    }
}

/// Makes the subject the verified caller. A verified caller that is not a gateway may only
/// ask about itself: empty subject fields are filled from its identity, different ones are
/// refused. Whoever the caller, a human its credentials prove it acts for (token delegation)
/// is the `on_behalf_of`: an empty one is filled, a contradicting one refused; a body's
/// `on_behalf_of` nothing proves is kept and recorded as claimed. Identities are compared in
/// canonical form (the request is canonicalised first). Insecure mode keeps the body.
fn bind_subject(
    caller: &Caller,
    gateway: bool,
    req: &mut AuthzRequest,
) -> Result<Delegation, DecideError> {
    let s = &mut req.subject;
    let Some(verified) = caller.principal() else {
        return Ok(claimed(&s.on_behalf_of));
    };
    if let Some(human) = &verified.acting_for {
        if s.on_behalf_of.is_empty() {
            s.on_behalf_of.clone_from(human);
        } else if !same_identity(&s.on_behalf_of, human) {
            // Exactly the proven human: a look-alike recorded as proven would read as them.
            return Err(DecideError::SubjectMismatch {
                field: "subject.on_behalf_of",
                message: format!(
                    "contradicts the human the caller's credentials act for ({human})"
                ),
            });
        }
    }
    if !gateway {
        bind_to(verified, s)?;
    }
    Ok(match &verified.acting_for {
        Some(_) => Delegation::Verified,
        None => claimed(&s.on_behalf_of),
    })
}

/// The subject must be the verified caller.
fn bind_to(verified: &Principal, s: &mut Subject) -> Result<(), DecideError> {
    for (field, body, verified) in [
        ("subject.id", &mut s.id, verified.id.as_str()),
        ("subject.kind", &mut s.kind, verified.kind.as_str()),
        ("subject.owner", &mut s.owner, verified.owner.as_str()),
    ] {
        if body.is_empty() {
            verified.clone_into(body);
        } else if body != verified {
            return Err(DecideError::SubjectMismatch {
                field,
                message: format!("does not match the authenticated caller ({verified})"),
            });
        }
    }
    if s.groups.is_empty() {
        s.groups.clone_from(&verified.groups);
    } else if s.groups.iter().any(|g| !verified.groups.contains(g)) {
        return Err(DecideError::SubjectMismatch {
            field: "subject.groups",
            message: "claims a group the authenticated caller is not in".into(),
        });
    }
    Ok(())
}

fn claimed(on_behalf_of: &str) -> Delegation {
    if on_behalf_of.is_empty() {
        Delegation::None
    } else {
        Delegation::Claimed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller::Verified(crate::domain::Principal {
            id: "agent:a".into(),
            kind: crate::domain::SubjectKind::Agent,
            groups: vec!["g".into()],
            owner: "team:t".into(),
            asserts_subjects: false,
            acting_for: None,
            authentication: crate::domain::Authentication::default(),
        })
    }

    #[test]
    fn verified_identity_fills_and_guards_the_subject() {
        let mut req = AuthzRequest::default();
        bind_subject(&caller(), false, &mut req).unwrap();
        assert_eq!(
            (
                req.subject.id.as_str(),
                req.subject.kind.as_str(),
                req.subject.owner.as_str()
            ),
            ("agent:a", "agent", "team:t")
        );
        assert_eq!(req.subject.groups, ["g"]);

        let mut req = AuthzRequest::default();
        req.subject.id = "agent:other".into();
        let err = bind_subject(&caller(), false, &mut req).unwrap_err();
        assert!(matches!(
            err,
            DecideError::SubjectMismatch {
                field: "subject.id",
                ..
            }
        ));

        let mut req = AuthzRequest::default();
        req.subject.groups = vec!["admins".into()];
        let err = bind_subject(&caller(), false, &mut req).unwrap_err();
        assert!(matches!(
            err,
            DecideError::SubjectMismatch {
                field: "subject.groups",
                ..
            }
        ));
    }

    #[test]
    fn gateways_and_insecure_mode_keep_the_body() {
        let mut req = AuthzRequest::default();
        req.subject.id = "agent:other".into();
        bind_subject(&Caller::Unauthenticated, false, &mut req).unwrap();
        assert_eq!(req.subject.id, "agent:other");
    }
}
