//! `tollgate mcp`: an MCP gateway that puts tollgate in front of any MCP server without
//! changing the agent or the server. The upstream server runs as a stdio child process; the
//! agent's MCP client talks to the gateway on stdio. `tools/list` passes through; every
//! `tools/call` is an `Authorize` request through [`crate::client`] (see [`mapping`] for the
//! input it becomes) and is forwarded only once tollgate allowed exactly those arguments
//! (see [`gateway`] for the hold-and-resume flow).
//!
//! The gateway's token must be a gateway identity (role `gateway` or `assert_subjects: true`)
//! so it may ask about the agent named by `--subject`, and hold role `redeem` so it can redeem
//! the capabilities of approved calls.

pub mod gateway;
pub mod mapping;

use std::{path::PathBuf, time::Duration};

use clap::Args;
use rmcp::{
    transport::{stdio, TokioChildProcess},
    ServiceExt,
};

use crate::client::{Client, ClientError};
use gateway::Gateway;
use mapping::{Agent, Mapping};

/// `tollgate mcp [flags] -- <server command> [args...]`.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// The tollgate gRPC endpoint.
    #[arg(
        long,
        env = "TOLLGATE_MCP_TOLLGATE",
        default_value = "http://127.0.0.1:50051"
    )]
    pub tollgate: String,
    /// The gateway's bearer token (a gateway identity that may redeem).
    #[arg(long, env = "TOLLGATE_MCP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The agent the calls are made for, e.g. `agent:billing-exporter`.
    #[arg(long, env = "TOLLGATE_MCP_SUBJECT")]
    pub subject: String,
    /// The subject's kind.
    #[arg(long, env = "TOLLGATE_MCP_KIND", default_value = "agent")]
    pub kind: String,
    /// Who is accountable for the agent, e.g. `team:growth`.
    #[arg(long, env = "TOLLGATE_MCP_OWNER", default_value = "")]
    pub owner: String,
    /// The human the agent acts for.
    #[arg(long, env = "TOLLGATE_MCP_ON_BEHALF_OF", default_value = "")]
    pub on_behalf_of: String,
    /// YAML mapping: action prefix, resource per tool, context (see `docs/integrations.md`).
    #[arg(long, env = "TOLLGATE_MCP_MAPPING")]
    pub mapping: Option<PathBuf>,
    /// How long a call awaiting approval is held before it answers with the approval id.
    #[arg(long, env = "TOLLGATE_MCP_WAIT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub wait: Duration,
    /// The upstream MCP server command and its arguments (after `--`).
    #[arg(last = true, required = true, num_args = 1..)]
    pub server: Vec<String>,
}

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The mapping file is unreadable or not the expected YAML.
    #[error("mapping {path}: {reason}")]
    Mapping {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// `--subject` or `--kind` is empty.
    #[error("{0} is required")]
    Missing(&'static str),
    /// tollgate is not reachable.
    #[error("tollgate: {0}")]
    Tollgate(#[source] ClientError),
    /// The upstream server could not be started.
    #[error("cannot start the upstream MCP server: {0}")]
    Spawn(#[source] std::io::Error),
    /// The MCP handshake with the upstream server failed.
    #[error("upstream MCP server: {0}")]
    Upstream(#[source] Box<rmcp::service::ClientInitializeError>),
    /// The MCP handshake with the agent's client failed.
    #[error("MCP client: {0}")]
    Downstream(#[source] Box<rmcp::service::ServerInitializeError>),
    /// The session ended abnormally.
    #[error("MCP session: {0}")]
    Session(#[source] tokio::task::JoinError),
}

/// Runs the gateway until the client closes stdin.
pub async fn run(args: &McpArgs) -> Result<(), McpError> {
    let McpArgs {
        tollgate,
        token,
        subject,
        kind,
        owner,
        on_behalf_of,
        mapping,
        wait,
        server,
    } = args;
    if subject.trim().is_empty() {
        return Err(McpError::Missing("--subject"));
    }
    if kind.trim().is_empty() {
        return Err(McpError::Missing("--kind"));
    }
    let mapping = match mapping {
        Some(path) => Mapping::load(path)?,
        None => Mapping::default(),
    };
    let client = Client::connect(tollgate, token.clone())
        .await
        .map_err(McpError::Tollgate)?;
    let (program, rest) = server
        .split_first()
        .ok_or(McpError::Missing("the server command"))?;
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    let upstream =
        ().serve(TokioChildProcess::new(command).map_err(McpError::Spawn)?)
            .await
            .map_err(|e| McpError::Upstream(Box::new(e)))?;
    let agent = Agent {
        id: subject.clone(),
        kind: kind.clone(),
        owner: owner.clone(),
        on_behalf_of: on_behalf_of.clone(),
    };
    tracing::info!(subject = %agent.id, upstream = %program, "MCP gateway serving on stdio");
    let gateway = Gateway::new(upstream.peer().clone(), client, agent, mapping, *wait);
    let session = gateway
        .serve(stdio())
        .await
        .map_err(|e| McpError::Downstream(Box::new(e)))?;
    let ended = session.waiting().await;
    let _ = upstream.cancel().await;
    ended
        .map(|reason| tracing::info!(reason = ?reason, "MCP session ended"))
        .map_err(McpError::Session)
}
