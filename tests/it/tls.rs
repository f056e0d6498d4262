//! The real server over TLS and mTLS, with certificates made here by rcgen: a workload is
//! who its SPIFFE ID or CN says (through the configured patterns), everyone else is refused
//! at the handshake or at the first call, and a certificate swapped on disk is served to new
//! connections while old ones keep working.

use std::{net::SocketAddr, time::Duration};

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tollgate::{
    domain::SubjectKind,
    grpc::pb::{self, authorizer_client::AuthorizerClient, Effect},
    identity::tls::{PeerPattern, TlsConfig},
};
use tonic::{transport::Channel, Code};

use crate::common::*;
use crate::pki::{cn, spiffe, Ca, Leaf, Pki};

const POLICY: &str = r#"package tollgate

default allow := false

allow if input.action.name == "probe.read"
"#;

/// A client certificate with an optional SPIFFE ID and CN.
fn client(ca: &Ca, spiffe_id: Option<&'static str>, common_name: Option<&'static str>) -> Leaf {
    ca.client(|p| {
        if let Some(uri) = spiffe_id {
            spiffe(uri)(p);
        }
        if let Some(name) = common_name {
            cn(name)(p);
        }
    })
}

/// The suite's server set-up on the shared test PKI.
trait Server {
    fn config(&self) -> TlsConfig;
    fn connector(&self, trust: &Ca, cert: Option<&Leaf>) -> TlsConnector;
}

impl Server for Pki {
    fn config(&self) -> TlsConfig {
        TlsConfig {
            cert_file: self.path("server.pem"),
            key_file: self.path("server.key"),
            client_ca_file: Some(self.path("client-ca.pem")),
            require_client_cert: true,
            reload_interval: Duration::from_millis(100),
            handshake_timeout: Duration::from_secs(5),
            peers: vec![
                PeerPattern {
                    spiffe: Some("spiffe://tollgate.test/agents/*".into()),
                    cn: None,
                    id: "agent:{1}".into(),
                    kind: SubjectKind::Agent,
                    groups: vec!["agents".into()],
                    owner: Some("team:ml".into()),
                    asserts_subjects: false,
                },
                PeerPattern {
                    spiffe: None,
                    cn: Some("*.pipelines.tollgate.test".into()),
                    id: "pipeline:{1}".into(),
                    kind: SubjectKind::Pipeline,
                    groups: Vec::new(),
                    owner: None,
                    asserts_subjects: false,
                },
            ],
        }
    }

    /// A gRPC client trusting `trust`, presenting `cert` if given.
    fn connector(&self, trust: &Ca, cert: Option<&Leaf>) -> TlsConnector {
        self.connector_to(trust, cert, b"h2")
    }
}

/// A gRPC channel to `addr` over `connector`.
async fn channel(
    connector: TlsConnector,
    addr: SocketAddr,
) -> Result<Channel, tonic::transport::Error> {
    let connect = tower::service_fn(move |_: tonic::transport::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").unwrap();
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(connect)
        .await
}

async fn server(pki: &Pki) -> TestServer {
    start(policy_file(POLICY), |c| {
        c.tls = Some(pki.config());
        c.auth.mode = tollgate::identity::AuthMode::Verified;
    })
    .await
}

fn read() -> pb::AuthorizeRequest {
    request("probe.read", "dataset")
}

#[tokio::test]
async fn workloads_are_who_their_certificates_say_and_nobody_else_gets_in() {
    let pki = Pki::new();
    let s = server(&pki).await;
    let addr = s.running.grpc_addr;

    // A SPIFFE ID maps to an agent; the body may not claim to be anyone else.
    let agent = client(
        &pki.client_ca,
        Some("spiffe://tollgate.test/agents/summarizer"),
        None,
    );
    let c = channel(pki.connector(&pki.server_ca, Some(&agent)), addr)
        .await
        .unwrap();
    let mut api = AuthorizerClient::new(c);
    let mut r = read();
    r.subject = None;
    let ok = api.authorize(r).await.unwrap().into_inner();
    assert_eq!(ok.effect(), Effect::Allow, "{ok:?}");
    let err = api.authorize(read()).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "the body's subject is someone else"
    );

    // A CN maps to a pipeline.
    let pipeline = client(&pki.client_ca, None, Some("etl.pipelines.tollgate.test"));
    let c = channel(pki.connector(&pki.server_ca, Some(&pipeline)), addr)
        .await
        .unwrap();
    let mut r = read();
    r.subject = None;
    let ok = AuthorizerClient::new(c)
        .authorize(r)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow);

    // A valid certificate that maps to no identity is refused at the first call.
    let stranger = client(&pki.client_ca, Some("spiffe://elsewhere.test/x"), None);
    let c = channel(pki.connector(&pki.server_ca, Some(&stranger)), addr)
        .await
        .unwrap();
    let err = AuthorizerClient::new(c)
        .authorize(read())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // A certificate from another CA, no certificate at all, and plaintext never get a call in.
    let rogue = client(
        &Ca::new("rogue CA"),
        Some("spiffe://tollgate.test/agents/summarizer"),
        None,
    );
    for (what, connector) in [
        ("unknown CA", pki.connector(&pki.server_ca, Some(&rogue))),
        ("no client certificate", pki.connector(&pki.server_ca, None)),
    ] {
        let refused = match channel(connector, addr).await {
            Err(_) => true,
            Ok(c) => AuthorizerClient::new(c).authorize(read()).await.is_err(),
        };
        assert!(refused, "{what}");
    }
    let plain = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await;
    let refused = match plain {
        Err(_) => true,
        Ok(c) => AuthorizerClient::new(c).authorize(read()).await.is_err(),
    };
    assert!(refused, "plaintext to the TLS port");
    s.stop().await;
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    let pki = Pki::new();
    let s = server(&pki).await;
    let expired = pki.client_ca.client(|p| {
        spiffe("spiffe://tollgate.test/agents/old")(p);
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let refused = match channel(
        pki.connector(&pki.server_ca, Some(&expired)),
        s.running.grpc_addr,
    )
    .await
    {
        Err(_) => true,
        Ok(c) => AuthorizerClient::new(c).authorize(read()).await.is_err(),
    };
    assert!(refused);
    s.stop().await;
}

#[tokio::test]
async fn a_new_certificate_serves_new_connections_while_old_ones_keep_working() {
    let pki = Pki::new();
    let s = server(&pki).await;
    let addr = s.running.grpc_addr;
    let agent = client(
        &pki.client_ca,
        Some("spiffe://tollgate.test/agents/a"),
        None,
    );
    let kept = channel(pki.connector(&pki.server_ca, Some(&agent)), addr)
        .await
        .unwrap();
    let mut kept = AuthorizerClient::new(kept);
    let mut r = read();
    r.subject = None;
    kept.authorize(r.clone()).await.unwrap();

    // The server's certificate now comes from another CA: only clients trusting it connect.
    let next_ca = Ca::new("next server CA");
    pki.install_server(&next_ca.server(2));
    let fresh = eventually(
        "new connections see the new certificate",
        Duration::from_secs(10),
        || {
            let connector = pki.connector(&next_ca, Some(&agent));
            async move { channel(connector, addr).await.map_err(|e| e.to_string()) }
        },
    )
    .await;
    AuthorizerClient::new(fresh)
        .authorize(r.clone())
        .await
        .unwrap();
    // The connection opened before the swap still answers, under load.
    for _ in 0..20 {
        kept.authorize(r.clone()).await.unwrap();
    }
    s.stop().await;
}
