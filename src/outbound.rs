//! The HTTP client for the calls tollgate makes itself (an identity provider's discovery and
//! JWKS, the audit anchor webhook, notifications): rustls with the ring provider and the
//! platform's trust roots, no redirects (a redirect could point a key fetch elsewhere), and
//! timeouts on connecting and on the whole request.

use std::{sync::Arc, time::Duration};

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The TLS configuration could not be set up.
    #[error("TLS client setup: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client setup: {0}")]
    Http(#[from] reqwest::Error),
}

/// A client whose requests give up after `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, OutboundError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Whether tollgate may send to `url`: `https`, or plain `http` to a loopback IP address
/// (a local collector, tests). Anything else would carry audit data or tokens in clear.
pub fn acceptable_url(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_url;

    #[test]
    fn only_https_or_loopback_http_is_acceptable() {
        assert!(acceptable_url("https://siem.example.com/anchor"));
        assert!(acceptable_url("http://127.0.0.1:9000/x"));
        assert!(acceptable_url("http://[::1]:9000/x"));
        assert!(!acceptable_url("http://localhost.evil.example/x"));
        assert!(!acceptable_url("http://10.0.0.1/x"));
        assert!(!acceptable_url("ftp://127.0.0.1/x"));
        assert!(!acceptable_url("not a url"));
    }
}
