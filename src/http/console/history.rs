//! `GET /console/history`: every request the reviewer may read, pending or ended, oldest
//! first, filtered by state, action, requester and free text over action, resource and
//! intent, one page at a time, through `Tollgate::list` (the same read rules as the list).

use std::{collections::HashMap, fmt::Write as _, sync::Arc};

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{
    handlers::html,
    pages::{self, esc},
    Console,
};
use crate::{
    approval::ApprovalView,
    domain::{ApprovalFilter, ApprovalState, InvalidField, Page},
    http::error::HttpError,
    service::ApprovalQuery,
};

/// Requests per history page.
pub const HISTORY_PAGE: u32 = 50;

/// The search form's fields, as typed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HistorySearch {
    /// `state`: one of the approval states, or "" for any.
    pub state: String,
    /// `action`: an exact action name, or "".
    pub action: String,
    /// `subject`: the requester, exactly, or "".
    pub subject: String,
    /// `q`: text the action, resource or intent contains, or "".
    pub q: String,
    /// `after`: the previous page's cursor, or "".
    pub after: String,
}

impl HistorySearch {
    fn from_query(query: &HashMap<String, String>) -> Self {
        let field = |name: &str| {
            query
                .get(name)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            state: field("state"),
            action: field("action"),
            subject: field("subject"),
            q: field("q"),
            after: field("after"),
        }
    }

    /// The listing this search asks for, or the field that is wrong.
    pub fn query(&self) -> Result<ApprovalQuery, InvalidField> {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let state = match self.state.as_str() {
            "" => None,
            s => Some(ApprovalState::parse(s).ok_or_else(|| {
                InvalidField::new(
                    "state",
                    "must be pending, approved, denied, expired or cancelled",
                )
            })?),
        };
        if self.q.len() > 200 {
            return Err(InvalidField::new("q", "longer than 200 bytes"));
        }
        Ok(ApprovalQuery {
            filter: ApprovalFilter {
                state,
                subject_id: non_empty(&self.subject),
                action: non_empty(&self.action),
                reviewer_id: None,
                text: non_empty(&self.q),
            },
            page: Page {
                limit: HISTORY_PAGE,
                after_id: non_empty(&self.after),
            },
        })
    }

    /// This search's URL, continuing after `after`.
    fn next_url(&self, after: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &self.state)
            .append_pair("action", &self.action)
            .append_pair("subject", &self.subject)
            .append_pair("q", &self.q)
            .append_pair("after", after)
            .finish();
        format!("/console/history?{query}")
    }
}

/// The searchable history.
pub async fn history(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(session) = console.session(&headers).await else {
        return Console::sign_in_first("/console/history");
    };
    let who = Some((session.id.as_str(), session.csrf.as_str()));
    let search = HistorySearch::from_query(&query);
    let listed = match search.query() {
        Ok(q) => console
            .tollgate
            .list(&session.caller(), q)
            .await
            .map_err(|e| HttpError::service(&e)),
        Err(field) => Err(HttpError::invalid(&field)),
    };
    match listed {
        Ok(found) => {
            let body = render(&search, &found.approvals, found.next.as_deref());
            html(StatusCode::OK, pages::page("History", who, &body))
        }
        Err(e) => {
            let body = format!(
                "{}{}",
                form(&search),
                pages::message("Cannot search the history", &e.message, None)
            );
            html(e.status, pages::page("History", who, &body))
        }
    }
}

fn form(s: &HistorySearch) -> String {
    let mut states = String::from("<option value=\"\">any</option>");
    for state in ApprovalState::ALL {
        let _ = write!(
            states,
            "<option value=\"{v}\"{sel}>{v}</option>",
            v = state.as_str(),
            sel = if s.state == state.as_str() {
                " selected"
            } else {
                ""
            },
        );
    }
    format!(
        "<h1>History</h1><form method=\"get\" action=\"/console/history\" class=\"filters search\" \
         role=\"search\"><label for=\"q\">Search action, resource, intent</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{q}\">\
         <label for=\"state\">State</label><select id=\"state\" name=\"state\">{states}</select>\
         <label for=\"h-action\">Action</label><input id=\"h-action\" name=\"action\" value=\"{action}\">\
         <label for=\"subject\">Requester</label><input id=\"subject\" name=\"subject\" value=\"{subject}\">\
         <button type=\"submit\">Search</button></form>",
        q = esc(&s.q),
        action = esc(&s.action),
        subject = esc(&s.subject),
    )
}

fn render(search: &HistorySearch, views: &[ApprovalView], next: Option<&str>) -> String {
    let mut rows = String::new();
    for v in views {
        let a = &v.approval;
        let _ = write!(
            rows,
            "<tr><td><a href=\"/console/approvals/{id}\">{action}</a></td><td>{subject}</td>\
             <td>{rtype}/{rid}</td><td>{intent}</td><td><span class=\"state\">{state}</span></td>\
             <td><time datetime=\"{created}\">{created}</time></td></tr>",
            id = esc(&a.id),
            action = esc(&a.action),
            subject = esc(&a.subject_id),
            rtype = esc(&v.request.resource.kind),
            rid = esc(&v.request.resource.id),
            intent = esc(&v.request.context.intent),
            state = a.state.as_str(),
            created = esc(&humantime::format_rfc3339_seconds(a.created_at.to_time()).to_string()),
        );
    }
    let table = if views.is_empty() {
        "<p class=\"empty\">No request you may read matches.</p>".to_string()
    } else {
        format!(
            "<table><caption>Requests matching the search, oldest first</caption><thead><tr>\
             <th scope=\"col\">Action</th><th scope=\"col\">Requester</th>\
             <th scope=\"col\">Resource</th><th scope=\"col\">Intent</th>\
             <th scope=\"col\">State</th><th scope=\"col\">Requested</th></tr></thead>\
             <tbody>{rows}</tbody></table>"
        )
    };
    let more = next
        .map(|after| {
            format!(
                "<p><a href=\"{}\" rel=\"next\">Next page</a></p>",
                esc(&search.next_url(after))
            )
        })
        .unwrap_or_default();
    format!(
        "{}{}<div id=\"live-list\">{table}{more}</div>",
        form(search),
        pages::LIVE_LIST
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_becomes_a_listing_and_a_bad_state_names_its_field() {
        let search = HistorySearch {
            state: "denied".into(),
            q: "TICKET-9".into(),
            after: "a1".into(),
            ..HistorySearch::default()
        };
        let q = search.query().unwrap();
        assert_eq!(q.filter.state, Some(ApprovalState::Denied));
        assert_eq!(q.filter.text.as_deref(), Some("TICKET-9"));
        assert_eq!(q.filter.action, None);
        assert_eq!(q.page.after_id.as_deref(), Some("a1"));
        let bad = HistorySearch {
            state: "done".into(),
            ..HistorySearch::default()
        };
        assert_eq!(bad.query().unwrap_err().field, "state");
    }
}
