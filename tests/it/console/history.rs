//! The request's audit history on the detail page, and the searchable history
//! (`GET /console/history`): only requests the reviewer may read, filtered as asked.

use super::*;

/// A drop of `resource` with `intent` by the agent for alice; its approval id.
async fn pending_drop(server: &TestServer, resource: &str, intent: &str, key: &str) -> String {
    let mut request = drop_request(key);
    request.subject.as_mut().unwrap().on_behalf_of = "user:alice@example.com".into();
    request.resource.as_mut().unwrap().id = resource.into();
    request.context.as_mut().unwrap().intent = intent.into();
    let r = server
        .authorizer()
        .authorize(as_user("agent", request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.effect(), Effect::PendingApproval, "{r:?}");
    r.approval_id
}

/// Where `needle` is in `text`, failing with the text when it is not there.
fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text}"))
}

#[tokio::test]
async fn the_detail_page_shows_the_requests_audit_history_to_its_readers_only() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.drop", "user:alice@example.com", "h-1").await;
    let mut sam = Browser::new(&server, &op);
    let page = format!("/console/approvals/{id}");
    let detail = sam.sign_in("sam@example.com", &page, false).await;
    let approved = review(&mut sam, &id, &csrf(&detail), "approve").await;
    assert_eq!(approved.status, 303, "{}", approved.body);

    let after = sam.get(&page).await;
    let body = &after.body;
    let history = &body[at(body, "<h2>History</h2>")..];
    // Every record, in the order it happened, with who did it.
    let order = [
        "<strong>Decided by the policy</strong> (PENDING_APPROVAL) by agent:deployer",
        "<strong>Approval requested</strong>",
        "<strong>Reviewed</strong> (approve) by user:sam@example.com: checked in the console",
        "<strong>Approved</strong> (approved)",
        "<strong>Capability minted</strong>",
    ];
    let positions: Vec<usize> = order.iter().map(|n| at(history, n)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{positions:?} in {history}"
    );
    assert!(history.contains("<time datetime=\""), "{history}");

    // Rita may not read a key rotation: the detail page (history included) is refused
    // exactly as for a request that does not exist.
    let secret = pending(&server, "db.rotate", "user:alice@example.com", "h-2").await;
    let mut rita = Browser::new(&server, &op);
    let refused = rita
        .sign_in(
            "rita@example.com",
            &format!("/console/approvals/{secret}"),
            false,
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert!(
        !refused.body.contains("<h2>History</h2>"),
        "{}",
        refused.body
    );
    let missing = "0190f0f0-0000-7000-8000-000000000000";
    let unknown = rita.get(&format!("/console/approvals/{missing}")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        refused.body.replace(&secret, "ID"),
        unknown.body.replace(missing, "ID"),
        "the same refusal as for an unknown request"
    );
    // Sam, an SRE, reads it with its history.
    let readable = sam.get(&format!("/console/approvals/{secret}")).await;
    assert_eq!(readable.status, 200, "{}", readable.body);
    assert!(readable
        .body
        .contains("<strong>Approval requested</strong>"));
}

#[tokio::test]
async fn the_history_searches_what_the_reviewer_may_read() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let churn = pending_drop(&server, "analytics-eu", "quarterly churn TICKET-812", "s-1").await;
    let orders = pending_drop(&server, "orders-eu", "decommission after migration", "s-2").await;
    let secret = pending(&server, "db.rotate", "user:alice@example.com", "s-3").await;
    let mut rita = Browser::new(&server, &op);
    let list = rita.sign_in("rita@example.com", "/console/", false).await;
    assert!(
        list.body.contains("href=\"/console/history\""),
        "linked from the header: {}",
        list.body
    );
    let detail = rita.get(&format!("/console/approvals/{orders}")).await;
    let denied = review(&mut rita, &orders, &csrf(&detail), "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.body);

    let everything = rita.get("/console/history").await;
    assert_eq!(everything.status, 200, "{}", everything.body);
    for id in [&churn, &orders] {
        assert!(everything.body.contains(id.as_str()), "{}", everything.body);
    }
    assert!(
        !everything.body.contains(&secret),
        "never one rita may not read"
    );

    let search = |query: &str| format!("/console/history?{query}");
    let by_text = rita.get(&search("q=ticket-812")).await;
    assert!(by_text.body.contains(&churn), "{}", by_text.body);
    assert!(!by_text.body.contains(&orders), "{}", by_text.body);
    let by_resource = rita.get(&search("q=database%2Forders")).await;
    assert!(by_resource.body.contains(&orders), "{}", by_resource.body);
    assert!(!by_resource.body.contains(&churn), "{}", by_resource.body);
    let by_state = rita.get(&search("state=denied")).await;
    assert!(by_state.body.contains(&orders), "{}", by_state.body);
    assert!(!by_state.body.contains(&churn), "{}", by_state.body);
    let by_requester = rita
        .get(&search("subject=agent%3Adeployer&state=pending"))
        .await;
    assert!(by_requester.body.contains(&churn), "{}", by_requester.body);
    assert!(
        !by_requester.body.contains(&orders),
        "{}",
        by_requester.body
    );
    let nobody = rita.get(&search("subject=agent%3Asomeone-else")).await;
    assert!(
        nobody.body.contains("No request you may read matches"),
        "{}",
        nobody.body
    );
    // The rotation matches the action, and stays hidden.
    let hidden = rita.get(&search("action=db.rotate")).await;
    assert!(!hidden.body.contains(&secret), "{}", hidden.body);

    let bad = rita.get(&search("state=done")).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("state: must be pending"), "{}", bad.body);
}

#[tokio::test]
async fn a_modification_shows_its_diff_once_it_counted() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let id = pending(&server, "db.drop", "user:alice@example.com", "m-1").await;
    let mut sam = Browser::new(&server, &op);
    let page = format!("/console/approvals/{id}");
    let detail = sam.sign_in("sam@example.com", &page, false).await;
    assert!(
        detail.body.contains("id=\"params-diff\""),
        "the form has the diff region: {}",
        detail.body
    );
    assert!(
        !detail.body.contains("Modified by a reviewer"),
        "{}",
        detail.body
    );
    let modified = sam
        .post(
            &format!("/console/approvals/{id}/review"),
            &[
                ("csrf", &csrf(&detail)),
                ("verdict", "modify"),
                ("reason", "only the first hundred rows"),
                ("params", r#"{"database": "orders", "rows": 100}"#),
            ],
        )
        .await;
    assert_eq!(modified.status, 303, "{}", modified.body);
    let after = sam.follow(&modified.location.unwrap()).await;
    let diff = &after.body[at(&after.body, "Modified by a reviewer")..];
    assert!(
        diff.contains(
            "<th scope=\"row\"><code>action.params.rows</code></th><td><code>1200</code></td>\
             <td><code>100</code></td>"
        ),
        "{diff}"
    );
    assert!(
        after.body.contains("(changed action.params.rows)"),
        "the history names the changed path: {}",
        after.body
    );
}
