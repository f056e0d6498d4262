//! Live updates (`GET /console/events`): a reviewer's session hears another reviewer's
//! approval made over gRPC, never hears of an approval it may not read, and the stream ends
//! at sign-out.

use super::*;

/// A server-sent event stream being read, and everything read so far.
struct Events {
    response: reqwest::Response,
    text: String,
}

impl Events {
    /// Opens `/console/events` with `browser`'s cookies (a client whose total timeout
    /// outlasts the test: the stream stays open).
    async fn open(browser: &Browser) -> Self {
        let http = tollgate::notify::http_client(Duration::from_secs(300)).unwrap();
        let response = http
            .get(browser.absolute("/console/events"))
            .header("cookie", browser.jar())
            .send()
            .await
            .unwrap();
        Self {
            response,
            text: String::new(),
        }
    }

    /// Reads until `done` holds for everything read (at most 30 s, a bound, not a timing
    /// assertion); false if the stream ended first.
    async fn until(&mut self, what: &str, done: impl Fn(&str) -> bool) -> bool {
        let read = async {
            while !done(&self.text) {
                match self.response.chunk().await.unwrap() {
                    Some(bytes) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                    None => return false,
                }
            }
            true
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s; read: {}", self.text))
    }

    /// Reads until the stream has said `said`; fails if it ends first.
    async fn hears(&mut self, what: &str, said: &str) {
        let heard = self.until(what, |text| text.contains(said)).await;
        assert!(heard, "no {what} before the stream ended: {}", self.text);
    }
}

async fn approve_over_grpc(server: &TestServer, who: &str, id: &str) {
    let approved = pb::approvals_client::ApprovalsClient::new(server.channel.clone())
        .approve(as_user(
            who,
            pb::ApproveRequest {
                approval_id: id.into(),
                verdict: pb::Verdict::Approve as i32,
                reason: "checked over gRPC".into(),
                params: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state(), ApprovalState::Approved, "{approved:?}");
}

#[tokio::test]
async fn a_session_hears_another_reviewers_approval_and_nothing_it_may_not_read() {
    let Some(op) = OpenIdProvider::start().await else {
        return;
    };
    let server = server(&op).await;
    let mut rita = Browser::new(&server, &op);
    rita.sign_in("rita@example.com", "/console/", false).await;

    // Without a session: 401 (an EventSource stops retrying).
    let anonymous = Events::open(&Browser::new(&server, &op)).await;
    assert_eq!(anonymous.response.status().as_u16(), 401);

    let mut events = Events::open(&rita).await;
    assert_eq!(events.response.status().as_u16(), 200);
    let kind = events.response.headers()["content-type"].to_str().unwrap();
    assert!(kind.starts_with("text/event-stream"), "{kind}");

    // Only SREs may read a key rotation: rita (reviewers, not sre) may not.
    let secret = pending(&server, "db.rotate", "user:alice@example.com", "live-1").await;
    let refused = rita.get(&format!("/console/approvals/{secret}")).await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    // A drop rita may read; sam approves it over gRPC.
    let id = pending(&server, "db.drop", "user:alice@example.com", "live-2").await;
    // A change names an approval, and the stream reads its state when it sends it: heard
    // after sam's review, the creation would read "approved". So sam waits for it.
    let created = format!(r#"{{"by":[],"id":"{id}","reviews":0,"state":"pending"}}"#);
    events.hears("the creation", &created).await;
    approve_over_grpc(&server, "sam", &id).await;

    let approved =
        format!(r#"{{"by":["user:sam@example.com"],"id":"{id}","reviews":1,"state":"approved"}}"#);
    events.hears("the approval", &approved).await;
    // The rotation changed first (created); it was never mentioned.
    assert!(!events.text.contains(&secret), "{}", events.text);
    assert!(events.text.contains("event: approval"), "{}", events.text);
    assert!(
        !events.text.contains("decommission"),
        "no params or context: {}",
        events.text
    );

    // Sign-out ends the stream: the next change is not sent, the stream says so and closes.
    let list = rita.get("/console/").await;
    let out = rita
        .post("/console/logout", &[("csrf", &csrf(&list))])
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let after = pending(&server, "db.drop", "user:alice@example.com", "live-3").await;
    events.hears("the end of the stream", "event: end").await;
    assert!(
        !events.until("EOF", |_| false).await,
        "the stream closes after its end event"
    );
    assert!(!events.text.contains(&after), "{}", events.text);
}
