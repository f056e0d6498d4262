//! Real certificates made here with rcgen, real rustls handshakes on loopback, a tiny tonic
//! health service and a tiny axum route served over [`TlsIncoming`].

mod handshakes;
mod peers;
mod reload;

#[path = "../../../tests/support/pki.rs"]
mod pki;

use std::{net::SocketAddr, sync::Mutex};

use axum::{extract::ConnectInfo, routing::get, Json, Router};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{client::TlsStream, TlsConnector};

use super::*;
use crate::domain::{IdentityId, SubjectKind};
use pki::{cn, spiffe, Ca, Leaf, Pki};

/// The peer rules every test server uses.
fn patterns() -> Vec<PeerPattern> {
    vec![
        PeerPattern {
            spiffe: Some("spiffe://corp.example/agents/*".into()),
            cn: None,
            id: "agent:{1}".into(),
            kind: SubjectKind::Agent,
            groups: vec!["agents".into()],
            owner: Some("team:ml".into()),
            asserts_subjects: false,
        },
        PeerPattern {
            spiffe: None,
            cn: Some("*.pipelines.corp.example".into()),
            id: "pipeline:{1}".into(),
            kind: SubjectKind::Pipeline,
            groups: Vec::new(),
            owner: None,
            asserts_subjects: false,
        },
    ]
}

/// What every unit test server uses from the shared test PKI.
trait Files {
    fn config(&self, require_client_cert: bool) -> TlsConfig;
    fn connector(&self, cert: Option<&Leaf>, alpn: &[u8]) -> TlsConnector;
    fn write_server(&self, leaf: &Leaf);
}

impl Files for Pki {
    fn config(&self, require_client_cert: bool) -> TlsConfig {
        TlsConfig {
            cert_file: self.path("server.pem"),
            key_file: self.path("server.key"),
            client_ca_file: Some(self.path("client-ca.pem")),
            require_client_cert,
            reload_interval: Duration::from_secs(3600),
            handshake_timeout: Duration::from_secs(10),
            peers: patterns(),
        }
    }

    /// A client trusting the server CA, presenting `cert` if given, offering `alpn`.
    fn connector(&self, cert: Option<&Leaf>, alpn: &[u8]) -> TlsConnector {
        self.connector_to(&self.server_ca, cert, alpn)
    }

    fn write_server(&self, leaf: &Leaf) {
        self.install_server(leaf);
    }
}

/// Serves `/whoami` (the connection's remote port and mapped identity) over TLS.
async fn serve_http(tls: &TlsReloader) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peers = Arc::new(PeerMapper::new(&patterns()).unwrap());
    let incoming = TlsIncoming::new(listener, tls.clone(), Alpn::Http1, peers).unwrap();
    let addr = incoming.local_addr();
    let app = Router::new().route("/whoami", get(whoami));
    tokio::spawn(async move {
        axum::serve(
            incoming,
            app.into_make_service_with_connect_info::<PeerInfo>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn whoami(ConnectInfo(peer): ConnectInfo<PeerInfo>) -> Json<Value> {
    Json(json!({
        "port": peer.remote_addr.port(),
        "id": peer.identity.as_ref().map(|i| i.id.to_string()).map_err(|e| e.to_string()),
        "certificates": peer.certificates.len(),
    }))
}

/// One HTTP/1.1 connection over TLS, kept open for several requests.
struct HttpClient {
    send: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl HttpClient {
    async fn connect(connector: &TlsConnector, addr: SocketAddr) -> Result<Self, String> {
        let tls = tls_connect(connector, addr).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(Self { send })
    }

    async fn whoami(&mut self) -> Result<Value, String> {
        let request = hyper::Request::get("/whoami")
            .header("host", "localhost")
            .body(Empty::new())
            .unwrap();
        let response = self
            .send
            .send_request(request)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(serde_json::from_slice(&body.to_bytes()).unwrap())
    }
}

async fn tls_connect(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> Result<TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())
}

/// Connects and asks `/whoami` once; `Err` if the handshake or the request fails.
async fn whoami_once(connector: &TlsConnector, addr: SocketAddr) -> Result<Value, String> {
    HttpClient::connect(connector, addr).await?.whoami().await
}

/// The identities a tonic interceptor saw, one per request.
type Seen = Arc<Mutex<Vec<Result<String, String>>>>;

/// Serves the gRPC health service over TLS; an interceptor records each request's peer.
async fn serve_grpc(tls: &TlsReloader) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peers = Arc::new(PeerMapper::new(&patterns()).unwrap());
    let incoming = TlsIncoming::new(listener, tls.clone(), Alpn::Grpc, peers).unwrap();
    let addr = incoming.local_addr();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let (_, health) = tonic_health::server::health_reporter();
    let intercepted = tonic::service::interceptor::InterceptedService::new(
        health,
        move |request: tonic::Request<()>| {
            let identity = match peer_of(&request) {
                Some(peer) => peer
                    .identity
                    .as_ref()
                    .map(|i| i.id.to_string())
                    .map_err(|e| e.to_string()),
                None => Err("no peer info".to_string()),
            };
            record.lock().unwrap().push(identity);
            Ok(request)
        },
    );
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(intercepted)
            .serve_with_incoming(incoming)
            .await
            .unwrap();
    });
    (addr, seen)
}

/// A gRPC health check over a TLS connection made by `connector`.
async fn grpc_check(connector: TlsConnector, addr: SocketAddr) -> Result<(), String> {
    let channel = tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let connector = connector.clone();
            async move { tls_connect(&connector, addr).await.map(TokioIo::new) }
        }))
        .await
        .map_err(|e| format!("{e:?}"))?;
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
