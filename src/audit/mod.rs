//! The audit trail: an append-only, hash-chained log of every decision and every approval,
//! capability and bundle event, in the same store as the state it describes.
//!
//! # Guarantees
//!
//! - **Nothing answered is lost.** A record commits before the caller gets the answer it
//!   describes; a state change and its record commit in one transaction (the store's
//!   state-changing methods take the events to append).
//! - **Tamper evidence.** Record `n` stores `hash = SHA-256(prev_hash + "\n" + body)` where
//!   `body` is the canonical JSON of the event ([`AuditEvent::canonical`]) and `prev_hash` is
//!   record `n - 1`'s hash. Appends lock the single `audit_head` row, so replicas sharing one
//!   PostgreSQL database still write one gap-free chain.
//!
//! # Layout
//!
//! - `event`: the event, record, filter and checkpoint types (plain data).
//! - `chain`: hashing and linking, pure.
//! - [`query`]: reading the trail: pages, JSON-lines export, one request's events, replay input.

mod chain;
mod event;
pub mod query;

pub use chain::{chain, link, GENESIS_HASH};
pub use event::{AuditEvent, AuditFilter, AuditKind, AuditRecord, Checkpoint};
