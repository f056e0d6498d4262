//! What the audit trail records, as plain data: the event of each kind, built by one
//! constructor per kind from the domain objects it describes; the record an event becomes once
//! chained; the chain itself (pure hashing); filters and signed checkpoints. Nothing here
//! stores, signs or masks: `crate::audit` records and `crate::store` persists.

mod chain;
mod event;
mod kinds;

pub use chain::{canonicalize, chain, chain_canonical, link, Canonical, GENESIS_HASH};
pub use event::{AuditEvent, AuditFilter, AuditKind, AuditRecord, Checkpoint};
pub use kinds::{Narrowing, RecordedInput, RedeemedCapability};

/// The actor of events the service causes itself (expiry, bundle reloads).
pub const SERVICE_ACTOR: &str = "tollgate";

/// Who caused an event and in which trace, passed down by the surface that took the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// The verified caller (requester, reviewer, executor).
    pub actor: String,
    /// The W3C `traceparent` the call carried, "" when none.
    pub trace_parent: String,
}

impl AuditContext {
    /// A context for `actor` in the trace `trace_parent` (may be "").
    pub fn new(actor: impl Into<String>, trace_parent: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            trace_parent: trace_parent.into(),
        }
    }

    /// The service acting on its own, in the trace of `trace_parent` (e.g. the decision that
    /// created an approval it now expires).
    pub fn service(trace_parent: impl Into<String>) -> Self {
        Self::new(SERVICE_ACTOR, trace_parent)
    }

    /// The trace id (32 hex) of `trace_parent`, "" when it is absent or malformed.
    pub fn trace_id(&self) -> String {
        trace_id_of(&self.trace_parent)
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), "" if it is not one.
pub fn trace_id_of(trace_parent: &str) -> String {
    let mut parts = trace_parent.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(v), Some(id), Some(span), Some(_))
            if v.len() == 2
                && id.len() == 32
                && span.len() == 16
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && id.bytes().any(|b| b != b'0') =>
        {
            id.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(trace_id_of(tp), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(
            AuditContext::new("a", tp).trace_id(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        for bad in [
            "",
            "garbage",
            "00-0af7651916cd43dd-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
        ] {
            assert_eq!(trace_id_of(bad), "", "{bad}");
        }
    }
}
