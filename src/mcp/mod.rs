//! `tollgate mcp`: an MCP gateway that puts tollgate in front of any MCP server without
//! changing the agent or the server. The upstream server runs as a stdio child process or is
//! reached over Streamable HTTP (see [`upstream`]); the agent's MCP client talks to the
//! gateway on stdio. `tools/list` passes through; every
//! `tools/call` is an `Authorize` request through [`crate::client`] (see [`mapping`] for the
//! input it becomes) and is forwarded only once tollgate allowed exactly those arguments
//! (see [`gateway`] for the hold-and-resume flow). With `--console-url`, a client that
//! supports URL-mode elicitation is sent to the pending approval's console page (see
//! `elicit`); the only state handed to a client and read back is sealed (see [`state`]).
//!
//! The gateway's token must be a gateway identity (role `gateway` or `assert_subjects: true`)
//! so it may ask about the agent named by `--subject`, and hold role `redeem` so it can redeem
//! the capabilities of approved calls.

mod elicit;
pub mod gateway;
mod listing;
pub mod mapping;
pub mod state;
pub mod upstream;

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::Args;
use rmcp::{transport::stdio, ServiceExt};

use crate::client::{Client, ClientError};
use gateway::{Gateway, Options};
use mapping::{Agent, Mapping};
use state::StateKey;
use upstream::Upstream;

/// `tollgate mcp [flags] --upstream-url <URL>` or `tollgate mcp [flags] -- <server command>
/// [args...]`.
#[derive(Clone, Args)]
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
    /// How long a call awaiting approval is held as a task, for a client that declared the
    /// Tasks extension (it polls instead of holding a request open). The task is kept twice as
    /// long, so an approved tool has as long again to run.
    #[arg(long, env = "TOLLGATE_MCP_TASK_WAIT", default_value = "1h", value_parser = humantime::parse_duration)]
    pub task_wait: Duration,
    /// How often a task's client is told to poll `tasks/get` (hidden: tests shorten it).
    #[arg(long, env = "TOLLGATE_MCP_TASK_POLL", default_value = "1s", value_parser = humantime::parse_duration, hide = true)]
    pub task_poll: Duration,
    /// The public base URL of tollgate's console, e.g. `https://tollgate.example.com`: a client
    /// that supports URL-mode elicitation is sent to a pending approval's page
    /// (`<URL>/console/approvals/<id>`); its answer is never taken as approval.
    #[arg(long, env = "TOLLGATE_MCP_CONSOLE_URL", value_name = "URL")]
    pub console_url: Option<String>,
    /// A file whose bytes (at least 32) key the MAC over the state a held call hands the
    /// client (so it survives a gateway restart); without it, a random key per process.
    #[arg(long, env = "TOLLGATE_MCP_STATE_KEY_FILE", value_name = "PATH")]
    pub state_key_file: Option<PathBuf>,
    /// How often a held call whose client sent a `progressToken` is sent a progress
    /// notification (hidden: tests shorten it).
    #[arg(long, env = "TOLLGATE_MCP_PROGRESS_EVERY", default_value = "5s", value_parser = humantime::parse_duration, hide = true)]
    pub progress_every: Duration,
    /// List only the tools the policy does not deny this agent outright (asked with empty
    /// arguments, one dry-run batch per listing); calls are decided as always.
    #[arg(long, env = "TOLLGATE_MCP_FILTER_TOOLS")]
    pub filter_tools: bool,
    /// The upstream MCP server's Streamable HTTP endpoint, e.g. `https://tools.example/mcp`
    /// (instead of a server command after `--`).
    #[arg(long, env = "TOLLGATE_MCP_UPSTREAM_URL", value_name = "URL")]
    pub upstream_url: Option<String>,
    /// A header sent with every request to `--upstream-url`, as `Name: value`, e.g.
    /// `Authorization: Bearer ...` (repeatable; in the environment one per line). Values are
    /// never logged.
    #[arg(
        long = "upstream-header",
        env = "TOLLGATE_MCP_UPSTREAM_HEADERS",
        value_name = "NAME: VALUE",
        value_delimiter = '\n',
        hide_env_values = true
    )]
    pub upstream_headers: Vec<String>,
    /// The upstream MCP server command and its arguments, started as a stdio child process
    /// (after `--`; instead of `--upstream-url`).
    #[arg(last = true, num_args = 1..)]
    pub server: Vec<String>,
}

impl std::fmt::Debug for McpArgs {
    /// Everything but the secrets: the token and the upstream headers' values are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            tollgate,
            token,
            subject,
            kind,
            owner,
            on_behalf_of,
            mapping,
            wait,
            task_wait,
            task_poll,
            progress_every,
            console_url,
            state_key_file,
            filter_tools,
            upstream_url,
            upstream_headers,
            server,
        } = self;
        let names: Vec<&str> = upstream_headers
            .iter()
            .map(|h| h.split_once(':').map_or("<malformed>", |(n, _)| n.trim()))
            .collect();
        f.debug_struct("McpArgs")
            .field("tollgate", tollgate)
            .field("token", &token.as_ref().map(|_| "<redacted>"))
            .field("subject", subject)
            .field("kind", kind)
            .field("owner", owner)
            .field("on_behalf_of", on_behalf_of)
            .field("mapping", mapping)
            .field("wait", wait)
            .field("task_wait", task_wait)
            .field("task_poll", task_poll)
            .field("progress_every", progress_every)
            .field("console_url", console_url)
            .field("state_key_file", state_key_file)
            .field("filter_tools", filter_tools)
            .field("upstream_url", upstream_url)
            .field("upstream_header_names", &names)
            .field("server", server)
            .finish()
    }
}

/// The value of `flag`, which must be an absolute http(s) URL with a host.
fn http_url(flag: &'static str, raw: &str) -> Result<reqwest::Url, McpError> {
    let bad = |reason: String| McpError::Flag { flag, reason };
    let url = reqwest::Url::parse(raw).map_err(|e| bad(format!("not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(bad("has no host".into())),
        other => Err(bad(format!("scheme {other:?} is not http or https"))),
    }
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
    /// A flag's value is unusable (the message never repeats a header's value).
    #[error("{flag}: {reason}")]
    Flag {
        /// The flag, e.g. `--upstream-url`.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client for an HTTP upstream could not be built.
    #[error("HTTP client for the upstream MCP server: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// tollgate is not reachable.
    #[error("tollgate: {0}")]
    Tollgate(#[source] ClientError),
    /// The upstream server could not be started.
    #[error("cannot start the upstream MCP server: {0}")]
    Spawn(#[source] std::io::Error),
    /// The MCP handshake with the upstream server failed (or it could not be reached).
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
        task_wait,
        task_poll,
        progress_every,
        console_url,
        state_key_file,
        filter_tools,
        upstream_url,
        upstream_headers,
        server,
    } = args;
    let upstream = Upstream::choose(upstream_url.as_deref(), upstream_headers, server)?;
    let console = console_url
        .as_deref()
        .map(elicit::console_base)
        .transpose()?;
    let state_key = Arc::new(StateKey::load(state_key_file.as_deref())?);
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
    let described = upstream.describe();
    let upstream = upstream.connect().await?;
    let agent = Agent {
        id: subject.clone(),
        kind: kind.clone(),
        owner: owner.clone(),
        on_behalf_of: on_behalf_of.clone(),
    };
    tracing::info!(subject = %agent.id, upstream = %described, "MCP gateway serving on stdio");
    let gateway = Gateway::new(
        upstream.peer().clone(),
        client,
        agent,
        mapping,
        Options {
            wait: *wait,
            task_wait: *task_wait,
            task_poll: *task_poll,
            progress_every: *progress_every,
            filter_tools: *filter_tools,
            console,
            state_key,
        },
    );
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
