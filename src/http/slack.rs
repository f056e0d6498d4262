//! Slack interactivity: the Approve / Deny buttons of a request's message come back here.
//!
//! A request counts only if Slack signed it: `X-Slack-Signature` is `v0=` and the hex
//! HMAC-SHA256, under the app's signing secret, of `v0:<X-Slack-Request-Timestamp>:<body>`
//! (compared in constant time), the timestamp is within `max_request_age` (5 minutes) of now,
//! and its `trigger_id` has not been accepted before (kept in the database, so replicas and
//! restarts agree). The Slack user is mapped to a tollgate identity (`notify.slack.users`, or
//! their confirmed Slack email), and the review goes through [`Tollgate::review`]: the same
//! roles, separation of duties and quorum as the `Approve` RPC.
//!
//! A click is not a fresh strong authentication. When the service refuses a review because
//! step-up is required, the answer is a signed, short-lived, single-use link to the console
//! instead, where the reviewer signs in with OIDC and multi-factor authentication before the
//! review counts. Answers go to the clicking user only (an ephemeral message through the
//! interaction's `response_url`, which must start with a configured prefix).
//!
//! [`Tollgate::review`]: crate::service::Tollgate::review

use std::{sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::console::keys::{random_token, ConsoleKeys, DeepLink};
use crate::{
    approval::{Ineligible, WorkflowError},
    domain::{
        canonical_id, AuthMethod, Authentication, Caller, Principal, ReviewVerdict, SubjectKind,
        UnixMillis,
    },
    notify::{
        config::{secret, SlackConfig, SlackUser},
        slack::{SlackApi, APPROVE_ACTION, DENY_ACTION},
        NotifyConfigError,
    },
    service::{Call, ReviewRequest, ServiceError, Tollgate},
    store::NonceStore,
    telemetry::ErrorChain,
};

/// Largest interaction body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the interactivity endpoint needs.
pub struct SlackInteractions {
    signing_secret: Vec<u8>,
    max_age: Duration,
    users: Vec<SlackUser>,
    email_lookup: bool,
    response_prefixes: Vec<String>,
    api: Option<SlackApi>,
    http: reqwest::Client,
    nonces: Arc<dyn NonceStore>,
    keys: ConsoleKeys,
    console_base: String,
    link_ttl: Duration,
    tollgate: Tollgate,
}

/// What [`SlackInteractions::new`] needs.
pub struct SlackParts {
    /// `notify.slack`.
    pub config: SlackConfig,
    /// The Web API (for `users.info`), when a bot token is configured.
    pub api: Option<SlackApi>,
    /// Where trigger ids and deep-link ids are used once.
    pub nonces: Arc<dyn NonceStore>,
    /// Signs deep links.
    pub keys: ConsoleKeys,
    /// The console's base URL.
    pub console_base: String,
    /// How long a deep link is valid.
    pub link_ttl: Duration,
    /// The domain API.
    pub tollgate: Tollgate,
}

/// Why an interaction was refused before anything was done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlackRefusal {
    /// Signature headers missing or malformed.
    #[error("missing or malformed Slack signature headers")]
    Unsigned,
    /// The timestamp is outside the accepted window.
    #[error("stale or future Slack request timestamp")]
    Stale,
    /// The signature does not verify.
    #[error("invalid Slack signature")]
    Forged,
    /// This payload was accepted before.
    #[error("this Slack interaction was already handled")]
    Replayed,
    /// The body is not an interaction payload.
    #[error("malformed interaction payload: {0}")]
    Malformed(&'static str),
}

impl SlackInteractions {
    /// `None` when no signing secret is configured (the endpoint is not served).
    pub fn new(parts: SlackParts) -> Result<Option<Self>, NotifyConfigError> {
        let SlackParts {
            config,
            api,
            nonces,
            keys,
            console_base,
            link_ttl,
            tollgate,
        } = parts;
        let signing_secret = secret(
            "notify.slack.signing_secret",
            &config.signing_secret,
            config.signing_secret_file.as_ref(),
        )?;
        if signing_secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            signing_secret: signing_secret.into_bytes(),
            max_age: config.max_request_age,
            users: config.users,
            email_lookup: config.email_lookup,
            response_prefixes: config.response_url_prefixes,
            api,
            http: crate::notify::http_client(Duration::from_secs(10))?,
            nonces,
            keys,
            console_base,
            link_ttl,
            tollgate,
        }))
    }

    /// Checks Slack's signature and timestamp on `body` at `now`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: UnixMillis,
    ) -> Result<(), SlackRefusal> {
        verify_signature(&self.signing_secret, self.max_age, headers, body, now)
    }
}

/// Slack's v0 request signature check, on its own for tests.
pub fn verify_signature(
    secret: &[u8],
    max_age: Duration,
    headers: &HeaderMap,
    body: &[u8],
    now: UnixMillis,
) -> Result<(), SlackRefusal> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
    ) else {
        return Err(SlackRefusal::Unsigned);
    };
    let ts_secs: i64 = ts.parse().map_err(|_| SlackRefusal::Unsigned)?;
    let age = (now.0.div_euclid(1000) - ts_secs).unsigned_abs();
    if age > max_age.as_secs() {
        return Err(SlackRefusal::Stale);
    }
    let expected = sig
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SlackRefusal::Unsigned)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SlackRefusal::Forged)?;
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SlackRefusal::Forged)
}

/// The fields of a `block_actions` payload this endpoint uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// Slack's id of this interaction: accepted once.
    pub trigger_id: String,
    /// The clicking Slack user.
    pub user: String,
    /// The button.
    pub action_id: String,
    /// The approval id (the button's value).
    pub approval_id: String,
    /// Where to answer the user.
    pub response_url: String,
}

/// Parses the form body `payload=<json>`.
pub fn parse_click(body: &[u8]) -> Result<Click, SlackRefusal> {
    let payload = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or(SlackRefusal::Malformed("no payload field"))?;
    let p: Value = serde_json::from_str(&payload)
        .map_err(|_| SlackRefusal::Malformed("payload is not JSON"))?;
    if p["type"] != "block_actions" {
        return Err(SlackRefusal::Malformed("not a block_actions payload"));
    }
    let text = |v: &Value, what| {
        v.as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or(SlackRefusal::Malformed(what))
    };
    let action = &p["actions"][0];
    Ok(Click {
        trigger_id: text(&p["trigger_id"], "no trigger_id")?,
        user: text(&p["user"]["id"], "no user.id")?,
        action_id: text(&action["action_id"], "no action_id")?,
        approval_id: action["value"].as_str().unwrap_or_default().to_string(),
        response_url: p["response_url"].as_str().unwrap_or_default().to_string(),
    })
}

/// `POST /slack/interactions`.
pub async fn interactions(
    State(slack): State<Arc<SlackInteractions>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = slack.tollgate.workflow().now();
    if body.len() > MAX_BODY_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    if let Err(refusal) = slack.verify(&headers, &body, now) {
        tracing::warn!(refusal = %refusal, "Slack interaction refused");
        return StatusCode::UNAUTHORIZED;
    }
    let click = match parse_click(&body) {
        Ok(c) => c,
        Err(refusal) => {
            tracing::warn!(refusal = %refusal, "Slack interaction refused");
            return StatusCode::BAD_REQUEST;
        }
    };
    let window = now.plus(slack.max_age * 2);
    match slack
        .nonces
        .use_once(&format!("slack:{}", click.trigger_id), now, window)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(trigger_id = %click.trigger_id, "Slack interaction replayed; ignored");
            return StatusCode::CONFLICT;
        }
        Err(e) => {
            tracing::error!(error = %ErrorChain(&e), "cannot record the Slack interaction; refused");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    let answer = slack.handle(&click, now).await;
    if let Some(text) = answer {
        slack.respond(&click.response_url, &text).await;
    }
    StatusCode::OK
}

impl SlackInteractions {
    /// Applies a click; what to tell the user, if anything.
    async fn handle(&self, click: &Click, now: UnixMillis) -> Option<String> {
        let verdict = match click.action_id.as_str() {
            APPROVE_ACTION => ReviewVerdict::Approve,
            DENY_ACTION => ReviewVerdict::Deny,
            // "Review in console" is a link; Slack reports the click anyway.
            _ => return None,
        };
        let caller = match self.caller(&click.user).await {
            Ok(c) => c,
            Err(message) => return Some(message),
        };
        let reason = match verdict {
            ReviewVerdict::Deny => "denied in Slack",
            _ => "approved in Slack",
        };
        let review = ReviewRequest {
            approval_id: click.approval_id.clone(),
            verdict,
            reason: reason.into(),
            params: None,
        };
        let call = Call::default();
        tracing::info!(slack.user = %click.user, reviewer = %caller.actor(), approval.id = %click.approval_id, verdict = verdict.as_str(), "review from Slack");
        match self.tollgate.review(&caller, review, &call).await {
            Ok(view) => Some(match view.approval.state {
                crate::domain::ApprovalState::Pending => format!(
                    "Your {} of `{}` is recorded; the request is still pending.",
                    if verdict == ReviewVerdict::Deny {
                        "deny"
                    } else {
                        "approval"
                    },
                    click.approval_id
                ),
                state => format!("Recorded. The request is now {}.", state.as_str()),
            }),
            Err(ServiceError::Workflow(WorkflowError::Ineligible(Ineligible::StepUpRequired(
                _,
            )))) => Some(self.step_up_answer(click, &caller, verdict, now)),
            Err(e) => Some(format!(
                "Not recorded: {}",
                super::error::HttpError::service(&e).message
            )),
        }
    }

    /// A signed single-use link to the console for a review that needs a fresh sign-in.
    fn step_up_answer(
        &self,
        click: &Click,
        caller: &Caller,
        verdict: ReviewVerdict,
        now: UnixMillis,
    ) -> String {
        let link = random_token().and_then(|jti| {
            self.keys.sign_link(
                DeepLink {
                    approval: click.approval_id.clone(),
                    verdict: verdict.as_str().into(),
                    identity: caller.actor().to_string(),
                    jti,
                },
                now.plus(self.link_ttl),
            )
        });
        match link {
            Ok(token) => format!(
                "This request needs a fresh multi-factor sign-in, which a Slack click is not. \
                 <{}/console/link?t={token}|Review it in the console> (link valid {}, single use).",
                self.console_base.trim_end_matches('/'),
                humantime::format_duration(self.link_ttl)
            ),
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), "cannot sign a console link");
                "This request needs a fresh multi-factor sign-in: review it in the console.".into()
            }
        }
    }

    /// The tollgate identity of Slack user `user`.
    async fn caller(&self, user: &str) -> Result<Caller, String> {
        let unmapped = || {
            format!("Your Slack account ({user}) is not mapped to a tollgate identity; ask an admin, or review in the console.")
        };
        let entry = self.users.iter().find(|u| u.slack_user == user);
        let id = match (entry, &self.api) {
            (Some(u), _) => u.id.clone(),
            (None, Some(api)) if self.email_lookup => {
                match api.confirmed_email(user).await {
                    Ok(Some(email)) => self.by_email(user, &email)?,
                    Ok(None) => {
                        return Err(format!("Your Slack account ({user}) has no confirmed email, so it is not mapped to a tollgate identity; review in the console."));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, slack.user = %user, "users.info failed");
                        return Err("Slack did not tell us who you are; try again, or review in the console.".into());
                    }
                }
            }
            _ => return Err(unmapped()),
        };
        let id = canonical_id(&id).map_err(|_| unmapped())?;
        let groups = self
            .users
            .iter()
            .filter(|u| canonical_id(&u.id).is_ok_and(|c| c == id))
            .flat_map(|u| u.groups.iter().filter_map(|g| canonical_id(g).ok()))
            .collect();
        Ok(Caller::Verified(Principal {
            id,
            kind: SubjectKind::User,
            groups,
            owner: String::new(),
            asserts_subjects: false,
            acting_for: None,
            authentication: Authentication {
                method: AuthMethod::Chat {
                    platform: "slack".into(),
                },
                ..Authentication::default()
            },
        }))
    }

    /// The identity `user:<email>` of Slack user `user`, whose confirmed email is `email`:
    /// only an identity listed in `notify.slack.users` (a confirmed email is proof of a
    /// mailbox, not of being a reviewer), and not one bound there to other Slack accounts.
    fn by_email(&self, user: &str, email: &str) -> Result<String, String> {
        let id = canonical_id(&format!("user:{email}")).map_err(|_| {
            format!("Your Slack account ({user}) has an email tollgate cannot use as an identity.")
        })?;
        let listed: Vec<&SlackUser> = self
            .users
            .iter()
            .filter(|u| canonical_id(&u.id).is_ok_and(|c| c == id))
            .collect();
        if listed.is_empty() {
            tracing::warn!(slack.user = %user, identity = %id, "Slack email is not a configured reviewer");
            return Err(format!("Your Slack account ({user}) has the email {email}, which is not a tollgate reviewer; ask an admin, or review in the console."));
        }
        if listed.iter().all(|u| !u.slack_user.is_empty()) {
            tracing::warn!(slack.user = %user, identity = %id, "Slack email names an identity bound to another Slack account");
            return Err(format!("Your Slack account ({user}) has the email {email}, whose tollgate identity is bound to another Slack account."));
        }
        Ok(id)
    }

    /// Tells the clicking user `text`, through the interaction's `response_url`.
    async fn respond(&self, response_url: &str, text: &str) {
        if !self
            .response_prefixes
            .iter()
            .any(|p| response_url.starts_with(p.as_str()))
        {
            tracing::warn!(response_url = %response_url, "Slack response_url outside the configured prefixes; not answered");
            return;
        }
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
        let sent = self
            .http
            .post(response_url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %ErrorChain(&e), "answering a Slack interaction failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &[u8], ts: i64, body: &[u8]) -> HeaderMap {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("v0:{ts}:").as_bytes());
        mac.update(body);
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.to_string().parse().unwrap());
        let sig = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        h.insert("x-slack-signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn signatures_verify_within_the_window_only() {
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"payload=%7B%7D";
        let now = UnixMillis(1_531_420_618_000);
        let age = Duration::from_secs(300);
        let ok = signed(secret, 1_531_420_618, body);
        assert_eq!(verify_signature(secret, age, &ok, body, now), Ok(()));
        assert_eq!(
            verify_signature(secret, age, &ok, b"payload=%7B%7D ", now),
            Err(SlackRefusal::Forged)
        );
        assert_eq!(
            verify_signature(b"other", age, &ok, body, now),
            Err(SlackRefusal::Forged)
        );
        let stale = signed(secret, 1_531_420_618 - 301, body);
        assert_eq!(
            verify_signature(secret, age, &stale, body, now),
            Err(SlackRefusal::Stale)
        );
        let future = signed(secret, 1_531_420_618 + 301, body);
        assert_eq!(
            verify_signature(secret, age, &future, body, now),
            Err(SlackRefusal::Stale)
        );
        assert_eq!(
            verify_signature(secret, age, &HeaderMap::new(), body, now),
            Err(SlackRefusal::Unsigned)
        );
    }

    #[test]
    fn clicks_parse_from_the_form_payload() {
        let payload = json!({"type": "block_actions", "trigger_id": "t1", "user": {"id": "U1"},
            "response_url": "https://hooks.slack.com/actions/x",
            "actions": [{"action_id": APPROVE_ACTION, "value": "a1"}]});
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let c = parse_click(body.as_bytes()).unwrap();
        assert_eq!(
            (
                c.trigger_id.as_str(),
                c.user.as_str(),
                c.approval_id.as_str()
            ),
            ("t1", "U1", "a1")
        );
        assert!(parse_click(b"payload=%7B%22type%22%3A%22view_submission%22%7D").is_err());
        assert!(parse_click(b"nothing=1").is_err());
    }
}
