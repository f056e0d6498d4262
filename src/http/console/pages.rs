//! The console's HTML, rendered on the server: every value is escaped, there is no inline
//! script or style (the CSP forbids both), and every form control has a label.

use std::fmt::Write as _;

use crate::{
    approval::ApprovalView,
    domain::{ApprovalState, AuditKind, UnixMillis},
    service::HistoryEntry,
};

/// `s` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`; `who` is the signed-in reviewer, if any.
pub fn page(title: &str, who: Option<(&str, &str)>, body: &str) -> String {
    let nav = match who {
        Some((id, csrf)) => format!(
            "<nav aria-label=\"Session\"><a href=\"/console/\">Pending requests</a> \
             <a href=\"/console/history\">History</a> \
             <span class=\"who\">Signed in as <strong>{}</strong></span> \
             <form method=\"post\" action=\"/console/logout\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form></nav>",
            esc(id),
            esc(csrf)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · tollgate</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <link rel=\"icon\" href=\"/console/assets/favicon.svg\" type=\"image/svg+xml\">\
         <script src=\"/console/assets/console.js\" defer></script></head>\
         <body><header><a class=\"brand\" href=\"/console/\">tollgate</a>{nav}</header>\
         <main id=\"main\">{body}</main></body></html>",
        esc(title)
    )
}

/// A message page (errors, refusals, notices) with an optional follow-up link.
pub fn message(title: &str, text: &str, link: Option<(&str, &str)>) -> String {
    let link = link
        .map(|(href, label)| format!("<p><a href=\"{}\">{}</a></p>", esc(href), esc(label)))
        .unwrap_or_default();
    format!(
        "<h1>{}</h1><p role=\"alert\" class=\"refusal\">{}</p>{link}",
        esc(title),
        esc(text)
    )
}

fn remaining(expires_at: UnixMillis, now: UnixMillis) -> String {
    if expires_at.0 <= now.0 {
        return "expired".into();
    }
    let secs = (expires_at.0 - now.0) / 1000;
    humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs())).to_string()
}

fn state_label(state: ApprovalState) -> &'static str {
    state.as_str()
}

/// The list of pending requests the reviewer may see.
pub fn list(views: &[ApprovalView], action: &str, now: UnixMillis) -> String {
    let mut rows = String::new();
    for v in views {
        let a = &v.approval;
        let risk = v
            .requirements
            .iter()
            .map(|r| r.risk.as_str())
            .find(|r| !r.is_empty())
            .unwrap_or("");
        let _ = write!(
            rows,
            "<tr><td><a href=\"/console/approvals/{id}\">{action}</a></td><td>{subject}</td>\
             <td>{rtype}/{rid}</td><td>{risk}</td>\
             <td><time datetime=\"{exp}\" data-expires=\"{exp_ms}\">{left}</time></td></tr>",
            id = esc(&a.id),
            action = esc(&a.action),
            subject = esc(&a.subject_id),
            rtype = esc(&v.request.resource.kind),
            rid = esc(&v.request.resource.id),
            risk = esc(risk),
            exp = esc(&humantime::format_rfc3339_seconds(a.expires_at.to_time()).to_string()),
            exp_ms = a.expires_at.0,
            left = esc(&remaining(a.expires_at, now)),
        );
    }
    let table = if views.is_empty() {
        "<p class=\"empty\">No pending requests you may review.</p>".to_string()
    } else {
        format!(
            "<table><caption>Pending approval requests</caption><thead><tr><th scope=\"col\">Action</th>\
             <th scope=\"col\">Requester</th><th scope=\"col\">Resource</th><th scope=\"col\">Risk</th>\
             <th scope=\"col\">Time remaining</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    format!(
        "<h1>Pending requests</h1>{live}<form method=\"get\" action=\"/console/\" class=\"filters\">\
         <label for=\"action\">Action</label><input id=\"action\" name=\"action\" value=\"{}\">\
         <button type=\"submit\">Filter</button></form><div id=\"live-list\">{table}</div>",
        esc(action),
        live = LIVE_LIST,
    )
}

/// Where `console.js` announces live updates on a list page (it reads the list again).
pub const LIVE_LIST: &str =
    "<div id=\"live\" class=\"live\" aria-live=\"polite\" data-live=\"list\"></div>";

/// Where `console.js` announces that this approval changed (another reviewer acted).
fn live_detail(a: &crate::domain::Approval, reviews: usize) -> String {
    format!(
        "<div id=\"live\" class=\"live\" aria-live=\"polite\" data-live=\"detail\" \
         data-approval=\"{}\" data-state=\"{}\" data-reviews=\"{reviews}\"></div>",
        esc(&a.id),
        a.state.as_str()
    )
}

/// What the detail page says above the request: a notice or a refusal.
pub enum Banner<'a> {
    /// Nothing.
    None,
    /// A review was recorded.
    Done(&'a str),
    /// A review was refused; the text says why, the link (if any) what to do.
    Refused(&'a str, Option<&'a str>),
}

/// What the detail page shows of an approval besides the approval itself.
pub struct DetailExtras<'a> {
    /// The reviewer's CSRF token, for the review form.
    pub csrf: &'a str,
    /// A notice or refusal above the request.
    pub banner: Banner<'a>,
    /// Its audit history; `None` when the trail could not be read.
    pub history: Option<&'a [HistoryEntry]>,
}

/// The detail page of one approval, with the review forms while it is pending.
pub fn detail(v: &ApprovalView, extras: DetailExtras<'_>, now: UnixMillis) -> String {
    let DetailExtras {
        csrf,
        banner,
        history,
    } = extras;
    let a = &v.approval;
    let r = &v.request;
    let mut out = format!(
        "<h1>{} <span class=\"state\">{}</span></h1>",
        esc(&a.action),
        state_label(a.state)
    );
    out.push_str(&live_detail(a, v.reviews.len()));
    match banner {
        Banner::None => {}
        Banner::Done(text) => {
            let _ = write!(out, "<p role=\"status\" class=\"notice\">{}</p>", esc(text));
        }
        Banner::Refused(text, link) => {
            let _ = write!(
                out,
                "<div role=\"alert\" class=\"refusal\"><p>{}</p>",
                esc(text)
            );
            if let Some(href) = link {
                let _ = write!(
                    out,
                    "<p><a href=\"{}\">Sign in again with multi-factor authentication</a></p>",
                    esc(href)
                );
            }
            out.push_str("</div>");
        }
    }
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let params = serde_json::Value::Object(r.action.params.clone());
    let _ = write!(
        out,
        "<dl class=\"facts\"><dt>Requester</dt><dd>{subject}</dd><dt>On behalf of</dt><dd>{obo}</dd>\
         <dt>Owner</dt><dd>{owner}</dd><dt>Intent</dt><dd>{intent}</dd><dt>Resource</dt><dd>{rtype}/{rid}</dd>\
         <dt>Environment</dt><dd>{env}</dd><dt>Expires</dt><dd><time data-expires=\"{exp_ms}\">{left}</time></dd>\
         <dt>Approval id</dt><dd><code>{id}</code></dd></dl>\
         <h2>Parameters</h2><pre>{params}</pre>",
        subject = esc(&r.subject.id),
        obo = esc(&r.subject.on_behalf_of),
        owner = esc(&r.subject.owner),
        intent = esc(&r.context.intent),
        rtype = esc(&r.resource.kind),
        rid = esc(&r.resource.id),
        env = esc(&r.context.environment),
        exp_ms = a.expires_at.0,
        left = esc(&remaining(a.expires_at, now)),
        id = esc(&a.id),
        params = esc(&pretty(&params)),
    );
    out.push_str("<h2>Requirements</h2><ol class=\"requirements\">");
    for req in &v.requirements {
        let satisfied: Vec<&str> = v
            .reviews
            .iter()
            .filter(|rv| rv.verdict != crate::domain::ReviewVerdict::Deny)
            .filter(|rv| req.groups.is_empty() || rv.groups.iter().any(|g| req.groups.contains(g)))
            .filter(|rv| !req.step_up || rv.stepped_up)
            .map(|rv| rv.reviewer_id.as_str())
            .collect();
        let _ = write!(
            out,
            "<li><p>{reason}</p><p>Groups: {groups}; quorum {quorum}; risk {risk}{step}</p>\
             <p>Satisfied by: {by}</p></li>",
            reason = esc(&req.reason),
            groups = esc(&if req.groups.is_empty() {
                "any reviewer".into()
            } else {
                req.groups.join(", ")
            }),
            quorum = req.quorum,
            risk = esc(&req.risk),
            step = if req.step_up {
                "; <strong>step-up (fresh multi-factor sign-in) required</strong>"
            } else {
                ""
            },
            by = esc(&if satisfied.is_empty() {
                "nobody yet".into()
            } else {
                satisfied.join(", ")
            }),
        );
    }
    out.push_str("</ol>");
    out.push_str(&modification(v));
    out.push_str("<h2>Reviews</h2>");
    if v.reviews.is_empty() {
        out.push_str("<p class=\"empty\">No reviews yet.</p>");
    } else {
        out.push_str("<ul class=\"reviews\">");
        for rv in &v.reviews {
            let _ = write!(
                out,
                "<li><strong>{}</strong> {}{}: {}</li>",
                esc(&rv.reviewer_id),
                rv.verdict.as_str(),
                if rv.stepped_up { " (with step-up)" } else { "" },
                esc(&rv.reason)
            );
        }
        out.push_str("</ul>");
    }
    if a.state == ApprovalState::Pending {
        let _ = write!(
            out,
            "<h2>Your review</h2><form method=\"post\" action=\"/console/approvals/{id}/review\" class=\"review\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"reason\">Reason (required)</label>\
             <textarea id=\"reason\" name=\"reason\" required maxlength=\"2048\" rows=\"3\"></textarea>\
             <label for=\"params\">Parameters (for Modify: the narrowed parameters, JSON)</label>\
             <textarea id=\"params\" name=\"params\" rows=\"8\" spellcheck=\"false\" aria-describedby=\"params-diff\">{params}</textarea>\
             <div id=\"params-diff\" class=\"diff\" aria-live=\"polite\"></div>\
             <div class=\"actions\"><button type=\"submit\" name=\"verdict\" value=\"approve\" class=\"approve\">Approve</button>\
             <button type=\"submit\" name=\"verdict\" value=\"modify\">Approve modified</button>\
             <button type=\"submit\" name=\"verdict\" value=\"deny\" class=\"deny\">Deny</button></div></form>",
            id = esc(&a.id),
            csrf = esc(csrf),
            params = esc(&pretty(&params)),
        );
    }
    out.push_str(&history_panel(history));
    out
}

/// What a reviewer's modification changed, requested against approved (server-rendered, so
/// the page shows it without its script).
fn modification(v: &ApprovalView) -> String {
    if v.changes.is_empty() {
        return String::new();
    }
    let mut rows = String::new();
    for c in &v.changes {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&c.path),
            esc(&c.before.to_string()),
            esc(&c.after.to_string()),
        );
    }
    format!(
        "<h2>Modified by a reviewer</h2><table class=\"diff\"><caption>Parameters as requested \
         and as modified</caption><thead><tr><th scope=\"col\">Parameter</th>\
         <th scope=\"col\">Requested</th><th scope=\"col\">Modified</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

/// How a history entry reads.
fn history_label(kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::Decision => "Decided by the policy",
        AuditKind::ApprovalRequested => "Approval requested",
        AuditKind::ApprovalReviewed => "Reviewed",
        AuditKind::ApprovalModified => "Modified",
        AuditKind::ApprovalApproved => "Approved",
        AuditKind::ApprovalDenied => "Denied",
        AuditKind::ApprovalExpired => "Expired",
        AuditKind::ApprovalCancelled => "Cancelled",
        AuditKind::CapabilityIssued => "Capability minted",
        AuditKind::CapabilityRedeemed => "Capability redeemed",
        AuditKind::CapabilityRefused => "Capability refused",
        AuditKind::BundleActivated => "Bundle activated",
        AuditKind::BundleRejected => "Bundle rejected",
        AuditKind::BundleRollbackAllowed => "Bundle rollback allowed",
    }
}

/// The approval's audit history, in the order it happened.
fn history_panel(history: Option<&[HistoryEntry]>) -> String {
    let Some(history) = history else {
        return "<h2>History</h2><p class=\"empty\">The audit history cannot be read right now.</p>"
            .into();
    };
    let mut out = String::from("<h2>History</h2><ol class=\"history\">");
    for h in history {
        let at = humantime::format_rfc3339_seconds(h.at.to_time()).to_string();
        let _ = write!(
            out,
            "<li data-seq=\"{seq}\"><time datetime=\"{at}\">{at}</time> <strong>{what}</strong>",
            seq = h.seq,
            at = esc(&at),
            what = history_label(h.kind),
        );
        if !h.verdict.is_empty() {
            let _ = write!(out, " ({})", esc(&h.verdict));
        } else if !h.outcome.is_empty() {
            let _ = write!(out, " ({})", esc(&h.outcome));
        }
        let _ = write!(out, " by {}", esc(&h.actor));
        if !h.reasons.is_empty() {
            let _ = write!(out, ": {}", esc(&h.reasons.join("; ")));
        }
        if !h.changed.is_empty() {
            let _ = write!(out, " (changed {})", esc(&h.changed.join(", ")));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    out
}
