//! The integration tests: one binary, so the crate and its dependencies are linked once.
//! Each module is a black-box suite against a real server (in process on port 0, or the
//! built `tollgate` binary), a real SQLite file and, where named, the loopback PostgreSQL
//! that `scripts/test.sh` starts. `common` holds the shared harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../support/pki.rs"]
mod pki;

mod all_of_rego;
mod approvals;
mod audit_durability;
mod audit_query;
mod audit_tamper;
mod audit_trail;
mod authzen;
mod binary;
mod bounded_evaluation;
mod bundles;
mod cli_approvals;
mod cli_audit;
mod console;
mod differential;
mod durability;
mod envoy;
mod fuzz_props;
mod golden;
mod grpc;
mod guarantees;
mod identity;
mod log_hygiene;
mod malformed;
mod mcp;
mod mcp_hold;
mod mcp_http;
mod metrics;
mod notify;
mod otlp;
mod replicas;
mod rule_index;
mod sdk;
mod signed_bundles;
mod slack_interactions;
mod store;
mod store_outage;
mod tls;
mod vm_patch;
