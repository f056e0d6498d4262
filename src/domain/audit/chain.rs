//! The hash chain: each record's hash covers the previous record's hash and its own canonical
//! body, so changing, removing or reordering any record changes every hash after it.

use sha2::{Digest, Sha256};

use super::{AuditEvent, AuditRecord};

/// The `prev_hash` of record 1, and the head of an empty log: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex SHA-256 of `prev_hash + "\n" + body`: the link between a record and the one before it.
pub fn link(prev_hash: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// An event with its canonical body: everything of its record but the place in the chain,
/// so a store computes it before it takes the chain's head (see [`chain_canonical`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    /// The event.
    pub event: AuditEvent,
    /// [`AuditEvent::canonical`] of it.
    pub body: String,
}

/// Each event with its canonical body, in order. Takes the events: each is kept, uncopied.
pub fn canonicalize(events: Vec<AuditEvent>) -> Result<Vec<Canonical>, serde_json::Error> {
    events
        .into_iter()
        .map(|event| {
            let body = event.canonical()?;
            Ok(Canonical { event, body })
        })
        .collect()
}

/// Chains `events` after the record `(head_seq, head_hash)`: seq `head_seq + 1, ...`, each
/// linked to the one before. Pure, so the store's append and the tests agree by construction.
/// Takes the events: each becomes its record's, uncopied.
pub fn chain(
    head_seq: i64,
    head_hash: &str,
    events: Vec<AuditEvent>,
) -> Result<Vec<AuditRecord>, serde_json::Error> {
    Ok(chain_canonical(head_seq, head_hash, canonicalize(events)?))
}

/// [`chain`] of events whose bodies are made already: only the hashes are left to compute,
/// a few microseconds a record, which is all a store does while it holds the chain's head.
pub fn chain_canonical(head_seq: i64, head_hash: &str, events: Vec<Canonical>) -> Vec<AuditRecord> {
    let mut prev = head_hash.to_string();
    let mut records = Vec::with_capacity(events.len());
    for (offset, Canonical { event, body }) in (1..).zip(events) {
        let hash = link(&prev, &body);
        records.push(AuditRecord {
            seq: head_seq + offset,
            event,
            body,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditKind, UnixMillis};

    #[test]
    fn link_is_sha256_of_prev_newline_body() {
        // printf '%s\n%s' "$GENESIS" '{}' | sha256sum
        let expected = {
            let mut h = Sha256::new();
            h.update(format!("{GENESIS_HASH}\n{{}}").as_bytes());
            hex::encode(h.finalize())
        };
        assert_eq!(link(GENESIS_HASH, "{}"), expected);
        assert_ne!(link(GENESIS_HASH, "{}"), link(GENESIS_HASH, "{} "));
    }

    #[test]
    fn chained_records_link_in_order() {
        let events: Vec<_> = (0..3)
            .map(|i| AuditEvent::new(AuditKind::Decision, UnixMillis(i), "agent:a"))
            .collect();
        let records = chain(0, GENESIS_HASH, events.clone()).unwrap();
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(records[0].prev_hash, GENESIS_HASH);
        for pair in records.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        for r in &records {
            assert_eq!(r.hash, link(&r.prev_hash, &r.body));
        }
        let more = chain(3, &records[2].hash, events[..1].to_vec()).unwrap();
        assert_eq!((more[0].seq, &more[0].prev_hash), (4, &records[2].hash));
    }
}
