//! tollgate: a policy decision service with action-level human approvals.
//!
//! Agents and pipelines call `Authorize` before a privileged action; Rego policies (regorus)
//! over hot-swappable bundles answer ALLOW, DENY or PENDING_APPROVAL. Every fault denies.
//!
//! # Layout
//!
//! Data flows one way: surface -> identity -> service -> policy -> approval -> capability ->
//! audit -> store, with no module reaching back up.
//!
//! - [`domain`]: the vocabulary: requests, callers and their kinds, decisions, approval and
//!   capability records, audit events (one constructor per kind) and the hash chain, the
//!   one time type. Pure data and pure functions; no tonic, no SQL, no I/O.
//! - [`identity`]: who the verified caller is (static tokens or insecure development mode).
//! - [`service`]: the domain API: one entry per use case (`authorize`, `review`, `watch`,
//!   `list`, `get`, `cancel`, `redeem`, `query_audit`, `reload`), each taking the verified
//!   caller; the only place that checks roles and read authorization. Every surface calls it.
//! - [`policy`]: bundle loading (directory and OPA `.tar.gz`), compilation to the regorus VM,
//!   evaluation under limits, the active policy and its atomic hot swap, signature
//!   verification, the archive of every activated revision, replay and impact, the decision
//!   cache and the Rego test runner.
//! - [`approval`]: separation of duties and quorum (who may review, when reviews decide) and
//!   the workflow that stores requests, reviews, capabilities and expiries.
//! - [`capability`]: single-use PASETO capabilities bound to one request: mint, verify, JWKS.
//! - [`keyfile`]: the Ed25519 key file both keys use: load or generate a 0600 PASERK file,
//!   key id, JWK.
//! - [`outbound`]: the HTTP client for calls tollgate makes (JWKS, anchor webhook).
//! - [`audit`]: the service side of the hash-chained trail: masking, recording through the
//!   group commit, signed checkpoints, the verifier, queries, bundle events.
//! - [`store`]: one small trait per concern (approvals, capabilities, the audit log, the
//!   group commit's batches) over SQLite and PostgreSQL, and the group commit itself.
//! - [`grpc`]: tonic services: validate, one call into [`service`], convert; the only module
//!   that names proto types.
//! - [`http`]: axum endpoints for health, bundle status, metrics and the capability JWKS,
//!   and the Slack interactivity endpoint (signed clicks reviewed through [`service`]).
//! - [`notify`]: reviewer notifications (Slack, Teams, signed webhooks) through a durable
//!   outbox the audit append writes, delivered once per channel across replicas.
//! - [`config`]: one typed configuration: file -> environment -> flags, validated up front.
//! - [`client`]: the agent-side SDK over gRPC: authorize, wait, redeem, run.
//! - [`mcp`]: the MCP gateway (`tollgate mcp`): every tool call decided through [`client`].
//! - [`cli`]: clap subcommands (`serve`, `eval`, `test`, `approvals` for reviewers, `audit`
//!   for auditors, `bundle impact` for policy authors).
//! - [`app`]: wiring: build state, start servers, reload on change, drain on shutdown.
//! - [`telemetry`]: the tracing subscriber (pretty or JSON logs), OTLP span export when
//!   configured, W3C trace-context propagation, errors with their causes, and the
//!   Prometheus metrics.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod approval;
pub mod audit;
pub mod capability;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod fuzzing;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod keyfile;
pub mod mcp;
pub mod notify;
pub mod outbound;
pub mod policy;
pub mod service;
pub mod store;
pub mod telemetry;
