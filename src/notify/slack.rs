//! Slack: the Block Kit message of an approval request (requester, on-behalf-of, intent,
//! action, resource, params, risk, reasons, expiry, remaining quorum; Approve / Deny /
//! "Review in console"), posted with `chat.postMessage`, edited with `chat.update` as the
//! request moves and when it ends; reminders as replies in its thread; and the Web API client
//! (`users.info` too, for the email mapping). Rendering is pure and unit tested.

use std::time::Duration;

use serde_json::{json, Value};

use super::{message::Notice, SendError};
use crate::domain::{ApprovalState, NotifyKind};

/// The `action_id` of the Approve button.
pub const APPROVE_ACTION: &str = "tollgate_approve";
/// The `action_id` of the Deny button.
pub const DENY_ACTION: &str = "tollgate_deny";
/// The `action_id` of the "Review in console" link button.
pub const CONSOLE_ACTION: &str = "tollgate_console";

/// Slack's limit on a section's text.
const MAX_SECTION_TEXT: usize = 2900;

/// Escapes the three characters Slack's mrkdwn treats as control sequences, so a requester's
/// intent cannot mention `@channel` or forge a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A configured mention as Slack mrkdwn: user ids `<@U..>`, user groups `<!subteam^S..>`,
/// `here`/`channel` as themselves; anything else as escaped text.
pub fn mention(m: &str) -> String {
    match m {
        "here" | "channel" | "everyone" => format!("<!{m}>"),
        _ if m.starts_with('S') && is_slack_id(m) => format!("<!subteam^{m}>"),
        _ if (m.starts_with('U') || m.starts_with('W')) && is_slack_id(m) => format!("<@{m}>"),
        _ => escape(m),
    }
}

fn is_slack_id(s: &str) -> bool {
    s.len() >= 3
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A Slack date that each reader sees in their own time zone.
fn date(at: crate::domain::UnixMillis) -> String {
    let secs = at.0.div_euclid(1000);
    let fallback = humantime::format_rfc3339_seconds(at.to_time());
    format!("<!date^{secs}^{{date_short_pretty}} {{time}}|{fallback}>")
}

fn field(label: &str, value: &str) -> Value {
    let value = if value.is_empty() { "—" } else { value };
    json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", escape(value)) })
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn title(n: &Notice) -> String {
    let icon = match n.state {
        ApprovalState::Pending => ":lock:",
        ApprovalState::Approved => ":white_check_mark:",
        ApprovalState::Denied => ":no_entry:",
        ApprovalState::Expired => ":hourglass:",
        ApprovalState::Cancelled => ":leftwards_arrow_with_hook:",
    };
    let what = if n.state == ApprovalState::Pending {
        "Approval needed"
    } else {
        "Approval request"
    };
    cut(&format!("{icon} {what}: {}", n.action), 150)
}

/// The message's blocks for the request as it stands.
pub fn blocks(n: &Notice) -> Vec<Value> {
    let quorum = match n.state {
        ApprovalState::Pending if n.missing == 1 => "1 more approval needed".to_string(),
        ApprovalState::Pending => format!("{} more approvals needed", n.missing),
        _ => "decided".to_string(),
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title(n), "emoji": true}}),
        json!({"type": "section", "fields": [
            field("Requester", &n.requester),
            field("On behalf of", &n.on_behalf_of),
            field("Action", &n.action),
            field("Resource", &n.resource),
            field("Risk", &n.risk),
            field("Environment", &n.environment),
            {"type": "mrkdwn", "text": format!("*Expires*\n{}", date(n.expires_at))},
            field("Approvals", &quorum),
        ]}),
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": cut(&format!("*Intent*\n{}", escape(if n.intent.is_empty() { "—" } else { &n.intent })), MAX_SECTION_TEXT)}}),
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*Params*\n```{}```", escape(&n.params_text(2500)))}}),
    ];
    if !n.reasons.is_empty() {
        let list: Vec<String> = n
            .reasons
            .iter()
            .map(|r| format!("• {}", escape(r)))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": cut(&format!("*Why approval is needed*\n{}", list.join("\n")), MAX_SECTION_TEXT)}}));
    }
    if !n.reviews.is_empty() {
        let list: Vec<String> = n
            .reviews
            .iter()
            .map(|r| {
                let mfa = if r.stepped_up { " (MFA)" } else { "" };
                format!(
                    "• {} — {}{mfa}: {}",
                    escape(&r.reviewer),
                    r.verdict,
                    escape(&r.reason)
                )
            })
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": cut(&format!("*Reviews*\n{}", list.join("\n")), MAX_SECTION_TEXT)}}));
    }
    if n.state == ApprovalState::Pending {
        blocks.push(actions(n));
    } else {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*{}*", escape(&n.outcome))}}));
    }
    let mut context = vec![json!({"type": "mrkdwn",
        "text": format!("tollgate approval `{}`", escape(&n.approval_id))})];
    if !n.mention.is_empty() && n.state == ApprovalState::Pending {
        let who: Vec<String> = n.mention.iter().map(|m| mention(m)).collect();
        context.push(json!({"type": "mrkdwn", "text": format!("Reviewers: {}", who.join(" "))}));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    blocks
}

/// Approve / Deny / "Review in console". When every requirement asks for step-up the first
/// two say so: a click answers with a signed single-use link to the console instead of
/// applying the review (see `crate::http::slack`).
fn actions(n: &Notice) -> Value {
    let (approve, deny) = if n.step_up_only {
        ("Approve (MFA sign-in)", "Deny (MFA sign-in)")
    } else {
        ("Approve", "Deny")
    };
    json!({"type": "actions", "block_id": "tollgate_review", "elements": [
        {"type": "button", "action_id": APPROVE_ACTION, "style": "primary",
         "text": {"type": "plain_text", "text": approve}, "value": n.approval_id},
        {"type": "button", "action_id": DENY_ACTION, "style": "danger",
         "text": {"type": "plain_text", "text": deny}, "value": n.approval_id,
         "confirm": {"title": {"type": "plain_text", "text": "Deny this request?"},
                     "text": {"type": "plain_text", "text": "A deny by an eligible reviewer ends the request."},
                     "confirm": {"type": "plain_text", "text": "Deny"},
                     "deny": {"type": "plain_text", "text": "Cancel"}}},
        {"type": "button", "action_id": CONSOLE_ACTION,
         "text": {"type": "plain_text", "text": "Review in console"}, "url": n.console_url},
    ]})
}

/// The reminder posted in the request's thread.
fn reminder_text(n: &Notice) -> String {
    let who: Vec<String> = n.mention.iter().map(|m| mention(m)).collect();
    let mut text = format!(
        ":alarm_clock: Still waiting: {} ({}), expires {}.",
        escape(&n.action),
        if n.missing == 1 {
            "1 more approval needed".to_string()
        } else {
            format!("{} more approvals needed", n.missing)
        },
        date(n.expires_at)
    );
    if !who.is_empty() {
        text.push(' ');
        text.push_str(&who.join(" "));
    }
    text
}

/// What to call on the Web API for one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackCall {
    /// `chat.postMessage` with this body.
    Post(Value),
    /// `chat.update` with this body.
    Update(Value),
}

/// The original message's channel and `ts`, as stored after it was posted (`C123|1700.0001`).
pub fn parse_ref(external_ref: &str) -> Option<(&str, &str)> {
    external_ref.split_once('|')
}

/// The call that delivers `n` to `channel`; `original` is the request's message, once
/// posted. A request whose original never got posted gets a fresh message.
pub fn call_for(n: &Notice, channel: &str, original: Option<(&str, &str)>) -> SlackCall {
    let text = escape(&n.summary());
    match (n.event, original) {
        (NotifyKind::Reminder, Some((ch, ts))) => SlackCall::Post(json!({
            "channel": ch, "thread_ts": ts, "text": reminder_text(n),
        })),
        (NotifyKind::Requested, _) | (_, None) => SlackCall::Post(json!({
            "channel": channel, "text": text, "blocks": blocks(n),
            "unfurl_links": false, "unfurl_media": false,
        })),
        (_, Some((ch, ts))) => SlackCall::Update(json!({
            "channel": ch, "ts": ts, "text": text, "blocks": blocks(n),
        })),
    }
}

/// The Slack Web API, with the bot token.
#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Web API errors that retrying cannot fix.
const PERMANENT: [&str; 9] = [
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
];

impl SlackApi {
    /// A client of the API at `base` (e.g. `https://slack.com/api`) with `token`.
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Calls `method` with a JSON body (what Slack's write methods read); the answer when `ok`.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        self.answer(method, "application/json; charset=utf-8", body.to_string())
            .await
    }

    /// Calls `method` with form-encoded arguments: Slack's read methods (`users.info`) do not
    /// read a JSON body, and would answer as if the arguments were missing.
    pub async fn call_form(&self, method: &str, args: &[(&str, &str)]) -> Result<Value, SendError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(args)
            .finish();
        self.answer(method, "application/x-www-form-urlencoded", body)
            .await
    }

    /// Posts `body` of `content_type` to `method`; the answer when `ok`.
    async fn answer(
        &self,
        method: &str,
        content_type: &str,
        body: String,
    ) -> Result<Value, SendError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                SendError::retry(format!(
                    "slack {method}: {}",
                    crate::telemetry::ErrorChain(&e)
                ))
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SendError {
                retry_after,
                ..SendError::retry(format!("slack {method}: HTTP {status}"))
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::retry(format!("slack {method}: {e}")))?;
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|_| SendError::retry(format!("slack {method}: HTTP {status}, not JSON")))?;
        if answer["ok"] == true {
            return Ok(answer);
        }
        let error = answer["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string();
        let message = format!("slack {method}: {error}");
        if PERMANENT.contains(&error.as_str()) || status.is_client_error() {
            Err(SendError::permanent(message))
        } else {
            Err(SendError::retry(message))
        }
    }

    /// Sends `call`; the stored reference (`channel|ts`) of a posted message.
    pub async fn send(&self, call: &SlackCall) -> Result<String, SendError> {
        let (method, body) = match call {
            SlackCall::Post(b) => ("chat.postMessage", b),
            SlackCall::Update(b) => ("chat.update", b),
        };
        let answer = self.call(method, body).await?;
        let channel = answer["channel"].as_str().unwrap_or_default();
        let ts = answer["ts"].as_str().unwrap_or_default();
        Ok(format!("{channel}|{ts}"))
    }

    /// The confirmed email of Slack user `user`, if Slack has one (`users.info`); an
    /// unconfirmed email is no email (anyone can type one into a profile).
    pub async fn confirmed_email(&self, user: &str) -> Result<Option<String>, SendError> {
        let answer = self.call_form("users.info", &[("user", user)]).await?;
        let u = &answer["user"];
        let confirmed = u["is_email_confirmed"] == true;
        Ok(u["profile"]["email"]
            .as_str()
            .filter(|e| confirmed && !e.is_empty())
            .map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::message::tests::{notice, view};

    fn texts(blocks: &[Value]) -> String {
        serde_json::to_string(blocks).unwrap()
    }

    #[test]
    fn the_request_message_carries_the_context_and_three_buttons() {
        let n = notice(&view(), NotifyKind::Requested);
        let b = blocks(&n);
        assert_eq!(b[0]["type"], "header");
        let all = texts(&b);
        for expected in [
            "agent:billing-exporter",
            "user:alice@example.com",
            "data.export",
            "dataset/users-eu",
            "*Risk*\\nhigh",
            "1 more approval needed",
            "quarterly churn analysis &lt;TICKET-812&gt;",
            "PII leaves the EU region",
            "user:rita@example.com — approve",
            "<!subteam^S0SEC>",
            "<!date^1700000900^",
        ] {
            assert!(all.contains(expected), "{expected} missing from {all}");
        }
        assert!(!all.contains("s3cret"), "masked params leak: {all}");
        let actions = b.iter().find(|x| x["type"] == "actions").unwrap();
        let ids: Vec<&str> = actions["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [APPROVE_ACTION, DENY_ACTION, CONSOLE_ACTION]);
        assert_eq!(
            actions["elements"][2]["url"],
            "https://tollgate.example.com/console/approvals/0190-a"
        );
        assert_eq!(actions["elements"][0]["value"], "0190-a");
    }

    #[test]
    fn step_up_buttons_say_so_and_ended_messages_lose_their_buttons() {
        let mut v = view();
        v.requirements[0].step_up = true;
        let b = blocks(&notice(&v, NotifyKind::Requested));
        assert!(texts(&b).contains("Approve (MFA sign-in)"));
        v.approval.state = ApprovalState::Approved;
        let b = blocks(&notice(&v, NotifyKind::Approved));
        assert!(b.iter().all(|x| x["type"] != "actions"));
        assert!(texts(&b).contains("Approved by user:rita@example.com"));
        assert!(texts(&b).contains(":white_check_mark:"));
    }

    #[test]
    fn posts_then_updates_and_threads_reminders() {
        let v = view();
        let post = call_for(&notice(&v, NotifyKind::Requested), "C1", None);
        assert!(
            matches!(&post, SlackCall::Post(b) if b["channel"] == "C1" && b["blocks"].is_array())
        );
        let upd = call_for(
            &notice(&v, NotifyKind::Reviewed),
            "C1",
            Some(("C9", "17.01")),
        );
        assert!(matches!(&upd, SlackCall::Update(b) if b["channel"] == "C9" && b["ts"] == "17.01"));
        let rem = call_for(
            &notice(&v, NotifyKind::Reminder),
            "C1",
            Some(("C9", "17.01")),
        );
        assert!(
            matches!(&rem, SlackCall::Post(b) if b["thread_ts"] == "17.01" && b["text"].as_str().unwrap().contains("<!subteam^S0SEC>"))
        );
        // Without an original message, an update is a new message.
        let lone = call_for(&notice(&v, NotifyKind::Approved), "C1", None);
        assert!(matches!(lone, SlackCall::Post(_)));
        assert_eq!(parse_ref("C9|17.01"), Some(("C9", "17.01")));
    }

    #[test]
    fn mentions_and_escaping() {
        assert_eq!(mention("U012AB3CD"), "<@U012AB3CD>");
        assert_eq!(mention("S0614TZR7"), "<!subteam^S0614TZR7>");
        assert_eq!(mention("here"), "<!here>");
        assert_eq!(mention("sre <team>"), "sre &lt;team&gt;");
        assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
