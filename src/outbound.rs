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
