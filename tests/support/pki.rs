//! Test certificates made with rcgen: a CA, server and client leaves, and a rustls client
//! connector. Shared by the TLS unit tests (`src/identity/tls/tests.rs`) and the black-box
//! TLS tests (`tests/it/tls.rs`), each of which includes this file with `#[path]`.

#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    ClientConfig,
};
use tokio_rustls::TlsConnector;

/// A test certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost`, with `serial` to tell versions apart.
    pub fn server(&self, serial: u64) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.serial_number = Some(serial.into());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate; `edit` sets its names and dates.
    pub fn client(&self, edit: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        edit(&mut params);
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// Adds a SPIFFE ID (URI SAN).
pub fn spiffe(uri: &'static str) -> impl FnOnce(&mut CertificateParams) {
    move |p| {
        p.subject_alt_names
            .push(SanType::URI(uri.try_into().unwrap()))
    }
}

/// Sets the subject CN.
pub fn cn(name: &'static str) -> impl FnOnce(&mut CertificateParams) {
    move |p| p.distinguished_name.push(DnType::CommonName, name)
}

/// A rustls client trusting `trusted_ca_pem`, presenting `cert` if given, offering `alpn`.
pub fn connector(trusted_ca_pem: &str, cert: Option<&Leaf>, alpn: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(trusted_ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match cert {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// A server set-up in a temporary directory: `server.pem`/`server.key` signed by
/// `server_ca`, and `client-ca.pem` (`client_ca`, which signs the clients' certificates).
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub server_ca: Ca,
    pub client_ca: Ca,
}

impl Pki {
    pub fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
            server_ca: Ca::new("test server CA"),
            client_ca: Ca::new("test client CA"),
        };
        pki.install_server(&pki.server_ca.server(1));
        std::fs::write(pki.path("client-ca.pem"), pki.client_ca.pem()).unwrap();
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Puts `leaf` in place as the server's certificate: key first, so a reader that sees
    /// the new certificate finds its key (the reloader refuses a mismatched pair anyway).
    pub fn install_server(&self, leaf: &Leaf) {
        std::fs::write(self.path("server.key"), &leaf.key).unwrap();
        std::fs::write(self.path("server.pem"), &leaf.cert).unwrap();
    }

    /// A client trusting `trust` (normally `server_ca`), presenting `cert` if given.
    pub fn connector_to(&self, trust: &Ca, cert: Option<&Leaf>, alpn: &[u8]) -> TlsConnector {
        connector(&trust.pem(), cert, alpn)
    }
}
