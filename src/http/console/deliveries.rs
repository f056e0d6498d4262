//! `GET /console/deliveries`: the notification outbox's failures, for admins: how many
//! deliveries are pending, failing and dead, and the newest failing or dead ones with their
//! channel, attempts, last error and next attempt, through `Tollgate::deliveries` (which
//! refuses anyone but an admin).

use std::{fmt::Write as _, sync::Arc};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{
    handlers::html,
    pages::{self, esc},
    Console,
};
use crate::{
    domain::{DeliveryState, DeliveryStats, UnixMillis},
    http::error::HttpError,
};

/// Failures listed on the page.
pub const RECENT_FAILURES: u32 = 100;

/// The admins' view of the outbox.
pub async fn deliveries(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(session) = console.session(&headers).await else {
        return Console::sign_in_first("/console/deliveries");
    };
    let who = Some((session.id.as_str(), session.csrf.as_str()));
    match console
        .tollgate
        .deliveries(&session.caller(), RECENT_FAILURES)
        .await
    {
        Ok(stats) => {
            let body = render(&stats, console.tollgate.workflow().now());
            html(StatusCode::OK, pages::page("Deliveries", who, &body))
        }
        Err(e) => {
            let e = HttpError::service(&e);
            let body = pages::message("Cannot show the deliveries", &e.message, None);
            html(e.status, pages::page("Deliveries", who, &body))
        }
    }
}

fn time(at: UnixMillis) -> String {
    humantime::format_rfc3339_seconds(at.to_time()).to_string()
}

fn render(stats: &DeliveryStats, now: UnixMillis) -> String {
    let DeliveryStats {
        pending,
        dead,
        failing,
        recent_failures,
    } = stats;
    let mut out = format!(
        "<h1>Notification deliveries</h1><dl class=\"facts\"><dt>Pending</dt><dd>{pending}</dd>\
         <dt>Failing (pending, failed at least once)</dt><dd>{failing}</dd>\
         <dt>Dead (given up)</dt><dd>{dead}</dd></dl>"
    );
    if recent_failures.is_empty() {
        out.push_str("<p class=\"empty\">No failing or dead deliveries.</p>");
        return out;
    }
    let mut rows = String::new();
    for d in recent_failures {
        let next = match d.state {
            DeliveryState::Dead => "never (dead)".to_string(),
            _ if d.next_attempt_at.0 <= now.0 => "due now".to_string(),
            _ => time(d.next_attempt_at),
        };
        let approval = if d.event.approval_id.is_empty() {
            String::new()
        } else {
            format!(
                "<a href=\"/console/approvals/{id}\"><code>{id}</code></a>",
                id = esc(&d.event.approval_id)
            )
        };
        let _ = write!(
            rows,
            "<tr><td>{channel}</td><td>{kind}</td><td>{approval}</td><td>{state}</td>\
             <td>{attempts}</td><td class=\"error\">{error}</td><td>{next}</td></tr>",
            channel = esc(&d.channel),
            kind = esc(d.event.kind.as_str()),
            state = if d.state == DeliveryState::Dead {
                "dead"
            } else {
                "retrying"
            },
            attempts = d.attempts,
            error = esc(&d.last_error),
            next = esc(&next),
        );
    }
    let _ = write!(
        out,
        "<table><caption>Failing and dead deliveries, newest first</caption><thead><tr>\
         <th scope=\"col\">Channel</th><th scope=\"col\">Event</th><th scope=\"col\">Request</th>\
         <th scope=\"col\">State</th><th scope=\"col\">Attempts</th><th scope=\"col\">Last error</th>\
         <th scope=\"col\">Next attempt</th></tr></thead><tbody>{rows}</tbody></table>"
    );
    out
}
