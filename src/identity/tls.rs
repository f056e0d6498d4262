//! TLS and mutual TLS for the gRPC and HTTP ports, reloaded on change without dropping
//! connections.
//!
//! [`TlsReloader`] holds the current rustls server configuration (certificate, key, and the
//! client CA that verifies client certificates) behind an atomic swap. Every new handshake
//! takes the configuration current at that moment; a connection already open keeps the one
//! it started with, so a reload never drops it. [`TlsReloader::reload_if_changed`] re-reads
//! the files and swaps only when their content changed and the new set is valid: a missing
//! file, a key that does not match the certificate or an unparsable CA keeps the old
//! configuration and logs why. [`TlsReloader::watch`] calls it every `reload_interval`
//! (polling the content survives editors' rename-over and Kubernetes' symlink swaps, which
//! file events miss). [`incoming::TlsIncoming`] turns a listener into connections for tonic
//! and axum, each carrying the peer's certificate and the identity it maps to
//! ([`peer`]).
//!
//! # Threat model
//!
//! Trusted: the configured files (certificate, key, client CA) and the CA's signatures.
//! Not trusted: every client, its certificate (verified against the client CA, validity
//! period included, by rustls/webpki; names parsed defensively, [`peer`]), plaintext or
//! garbage on the port (the handshake fails and the connection closes), slow handshakes
//! (timed out). When `require_client_cert` is off, a client without a certificate is
//! accepted at the TLS level and must authenticate with a token; a client *with* one is
//! still verified, so an unverifiable certificate never reaches the identity mapping.
//! Out of scope: revocation (CRLs/OCSP) of client certificates; keep them short-lived.

pub mod incoming;
pub mod peer;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use arc_swap::ArcSwap;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use self::{
    incoming::{peer_of, PeerInfo, TlsConnection, TlsIncoming},
    peer::{CertIdentity, CertName, PeerConfigError, PeerIdentityError, PeerMapper, PeerPattern},
};

/// `tls:` in the config (one block for both ports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the leaf.
    pub key_file: PathBuf,
    /// PEM CA certificates that sign client certificates; enables mTLS.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Refuse the handshake of a client without a certificate (needs `client_ca_file`).
    #[serde(default)]
    pub require_client_cert: bool,
    /// How often the files are checked for changes (default 5s).
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
    /// A handshake not finished in this time is dropped (default 10s).
    #[serde(default = "default_handshake_timeout", with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// Client certificate to identity rules, first match wins.
    #[serde(default)]
    pub peers: Vec<PeerPattern>,
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_handshake_timeout() -> Duration {
    Duration::from_secs(10)
}

/// The application protocol a port speaks, offered in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// gRPC: HTTP/2 only.
    Grpc,
    /// The HTTP port: HTTP/1.1.
    Http1,
}

/// Why a TLS configuration could not be built. At start-up the server does not start; on
/// reload the old configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
    /// rustls refused the certificate and key (e.g. they do not match).
    #[error("certificate {cert} and key {key} are unusable")]
    Rustls {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
    /// The client CA cannot verify client certificates.
    #[error("client CA {path} is unusable")]
    ClientCa {
        /// The CA file.
        path: PathBuf,
        /// rustls' reason.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    /// The settings contradict each other.
    #[error("invalid tls config: {0}")]
    Config(&'static str),
}

/// The configurations built from one version of the files.
struct Loaded {
    grpc: Arc<ServerConfig>,
    http: Arc<ServerConfig>,
}

struct Inner {
    config: TlsConfig,
    current: ArcSwap<Loaded>,
    /// Digest of the files behind `current`, and of the last set that failed (logged once).
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    loaded: [u8; 32],
    failed: Option<[u8; 32]>,
}

/// The current TLS server configuration of both ports, swappable. Cheap to clone.
#[derive(Clone)]
pub struct TlsReloader {
    inner: Arc<Inner>,
}

impl TlsReloader {
    /// Loads the files; any problem is an error (the server must not start without TLS it
    /// was configured for).
    pub fn load(config: &TlsConfig) -> Result<Self, TlsError> {
        if config.require_client_cert && config.client_ca_file.is_none() {
            return Err(TlsError::Config(
                "require_client_cert needs client_ca_file to verify client certificates",
            ));
        }
        let files = Files::read(config)?;
        let loaded = build(config, &files)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                current: ArcSwap::from_pointee(loaded),
                seen: Mutex::new(Seen {
                    loaded: files.digest(),
                    failed: None,
                }),
            }),
        })
    }

    /// Re-reads the files; swaps in a new configuration when they changed and are valid.
    /// `Ok(true)`: swapped; `Ok(false)`: unchanged; `Err`: changed but invalid, the old
    /// configuration stays (the error is logged once per distinct bad content).
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let config = &self.inner.config;
        let outcome = Files::read(config).and_then(|files| {
            let digest = files.digest();
            if self.seen().loaded == digest {
                return Ok(None);
            }
            build(config, &files).map(|loaded| Some((loaded, digest)))
        });
        let mut seen = self.seen();
        match outcome {
            Ok(None) => Ok(false),
            Ok(Some((loaded, digest))) => {
                self.inner.current.store(Arc::new(loaded));
                *seen = Seen {
                    loaded: digest,
                    failed: None,
                };
                tracing::info!(cert = %config.cert_file.display(), "TLS certificate reloaded");
                Ok(true)
            }
            Err(e) => {
                // Digest of whatever could be read, so one bad state is logged once.
                let failed = Sha256::digest(crate::telemetry::ErrorChain(&e).to_string()).into();
                if seen.failed != Some(failed) {
                    tracing::warn!(
                        error = %crate::telemetry::ErrorChain(&e),
                        "TLS files changed but are invalid: keeping the previous certificate"
                    );
                    seen.failed = Some(failed);
                }
                Err(e)
            }
        }
    }

    /// Checks the files every `reload_interval` until `shutdown` resolves.
    pub fn watch(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.inner.config.reload_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tick.tick() => { let _ = this.reload_if_changed(); }
                }
            }
        })
    }

    /// The configuration a new handshake on a port speaking `alpn` uses.
    pub fn server_config(&self, alpn: Alpn) -> Arc<ServerConfig> {
        let loaded = self.inner.current.load();
        match alpn {
            Alpn::Grpc => loaded.grpc.clone(),
            Alpn::Http1 => loaded.http.clone(),
        }
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.inner.config.handshake_timeout
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A poisoned lock only means a panic mid-update of two digests; reuse them.
        self.inner
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The raw content of the configured files.
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Files {
    fn read(config: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(&config.cert_file)?,
            key: read(&config.key_file)?,
            client_ca: config.client_ca_file.as_deref().map(read).transpose()?,
        })
    }

    fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [
            &self.cert[..],
            &self.key[..],
            self.client_ca.as_deref().unwrap_or_default(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn build(config: &TlsConfig, files: &Files) -> Result<Loaded, TlsError> {
    let pem_error = |path: &Path, what| TlsError::Pem {
        path: path.to_path_buf(),
        what,
    };
    let chain = CertificateDer::pem_slice_iter(&files.cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| pem_error(&config.cert_file, "not a PEM certificate chain"))?;
    if chain.is_empty() {
        return Err(pem_error(&config.cert_file, "holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&files.key)
        .map_err(|_| pem_error(&config.key_file, "holds no PEM private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Rustls {
            cert: config.cert_file.clone(),
            key: config.key_file.clone(),
            source,
        })?;
    let builder = match (&config.client_ca_file, &files.client_ca) {
        (Some(path), Some(pem)) => builder.with_client_cert_verifier(client_verifier(
            path,
            pem,
            config.require_client_cert,
            provider,
        )?),
        _ => builder.with_no_client_auth(),
    };
    let base = builder
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::Rustls {
            cert: config.cert_file.clone(),
            key: config.key_file.clone(),
            source,
        })?;
    let with_alpn = |protocols: &[&[u8]]| {
        let mut c = base.clone();
        c.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Arc::new(c)
    };
    Ok(Loaded {
        grpc: with_alpn(&[b"h2"]),
        http: with_alpn(&[b"http/1.1"]),
    })
}

/// Verifies client certificates against the CA bundle `pem`; without `required`, a client
/// may send no certificate, but one it sends is still verified.
fn client_verifier(
    path: &Path,
    pem: &[u8],
    required: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let pem_error = |what| TlsError::Pem {
        path: path.to_path_buf(),
        what,
    };
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(pem) {
        let ca = ca.map_err(|_| pem_error("not a PEM CA bundle"))?;
        roots
            .add(ca)
            .map_err(|_| pem_error("holds an unusable CA certificate"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let verifier = if required {
        verifier
    } else {
        verifier.allow_unauthenticated()
    };
    verifier.build().map_err(|source| TlsError::ClientCa {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
