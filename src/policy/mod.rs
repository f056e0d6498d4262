//! Policy: bundles in, verdicts out.
//!
//! [`bundle`] reads a directory or OPA `.tar.gz`; [`api`] lets a bundle decide who holds
//! which API role; [`compiled`] turns it into VM bytecode and
//! evaluates under [`limits`], over the rules `index` selects for the input (one
//! `program` per selection); [`evaluator`] runs evaluations inline or on a bounded pool so
//! expensive ones cannot hold up cheap ones; [`engine`] says which evaluator serves a bundle
//! (the VM, or the interpreter where the VM compiler refuses it); [`contract`] checks what
//! the rules produced; [`active`] swaps revisions atomically; [`archive`] keeps every
//! activated revision by digest; [`watch`] reloads on change; [`cache`] memoises verdicts;
//! [`testing`] runs a bundle's Rego tests; [`signature`] verifies OPA bundle signatures;
//! [`replay`] re-evaluates recorded decisions against archived revisions or a candidate
//! bundle.

pub mod active;
pub mod api;
pub mod archive;
pub mod bundle;
pub mod cache;
pub mod compiled;
pub mod contract;
pub mod engine;
pub mod evaluator;
mod index;
pub mod input;
pub mod limits;
mod program;
pub mod replay;
pub mod signature;
pub mod testing;
pub mod watch;

pub use active::{ActivePolicy, LoadError, LoadStatus, Reloaded};
pub use archive::{ArchiveError, BundleArchive};
pub use bundle::{Bundle, BundleError};
pub use cache::{CacheConfig, DecisionCache};
pub use compiled::{CompileError, CompiledBundle};
pub use contract::RequirementDefaults;
pub use engine::{agreement, Agreement, ServingEngine};
pub use evaluator::{Evaluator, LimitObserver};
pub use limits::{BlownBudget, EvalLimits, Evaluated, Limit};
pub use signature::{BundleVerifier, SignatureError, VerificationConfig};
