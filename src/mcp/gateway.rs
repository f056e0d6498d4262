//! The MCP server the agent talks to: `tools/list` passes through to the upstream server
//! (with `--filter-tools`, without the tools the policy denies this agent outright); every
//! `tools/call` is decided by tollgate first. ALLOW forwards; DENY answers a tool error
//! with the policy's reasons; PENDING_APPROVAL holds the call (with progress notifications
//! when the client asked for them; a client that supports URL-mode elicitation is first
//! sent to the approval's console page) until a reviewer decides or the wait runs out, then
//! redeems the capability for exactly the approved arguments and forwards those. Nothing the
//! client sends can skip a step: the gateway asks, waits and redeems itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitationAction,
        ErrorData, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
        ProgressToken, ResultType, ServerCapabilities, ServerConfig,
    },
    service::{Peer, RequestContext},
    RoleClient, RoleServer, ServerHandler,
};
use serde_json::{Map, Value as Json};

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
            }),
        }
    }

    /// Decides the call, then forwards what was allowed; every refusal is a tool error; a
    /// client to be sent to a pending approval's page first gets an `InputRequiredResult`.
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
        let cleared = match self.clear(asked, context, &prompt).await {
            Ok(c) => c,
            Err(Refusal::Elicit(id)) => {
                let (page, said) = self.page(&action, &id);
                tracing::info!(approval_id = %id, "client sent to the approval's console page");
                let asking = elicit::input_required(page, said, &id, state_key, binding)?;
                return Ok(asking.into());
            }
            Err(Refusal::Spent(text) | Refusal::Final(text)) => {
                tracing::info!(tool = %tool, reason = %text, "tool call refused");
                return Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into());
            }
        };
        self.forward(request, cleared).await
    }

    /// Forwards the call as tollgate cleared it (a reviewer's narrowed arguments, with a note
    /// saying so, or the call as asked) and relays the upstream's result.
    async fn forward(
        &self,
        request: CallToolRequestParams,
        cleared: Cleared,
    ) -> Result<CallToolResponse, ErrorData> {
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
        Ok(result.into())
    }

    /// The console page of approval `id` and the message sending the user there (empty
    /// without `--console-url`, which a prompt other than `Off` implies).
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
    /// most `--wait` in all; why not when the call may not proceed (yet).
    async fn clear(
        &self,
        asked: pb::AuthorizeRequest,
        context: &RequestContext<RoleServer>,
        prompt: &Prompt,
    ) -> Result<Cleared, Refusal> {
        let key = asked
            .context
            .as_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let deadline = Instant::now() + self.inner.options.wait;
        let generations = &self.inner.generations;
        let mut generation = generations.get(&key).unwrap_or(0);
        let mut last = String::new();
        for _ in 0..MAX_ASKS {
            let attempt = with_generation(asked.clone(), generation);
            let spent = match self.clear_once(attempt, deadline, context, prompt).await {
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
        context: &RequestContext<RoleServer>,
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
                match prompt {
                    Prompt::Ask(Some(a)) if a.approval_id == id => {
                        if a.action != ElicitationAction::Accept {
                            return Err(Refusal::Final(still_pending(&id, true)));
                        }
                    }
                    // Not yet asked, or asked about an approval since used up.
                    Prompt::Ask(_) => return Err(Refusal::Elicit(id)),
                    Prompt::Off | Prompt::Legacy => {}
                }
                let within = deadline.saturating_duration_since(Instant::now());
                let legacy = *prompt == Prompt::Legacy;
                self.hold(&id, asked, within, context, legacy).await
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

    /// Holds the call until approval `id` is decided (or `within` runs out, or the client
    /// cancels, or, with `legacy` URL elicitation, its user declines to open the approval's
    /// page), then redeems its capability for the approved request.
    async fn hold(
        &self,
        id: &str,
        asked: pb::AuthorizeRequest,
        within: Duration,
        context: &RequestContext<RoleServer>,
        legacy: bool,
    ) -> Result<Cleared, Refusal> {
        tracing::info!(approval_id = %id, "tool call held for approval");
        let action = asked
            .action
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let approval = self.decision(id, &action, within, context, legacy).await?;
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
    /// with `legacy` URL elicitation, the client sent to the approval's page meanwhile (and
    /// told when that is over); why not when the hold ends first.
    async fn decision(
        &self,
        id: &str,
        action: &str,
        within: Duration,
        context: &RequestContext<RoleServer>,
        legacy: bool,
    ) -> Result<pb::Approval, Refusal> {
        let progress = context.meta.get_progress_token();
        let elicitation = legacy.then(elicit::elicitation_id);
        let declined = async {
            match &elicitation {
                Some(eid) => {
                    let (page, said) = self.page(action, id);
                    elicit::declined(&context.peer, page, said, eid).await;
                }
                None => std::future::pending().await,
            }
        };
        let every = self.inner.options.progress_every;
        let timed_out = || ClientError::WaitTimedOut {
            approval_id: id.to_string(),
        };
        let mut user_declined = false;
        let waited = tokio::select! {
            w = self.inner.tollgate.wait(id, within) => w,
            () = keep_informed(&context.peer, progress, id, every) => unreachable_progress(id),
            () = context.ct.cancelled() => Err(timed_out()),
            () = declined => {
                user_declined = true;
                Err(timed_out())
            }
        };
        if let Some(eid) = &elicitation {
            elicit::complete(&context.peer, eid).await;
        }
        waited.map_err(|e| match e {
            ClientError::WaitTimedOut { approval_id } => {
                Refusal::Final(still_pending(&approval_id, user_declined))
            }
            e @ ClientError::Expired { .. } => Refusal::Spent(e.to_string()),
            other => Refusal::Final(refusal(other)),
        })
    }
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
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
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
}
