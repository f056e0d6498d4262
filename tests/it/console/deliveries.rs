//! `GET /console/deliveries`: an admin sees a delivery failing against a receiver that is
//! down, with its channel, attempts and last error; a reviewer who is not an admin is refused.

use super::*;
use tollgate::notify::config::{ChannelConfig, RouteConfig, WebhookChannel};

#[tokio::test]
async fn an_admin_sees_failing_deliveries_and_a_reviewer_is_refused() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    // A loopback port nobody listens on: every attempt is refused.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = server_with(&op, move |c| {
        c.roles.admin = vec!["user:omar@example.com".into()];
        let n = &mut c.notify;
        n.channels = vec![ChannelConfig {
            name: "siem".into(),
            slack: None,
            teams: None,
            webhook: Some(WebhookChannel {
                url: format!("http://{down}/hook"),
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                secret_file: None,
            }),
        }];
        n.routes = vec![RouteConfig {
            actions: vec![],
            risks: vec![],
            channels: vec!["siem".into()],
            mention: vec![],
        }];
        n.poll_interval = Duration::from_millis(50);
        n.retry.initial = Duration::from_millis(50);
        n.retry.max = Duration::from_millis(200);
        n.http_timeout = Duration::from_secs(2);
    })
    .await;
    let id = pending(&server, "db.drop", "user:alice@example.com", "d-1").await;

    let mut sam = Browser::new(&server, &op);
    sam.sign_in("sam@example.com", "/console/", false).await;
    let refused = sam.get("/console/deliveries").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("caller is not in the admin group"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains(&id), "{}", refused.body);

    let mut omar = Browser::new(&server, &op);
    omar.sign_in("omar@example.com", "/console/", false).await;
    let session = omar.cookies.clone();
    let (server, op) = (&server, &op);
    let page = eventually("a failing delivery", Duration::from_secs(30), || {
        // A browser with omar's session for each look (each look may update its cookies).
        let mut omar = Browser::new(server, op);
        omar.cookies = session.clone();
        async move {
            let page = omar.get("/console/deliveries").await;
            if page.status == 200 && page.body.contains("<td>retrying</td>") {
                Ok(page.body)
            } else {
                Err(format!("{} {}", page.status, page.body))
            }
        }
    })
    .await;
    assert!(page.contains("<td>siem</td>"), "{page}");
    assert!(page.contains(&format!("/console/approvals/{id}")), "{page}");
    assert!(page.contains("approval.requested"), "{page}");
    let error = between(&page, "<td class=\"error\">", "</td>");
    assert!(!error.is_empty(), "the last error is shown: {page}");
}
