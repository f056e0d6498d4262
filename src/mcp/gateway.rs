//! The MCP server the agent talks to: `tools/list` passes through to the upstream server
//! (with `--filter-tools`, without the tools the policy denies this agent outright); every
//! `tools/call` is decided by tollgate first. ALLOW forwards; DENY answers a tool error
//! with the policy's reasons; PENDING_APPROVAL holds the call (with progress notifications
//! when the client asked for them; a client that supports URL-mode elicitation is first
//! sent to the approval's console page) until a reviewer decides or the wait runs out, then
//! redeems the capability for exactly the approved arguments and forwards those. A client
//! that declared the Tasks extension gets a task at once instead, which holds up to
//! `--task-wait` while the client polls `tasks/get`. Nothing the client sends can skip a
//! step: the gateway asks, waits and redeems itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
        CreateTaskResult, ElicitationAction, ErrorData, GetTaskParams, GetTaskResult,
        ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
        ResultType, ServerCapabilities, ServerConfig, Task, UpdateTaskParams,
    },
    service::{Peer, RequestContext},
    task_manager::{TaskContext, TaskExit, TaskManager, TaskOptions},
    RoleClient, RoleServer, ServerHandler,
};
use serde_json::{Map, Value as Json};
use tokio_util::sync::CancellationToken;

use super::{
    elicit::{self, Prompt},
    listing,
    mapping::{intent, with_generation, Agent, Mapping},
    state::{Binding, StateKey},
};
use crate::{
    client::{Client, ClientError},
    grpc::{convert::struct_json, pb},
};

/// How many used-up approvals one call steps past before it gives up (each step is one
/// `Authorize`; more than a few happen only after a gateway restart forgot the generations).
const MAX_ASKS: u32 = 16;

/// How many calls' generations the gateway remembers; a forgotten one costs round trips,
/// never safety (tollgate refuses a used capability whatever the gateway remembers).
const REMEMBERED_CALLS: u64 = 100_000;

/// The gateway's server side: one per client session.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

/// How the gateway holds and lists, from its flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a pending call is held before it answers with the approval id (`--wait`).
    pub wait: Duration,
    /// How long a task holds a pending call (`--task-wait`); the task lives twice as long,
    /// so the approved tool has as long again to run.
    pub task_wait: Duration,
    /// How often a task's client is told to poll `tasks/get`.
    pub task_poll: Duration,
    /// How often a held call that asked for progress is told it still waits.
    pub progress_every: Duration,
    /// Leave out of `tools/list` what the policy denies outright (`--filter-tools`).
    pub filter_tools: bool,
    /// The console's public base URL (`--console-url`): set, a client that supports
    /// URL-mode elicitation is sent to a pending approval's page.
    pub console: Option<reqwest::Url>,
    /// Seals the state a held call hands the client (`--state-key-file`).
    pub state_key: Arc<StateKey>,
}

struct Inner {
    upstream: Peer<RoleClient>,
    tollgate: Client,
    agent: Agent,
    mapping: Mapping,
    options: Options,
    /// The generation each call (by its idempotency key) asks under: 0 unless an approval
    /// it mapped to was used up, so an identical later call asks anew, never reusing it.
    generations: moka::sync::Cache<String, u32>,
    /// The calls running as tasks. A task id is random and known only to this gateway's one
    /// client; it lets the client watch the call, never approve it.
    tasks: TaskManager,
}

/// What a held call watches besides the reviewer: whom it keeps informed, and when to stop.
struct Watch {
    peer: Peer<RoleServer>,
    /// The call's progress token while the call itself is held (a task's client polls
    /// `tasks/get` instead).
    progress: Option<ProgressToken>,
    /// Cancelled when the client gives up: the call cancelled, or `tasks/cancel`.
    cancel: CancellationToken,
    /// Handshake-era URL elicitation: the client is sent to the page while the call is held.
    legacy: bool,
}

impl Watch {
    /// A call held on its own request.
    fn call(context: &RequestContext<RoleServer>, prompt: &Prompt) -> Self {
        Self {
            peer: context.peer.clone(),
            progress: context.meta.get_progress_token(),
            cancel: context.ct.clone(),
            legacy: *prompt == Prompt::Legacy,
        }
    }
}

/// What tollgate allowed: the call as asked, or a reviewer's narrowed arguments with a note
/// saying so; `approved` when an approval's capability was redeemed (the approval is spent).
struct Cleared {
    narrowed: Option<(Map<String, Json>, String)>,
    approved: bool,
}

/// Why a call was not cleared.
enum Refusal {
    /// The approval the call mapped to is used up (its capability redeemed or expired, or it
    /// expired or was withdrawn unanswered): the call asks anew under the next generation.
    Spent(String),
    /// The tool error's text.
    Final(String),
    /// The client is to be sent to this pending approval's console page first (2026-07-28
    /// URL elicitation): the call answers an `InputRequiredResult`.
    Elicit(String),
    /// The call waits for this pending approval as a task (the client declared the Tasks
    /// extension): the call answers the task at once.
    Task(String),
}

impl Gateway {
    /// A gateway forwarding to `upstream`, asking `tollgate` about `agent`'s calls, holding
    /// and listing as `options` say.
    pub fn new(
        upstream: Peer<RoleClient>,
        tollgate: Client,
        agent: Agent,
        mapping: Mapping,
        options: Options,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstream,
                tollgate,
                agent,
                mapping,
                options,
                generations: moka::sync::Cache::new(REMEMBERED_CALLS),
                tasks: TaskManager::new(),
            }),
        }
    }

    /// Decides the call, then forwards what was allowed; every refusal is a tool error; a
    /// client to be sent to a pending approval's page first gets an `InputRequiredResult`,
    /// and one that declared the Tasks extension gets a task for a pending call.
    async fn guarded(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.to_string();
        let arguments = request.arguments.clone().unwrap_or_default();
        let stated = request
            .meta
            .as_ref()
            .map(|m| intent(m))
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| intent(&context.meta));
        let asked = self
            .inner
            .mapping
            .request(&self.inner.agent, &tool, &arguments, &stated);
        let digest = asked
            .context
            .as_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let binding = Binding {
            agent: &self.inner.agent.id,
            digest: &digest,
        };
        let Options {
            console, state_key, ..
        } = &self.inner.options;
        let prompt = elicit::prompt(&request, context, console.as_ref(), state_key, binding)?;
        let action = asked
            .action
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let watch = Watch::call(context, &prompt);
        let wait = self.inner.options.wait;
        match self.clear(asked.clone(), &watch, &prompt, wait).await {
            Ok(cleared) => Ok(self.forward(request, cleared).await?.into()),
            Err(Refusal::Elicit(id)) => {
                let (page, said) = self.page(&action, &id);
                tracing::info!(approval_id = %id, "client sent to the approval's console page");
                let asking = elicit::input_required(page, said, &id, state_key, binding)?;
                Ok(asking.into())
            }
            Err(Refusal::Task(id)) => {
                let task = self.task(request, asked, &id, &action, context);
                tracing::info!(approval_id = %id, task_id = %task.task_id, "tool call held as a task");
                Ok(CreateTaskResult::new(task).into())
            }
            Err(Refusal::Spent(text) | Refusal::Final(text)) => Ok(refused(&tool, text)),
        }
    }

    /// Runs a call waiting for approval `id` as a task: it holds up to `--task-wait` (until
    /// the client cancels it with `tasks/cancel`), then forwards what was approved; its
    /// outcome is the tool's result, or the tool error saying why not.
    fn task(
        &self,
        request: CallToolRequestParams,
        asked: pb::AuthorizeRequest,
        id: &str,
        action: &str,
        context: &RequestContext<RoleServer>,
    ) -> Task {
        let Options {
            task_wait,
            task_poll,
            ..
        } = self.inner.options;
        let (page, _) = self.page(action, id);
        let status = if page.is_empty() {
            format!("waiting for a reviewer: approval {id}")
        } else {
            format!("waiting for a reviewer: approval {id} ({page})")
        };
        let options = TaskOptions::new()
            .with_ttl_ms(millis(task_wait.saturating_mul(2)))
            .with_poll_interval_ms(millis(task_poll))
            .with_status_message(status);
        let gateway = self.clone();
        let peer = context.peer.clone();
        self.inner.tasks.spawn(options, move |ctx| {
            Box::pin(async move { gateway.settle(request, asked, peer, ctx).await })
        })
    }

    /// A task's work: clears the call (holding up to `--task-wait`, stopping the hold when
    /// the client cancels the task) and forwards what was allowed.
    async fn settle(
        self,
        request: CallToolRequestParams,
        asked: pb::AuthorizeRequest,
        peer: Peer<RoleServer>,
        ctx: TaskContext,
    ) -> Result<CallToolResult, TaskExit> {
        let cancel = CancellationToken::new();
        let watch = Watch {
            peer,
            progress: None,
            cancel: cancel.clone(),
            legacy: false,
        };
        let tool = request.name.to_string();
        let wait = self.inner.options.task_wait;
        let work = async {
            match self.clear(asked, &watch, &Prompt::Off, wait).await {
                Ok(cleared) => Ok(self.forward(request, cleared).await?),
                // The hold ended because the client cancelled: the approval stays pending.
                Err(_) if cancel.is_cancelled() => Err(TaskExit::Cancelled),
                Err(Refusal::Spent(text) | Refusal::Final(text)) => Ok(refused_result(&tool, text)),
                Err(Refusal::Elicit(id) | Refusal::Task(id)) => {
                    Ok(refused_result(&tool, still_pending(&id, false)))
                }
            }
        };
        tokio::pin!(work);
        tokio::select! {
            done = &mut work => done,
            () = ctx.cancelled() => {
                // Cooperative: a hold stops at once; a redeemed call still runs to the end,
                // since its approval is spent whatever the client does.
                cancel.cancel();
                work.await
            }
        }
    }

    /// Forwards the call as tollgate cleared it (a reviewer's narrowed arguments, with a note
    /// saying so, or the call as asked) and relays the upstream's result.
    async fn forward(
        &self,
        request: CallToolRequestParams,
        cleared: Cleared,
    ) -> Result<CallToolResult, ErrorData> {
        let (arguments, note) = match cleared.narrowed {
            Some((narrowed, note)) => (Some(narrowed), Some(note)),
            None => (request.arguments, None),
        };
        let mut forward = CallToolRequestParams::new(request.name.clone());
        forward.arguments = arguments;
        let mut result = self.inner.upstream.call_tool(forward).await.map_err(|e| {
            tracing::warn!(tool = %request.name, error = %e, "upstream tool call failed");
            ErrorData::internal_error(format!("upstream MCP server: {e}"), None)
        })?;
        if let Some(note) = note {
            result.content.push(ContentBlock::text(note));
        }
        // The upstream may speak an older protocol (no `resultType`); a client on 2026-07-28
        // requires it, and rmcp strips it again for a legacy client.
        result.result_type = Some(ResultType::COMPLETE);
        Ok(result)
    }

    /// The console page of approval `id` (empty without `--console-url`, which the
    /// elicitation prompts imply) and the message sending the user there.
    fn page(&self, action: &str, id: &str) -> (String, String) {
        let page = self
            .inner
            .options
            .console
            .as_ref()
            .map(|base| elicit::console_page(base, id))
            .unwrap_or_default();
        (page, elicit::message(action, id))
    }

    /// Asks tollgate, stepping past approvals this call's key maps to that were used up
    /// (so an identical later call gets a new approval, never the spent one), holding at
    /// most `wait` in all; why not when the call may not proceed (yet).
    async fn clear(
        &self,
        asked: pb::AuthorizeRequest,
        watch: &Watch,
        prompt: &Prompt,
        wait: Duration,
    ) -> Result<Cleared, Refusal> {
        let key = asked
            .context
            .as_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let deadline = Instant::now() + wait;
        let generations = &self.inner.generations;
        let mut generation = generations.get(&key).unwrap_or(0);
        let mut last = String::new();
        for _ in 0..MAX_ASKS {
            let attempt = with_generation(asked.clone(), generation);
            let spent = match self.clear_once(attempt, deadline, watch, prompt).await {
                Ok(cleared) if cleared.approved => Ok(cleared),
                Ok(cleared) => return Ok(cleared),
                Err(Refusal::Spent(why)) => Err(why),
                Err(other) => return Err(other),
            };
            // Compare-then-set: a lost race only costs the next call a round trip.
            generation = generation.saturating_add(1);
            if generations.get(&key).unwrap_or(0) < generation {
                generations.insert(key.clone(), generation);
            }
            match spent {
                Ok(cleared) => return Ok(cleared),
                Err(why) => {
                    tracing::info!(reason = %why, generation, "approval used up; asking anew");
                    last = why;
                }
            }
        }
        Err(Refusal::Final(format!("not authorized: {last}")))
    }

    /// One `Authorize` of `asked`, then forwarding, redeeming or holding as it answers.
    async fn clear_once(
        &self,
        asked: pb::AuthorizeRequest,
        deadline: Instant,
        watch: &Watch,
        prompt: &Prompt,
    ) -> Result<Cleared, Refusal> {
        let tollgate = &self.inner.tollgate;
        let answer = tollgate
            .authorize(asked.clone())
            .await
            .map_err(|e| Refusal::Final(refusal(e)))?;
        match pb::Effect::try_from(answer.effect) {
            Ok(pb::Effect::Allow) => {
                if !answer.capability.is_empty() {
                    tollgate
                        .redeem(&answer.capability, asked)
                        .await
                        .map_err(|e| Refusal::Final(refusal(e)))?;
                }
                Ok(Cleared {
                    narrowed: None,
                    approved: false,
                })
            }
            Ok(pb::Effect::PendingApproval) if !answer.approval_id.is_empty() => {
                let id = answer.approval_id;
                // A reviewer may have decided already (an identical earlier call asked): then
                // nothing is held, and the client is neither sent to the page nor given a task.
                let decided = self.decided(&id).await?;
                if decided.is_none() {
                    match prompt {
                        Prompt::Ask(Some(a)) if a.approval_id == id => {
                            if a.action != ElicitationAction::Accept {
                                return Err(Refusal::Final(still_pending(&id, true)));
                            }
                        }
                        // Not yet asked, or asked about an approval since used up.
                        Prompt::Ask(_) => return Err(Refusal::Elicit(id)),
                        Prompt::Task => return Err(Refusal::Task(id)),
                        Prompt::Off | Prompt::Legacy => {}
                    }
                }
                let within = deadline.saturating_duration_since(Instant::now());
                self.hold(&id, asked, within, watch, decided).await
            }
            _ => Err(Refusal::Final(format!(
                "denied by policy: {}",
                if answer.reasons.is_empty() {
                    "no reason given".to_string()
                } else {
                    answer.reasons.join("; ")
                }
            ))),
        }
    }

    /// Approval `id` if it is decided already (`None` while pending, or when it could not
    /// be read: the hold reads the decision itself); why not when it was denied or expired.
    async fn decided(&self, id: &str) -> Result<Option<pb::Approval>, Refusal> {
        match self.inner.tollgate.decided(id).await {
            Ok(decided) => Ok(decided),
            Err(ClientError::Rpc(e)) => {
                tracing::debug!(approval_id = %id, error = %e, "approval not read");
                Ok(None)
            }
            Err(e) => Err(not_waited(e, false)),
        }
    }

    /// Holds the call until approval `id` is decided (unless it is already: `decided`; or
    /// `within` runs out, or the client gives up, or, with handshake-era URL elicitation, its
    /// user declines to open the approval's page), then redeems its capability for the
    /// approved request.
    async fn hold(
        &self,
        id: &str,
        asked: pb::AuthorizeRequest,
        within: Duration,
        watch: &Watch,
        decided: Option<pb::Approval>,
    ) -> Result<Cleared, Refusal> {
        tracing::info!(approval_id = %id, "tool call held for approval");
        let action = asked
            .action
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let approval = match decided {
            Some(approval) => approval,
            None => self.decision(id, &action, within, watch).await?,
        };
        let tollgate = &self.inner.tollgate;
        let approved = approval.request.clone().unwrap_or(asked);
        tollgate
            .redeem(&approval.capability, approved.clone())
            .await
            .map_err(|e| match e {
                e @ ClientError::Refused { .. } if e.is_spent() => {
                    Refusal::Spent(format!("approval {id}: {e}"))
                }
                other => Refusal::Final(refusal(other)),
            })?;
        let narrowed = (!approval.changes.is_empty()).then(|| {
            let arguments = params(&approved);
            let note = format!(
                "tollgate: approval {} narrowed the arguments; the tool ran with {}",
                approval.id,
                Json::Object(arguments.clone())
            );
            (arguments, note)
        });
        Ok(Cleared {
            narrowed,
            approved: true,
        })
    }

    /// Waits for approval `id`'s decision, with progress notifications when asked for and,
    /// with handshake-era URL elicitation, the client sent to the approval's page meanwhile
    /// (told when that is over, and the elicitation withdrawn if it went unanswered); why not
    /// when the hold ends first.
    async fn decision(
        &self,
        id: &str,
        action: &str,
        within: Duration,
        watch: &Watch,
    ) -> Result<pb::Approval, Refusal> {
        let (asking, answer) = if watch.legacy {
            let (page, said) = self.page(action, id);
            elicit::ask(&watch.peer, page, said).await.unzip()
        } else {
            (None, None)
        };
        let declined = async {
            match (&asking, answer) {
                (Some(asking), Some(answer)) => asking.declined(answer).await,
                _ => std::future::pending().await,
            }
        };
        let every = self.inner.options.progress_every;
        let timed_out = || ClientError::WaitTimedOut {
            approval_id: id.to_string(),
        };
        let progress = watch.progress.clone();
        let mut user_declined = false;
        let waited = tokio::select! {
            w = self.inner.tollgate.wait(id, within) => w,
            () = keep_informed(&watch.peer, progress, id, every) => unreachable_progress(id),
            () = watch.cancel.cancelled() => Err(timed_out()),
            () = declined => {
                user_declined = true;
                Err(timed_out())
            }
        };
        if let Some(asking) = asking {
            asking.finish().await;
        }
        waited.map_err(|e| not_waited(e, user_declined))
    }
}

/// Why a call whose approval was waited for may not proceed: still pending when the hold
/// ended (the user `declined` the page, or not), used up (expired or withdrawn: the call
/// asks anew), or refused.
fn not_waited(e: ClientError, declined: bool) -> Refusal {
    match e {
        ClientError::WaitTimedOut { approval_id } => {
            Refusal::Final(still_pending(&approval_id, declined))
        }
        e @ ClientError::Expired { .. } => Refusal::Spent(e.to_string()),
        other => Refusal::Final(refusal(other)),
    }
}

/// The tool error answering a refused call of `tool`.
fn refused(tool: &str, text: String) -> CallToolResponse {
    refused_result(tool, text).into()
}

/// The tool error result of a refused call of `tool`.
fn refused_result(tool: &str, text: String) -> CallToolResult {
    tracing::info!(tool = %tool, reason = %text, "tool call refused");
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// `d` in whole milliseconds (saturating).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The tool error of a call whose approval `id` is still pending when the hold ends.
fn still_pending(id: &str, declined: bool) -> String {
    let why = if declined {
        " (the user declined to open it)"
    } else {
        ""
    };
    format!(
        "approval {id} is still pending{why}; call the tool again with the same arguments to \
         resume waiting for it"
    )
}

/// The action params of `req` as tool arguments.
fn params(req: &pb::AuthorizeRequest) -> Map<String, Json> {
    match struct_json(req.action.as_ref().and_then(|a| a.params.as_ref())) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// The text of a tool error for a refused call.
fn refusal(e: ClientError) -> String {
    match e {
        ClientError::Denied {
            reasons,
            approval_id: Some(id),
        } => format!("approval {id} was denied: {}", reasons.join("; ")),
        ClientError::Denied { reasons, .. } => format!("denied by policy: {}", reasons.join("; ")),
        other => format!("not authorized: {other}"),
    }
}

/// Sends a progress notification `every` so long while a call is held; never returns
/// (without a progress token it only waits).
async fn keep_informed(
    peer: &Peer<RoleServer>,
    token: Option<ProgressToken>,
    id: &str,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    let mut step = 0u32;
    loop {
        tick.tick().await;
        if let Some(token) = &token {
            let note = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_message(format!("waiting for a reviewer: approval {id}"));
            if let Err(e) = peer.notify_progress(note).await {
                tracing::debug!(error = %e, "progress notification not delivered");
            }
        }
        step = step.saturating_add(1);
    }
}

/// [`keep_informed`] never returns; if it ever did, the call is not approved.
fn unreachable_progress(id: &str) -> Result<pb::Approval, ClientError> {
    Err(ClientError::WaitTimedOut {
        approval_id: id.to_string(),
    })
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tasks()
            .build();
        let mut config = ServerConfig::new(capabilities);
        if let Some(info) = self.inner.upstream.peer_info() {
            if let Some(server) = &info.server_info {
                config = config.with_server_info(server.clone());
            }
            if let Some(i) = &info.instructions {
                config = config.with_instructions(i.clone());
            }
        }
        config
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut listed = self.inner.upstream.list_tools(request).await.map_err(|e| {
            tracing::warn!(error = %e, "upstream tools/list failed");
            ErrorData::internal_error(format!("upstream MCP server: {e}"), None)
        })?;
        listed.result_type = Some(ResultType::COMPLETE);
        if self.inner.options.filter_tools {
            let Inner {
                tollgate,
                agent,
                mapping,
                ..
            } = &*self.inner;
            listed.tools = listing::permitted(tollgate, agent, mapping, listed.tools).await?;
        }
        Ok(listed)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.guarded(request, &context).await
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let task = self.inner.tasks.get_task(&request.task_id)?;
        Ok(GetTaskResult::new(task))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        // The gateway's tasks never ask for input: answers to unknown keys are ignored.
        let tasks = &self.inner.tasks;
        tasks.update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.tasks.cancel_task(&request.task_id)
    }
}
