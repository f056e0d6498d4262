//! `tollgate approvals`: the reviewer's client. Lists, shows and answers approval requests on
//! a running server over gRPC, as the identity the bearer token names.
//!
//! The command is a thin shell: parse, call one RPC, hand the answer to the pure functions in
//! [`render`], print. Failures print the gRPC status (`permission denied: ...`) and exit 2
//! for bad usage (`InvalidArgument`), 1 for everything else.

pub mod render;

use std::{process::ExitCode, time::Duration};

use clap::{Args, Subcommand, ValueEnum};
use tonic::{
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
    Code, Request, Status,
};

use crate::grpc::pb::{self, approvals_client::ApprovalsClient};

/// `tollgate approvals`: options shared by every subcommand.
#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// gRPC address of the tollgate server.
    #[arg(
        long,
        env = "TOLLGATE_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Bearer token naming the reviewer (sent as `authorization: Bearer TOKEN`).
    #[arg(long, env = "TOLLGATE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// What to do.
    #[command(subcommand)]
    pub command: ApprovalsCommand,
}

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: a table (`list`) or a labelled report.
    Table,
    /// For scripts: one JSON document.
    Json,
}

/// `tollgate approvals` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Approval requests matching filters, oldest first.
    List(ListArgs),
    /// Everything a reviewer needs to decide one request.
    Show(ShowArgs),
    /// Approve a request (the reason is recorded).
    Approve(ReviewArgs),
    /// Deny a request (the reason is recorded); one eligible deny ends it.
    Deny(ReviewArgs),
    /// Approve a narrowed request: `--params` replaces the action's params (numbers lower,
    /// durations shorter, lists smaller; nothing added or removed). The policy decides the
    /// narrowed request again.
    Modify(ModifyArgs),
}

/// `tollgate approvals modify`.
#[derive(Debug, Args)]
pub struct ModifyArgs {
    /// Approval id and reason, as for approve.
    #[command(flatten)]
    pub review: ReviewArgs,
    /// The complete narrowed params as a JSON object, e.g. '{"table": "users", "rows": 10000}'.
    #[arg(long)]
    pub params: String,
}

/// A state to filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    /// Waiting for reviewers.
    Pending,
    /// Every requirement met.
    Approved,
    /// An eligible reviewer denied.
    Denied,
    /// Nobody decided in time.
    Expired,
    /// The requester withdrew it.
    Cancelled,
}

impl StateFilter {
    fn wire(self) -> pb::ApprovalState {
        match self {
            Self::Pending => pb::ApprovalState::Pending,
            Self::Approved => pb::ApprovalState::Approved,
            Self::Denied => pb::ApprovalState::Denied,
            Self::Expired => pb::ApprovalState::Expired,
            Self::Cancelled => pb::ApprovalState::Cancelled,
        }
    }
}

/// `tollgate approvals list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only requests in this state.
    #[arg(long, value_enum)]
    pub state: Option<StateFilter>,
    /// Only requests by this subject id.
    #[arg(long)]
    pub subject: Option<String>,
    /// Only requests for this action name.
    #[arg(long)]
    pub action: Option<String>,
    /// Only requests this reviewer has reviewed.
    #[arg(long)]
    pub reviewer: Option<String>,
    /// At most this many (server default 50, at most 500).
    #[arg(long)]
    pub limit: Option<u32>,
    /// The next-page token printed by the previous page.
    #[arg(long)]
    pub page_token: Option<String>,
}

/// `tollgate approvals show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Approval id.
    pub id: String,
    /// Also print the capability token (shown to the requester only, once approved).
    #[arg(long)]
    pub show_capability: bool,
}

/// `tollgate approvals approve|deny`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Approval id.
    pub id: String,
    /// Why; recorded with the review and shown to the requester.
    #[arg(long)]
    pub reason: String,
}

/// Why an `approvals` command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command line cannot be turned into a call (bad URL, bad token).
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("cannot connect to {server}: {}", chain(.source))]
    Connect {
        /// The `--server` address.
        server: String,
        /// The transport failure.
        #[source]
        source: tonic::transport::Error,
    },
    /// The server answered with an error status.
    #[error("{}: {}", render::code_name(.0.code()), .0.message())]
    Status(#[from] Status),
    /// The answer could not be printed as JSON.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// An error and its causes, `outer: inner: root`, so "transport error" says why.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text += &format!(": {e}");
        cause = e.source();
    }
    text
}

impl ClientError {
    /// 2 for invalid usage (including `InvalidArgument` from the server), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Status(s) if s.code() == Code::InvalidArgument => 2,
            _ => 1,
        }
    }
}

/// Runs one `approvals` subcommand, printing the answer or the error.
pub async fn run(args: &ApprovalsArgs) -> ExitCode {
    match execute(args).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Calls the server and renders the answer as text.
async fn execute(args: &ApprovalsArgs) -> Result<String, ClientError> {
    let mut client = Client::connect(&args.server, args.token.as_deref()).await?;
    let json = args.output == Output::Json;
    let now = std::time::SystemTime::now();
    match &args.command {
        ApprovalsCommand::List(list) => {
            let page = client.list(list).await?;
            if json {
                return pretty(&render::list_json(&page));
            }
            Ok(render::list_text(&page, now))
        }
        ApprovalsCommand::Show(show) => {
            let approval = client.get(&show.id).await?;
            if json {
                return pretty(&render::approval_json(&approval, show.show_capability));
            }
            Ok(render::show_text(&approval, now, show.show_capability))
        }
        ApprovalsCommand::Approve(r) => {
            decide(&mut client, r, pb::Verdict::Approve, None, json, now).await
        }
        ApprovalsCommand::Deny(r) => {
            decide(&mut client, r, pb::Verdict::Deny, None, json, now).await
        }
        ApprovalsCommand::Modify(m) => {
            let narrowed = params(&m.params)?;
            decide(
                &mut client,
                &m.review,
                pb::Verdict::Modify,
                Some(narrowed),
                json,
                now,
            )
            .await
        }
    }
}

/// Sends one review and renders the result.
async fn decide(
    client: &mut Client,
    review: &ReviewArgs,
    verdict: pb::Verdict,
    params: Option<prost_types::Struct>,
    json: bool,
    now: std::time::SystemTime,
) -> Result<String, ClientError> {
    let approval = client.review(review, verdict, params).await?;
    if json {
        return pretty(&render::approval_json(&approval, false));
    }
    Ok(render::review_text(&approval, now))
}

/// `--params` as a wire struct; anything but a JSON object is a usage error.
fn params(text: &str) -> Result<prost_types::Struct, ClientError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ClientError::Usage(format!("--params is not JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ClientError::Usage("--params must be a JSON object".into()));
    };
    Ok(crate::grpc::convert::to_struct(&map))
}

fn pretty(value: &serde_json::Value) -> Result<String, ClientError> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// An `Approvals` client that authenticates every call with the bearer token.
struct Client {
    inner: ApprovalsClient<Channel>,
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Client {
    async fn connect(server: &str, token: Option<&str>) -> Result<Self, ClientError> {
        let endpoint = Endpoint::from_shared(server.to_string())
            .map_err(|e| ClientError::Usage(format!("--server {server:?}: {e}")))?
            .connect_timeout(Duration::from_secs(10));
        let authorization = token
            .map(|t| {
                format!("Bearer {t}")
                    .parse()
                    .map_err(|_| ClientError::Usage("--token: not a valid header value".into()))
            })
            .transpose()?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                server: server.to_string(),
                source,
            })?;
        Ok(Self {
            inner: ApprovalsClient::new(channel),
            authorization,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(Duration::from_secs(30));
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    async fn list(&mut self, args: &ListArgs) -> Result<pb::ListApprovalsResponse, Status> {
        let ListArgs {
            state,
            subject,
            action,
            reviewer,
            limit,
            page_token,
        } = args;
        let message = pb::ListApprovalsRequest {
            state: state.map_or(pb::ApprovalState::Unspecified, StateFilter::wire) as i32,
            subject_id: subject.clone().unwrap_or_default(),
            action: action.clone().unwrap_or_default(),
            reviewer_id: reviewer.clone().unwrap_or_default(),
            page_size: limit.unwrap_or(0),
            page_token: page_token.clone().unwrap_or_default(),
        };
        let request = self.request(message);
        Ok(self.inner.list_approvals(request).await?.into_inner())
    }

    async fn get(&mut self, id: &str) -> Result<pb::Approval, Status> {
        let message = pb::GetApprovalRequest {
            approval_id: id.to_string(),
        };
        let request = self.request(message);
        Ok(self.inner.get_approval(request).await?.into_inner())
    }

    async fn review(
        &mut self,
        args: &ReviewArgs,
        verdict: pb::Verdict,
        params: Option<prost_types::Struct>,
    ) -> Result<pb::Approval, Status> {
        let message = pb::ApproveRequest {
            approval_id: args.id.clone(),
            verdict: verdict as i32,
            reason: args.reason.clone(),
            params,
        };
        let request = self.request(message);
        Ok(self.inner.approve(request).await?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_print_as_code_and_message_and_choose_the_exit_code() {
        let denied = ClientError::from(Status::permission_denied(
            "the requester cannot review its own request",
        ));
        assert_eq!(
            denied.to_string(),
            "permission denied: the requester cannot review its own request"
        );
        assert_eq!(denied.exit_code(), 1);
        let invalid = ClientError::from(Status::invalid_argument("reason: is required"));
        assert_eq!(invalid.to_string(), "invalid argument: reason: is required");
        assert_eq!(invalid.exit_code(), 2);
        assert_eq!(ClientError::Usage("--server".into()).exit_code(), 2);
    }
}
