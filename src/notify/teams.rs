//! Microsoft Teams: an Adaptive Card posted to a Teams workflow ("when a Teams webhook request
//! is received") or a legacy incoming-webhook URL, with the same context as the Slack message
//! and a "Review in console" link.
//!
//! Why no Approve / Deny buttons: an incoming webhook (or workflow) is one-way. A card's
//! `Action.Submit` / `Action.Execute` is delivered to a bot, and only a registered Bot
//! Framework bot (an Azure Bot resource with its own app id, installed in the team) can
//! receive it, verify the Bot Framework JWT on the callback and update the card. Until such a
//! bot is deployed the card links to the console, where the reviewer signs in with OIDC (and
//! step-up) and the review goes through the same service call as every other surface. A bot
//! deployment would add in-channel buttons (verified Bot Framework callbacks mapped to a
//! tollgate identity by Entra ID object id), card updates when the request moves, and
//! personal-chat reminders; step-up requests would still link to the console.
//!
//! Webhook posts cannot be edited, so a Teams channel is sent the request, the reminder and
//! the outcome, each its own card.

use serde_json::{json, Value};

use super::{message::Notice, SendError};
use crate::domain::{ApprovalState, NotifyKind};

/// The Adaptive Card version used: what Teams renders everywhere.
pub const CARD_VERSION: &str = "1.4";

fn fact(title: &str, value: &str) -> Value {
    let value = if value.is_empty() { "—" } else { value };
    json!({ "title": title, "value": value })
}

fn heading(n: &Notice) -> String {
    match (n.event, n.state) {
        (NotifyKind::Reminder, _) => format!("Reminder: approval still needed for {}", n.action),
        (_, ApprovalState::Pending) => format!("Approval needed: {}", n.action),
        _ => format!("Approval request for {}: {}", n.action, n.outcome),
    }
}

/// The Adaptive Card for `n`.
pub fn card(n: &Notice) -> Value {
    let expires = humantime::format_rfc3339_seconds(n.expires_at.to_time()).to_string();
    let approvals = match n.state {
        ApprovalState::Pending => format!("{} more needed", n.missing),
        _ => "decided".to_string(),
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": heading(n), "size": "Large", "weight": "Bolder",
               "wrap": true, "style": "heading"}),
        json!({"type": "FactSet", "facts": [
            fact("Requester", &n.requester),
            fact("On behalf of", &n.on_behalf_of),
            fact("Action", &n.action),
            fact("Resource", &n.resource),
            fact("Risk", &n.risk),
            fact("Environment", &n.environment),
            fact("Expires (UTC)", &expires),
            fact("Approvals", &approvals),
        ]}),
        json!({"type": "TextBlock", "text": "Intent", "weight": "Bolder", "wrap": true}),
        json!({"type": "TextBlock", "text": if n.intent.is_empty() { "—" } else { &n.intent }, "wrap": true}),
        json!({"type": "TextBlock", "text": "Params", "weight": "Bolder", "wrap": true}),
        json!({"type": "TextBlock", "text": n.params_text(2000), "fontType": "Monospace", "wrap": true}),
    ];
    if !n.reasons.is_empty() {
        let list: Vec<String> = n.reasons.iter().map(|r| format!("- {r}")).collect();
        body.push(json!({"type": "TextBlock", "text": "Why approval is needed", "weight": "Bolder", "wrap": true}));
        body.push(json!({"type": "TextBlock", "text": list.join("\r"), "wrap": true}));
    }
    if !n.outcome.is_empty() {
        body.push(json!({"type": "TextBlock", "text": n.outcome, "weight": "Bolder", "wrap": true,
                         "color": if n.state == ApprovalState::Approved { "Good" } else { "Attention" }}));
    }
    let mut entities = Vec::new();
    if !n.mention.is_empty() && n.state == ApprovalState::Pending {
        let tags: Vec<String> = n.mention.iter().map(|m| format!("<at>{m}</at>")).collect();
        body.push(json!({"type": "TextBlock", "text": format!("Reviewers: {}", tags.join(" ")), "wrap": true}));
        for m in &n.mention {
            entities.push(json!({"type": "mention", "text": format!("<at>{m}</at>"),
                                 "mentioned": {"id": m, "name": m}}));
        }
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Review in console", "url": n.console_url}],
        "msteams": {"width": "Full", "entities": entities},
    })
}

/// The webhook body: a message with the card as its one attachment (the shape both Teams
/// workflows and incoming webhooks accept).
pub fn message(n: &Notice) -> Value {
    json!({
        "type": "message",
        "summary": n.summary(),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card(n),
        }],
    })
}

/// Posts `body` to the webhook `url`.
pub async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Result<(), SendError> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| SendError::retry(format!("teams: {}", crate::telemetry::ErrorChain(&e))))?;
    SendError::check_status("teams", response.status(), response.headers())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::message::tests::{notice, view};

    #[test]
    fn the_card_is_an_adaptive_card_with_context_and_a_console_link() {
        let m = message(&notice(&view(), NotifyKind::Requested));
        assert_eq!(m["type"], "message");
        let a = &m["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        let c = &a["content"];
        assert_eq!(c["type"], "AdaptiveCard");
        assert_eq!(c["version"], CARD_VERSION);
        assert_eq!(
            c["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        let facts = c["body"][1]["facts"].as_array().unwrap();
        let get = |t: &str| {
            facts
                .iter()
                .find(|f| f["title"] == t)
                .map(|f| f["value"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(get("Requester"), "agent:billing-exporter");
        assert_eq!(get("On behalf of"), "user:alice@example.com");
        assert_eq!(get("Approvals"), "1 more needed");
        let actions = c["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 1, "no buttons a webhook could not receive");
        assert_eq!(actions[0]["type"], "Action.OpenUrl");
        assert_eq!(
            actions[0]["url"],
            "https://tollgate.example.com/console/approvals/0190-a"
        );
        let text = c.to_string();
        assert!(text.contains("<at>S0SEC</at>"));
        assert!(!text.contains("s3cret"));
        // Every element is one Adaptive Cards 1.4 knows.
        for b in c["body"].as_array().unwrap() {
            assert!(["TextBlock", "FactSet"].contains(&b["type"].as_str().unwrap()));
        }
    }

    #[test]
    fn outcomes_get_their_own_card() {
        let mut v = view();
        v.approval.state = ApprovalState::Denied;
        v.reviews[0].verdict = crate::domain::ReviewVerdict::Deny;
        let c = card(&notice(&v, NotifyKind::Denied));
        assert!(c["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Denied by user:rita@example.com"));
        assert_eq!(c["msteams"]["entities"], json!([]));
    }
}
