//! Which regorus evaluator serves a bundle, and how the two evaluators' answers compare.
//!
//! The register VM is the fast path; the tree interpreter evaluates every construct of Rego
//! and is the reference. A bundle the VM compiler refuses (the `with` keyword, partial
//! objects with constant keys, anything else it does not support yet) is served by the
//! interpreter instead of being rejected, so any policy the interpreter accepts can serve.
//!
//! The choice is made per compiled bundle, not per module: a decision evaluates one entry
//! rule over the closure of every rule it reaches, and regorus compiles that closure into one
//! VM program, which cannot call back into the interpreter. A module the entry rule does not
//! reach (a `_test.rego` full of `with`, say) does not affect the choice.

use crate::domain::{EvalFailure, PolicyOutcome};

/// The evaluator that answers a bundle's decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServingEngine {
    /// The regorus register VM with strict rule errors: the fast path.
    Vm,
    /// The tree interpreter, because the VM compiler refused the bundle.
    Interpreter {
        /// The VM compiler's reason (with the module and line), for operators.
        vm_refusal: String,
    },
}

impl ServingEngine {
    /// The label status surfaces show: `vm` or `interpreter`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Vm => "vm",
            Self::Interpreter { .. } => "interpreter",
        }
    }

    /// Why the VM does not serve, if it does not.
    pub fn vm_refusal(&self) -> Option<&str> {
        match self {
            Self::Vm => None,
            Self::Interpreter { vm_refusal } => Some(vm_refusal),
        }
    }
}

/// How the VM's answer relates to the reference interpreter's for one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The same outcome, or both failed with the same kind of failure (the engines word
    /// their messages differently).
    Same,
    /// The VM failed and the interpreter did not. The VM's answer is DENY, so serving it is
    /// safe; it is the one tolerated difference (regorus's VM raises on comparing values of
    /// different types under strict builtin errors, where the interpreter orders them).
    VmOnlyFailure,
    /// Anything else, including the VM answering where the interpreter fails: a bug.
    Different,
}

/// Compares the VM's answer (`vm`) with the interpreter's (`reference`).
pub fn agreement(
    vm: &Result<PolicyOutcome, EvalFailure>,
    reference: &Result<PolicyOutcome, EvalFailure>,
) -> Agreement {
    match (vm, reference) {
        (Ok(a), Ok(b)) if a == b => Agreement::Same,
        (Err(a), Err(b)) if a.kind == b.kind => Agreement::Same,
        (Err(_), Ok(_)) => Agreement::VmOnlyFailure,
        _ => Agreement::Different,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FailureKind;

    #[test]
    fn only_a_vm_only_failure_is_tolerated() {
        let ok = |allow| {
            Ok(PolicyOutcome {
                allow,
                ..PolicyOutcome::default()
            })
        };
        let err = |kind| Err(EvalFailure::new(kind, "x"));
        assert_eq!(agreement(&ok(true), &ok(true)), Agreement::Same);
        assert_eq!(agreement(&ok(true), &ok(false)), Agreement::Different);
        let eval = FailureKind::Evaluation;
        assert_eq!(agreement(&err(eval), &err(eval)), Agreement::Same);
        assert_eq!(
            agreement(&err(eval), &err(FailureKind::Limit)),
            Agreement::Different
        );
        assert_eq!(agreement(&err(eval), &ok(true)), Agreement::VmOnlyFailure);
        assert_eq!(agreement(&ok(false), &err(eval)), Agreement::Different);
    }

    #[test]
    fn labels() {
        assert_eq!(ServingEngine::Vm.as_str(), "vm");
        let i = ServingEngine::Interpreter {
            vm_refusal: "with".into(),
        };
        assert_eq!((i.as_str(), i.vm_refusal()), ("interpreter", Some("with")));
    }
}
