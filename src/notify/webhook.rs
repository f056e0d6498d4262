//! Generic webhooks: JSON events signed per the Standard Webhooks specification, so any
//! receiver with a Standard Webhooks library (or ten lines of HMAC, see `docs/reviewers.md`)
//! can verify them.
//!
//! Headers: `webhook-id` (the event id: the same on every retry, so receivers deduplicate),
//! `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`, keyed with the base64-decoded
//! part of the `whsec_...` secret). Body: `{"type", "timestamp", "data"}` where `type` is
//! `approval.requested`, `approval.updated` (a review or a narrowing), `approval.reminder`,
//! `approval.ended` (approved, denied, expired, cancelled) or `capability.redeemed`.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{message::Notice, SendError};
use crate::domain::{NotifyKind, UnixMillis};

/// A Standard Webhooks signing key, from its `whsec_<base64>` form.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Parses `whsec_<base64>` (24 to 64 random bytes).
    pub fn parse(secret: &str) -> Result<Self, String> {
        let b64 = secret
            .strip_prefix("whsec_")
            .ok_or("must be whsec_ followed by base64 (Standard Webhooks)")?;
        let key = STANDARD
            .decode(b64)
            .map_err(|_| "the part after whsec_ is not base64".to_string())?;
        if !(24..=64).contains(&key.len()) {
            return Err("the key must be 24 to 64 bytes".into());
        }
        Ok(Self(key))
    }

    /// `v1,<signature>` of `body` sent as message `id` at `timestamp` (Unix seconds).
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The webhook event type of a notification.
pub fn event_type(kind: NotifyKind) -> &'static str {
    match kind {
        NotifyKind::Requested => "approval.requested",
        NotifyKind::Reviewed | NotifyKind::Modified => "approval.updated",
        NotifyKind::Reminder => "approval.reminder",
        NotifyKind::Approved | NotifyKind::Denied | NotifyKind::Expired | NotifyKind::Cancelled => {
            "approval.ended"
        }
        NotifyKind::Redeemed => "capability.redeemed",
    }
}

/// The event body for `n` at `at`.
pub fn payload(n: &Notice, at: UnixMillis) -> Value {
    json!({
        "type": event_type(n.event),
        "timestamp": humantime::format_rfc3339_millis(at.to_time()).to_string(),
        "data": {
            "event": n.event.as_str(),
            "approval": n,
        },
    })
}

/// Posts `body` as message `id` to `url`, signed with `key` at `now`.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    key: &SigningKey,
    id: &str,
    body: &Value,
    now: UnixMillis,
) -> Result<(), SendError> {
    let text = body.to_string();
    let timestamp = now.0.div_euclid(1000);
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", key.sign(id, timestamp, &text))
        .body(text)
        .send()
        .await
        .map_err(|e| SendError::retry(format!("webhook: {}", crate::telemetry::ErrorChain(&e))))?;
    SendError::check_status("webhook", response.status(), response.headers())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::message::tests::{notice, view};

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification's test vectors.
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningKey::parse("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn events_are_typed_and_carry_the_notice() {
        let p = payload(&notice(&view(), NotifyKind::Reviewed), UnixMillis(0));
        assert_eq!(p["type"], "approval.updated");
        assert_eq!(p["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(p["data"]["event"], "approval.reviewed");
        assert_eq!(p["data"]["approval"]["approval_id"], "0190-a");
        assert_eq!(p["data"]["approval"]["missing"], 1);
        assert_eq!(event_type(NotifyKind::Expired), "approval.ended");
        assert_eq!(event_type(NotifyKind::Redeemed), "capability.redeemed");
    }
}
