use super::*;

#[tokio::test]
async fn a_spiffe_certificate_identifies_the_caller_on_both_ports() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(true)).unwrap();
    let billing = pki
        .client_ca
        .client(spiffe("spiffe://corp.example/agents/billing"));

    let http = serve_http(&tls).await;
    let me = whoami_once(&pki.connector(Some(&billing), b"http/1.1"), http)
        .await
        .unwrap();
    assert_eq!(me["id"]["Ok"], "agent:billing");
    assert_eq!(me["certificates"], 1);

    let (grpc, seen) = serve_grpc(&tls).await;
    grpc_check(pki.connector(Some(&billing), b"h2"), grpc)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![Ok("agent:billing".to_string())]);
}

#[tokio::test]
async fn a_common_name_identifies_a_certificate_without_spiffe_id() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(true)).unwrap();
    let http = serve_http(&tls).await;
    let etl = pki.client_ca.client(cn("etl.pipelines.corp.example"));
    let me = whoami_once(&pki.connector(Some(&etl), b"http/1.1"), http)
        .await
        .unwrap();
    assert_eq!(me["id"]["Ok"], "pipeline:etl");
    // Verified by the CA but matched by no rule: the connection stands, the identity is refused.
    let stranger = pki.client_ca.client(cn("stranger.example"));
    let me = whoami_once(&pki.connector(Some(&stranger), b"http/1.1"), http)
        .await
        .unwrap();
    assert_eq!(
        me["id"]["Err"],
        "no identity is configured for stranger.example"
    );
}

#[tokio::test]
async fn a_client_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(false)).unwrap();
    let (http, (grpc, seen)) = (serve_http(&tls).await, serve_grpc(&tls).await);
    let rogue = Ca::new("rogue CA").client(spiffe("spiffe://corp.example/agents/billing"));
    assert!(whoami_once(&pki.connector(Some(&rogue), b"http/1.1"), http)
        .await
        .is_err());
    assert!(grpc_check(pki.connector(Some(&rogue), b"h2"), grpc)
        .await
        .is_err());
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request reached the service"
    );
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(true)).unwrap();
    let http = serve_http(&tls).await;
    let expired = pki.client_ca.client(|p| {
        spiffe("spiffe://corp.example/agents/billing")(p);
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let e = whoami_once(&pki.connector(Some(&expired), b"http/1.1"), http)
        .await
        .unwrap_err();
    assert!(!e.is_empty());
    let valid = pki
        .client_ca
        .client(spiffe("spiffe://corp.example/agents/billing"));
    assert!(whoami_once(&pki.connector(Some(&valid), b"http/1.1"), http)
        .await
        .is_ok());
}

#[tokio::test]
async fn no_client_certificate_is_refused_when_required_and_unidentified_otherwise() {
    let pki = Pki::new();
    let required = TlsReloader::load(&pki.config(true)).unwrap();
    let (http, (grpc, _)) = (serve_http(&required).await, serve_grpc(&required).await);
    assert!(whoami_once(&pki.connector(None, b"http/1.1"), http)
        .await
        .is_err());
    assert!(grpc_check(pki.connector(None, b"h2"), grpc).await.is_err());

    let optional = TlsReloader::load(&pki.config(false)).unwrap();
    let (http, (grpc, seen)) = (serve_http(&optional).await, serve_grpc(&optional).await);
    let me = whoami_once(&pki.connector(None, b"http/1.1"), http)
        .await
        .unwrap();
    assert_eq!(me["id"]["Err"], "no client certificate");
    grpc_check(pki.connector(None, b"h2"), grpc).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Err("no client certificate".to_string())]
    );
}

#[tokio::test]
async fn plaintext_to_the_tls_port_is_refused() {
    let pki = Pki::new();
    let tls = TlsReloader::load(&pki.config(false)).unwrap();
    let http = serve_http(&tls).await;
    let tcp = TcpStream::connect(http).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::get("/whoami")
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap();
    assert!(send.send_request(request).await.is_err());

    let (grpc, seen) = serve_grpc(&tls).await;
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{grpc}")).unwrap();
    let refused = match plain.connect().await {
        Ok(channel) => tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .is_err(),
        Err(_) => true,
    };
    assert!(refused);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn config_errors_are_named() {
    let pki = Pki::new();
    let mut config = pki.config(true);
    config.client_ca_file = None;
    assert!(matches!(
        TlsReloader::load(&config),
        Err(TlsError::Config(_))
    ));
    let mut config = pki.config(false);
    config.key_file = pki.path("missing.key");
    assert!(matches!(
        TlsReloader::load(&config),
        Err(TlsError::Read { .. })
    ));
    let other = pki.server_ca.server(9);
    std::fs::write(pki.path("other.key"), other.key).unwrap();
    config.key_file = pki.path("other.key");
    assert!(
        matches!(TlsReloader::load(&config), Err(TlsError::Rustls { .. })),
        "key of another certificate"
    );
    let parsed: TlsConfig = yaml_serde::from_str(
        "cert_file: /etc/tollgate/tls.pem\nkey_file: /etc/tollgate/tls.key\nclient_ca_file: /etc/tollgate/ca.pem\n\
         require_client_cert: true\npeers:\n- {spiffe: 'spiffe://corp.example/agents/*', id: 'agent:{1}', kind: agent}\n",
    )
    .unwrap();
    assert_eq!(parsed.reload_interval, Duration::from_secs(5));
    assert_eq!(parsed.peers[0].kind, SubjectKind::Agent);
    assert!(yaml_serde::from_str::<TlsConfig>("cert_file: a\nkey_file: b\ncert: c\n").is_err());
}
