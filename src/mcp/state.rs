//! The one piece of state the gateway hands an MCP client and reads back: the `requestState`
//! of a held call that asked the client to send its user to the approval's console page
//! (URL-mode elicitation on protocol 2026-07-28, where the client answers by calling again
//! with the state echoed). It says only "the client was already sent to approval `<id>`", so
//! the retry waits instead of asking again; whatever it says, the gateway still asks tollgate,
//! waits for the reviewer and redeems the capability itself.
//!
//! A client can echo anything, so the state is sealed with HMAC-SHA256 (rmcp's
//! `RequestStateCodec`, under a key from `--state-key-file` or a random one per process) over
//! associated data binding it to the agent the gateway speaks for and to the digest of the
//! call (its idempotency key), and carries an expiry checked against the gateway's clock. A
//! changed byte, another agent's state, another call's state or an expired one is refused.

use std::path::Path;

use rmcp::model::{RequestStateCodec, RequestStateError, SealOptions};
use serde::{Deserialize, Serialize};

use super::McpError;

/// The associated data's version tag (a new layout gets a new tag, so no old state opens).
const CONTEXT_TAG: &str = "tollgate-mcp-held-call-v1";

/// The key that seals and opens held-call state.
pub struct StateKey {
    codec: RequestStateCodec,
}

impl std::fmt::Debug for StateKey {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(<redacted>)")
    }
}

/// What a held call's state says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The approval the client was sent to.
    pub approval_id: String,
    /// Unix milliseconds after which the state is refused.
    pub expires_at_ms: i64,
}

/// Whom and what a state is bound to: it opens only for the same agent and the same call.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The agent the gateway speaks for (`--subject`).
    pub agent: &'a str,
    /// The call's digest (its idempotency key).
    pub digest: &'a str,
}

/// Why a state the client echoed is refused; shown to the client as the `requestState`
/// field's error.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The MAC does not verify: a changed byte, another gateway key, another agent's or
    /// another call's state (indistinguishable by design), or not a sealed state at all.
    #[error("requestState does not verify (altered, or issued for another agent or call)")]
    Forged(#[source] RequestStateError),
    /// It verified but its expiry has passed.
    #[error("requestState expired; call the tool again without it")]
    Expired,
    /// The state could not be written (never expected: it is a small struct).
    #[error("requestState could not be sealed")]
    Unsealable(#[source] serde_json::Error),
}

impl StateKey {
    /// The key in `path` (its bytes, at least 32, e.g. `head -c 32 /dev/urandom`), so states
    /// survive a gateway restart; without a file, a random key for this process.
    pub fn load(path: Option<&Path>) -> Result<Self, McpError> {
        let bad = |reason: String| McpError::Flag {
            flag: "--state-key-file",
            reason,
        };
        let key = match path {
            Some(path) => {
                std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?
            }
            None => {
                let mut key = vec![0u8; RequestStateCodec::MIN_KEY_LENGTH];
                getrandom::fill(&mut key).map_err(|e| bad(format!("no random key: {e}")))?;
                key
            }
        };
        let codec = RequestStateCodec::try_new(key).map_err(|e| bad(e.to_string()))?;
        Ok(Self { codec })
    }

    /// `held` sealed for `binding`.
    pub fn seal(&self, held: &Held, binding: Binding<'_>) -> Result<String, StateError> {
        let payload = serde_json::to_vec(held).map_err(StateError::Unsealable)?;
        let context = context(binding);
        let options = SealOptions::new().associated_data(context.as_bytes());
        Ok(self.codec.seal_with(&payload, &options))
    }

    /// The state `sealed` says, if it was sealed by this key for `binding` and has not
    /// expired at `now_ms`.
    pub fn open(
        &self,
        sealed: &str,
        binding: Binding<'_>,
        now_ms: i64,
    ) -> Result<Held, StateError> {
        let context = context(binding);
        let held: Held = self
            .codec
            .open_json_with(sealed, context.as_bytes())
            .map_err(StateError::Forged)?;
        if now_ms > held.expires_at_ms {
            return Err(StateError::Expired);
        }
        Ok(held)
    }
}

/// The associated data of `binding`: length-prefixed fields, so no two bindings collide.
fn context(binding: Binding<'_>) -> String {
    let Binding { agent, digest } = binding;
    format!(
        "{CONTEXT_TAG}|{}:{agent}|{}:{digest}",
        agent.len(),
        digest.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn key() -> StateKey {
        StateKey::load(None).unwrap()
    }

    fn held() -> Held {
        Held {
            approval_id: "apr-1".into(),
            expires_at_ms: NOW + 60_000,
        }
    }

    fn mine() -> Binding<'static> {
        Binding {
            agent: "agent:exporter",
            digest: "mcp-aaaa",
        }
    }

    #[test]
    fn a_state_opens_for_its_agent_and_call_until_it_expires() {
        let key = key();
        let sealed = key.seal(&held(), mine()).unwrap();
        assert_eq!(key.open(&sealed, mine(), NOW).unwrap(), held());
        assert_eq!(
            key.open(&sealed, mine(), NOW + 60_000).unwrap(),
            held(),
            "the last millisecond"
        );
    }

    #[test]
    fn one_changed_byte_anywhere_is_refused() {
        let key = key();
        let sealed = key.seal(&held(), mine()).unwrap();
        for at in 0..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered == sealed {
                continue;
            }
            let opened = key.open(&altered, mine(), NOW);
            assert!(
                matches!(opened, Err(StateError::Forged(_))),
                "byte {at}: {opened:?}"
            );
        }
    }

    #[test]
    fn another_agents_state_is_refused() {
        let key = key();
        let sealed = key.seal(&held(), mine()).unwrap();
        let other = Binding {
            agent: "agent:other",
            ..mine()
        };
        assert!(matches!(
            key.open(&sealed, other, NOW),
            Err(StateError::Forged(_))
        ));
    }

    #[test]
    fn another_calls_state_is_refused() {
        let key = key();
        let sealed = key.seal(&held(), mine()).unwrap();
        let other = Binding {
            digest: "mcp-bbbb",
            ..mine()
        };
        assert!(matches!(
            key.open(&sealed, other, NOW),
            Err(StateError::Forged(_))
        ));
        // Field boundaries are part of the binding: moving a character across is another call.
        let shifted = Binding {
            agent: "agent:exporterm",
            digest: "cp-aaaa",
        };
        assert!(key.open(&sealed, shifted, NOW).is_err());
    }

    #[test]
    fn an_expired_state_is_refused() {
        let key = key();
        let sealed = key.seal(&held(), mine()).unwrap();
        let opened = key.open(&sealed, mine(), NOW + 60_001);
        assert!(matches!(opened, Err(StateError::Expired)), "{opened:?}");
    }

    #[test]
    fn another_gateways_state_and_garbage_are_refused() {
        let sealed = key().seal(&held(), mine()).unwrap();
        assert!(matches!(
            key().open(&sealed, mine(), NOW),
            Err(StateError::Forged(_))
        ));
        for garbage in ["", "x", "rs1.", "{\"approval_id\":\"apr-1\"}"] {
            assert!(key().open(garbage, mine(), NOW).is_err(), "{garbage}");
        }
    }

    #[test]
    fn a_key_file_is_used_and_a_short_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.key");
        std::fs::write(&path, [7u8; 32]).unwrap();
        let sealed = StateKey::load(Some(&path))
            .unwrap()
            .seal(&held(), mine())
            .unwrap();
        let again = StateKey::load(Some(&path)).unwrap();
        assert_eq!(again.open(&sealed, mine(), NOW).unwrap(), held());
        std::fs::write(&path, [7u8; 31]).unwrap();
        let short = StateKey::load(Some(&path)).unwrap_err().to_string();
        assert!(short.contains("--state-key-file"), "{short}");
    }
}
