//! gRPC: tonic services over the domain. The only module that names proto types.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod authorizer;
pub mod convert;
mod decode_errors;
pub mod ext_authz;
pub mod status;
pub mod trace;

use std::{future::Future, sync::Arc};

use tokio::{net::TcpListener, sync::watch};
use tonic::transport::{server::TcpIncoming, Server};
use tonic_health::{server::HealthReporter, ServingStatus};

use crate::{identity::Authenticator, service::Tollgate, telemetry::Metrics};

/// Generated protobuf and gRPC code for `tollgate.v1`.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
pub mod pb {
    tonic::include_proto!("tollgate.v1");

    /// Encoded descriptors of `proto/`, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/tollgate_descriptor.bin"));
}

/// Where the gRPC server accepts calls: plaintext (loopback only, see
/// `crate::config::Config::validate`) or TLS.
pub enum Listener {
    /// Plaintext TCP.
    Tcp(TcpListener),
    /// TLS (mutual when a client CA is configured), the peer's certificate on every request.
    Tls(crate::identity::tls::TlsIncoming),
}

/// What the gRPC server needs.
pub struct GrpcConfig {
    /// Largest accepted request message.
    pub max_message_bytes: usize,
    /// Where call latency is counted.
    pub metrics: Metrics,
    /// Whether the store commits: health is NOT_SERVING while it does not.
    pub store_health: crate::store::health::StoreHealth,
    /// How Envoy's ext_authz checks are read and answered.
    pub ext_authz: ext_authz::ExtAuthzConfig,
    /// The HTTP port's public base URL, for approval links in answers.
    pub public_url: Option<String>,
}

/// Serves every gRPC service on `listener` until `shutdown` resolves, then drains in-flight
/// calls. Health is NOT_SERVING until a bundle is active.
pub async fn serve(
    listener: Listener,
    tollgate: Tollgate,
    auth: Arc<Authenticator>,
    config: GrpcConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let policies = tollgate.decider().policies().clone();
    tokio::spawn(report_health(
        reporter,
        policies.subscribe(),
        config.store_health.subscribe(),
    ));

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let authorizer = pb::authorizer_server::AuthorizerServer::new(
        authorizer::AuthorizerService::new(tollgate.clone(), auth.clone(), config.metrics.clone()),
    )
    .max_decoding_message_size(config.max_message_bytes);
    let audit = pb::audit_server::AuditServer::new(audit::AuditService::new(
        tollgate.clone(),
        auth.clone(),
    ))
    .max_decoding_message_size(config.max_message_bytes);
    let approvals = pb::approvals_server::ApprovalsServer::new(approvals::ApprovalsService::new(
        tollgate.clone(),
        auth.clone(),
    ))
    .max_decoding_message_size(config.max_message_bytes);
    let envoy = ext_authz::pb::auth::authorization_server::AuthorizationServer::new(
        ext_authz::ExtAuthzService::new(
            tollgate.clone(),
            auth.clone(),
            config.ext_authz,
            config.public_url.as_deref(),
            config.metrics,
        ),
    )
    .max_decoding_message_size(config.max_message_bytes);
    let admin =
        pb::policy_admin_server::PolicyAdminServer::new(admin::AdminService::new(tollgate, auth))
            .max_decoding_message_size(config.max_message_bytes);

    let mut builder =
        Server::builder().layer(tower::util::MapResponseLayer::new(decode_errors::precise));
    let router = builder
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(authorizer)
        .add_service(approvals)
        .add_service(audit)
        .add_service(admin)
        .add_service(envoy);
    match listener {
        // TCP_NODELAY must be set on each accepted socket (the builder's setting only applies
        // to listeners tonic binds itself): without it a response's trailers frame waits for
        // the client's delayed ACK, about 40 ms a call.
        Listener::Tcp(tcp) => {
            let incoming = TcpIncoming::from(tcp).with_nodelay(Some(true));
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?
        }
        Listener::Tls(tls) => router.serve_with_incoming_shutdown(tls, shutdown).await?,
    }
    Ok(())
}

/// Why the gRPC server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection descriptors are unusable (a build problem).
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Keeps gRPC health in step with the policy and the store: SERVING while a bundle is active
/// and the store commits. (The reason for NOT_SERVING is on `/healthz`, in the log and in
/// `tollgate_store_up`: the gRPC health protocol has no field for it.)
async fn report_health(
    reporter: HealthReporter,
    mut revisions: watch::Receiver<Option<Arc<str>>>,
    mut store: watch::Receiver<crate::store::health::Availability>,
) {
    use crate::store::health::Availability;
    loop {
        let serving = revisions.borrow_and_update().is_some()
            && *store.borrow_and_update() == Availability::Up;
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status("", status).await;
        reporter
            .set_service_status("tollgate.v1.Authorizer", status)
            .await;
        let changed = tokio::select! {
            r = revisions.changed() => r.is_ok(),
            r = store.changed() => r.is_ok(),
        };
        if !changed {
            return;
        }
    }
}
