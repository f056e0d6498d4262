//! The audit trail: an append-only, hash-chained log of every decision and every approval,
//! capability and bundle event, in the same store as the state it describes.
//!
//! # Guarantees
//!
//! - **Nothing answered is lost.** A record commits before the caller gets the answer it
//!   describes; a state change and its record commit in one transaction (the store's
//!   state-changing methods take the events to append). Events without a state change go
//!   through the group commit ([`crate::store::GroupCommit`]); if it fails, the caller gets an
//!   error, never an unrecorded answer.
//! - **Tamper evidence.** Record `n` stores `hash = SHA-256(prev_hash + "\n" + body)` where
//!   `body` is the canonical JSON of the event ([`crate::domain::AuditEvent::canonical`])
//!   and `prev_hash` is record `n - 1`'s hash. Appends lock the single `audit_head` row, last in their
//!   transaction, so replicas sharing one PostgreSQL database still write one gap-free chain.
//! - **Redaction.** Inputs are masked ([`mask()`]) before they are recorded; capability and
//!   bearer tokens are never recorded (events carry capability ids).
//!
//! # Layout
//!
//! The events themselves (one constructor per kind), the records they become and the chain are
//! plain data and pure functions in [`crate::domain`]; the group commit is in
//! [`crate::store`]. This module is the service side:
//!
//! - `mask`: redaction of input paths.
//! - `record`: [`Auditor`], which masks inputs and hands events to the group commit.
//! - `key`, `checkpoint`: the audit key and the signed checkpoints of the head.
//! - `verify`: walks the chain and checkpoints and names the first bad record.
//! - `bundle`: records bundle activations and rejections.
//! - [`query`]: reading the trail: pages, JSON-lines export, one request's events, replay input.

pub mod anchor;
mod bundle;
pub mod checkpoint;
mod key;
mod mask;
pub mod query;
mod record;
pub mod verify;

pub use bundle::record_bundle_events;
pub use key::{AuditKey, AuditKeyError, AUDIT_KEY_PURPOSE};
pub use mask::{mask, MASKED};
pub use record::Auditor;
