//! Routing: which channels an approval's notifications go to, and whom they mention. A pure
//! function of the configuration and the approval (its action and the highest risk of its
//! requirements), so every replica routes an event the same way and routing can be retried.

use super::config::{ChannelConfig, NotifyConfig, RouteConfig};
use crate::domain::{NotifyKind, Requirement};

/// What kind of destination a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// A Slack channel: the original message is edited as the request moves.
    Slack,
    /// A Teams channel through a webhook: messages cannot be edited, so it gets the request,
    /// the reminder and the outcome.
    Teams,
    /// A generic webhook: every event.
    Webhook,
}

impl ChannelKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Webhook => "webhook",
        }
    }

    /// Whether this kind of channel is told about `kind`.
    pub fn wants(self, kind: NotifyKind) -> bool {
        match self {
            Self::Slack | Self::Webhook => true,
            Self::Teams => {
                matches!(kind, NotifyKind::Requested | NotifyKind::Reminder) || kind.ends_request()
            }
        }
    }

    /// The kind of a configured channel.
    pub fn of(c: &ChannelConfig) -> Self {
        if c.slack.is_some() {
            Self::Slack
        } else if c.teams.is_some() {
            Self::Teams
        } else {
            Self::Webhook
        }
    }
}

/// The order risk labels rank in; unknown labels rank lowest.
const RISK_ORDER: [&str; 5] = ["low", "medium", "high", "critical", "severe"];

/// The highest risk label among `requirements` ("" when none has one).
pub fn highest_risk(requirements: &[Requirement]) -> String {
    let rank = |r: &str| RISK_ORDER.iter().position(|k| k.eq_ignore_ascii_case(r));
    requirements
        .iter()
        .map(|r| r.risk.as_str())
        .filter(|r| !r.is_empty())
        .max_by_key(|r| rank(r).map_or(0, |i| i + 1))
        .unwrap_or_default()
        .to_string()
}

/// Whether `pattern` (`data.export`, `data.*`, `*`) covers `action`.
fn action_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

fn route_matches(route: &RouteConfig, action: &str, risk: &str) -> bool {
    (route.actions.is_empty() || route.actions.iter().any(|p| action_matches(p, action)))
        && (route.risks.is_empty() || route.risks.iter().any(|r| r.eq_ignore_ascii_case(risk)))
}

/// One channel an approval goes to, with whom to mention there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The channel's name.
    pub channel: String,
    /// Its kind.
    pub kind: ChannelKind,
    /// Mentions from every route that chose it, in order, without repeats.
    pub mention: Vec<String>,
}

/// The channels for an approval of `action` with `requirements`, in configuration order.
pub fn targets(config: &NotifyConfig, action: &str, requirements: &[Requirement]) -> Vec<Target> {
    let risk = highest_risk(requirements);
    let mut out: Vec<Target> = Vec::new();
    for route in config
        .routes
        .iter()
        .filter(|r| route_matches(r, action, &risk))
    {
        for name in &route.channels {
            let Some(channel) = config.channels.iter().find(|c| &c.name == name) else {
                continue;
            };
            let at = match out.iter().position(|t| &t.channel == name) {
                Some(i) => i,
                None => {
                    out.push(Target {
                        channel: name.clone(),
                        kind: ChannelKind::of(channel),
                        mention: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            for m in &route.mention {
                if !out[at].mention.contains(m) {
                    out[at].mention.push(m.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::{SlackChannel, TeamsChannel};
    use std::time::Duration;

    fn requirement(risk: &str) -> Requirement {
        Requirement {
            groups: vec![],
            quorum: 1,
            ttl: Duration::from_secs(60),
            capability_ttl: Duration::from_secs(60),
            risk: risk.into(),
            step_up: false,
            reason: String::new(),
        }
    }

    fn config() -> NotifyConfig {
        let slack = |name: &str| ChannelConfig {
            name: name.into(),
            slack: Some(SlackChannel {
                channel: format!("C-{name}"),
            }),
            teams: None,
            webhook: None,
        };
        NotifyConfig {
            channels: vec![
                slack("sec"),
                slack("data"),
                ChannelConfig {
                    name: "teams".into(),
                    slack: None,
                    teams: Some(TeamsChannel {
                        url: "https://example.webhook.office.com/x".into(),
                        url_file: None,
                    }),
                    webhook: None,
                },
            ],
            routes: vec![
                RouteConfig {
                    actions: vec!["data.*".into()],
                    risks: vec![],
                    channels: vec!["data".into()],
                    mention: vec!["S-DATA".into()],
                },
                RouteConfig {
                    actions: vec![],
                    risks: vec!["high".into(), "critical".into()],
                    channels: vec!["sec".into(), "data".into(), "teams".into()],
                    mention: vec!["S-SEC".into(), "S-DATA".into()],
                },
            ],
            ..NotifyConfig::default()
        }
    }

    #[test]
    fn routes_by_action_and_highest_risk_merging_mentions() {
        let c = config();
        let low = targets(&c, "data.export", &[requirement("low")]);
        assert_eq!(low.len(), 1);
        assert_eq!(low[0].channel, "data");
        let high = targets(
            &c,
            "data.export",
            &[requirement("low"), requirement("HIGH")],
        );
        let names: Vec<&str> = high.iter().map(|t| t.channel.as_str()).collect();
        assert_eq!(names, ["data", "sec", "teams"]);
        assert_eq!(high[0].mention, ["S-DATA", "S-SEC"]);
        assert_eq!(high[2].kind, ChannelKind::Teams);
        assert!(targets(&c, "db.drop", &[requirement("medium")]).is_empty());
        assert_eq!(targets(&c, "db.drop", &[requirement("critical")]).len(), 3);
    }

    #[test]
    fn risk_ranks_and_kinds_filter_events() {
        assert_eq!(
            highest_risk(&[requirement("medium"), requirement("critical")]),
            "critical"
        );
        assert_eq!(highest_risk(&[requirement(""), requirement("odd")]), "odd");
        assert_eq!(highest_risk(&[]), "");
        assert!(ChannelKind::Teams.wants(NotifyKind::Approved));
        assert!(!ChannelKind::Teams.wants(NotifyKind::Reviewed));
        assert!(ChannelKind::Slack.wants(NotifyKind::Reviewed));
        assert!(action_matches("*", "anything"));
        assert!(!action_matches("data.export", "data.exports"));
    }
}
