//! `notify:` in the configuration: the channels (Slack, Teams, generic webhooks), the routes
//! that choose them per action and risk and say whom to mention, the reminder, the retry
//! schedule and the Slack app's credentials and user mapping.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// Why the notification settings are unusable. The server does not start.
#[derive(Debug, thiserror::Error)]
#[error("invalid notify config: {field}: {message}")]
pub struct NotifyConfigError {
    /// The offending key, e.g. `notify.routes[0].channels`.
    pub field: String,
    /// Why.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> NotifyConfigError {
    NotifyConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// Reviewer notifications (`notify:`). Nothing is sent until a route names a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Where notifications can go, by name.
    pub channels: Vec<ChannelConfig>,
    /// Which channels an approval request goes to: every route that matches adds its
    /// channels (and mentions).
    pub routes: Vec<RouteConfig>,
    /// Post a reminder this long before a pending request expires (0: never).
    #[serde(with = "humantime_serde")]
    pub reminder_before: Duration,
    /// Retries: exponential backoff with full jitter.
    pub retry: RetryConfig,
    /// How often an idle worker looks for work (new work on this replica wakes it at once).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long a worker holds a delivery before another replica may take it over; longer
    /// than any one attempt (`http_timeout`).
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Timeout of one outgoing request.
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
    /// How long delivered notifications (and their events) are kept before the worker deletes
    /// them; the audit trail, not the outbox, is the record (0: kept forever).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long given-up (dead) deliveries are kept, longer, so an operator can still see
    /// what failed and why (0: kept forever).
    #[serde(with = "humantime_serde")]
    pub dead_retention: Duration,
    /// The Slack app: bot token, signing secret, API base, user mapping.
    pub slack: SlackConfig,
    /// The external base URL of the HTTP port (`https://tollgate.example.com`), for
    /// "Review in console" links to `<console_url>/console/approvals/<id>` (empty: the HTTP
    /// listen address, which only suits development).
    pub console_url: String,
    /// The console's secret (64 hex digits, 0600), which signs step-up deep links; generated
    /// if missing. Replicas sharing a database must share it. Default:
    /// `data_dir/console-secret.hex`.
    pub console_key_file: Option<PathBuf>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            channels: Vec::new(),
            routes: Vec::new(),
            reminder_before: Duration::from_secs(600),
            retry: RetryConfig::default(),
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            http_timeout: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 86_400),
            dead_retention: Duration::from_secs(30 * 86_400),
            slack: SlackConfig::default(),
            console_url: String::new(),
            console_key_file: None,
        }
    }
}

/// The retry schedule of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// The first retry's ceiling (each retry waits a random time up to its ceiling).
    #[serde(with = "humantime_serde")]
    pub initial: Duration,
    /// The largest ceiling.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// Attempts before a delivery is given up (dead): visible in metrics and the console.
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            max_attempts: 15,
        }
    }
}

/// One named destination; exactly one of `slack`, `teams`, `webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// The name routes use.
    pub name: String,
    /// A Slack channel.
    #[serde(default)]
    pub slack: Option<SlackChannel>,
    /// A Microsoft Teams workflow or incoming-webhook URL.
    #[serde(default)]
    pub teams: Option<TeamsChannel>,
    /// A generic webhook (Standard Webhooks signatures).
    #[serde(default)]
    pub webhook: Option<WebhookChannel>,
}

/// A Slack channel the bot is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    /// Channel id (`C0123ABC`) or name.
    pub channel: String,
}

/// A Teams channel reached through a workflow ("Post to a channel when a webhook request is
/// received") or a legacy incoming webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsChannel {
    /// The webhook URL (a secret: whoever has it can post).
    #[serde(default)]
    pub url: String,
    /// A file holding the URL instead.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
}

/// A generic HTTP endpoint receiving signed JSON events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// Where events are POSTed (https, or http on loopback).
    pub url: String,
    /// The signing secret, `whsec_<base64>` (Standard Webhooks).
    #[serde(default)]
    pub secret: String,
    /// A file holding the secret instead.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// When an approval request goes where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Action names this route covers; `*` ends a prefix (`data.*`). Empty: every action.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Risk labels (the highest of the requirements') this route covers. Empty: any.
    #[serde(default)]
    pub risks: Vec<String>,
    /// Channel names.
    pub channels: Vec<String>,
    /// Whom to mention: Slack user or user-group ids (`U012AB3CD`, `S0614TZR7`) on Slack
    /// channels, names in the text elsewhere.
    #[serde(default)]
    pub mention: Vec<String>,
}

/// The Slack app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// The bot token (`xoxb-...`) for `chat.postMessage`, `chat.update`, `users.info`.
    pub bot_token: String,
    /// A file holding the bot token instead.
    pub bot_token_file: Option<PathBuf>,
    /// The app's signing secret, which verifies interactivity requests.
    pub signing_secret: String,
    /// A file holding the signing secret instead.
    pub signing_secret_file: Option<PathBuf>,
    /// The Web API base URL (tests point it at a loopback server).
    pub api_base: String,
    /// Interaction `response_url`s must start with one of these (nothing else is ever
    /// POSTed to from a request's content).
    pub response_url_prefixes: Vec<String>,
    /// Slack users and the tollgate identities they are.
    pub users: Vec<SlackUser>,
    /// Slack users not listed in `users` are the identity `user:<email>` of their confirmed
    /// Slack email (`users.info`), with the groups of the `users` entries of that id; an
    /// email whose identity no entry lists is refused (a mailbox is not a reviewer).
    pub email_lookup: bool,
    /// How long a signed request's timestamp is accepted (Slack's advice: 5 minutes).
    #[serde(with = "humantime_serde")]
    pub max_request_age: Duration,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            bot_token: String::new(),
            bot_token_file: None,
            signing_secret: String::new(),
            signing_secret_file: None,
            api_base: "https://slack.com/api".into(),
            response_url_prefixes: vec!["https://hooks.slack.com/".into()],
            users: Vec::new(),
            email_lookup: false,
            max_request_age: Duration::from_secs(300),
        }
    }
}

/// A Slack user mapped to a tollgate identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackUser {
    /// The Slack user id (`U012AB3CD`); omitted for an entry that only gives the groups of an
    /// identity found by email.
    #[serde(default)]
    pub slack_user: String,
    /// The tollgate identity, e.g. `user:rita@example.com`.
    pub id: String,
    /// Its groups (as the identity provider would state them).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Reads an inline secret or the file holding it; "" when neither is set.
pub fn secret(
    field: &str,
    inline: &str,
    file: Option<&PathBuf>,
) -> Result<String, NotifyConfigError> {
    match (inline.is_empty(), file) {
        (false, Some(_)) => Err(invalid(field, "set the value or its _file, not both")),
        (false, None) => Ok(inline.to_string()),
        (true, Some(path)) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| invalid(format!("{field}_file"), format!("{}: {e}", path.display()))),
        (true, None) => Ok(String::new()),
    }
}

/// Whether `url` may be sent to: https anywhere, http only on loopback (tests, sidecars).
pub fn sendable_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!("{url:?}: use https (http only on loopback)")),
    }
}

impl NotifyConfig {
    /// Checks names, references, URLs and ranges; the error names the key.
    pub fn validate(&self) -> Result<(), NotifyConfigError> {
        let Self {
            channels,
            routes,
            reminder_before: _,
            retry,
            poll_interval,
            lease,
            http_timeout,
            retention: _,
            dead_retention: _,
            slack,
            console_url,
            console_key_file: _,
        } = self;
        if !console_url.is_empty() {
            url::Url::parse(console_url)
                .map_err(|e| invalid("notify.console_url", format!("not a URL: {e}")))?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in channels.iter().enumerate() {
            let field = format!("notify.channels[{i}]");
            validate_channel(&field, c)?;
            if !names.insert(c.name.as_str()) {
                return Err(invalid(
                    format!("{field}.name"),
                    format!("{} is used twice", c.name),
                ));
            }
            if c.slack.is_some() && slack.bot_token.is_empty() && slack.bot_token_file.is_none() {
                return Err(invalid(
                    "notify.slack.bot_token",
                    "a Slack channel needs the bot token",
                ));
            }
        }
        for (i, r) in routes.iter().enumerate() {
            if r.channels.is_empty() {
                return Err(invalid(
                    format!("notify.routes[{i}].channels"),
                    "name at least one channel",
                ));
            }
            if let Some(unknown) = r.channels.iter().find(|c| !names.contains(c.as_str())) {
                return Err(invalid(
                    format!("notify.routes[{i}].channels"),
                    format!("no channel is named {unknown:?}"),
                ));
            }
        }
        if retry.initial.is_zero() || retry.max < retry.initial || retry.max_attempts == 0 {
            return Err(invalid(
                "notify.retry",
                "initial must be positive, max at least initial, max_attempts at least 1",
            ));
        }
        if poll_interval.is_zero() || http_timeout.is_zero() || *lease <= *http_timeout * 2 {
            return Err(invalid(
                "notify.lease",
                "poll_interval and http_timeout must be positive, lease more than twice http_timeout",
            ));
        }
        validate_slack(slack)
    }
}

fn validate_channel(field: &str, c: &ChannelConfig) -> Result<(), NotifyConfigError> {
    if c.name.trim().is_empty() {
        return Err(invalid(format!("{field}.name"), "is required"));
    }
    let kinds = [c.slack.is_some(), c.teams.is_some(), c.webhook.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(invalid(
            field.to_string(),
            "set exactly one of slack, teams, webhook",
        ));
    }
    if let Some(s) = &c.slack {
        if s.channel.trim().is_empty() {
            return Err(invalid(format!("{field}.slack.channel"), "is required"));
        }
    }
    if let Some(t) = &c.teams {
        let url = secret(&format!("{field}.teams.url"), &t.url, t.url_file.as_ref())?;
        sendable_url(&url).map_err(|e| invalid(format!("{field}.teams.url"), e))?;
    }
    if let Some(w) = &c.webhook {
        sendable_url(&w.url).map_err(|e| invalid(format!("{field}.webhook.url"), e))?;
        let s = secret(
            &format!("{field}.webhook.secret"),
            &w.secret,
            w.secret_file.as_ref(),
        )?;
        crate::notify::webhook::SigningKey::parse(&s)
            .map_err(|e| invalid(format!("{field}.webhook.secret"), e))?;
    }
    Ok(())
}

fn validate_slack(slack: &SlackConfig) -> Result<(), NotifyConfigError> {
    secret(
        "notify.slack.bot_token",
        &slack.bot_token,
        slack.bot_token_file.as_ref(),
    )?;
    secret(
        "notify.slack.signing_secret",
        &slack.signing_secret,
        slack.signing_secret_file.as_ref(),
    )?;
    sendable_url(&slack.api_base).map_err(|e| invalid("notify.slack.api_base", e))?;
    for p in &slack.response_url_prefixes {
        sendable_url(p).map_err(|e| invalid("notify.slack.response_url_prefixes", e))?;
    }
    if slack.max_request_age.is_zero() || slack.max_request_age > Duration::from_secs(900) {
        return Err(invalid(
            "notify.slack.max_request_age",
            "between 1s and 15m",
        ));
    }
    for (i, u) in slack.users.iter().enumerate() {
        crate::domain::canonical_id(&u.id)
            .map_err(|e| invalid(format!("notify.slack.users[{i}].id"), e.to_string()))?;
        for g in &u.groups {
            crate::domain::canonical_id(g)
                .map_err(|e| invalid(format!("notify.slack.users[{i}].groups"), e.to_string()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(name: &str) -> ChannelConfig {
        ChannelConfig {
            name: name.into(),
            slack: None,
            teams: None,
            webhook: Some(WebhookChannel {
                url: "https://hooks.example.com/tollgate".into(),
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                secret_file: None,
            }),
        }
    }

    #[test]
    fn defaults_validate_and_references_are_checked() {
        NotifyConfig::default().validate().unwrap();
        let mut c = NotifyConfig {
            channels: vec![channel("siem")],
            routes: vec![RouteConfig {
                actions: vec!["data.*".into()],
                risks: vec![],
                channels: vec!["siem".into()],
                mention: vec![],
            }],
            ..NotifyConfig::default()
        };
        c.validate().unwrap();
        c.routes[0].channels = vec!["nope".into()];
        assert!(c.validate().unwrap_err().to_string().contains("routes[0]"));
        c.routes[0].channels = vec!["siem".into()];
        c.channels.push(channel("siem"));
        assert!(c.validate().unwrap_err().to_string().contains("used twice"));
    }

    #[test]
    fn urls_are_https_or_loopback_and_channels_one_kind() {
        assert!(sendable_url("https://x.example/h").is_ok());
        assert!(sendable_url("http://127.0.0.1:9/h").is_ok());
        assert!(sendable_url("http://x.example/h").is_err());
        assert!(sendable_url("file:///etc/passwd").is_err());
        let mut c = channel("a");
        c.webhook.as_mut().unwrap().url = "http://10.0.0.1/x".into();
        assert!(validate_channel("c", &c).is_err());
        let mut c = channel("a");
        c.slack = Some(SlackChannel {
            channel: "C1".into(),
        });
        assert!(validate_channel("c", &c).is_err());
        let mut c = channel("a");
        c.webhook.as_mut().unwrap().secret = "plain".into();
        assert!(validate_channel("c", &c).is_err());
    }

    #[test]
    fn the_documented_example_parses_and_validates() {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            notify: NotifyConfig,
        }
        let doc = include_str!("../../docs/reviewers.md");
        let yaml = doc
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        // The secrets it names, as a deployment would mount them.
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in [
            (
                "teams-sre-webhook",
                "https://example.webhook.office.com/webhookb2/x",
            ),
            ("tollgate-webhook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("slack-bot-token", "xoxb-1"),
            ("slack-signing-secret", "8f742231b10e8888abcd99yyyzzz85a5"),
        ] {
            std::fs::write(dir.path().join(name), value).unwrap();
        }
        let yaml = yaml.replace("/run/secrets", &dir.path().display().to_string());
        let parsed: Doc = yaml_serde::from_str(&yaml).unwrap();
        parsed.notify.validate().unwrap();
        assert_eq!(parsed.notify.routes.len(), 2);
        assert_eq!(parsed.notify.slack.users.len(), 2);
    }
}
