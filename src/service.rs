//! The decision pipeline every protocol shares: identity -> validation -> cache -> policy ->
//! verdict. Protocol handlers convert their wire types to [`AuthzRequest`] and call
//! [`Decider::decide`]; nothing here knows about gRPC or HTTP.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use crate::{
    domain::{decide, AuthzRequest, Decision, InputLimits, InvalidField, Verdict},
    identity::Caller,
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

/// A decision and the request it decided, with the subject bound to the verified caller:
/// the request an approval or capability must be bound to.
pub type Decided = (Decision, AuthzRequest);

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

    /// The policy store (for status and reload).
    pub fn policies(&self) -> &Arc<ActivePolicy> {
        &self.policies
    }

    /// Decides one request. The protocol handler's span describes it (effect, action,
    /// revision, timings), so this adds no span of its own.
    pub async fn decide(&self, caller: &Caller, req: AuthzRequest) -> Result<Decided, DecideError> {
        let bundle = self.snapshot()?;
        self.decide_on(&bundle, caller, req).await
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
        mut req: AuthzRequest,
    ) -> Result<Decided, DecideError> {
        bind_subject(caller, &mut req)?;
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
        };
        tracing::debug!(
            decision.id = %decision.id,
            effect = decision.verdict.effect.as_str(),
            bundle.revision = %decision.revision,
            cached,
            "decided"
        );
        Ok((decision, req))
    }
}

/// Makes the subject the verified caller: a verified caller that is not a trusted gateway may
/// only ask about itself; empty subject fields are filled from its identity.
fn bind_subject(caller: &Caller, req: &mut AuthzRequest) -> Result<(), DecideError> {
    if caller.asserts_subjects {
        return Ok(());
    }
    let s = &mut req.subject;
    for (field, body, verified) in [
        ("subject.id", &mut s.id, &caller.id),
        ("subject.kind", &mut s.kind, &caller.kind),
        ("subject.owner", &mut s.owner, &caller.owner),
    ] {
        if body.is_empty() {
            body.clone_from(verified);
        } else if body != verified {
            return Err(DecideError::SubjectMismatch {
                field,
                message: format!("does not match the authenticated caller ({verified})"),
            });
        }
    }
    if s.groups.is_empty() {
        s.groups.clone_from(&caller.groups);
    } else if s.groups.iter().any(|g| !caller.groups.contains(g)) {
        return Err(DecideError::SubjectMismatch {
            field: "subject.groups",
            message: "claims a group the authenticated caller is not in".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            id: "agent:a".into(),
            kind: "agent".into(),
            groups: vec!["g".into()],
            owner: "team:t".into(),
            asserts_subjects: false,
            verified: true,
        }
    }

    #[test]
    fn verified_identity_fills_and_guards_the_subject() {
        let mut req = AuthzRequest::default();
        bind_subject(&caller(), &mut req).unwrap();
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
        let err = bind_subject(&caller(), &mut req).unwrap_err();
        assert!(matches!(
            err,
            DecideError::SubjectMismatch {
                field: "subject.id",
                ..
            }
        ));

        let mut req = AuthzRequest::default();
        req.subject.groups = vec!["admins".into()];
        let err = bind_subject(&caller(), &mut req).unwrap_err();
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
        bind_subject(&Caller::insecure(), &mut req).unwrap();
        assert_eq!(req.subject.id, "agent:other");
    }
}
