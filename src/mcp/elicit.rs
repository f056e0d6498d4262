//! URL-mode elicitation: a client that declared it (and a gateway told its console's public
//! URL with `--console-url`) is sent to the pending approval's page in tollgate's console,
//! `<console-url>/console/approvals/<id>`, so its user can see (or ask a reviewer about) the
//! request. The client's answer is never an approval: accepting only means "keep waiting";
//! the gateway still waits for the reviewer, redeems and forwards itself. Declining (or
//! cancelling) stops the hold early with the error naming the approval, which a later
//! identical call resumes.
//!
//! How the client is asked follows the protocol it speaks:
//! - **2026-07-28** (no server-to-client requests): the call answers an
//!   `InputRequiredResult` carrying the `elicitation/create` (under [`APPROVAL_INPUT`]) and a
//!   sealed `requestState` (see [`super::state`]); the client calls again with its answer and
//!   the state, and that call is held.
//! - **Handshake-era** protocols: an `elicitation/create` with an `elicitationId` is sent
//!   while the call is held, and `notifications/elicitation/complete` once the hold is over;
//!   an elicitation the client has not answered by then is withdrawn
//!   (`notifications/cancelled`), so neither its prompt nor the gateway's pending request
//!   outlives the call.
//!
//! A client that declared the Tasks extension is not asked at all: its pending call answers a
//! task at once (see [`Prompt::Task`]), whose status names the approval and its page.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rmcp::{
    model::{
        CallToolRequestParams, CancelledNotification, CancelledNotificationParam, ClientResult,
        CustomNotification, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
        ErrorData, InputRequest, InputRequests, InputRequiredResult, ProtocolVersion, RequestId,
        ServerNotification, ServerRequest,
    },
    service::{Peer, PeerRequestOptions, RequestContext, RequestHandle},
    RoleServer,
};
use serde_json::json;

use super::{
    state::{Binding, Held, StateKey},
    McpError,
};

/// The key of the approval's elicitation in `inputRequests` / `inputResponses`.
pub const APPROVAL_INPUT: &str = "tollgate/approval";

/// How long a client has to call again with the state before it is refused.
const STATE_TTL: Duration = Duration::from_secs(15 * 60);

/// How a pending call involves the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Only hold (no URL-mode elicitation, or no `--console-url`).
    Off,
    /// 2026-07-28: ask with an `InputRequiredResult`, unless this call carries the answer.
    Ask(Option<Answered>),
    /// Handshake-era: send an `elicitation/create` while holding.
    Legacy,
    /// The client declared the Tasks extension: a pending call answers a task at once, and
    /// the task holds (a long wait without a connection held open).
    Task,
}

/// A client's answer to an earlier elicitation, read from its verified state.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The approval the client was sent to.
    pub approval_id: String,
    /// What its user did.
    pub action: ElicitationAction,
}

/// `--console-url`: an absolute http(s) URL, the console's public base.
pub fn console_base(raw: &str) -> Result<reqwest::Url, McpError> {
    super::http_url("--console-url", raw)
}

/// The console page of approval `id` under `base`.
pub fn console_page(base: &reqwest::Url, id: &str) -> String {
    format!(
        "{}/console/approvals/{id}",
        base.as_str().trim_end_matches('/')
    )
}

/// What the user is told: the action and the approval.
pub fn message(action: &str, id: &str) -> String {
    format!(
        "tollgate: {action} needs a reviewer's approval ({id}). Open the page to follow it; \
         the call continues by itself once it is approved."
    )
}

/// The prompt for this call: whether the client can be sent to the console, and, for a
/// 2026-07-28 call answering an earlier elicitation, its verified answer. A state that does
/// not verify is an invalid-params error naming `requestState`.
pub fn prompt(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
    console: Option<&reqwest::Url>,
    key: &StateKey,
    binding: Binding<'_>,
) -> Result<Prompt, ErrorData> {
    let capabilities = context.client_capabilities();
    let tasks = capabilities.as_ref().is_some_and(|c| c.supports_tasks());
    // A call echoing a state was sent to the page before: its state is checked as always.
    if tasks && request.request_state.is_none() {
        return Ok(Prompt::Task);
    }
    let url_mode = capabilities
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.url.is_some());
    if console.is_none() || !url_mode {
        return Ok(Prompt::Off);
    }
    let modern = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if !modern {
        return Ok(Prompt::Legacy);
    }
    let Some(sealed) = &request.request_state else {
        return Ok(Prompt::Ask(None));
    };
    let held = key
        .open(sealed, binding, now_ms())
        .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
    let answer = request
        .input_responses
        .as_ref()
        .and_then(|r| r.get(APPROVAL_INPUT))
        .ok_or_else(|| missing_answer("is missing"))?;
    let answer: ElicitResult = serde_json::from_value(answer.clone())
        .map_err(|_| missing_answer("is not an elicitation result"))?;
    Ok(Prompt::Ask(Some(Answered {
        approval_id: held.approval_id,
        action: answer.action,
    })))
}

/// The error for a state without a usable answer.
fn missing_answer(what: &str) -> ErrorData {
    ErrorData::invalid_params(format!("inputResponses[\"{APPROVAL_INPUT}\"] {what}"), None)
}

/// The `InputRequiredResult` sending the client to approval `id`'s page, with the sealed
/// state its next call must echo.
pub fn input_required(
    page: String,
    message: String,
    id: &str,
    key: &StateKey,
    binding: Binding<'_>,
) -> Result<InputRequiredResult, ErrorData> {
    let ttl = i64::try_from(STATE_TTL.as_millis()).unwrap_or(i64::MAX);
    let held = Held {
        approval_id: id.to_string(),
        expires_at_ms: now_ms().saturating_add(ttl),
    };
    let state = key.seal(&held, binding).map_err(|e| {
        tracing::warn!(error = %e, "held-call state not sealed");
        ErrorData::internal_error("the gateway could not seal the call's state", None)
    })?;
    let ask = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message,
        url: page,
        elicitation_id: String::new(),
    });
    let requests =
        InputRequests::from([(APPROVAL_INPUT.to_string(), InputRequest::Elicitation(ask))]);
    Ok(InputRequiredResult::new(Some(requests), Some(state)))
}

/// A handshake-era URL elicitation sent while a call is held.
pub struct Asking {
    peer: Peer<RoleServer>,
    /// The `elicitation/create` request, withdrawn if the client has not answered it.
    request: RequestId,
    /// Names the elicitation in `notifications/elicitation/complete`.
    elicitation_id: String,
    /// Set once the client answered (whatever it answered).
    answered: AtomicBool,
}

/// Handshake-era: sends the client to approval page `page` (an `elicitation/create` in URL
/// mode); the elicitation and the handle to its answer, or `None` when it could not be sent
/// (the call is then only held).
pub async fn ask(
    peer: &Peer<RoleServer>,
    page: String,
    message: String,
) -> Option<(Asking, RequestHandle<RoleServer>)> {
    let elicitation_id = elicitation_id();
    let params = ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message,
        url: page,
        elicitation_id: elicitation_id.clone(),
    };
    let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
    match peer
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
    {
        Ok(handle) => {
            let asking = Asking {
                peer: peer.clone(),
                request: handle.id.clone(),
                elicitation_id,
                answered: AtomicBool::new(false),
            };
            Some((asking, handle))
        }
        Err(e) => {
            tracing::debug!(error = %e, "URL elicitation not sent");
            None
        }
    }
}

impl Asking {
    /// Resolves only if the user declines or cancels the elicitation answered through
    /// `handle` (accepting, an error, or no answer keeps the call held).
    pub async fn declined(&self, handle: RequestHandle<RoleServer>) {
        let answer = handle.await_response().await;
        self.answered.store(true, Ordering::Release);
        match answer {
            Ok(ClientResult::ElicitResult(r)) if r.action != ElicitationAction::Accept => return,
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "URL elicitation not answered"),
        }
        std::future::pending::<()>().await;
    }

    /// The hold is over (the approval was decided, or the wait ended): the client is told the
    /// elicitation is complete, and one it has not answered is withdrawn.
    pub async fn finish(self) {
        complete(&self.peer, &self.elicitation_id).await;
        if self.answered.load(Ordering::Acquire) {
            return;
        }
        let withdrawn = CancelledNotification::new(CancelledNotificationParam::new(
            Some(self.request),
            Some("the tool call is no longer held".to_string()),
        ));
        if let Err(e) = self.peer.send_notification(withdrawn.into()).await {
            tracing::debug!(error = %e, "elicitation withdrawal not delivered");
        }
    }
}

/// Handshake-era: tells the client elicitation `elicitation_id` is over.
async fn complete(peer: &Peer<RoleServer>, elicitation_id: &str) {
    let note = CustomNotification::new(
        "notifications/elicitation/complete",
        Some(json!({"elicitationId": elicitation_id})),
    );
    if let Err(e) = peer
        .send_notification(ServerNotification::CustomNotification(note))
        .await
    {
        tracing::debug!(error = %e, "elicitation completion not delivered");
    }
}

/// A fresh elicitation id (random; never read back from the client).
fn elicitation_id() -> String {
    let mut bytes = [0u8; 16];
    match getrandom::fill(&mut bytes) {
        Ok(()) => format!("tollgate-{}", hex::encode(bytes)),
        // It only names the elicitation for the client; uniqueness is a courtesy.
        Err(_) => format!("tollgate-{}", now_ms()),
    }
}

/// Unix milliseconds now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_page_is_under_the_base_with_or_without_a_slash() {
        for base in [
            "https://tg.example",
            "https://tg.example/",
            "https://tg.example/",
        ] {
            let base = console_base(base).unwrap();
            assert_eq!(
                console_page(&base, "apr-1"),
                "https://tg.example/console/approvals/apr-1"
            );
        }
        let prefixed = console_base("https://corp.example/tollgate/").unwrap();
        assert_eq!(
            console_page(&prefixed, "apr-1"),
            "https://corp.example/tollgate/console/approvals/apr-1"
        );
        for bad in ["tg.example", "ftp://tg.example", "http://"] {
            let e = console_base(bad).unwrap_err().to_string();
            assert!(e.contains("--console-url"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_message_names_the_action_and_the_approval() {
        let said = message("mcp.export_rows", "apr-1");
        assert!(
            said.contains("mcp.export_rows") && said.contains("apr-1"),
            "{said}"
        );
    }
}
