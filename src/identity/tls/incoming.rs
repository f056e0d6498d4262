//! Accepted TLS connections, for tonic and for axum.
//!
//! One accept loop per port does the TCP accept, then runs each TLS handshake in its own
//! task (bounded by a timeout, so a slow or silent client cannot hold up the others) with
//! the server configuration current at that moment. Finished handshakes are handed to the
//! server through a channel. A connection keeps the configuration it was accepted with for
//! its whole life, which is what lets a certificate reload leave open connections alone.
//!
//! - tonic: `Server::builder()...serve_with_incoming_shutdown(incoming, shutdown)`; the
//!   handler reads [`PeerInfo`] with [`peer_of`] (tonic puts the connection's `ConnectInfo`
//!   into every request's extensions).
//! - axum: `axum::serve(incoming, router.into_make_service_with_connect_info::<PeerInfo>())`;
//!   the handler takes `ConnectInfo<PeerInfo>`.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use rustls::pki_types::CertificateDer;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{server::TlsStream, TlsAcceptor};

use super::{
    peer::{CertIdentity, PeerIdentityError, PeerMapper},
    Alpn, TlsReloader,
};

/// Handshakes finished but not yet taken by the server.
const BACKLOG: usize = 64;

/// What the TLS handshake established about the peer of one connection.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// The client's certificate chain as it presented it, leaf first; empty without one.
    pub certificates: Arc<[CertificateDer<'static>]>,
    /// The identity the leaf certificate maps to, or why it maps to none.
    pub identity: Result<CertIdentity, PeerIdentityError>,
}

/// The [`PeerInfo`] of the connection a tonic request came in on, when it came in through
/// [`TlsIncoming`].
pub fn peer_of<T>(request: &tonic::Request<T>) -> Option<&PeerInfo> {
    request.extensions().get::<PeerInfo>()
}

/// One accepted TLS connection.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    peer: PeerInfo,
}

impl TlsConnection {
    /// Who is at the other end.
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for TlsConnection {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

/// Most TLS handshakes in progress at once on one port.
pub const MAX_HANDSHAKES: usize = 1024;

/// The TLS connections of one port, as a tonic incoming stream and an axum listener.
pub struct TlsIncoming {
    rx: mpsc::Receiver<TlsConnection>,
    local_addr: SocketAddr,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl Drop for TlsIncoming {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl TlsIncoming {
    /// Starts accepting on `listener`, handshaking with `tls`'s current configuration for
    /// `alpn`, and identifying client certificates with `peers`.
    pub fn new(
        listener: TcpListener,
        tls: TlsReloader,
        alpn: Alpn,
        peers: Arc<PeerMapper>,
    ) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(BACKLOG);
        let accept_loop = tokio::spawn(accept_loop(listener, tls, alpn, peers, tx));
        Ok(Self {
            rx,
            local_addr,
            accept_loop,
        })
    }

    /// The address the port is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl futures::Stream for TlsIncoming {
    type Item = Result<TlsConnection, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().rx.poll_recv(cx).map(|c| c.map(Ok))
    }
}

impl axum::serve::Listener for TlsIncoming {
    type Io = TlsConnection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(connection) => {
                let addr = connection.peer.remote_addr;
                (connection, addr)
            }
            // The accept loop only ends with the listener; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsIncoming>>
    for PeerInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsIncoming>) -> Self {
        stream.io().peer().clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsReloader,
    alpn: Alpn,
    peers: Arc<PeerMapper>,
    tx: mpsc::Sender<TlsConnection>,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    while !tx.is_closed() {
        let (tcp, remote_addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small gRPC answers must not wait for the client's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        // At most MAX_HANDSHAKES at once: a flood of slow handshakes waits here (each one
        // times out) instead of growing without bound.
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let acceptor = TlsAcceptor::from(tls.server_config(alpn));
        let timeout = tls.handshake_timeout();
        let (tx, peers) = (tx.clone(), peers.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let stream = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::info!(remote = %remote_addr, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(remote = %remote_addr, "TLS handshake timed out");
                    return;
                }
            };
            let peer = peer_info(remote_addr, &stream, &peers);
            // A send error means the server stopped: the connection just closes.
            let _ = tx.send(TlsConnection { stream, peer }).await;
        });
    }
}

fn peer_info(
    remote_addr: SocketAddr,
    stream: &TlsStream<TcpStream>,
    peers: &PeerMapper,
) -> PeerInfo {
    let certificates: Arc<[CertificateDer<'static>]> = stream
        .get_ref()
        .1
        .peer_certificates()
        .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let identity = match certificates.first() {
        Some(leaf) => peers.identify(leaf),
        None => Err(PeerIdentityError::NoCertificate),
    };
    match &identity {
        Ok(id) => tracing::debug!(remote = %remote_addr, id = %id.id, "client certificate mapped"),
        Err(e) if certificates.is_empty() => {
            tracing::debug!(remote = %remote_addr, reason = %e, "no client identity")
        }
        Err(e) => tracing::info!(remote = %remote_addr, reason = %e, "client certificate refused"),
    }
    PeerInfo {
        remote_addr,
        certificates,
        identity,
    }
}
