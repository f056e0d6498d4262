use super::*;

fn leaf_der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

async fn served_certificate(connector: &TlsConnector, addr: SocketAddr) -> CertificateDer<'static> {
    let tls = tls_connect(connector, addr).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

#[tokio::test]
async fn a_reload_under_traffic_keeps_open_connections_and_serves_new_ones_the_new_cert() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(true)).unwrap();
    let http = serve_http(&tls).await;
    let client_cert = pki
        .client_ca
        .client(spiffe("spiffe://corp.example/agents/billing"));
    let connector = pki.connector(Some(&client_cert), b"http/1.1");
    let initial = served_certificate(&connector, http).await;
    assert_eq!(
        initial,
        leaf_der(&std::fs::read_to_string(pki.path("server.pem")).unwrap())
    );
    assert!(!tls.reload_if_changed().unwrap(), "nothing changed yet");

    // A client busy on one connection: five requests, then the reload, then five more.
    let (halfway_tx, halfway_rx) = tokio::sync::oneshot::channel();
    let (reloaded_tx, reloaded_rx) = tokio::sync::oneshot::channel::<()>();
    let mut busy = HttpClient::connect(&connector, http).await.unwrap();
    let traffic = tokio::spawn(async move {
        let mut ports = Vec::new();
        for _ in 0..5 {
            ports.push(busy.whoami().await.unwrap()["port"].clone());
        }
        halfway_tx.send(()).unwrap();
        reloaded_rx.await.unwrap();
        for _ in 0..5 {
            ports.push(busy.whoami().await.unwrap()["port"].clone());
        }
        ports
    });
    halfway_rx.await.unwrap();
    let second = pki.server_ca.server(2);
    pki.write_server(&second);
    assert!(tls.reload_if_changed().unwrap());
    reloaded_tx.send(()).unwrap();
    let ports = traffic.await.unwrap();
    assert_eq!(ports.len(), 10);
    assert!(
        ports.iter().all(|p| *p == ports[0]),
        "one connection throughout: {ports:?}"
    );

    let now_served = served_certificate(&connector, http).await;
    assert_eq!(now_served, leaf_der(&second.cert));
    assert_ne!(now_served, initial);
}

#[tokio::test]
async fn a_bad_new_file_keeps_the_old_certificate() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(false)).unwrap();
    let http = serve_http(&tls).await;
    let connector = pki.connector(None, b"http/1.1");
    let before = served_certificate(&connector, http).await;

    // A new certificate whose key has not been written yet: the pair does not match.
    let next = pki.server_ca.server(3);
    std::fs::write(pki.path("server.pem"), &next.cert).unwrap();
    assert!(matches!(
        tls.reload_if_changed(),
        Err(TlsError::Rustls { .. })
    ));
    assert_eq!(served_certificate(&connector, http).await, before);
    std::fs::write(pki.path("server.key"), "not a key").unwrap();
    assert!(matches!(tls.reload_if_changed(), Err(TlsError::Pem { .. })));
    std::fs::remove_file(pki.path("server.key")).unwrap();
    assert!(matches!(
        tls.reload_if_changed(),
        Err(TlsError::Read { .. })
    ));
    assert_eq!(served_certificate(&connector, http).await, before);

    // The key arrives: the pair is swapped in.
    std::fs::write(pki.path("server.key"), &next.key).unwrap();
    assert!(tls.reload_if_changed().unwrap());
    assert_eq!(
        served_certificate(&connector, http).await,
        leaf_der(&next.cert)
    );
}

#[tokio::test(start_paused = true)]
async fn the_watcher_reloads_on_its_interval() {
    let pki = Pki::new();
    let mut config = pki.config(false);
    config.reload_interval = Duration::from_secs(5);
    let tls = TlsReloader::load(&config).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = tls.watch(async {
        let _ = stop_rx.await;
    });
    let next = pki.server_ca.server(4);
    pki.write_server(&next);
    let before = tls.server_config(Alpn::Http1);
    // Paused time: advancing the clock runs the watcher's next tick, no real waiting.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !Arc::ptr_eq(&before, &tls.server_config(Alpn::Http1)),
        "swapped by the watcher"
    );
    stop_tx.send(()).unwrap();
    watcher.await.unwrap();
}
