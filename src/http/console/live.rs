//! Live updates: `GET /console/events`, a server-sent event stream of the changes to the
//! approvals the signed-in reviewer may read, so a page learns that another reviewer acted
//! without being reloaded.
//!
//! What is sent comes from [`crate::service::Tollgate::changes`], which checks each change
//! against the session's read authorization: ids, states and who decided, never params.
//! The session is checked again at every change and every [`SESSION_RECHECK`]: the stream
//! ends (with an `end` event) once the session is signed out or expired, and at shutdown.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{handlers::message, Console};
use crate::service::{ApprovalChange, ChangeEvent, ChangeStream};

/// How often an idle stream sends a comment, so proxies and browsers keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an idle stream checks that its session is still signed in and unexpired.
pub const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// The event stream; 401 without a session (an `EventSource` then stops retrying).
pub async fn events(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(session) = console.session(&headers).await else {
        return message(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "Live updates need a session: sign in.",
            None,
        );
    };
    let changes = console.tollgate.changes(&session.caller());
    let (tx, rx) = mpsc::channel(16);
    tracing::debug!(reviewer = %session.id, "console live updates opened");
    tokio::spawn(relay(console, headers, changes, tx));
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

/// Forwards `changes` to the browser while the session in `headers` lasts, the browser
/// listens and the server runs.
async fn relay(
    console: Arc<Console>,
    headers: HeaderMap,
    mut changes: ChangeStream,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.tick().await;
    let mut stop = console.stop.clone();
    loop {
        let event = tokio::select! {
            change = changes.next() => match change {
                Some(change) => Some(change),
                None => break,
            },
            _ = recheck.tick() => None,
            () = tx.closed() => return,
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        if console.session(&headers).await.is_none() {
            let _ = tx
                .send(Ok(Event::default().event("end").data("signed out")))
                .await;
            return;
        }
        if let Some(event) = event.as_ref().map(to_event) {
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
    let _ = tx
        .send(Ok(Event::default().event("end").data("server stopping")))
        .await;
}

/// The wire form of one change: `approval` with `{"id", "state", "reviews", "by"}`, or
/// `resync` when changes were missed.
fn to_event(change: &ChangeEvent) -> Event {
    match change {
        ChangeEvent::Changed(ApprovalChange {
            approval_id,
            state,
            reviews,
            decided_by,
        }) => Event::default().event("approval").data(
            serde_json::json!({
                "id": approval_id,
                "state": state.as_str(),
                "reviews": reviews,
                "by": decided_by,
            })
            .to_string(),
        ),
        ChangeEvent::Missed => Event::default().event("resync").data("changes were missed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ApprovalState;

    #[test]
    fn a_change_is_sent_as_ids_state_and_deciders_only() {
        let change = ChangeEvent::Changed(ApprovalChange {
            approval_id: "a1".into(),
            state: ApprovalState::Approved,
            reviews: 1,
            decided_by: vec!["user:sam".into()],
        });
        let text = format!("{:?}", to_event(&change));
        assert!(text.contains("approval"), "{text}");
        assert!(
            text.contains(
                r#"{\"by\":[\"user:sam\"],\"id\":\"a1\",\"reviews\":1,\"state\":\"approved\"}"#
            ),
            "{text}"
        );
        let missed = format!("{:?}", to_event(&ChangeEvent::Missed));
        assert!(missed.contains("resync"), "{missed}");
    }
}
