//! tollgate: a policy decision service with action-level human approvals.
//!
//! Agents and pipelines call `Authorize` before a privileged action; Rego policies (regorus)
//! over hot-swappable bundles answer ALLOW, DENY or PENDING_APPROVAL. Every fault denies.
//!
//! # Layout
//!
//! Data flows one way: request -> identity -> policy -> decision -> response.
//!
//! - [`domain`]: request and decision types, input validation and the `decide` combinator
//!   (deny-overrides, default deny). No tonic, no regorus, no I/O.
//! - [`policy`]: bundle loading (directory and OPA `.tar.gz`), compilation to the regorus VM,
//!   evaluation under limits, atomic hot swap, signature verification, the archive of every
//!   activated revision, replay and impact, the decision cache and the Rego test runner.
//! - [`approval`]: separation of duties and quorum: who may review, and when reviews decide.
//! - [`capability`]: single-use PASETO capabilities bound to one request: mint, verify, JWKS.
//! - [`keyfile`]: the Ed25519 key file both keys use: load or generate a 0600 PASERK file,
//!   key id, JWK.
//! - [`audit`]: the append-only, hash-chained audit log: events, masking, the group-commit
//!   writer, signed checkpoints and the verifier. Records commit in the same transaction as
//!   the state they describe, before the answer.
//! - [`identity`]: who the verified caller is (static tokens or insecure development mode).
//! - [`service`]: the decision pipeline the protocols share: identity -> cache -> policy ->
//!   decision.
//! - [`store`]: durable approvals, reviews, capabilities and the audit log behind a trait
//!   (SQLite, PostgreSQL).
//! - [`grpc`]: tonic services; the only module that names proto types.
//! - [`http`]: axum endpoints for health, bundle status, metrics and the capability JWKS.
//! - [`config`]: one typed configuration: file -> environment -> flags, validated up front.
//! - [`cli`]: clap subcommands (`serve`, `eval`, `test`, `approvals` for reviewers, `audit`
//!   for auditors, `bundle impact` for policy authors).
//! - [`app`]: wiring: build state, start servers, reload on change, drain on shutdown.
//! - [`telemetry`]: the tracing subscriber (pretty or JSON logs), OTLP span export when
//!   configured, W3C trace-context propagation, and the Prometheus metrics.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod approval;
pub mod audit;
pub mod capability;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod keyfile;
pub mod policy;
pub mod service;
pub mod store;
pub mod telemetry;
