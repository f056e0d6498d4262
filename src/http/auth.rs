//! Who is calling over HTTP: the same credentials as gRPC (a bearer token, or the client
//! certificate of a TLS connection), checked by the same [`Authenticator`]. Every HTTP surface
//! (the console's API, AuthZEN, chat callbacks that act for a mapped user) identifies its
//! caller here and then calls the domain.

use axum::{
    extract::connect_info::ConnectInfo,
    http::{request::Parts, HeaderMap},
};

use super::error::HttpError;
use crate::{
    domain::Caller,
    identity::{tls::PeerInfo, Authenticator, Credentials},
    service::Call,
    telemetry::trace::TRACEPARENT,
};

/// The verified caller of an HTTP request and how the call reached us.
pub async fn identify(auth: &Authenticator, parts: &Parts) -> Result<(Caller, Call), HttpError> {
    let peer = parts.extensions.get::<ConnectInfo<PeerInfo>>();
    let authorization = header(&parts.headers, "authorization");
    let credentials = Credentials {
        authorization,
        certificate: peer.map(|p| &p.0.identity),
    };
    let caller = auth
        .authenticate(credentials)
        .await
        .map_err(|e| HttpError::unauthenticated(&e))?;
    let call = Call {
        inbound_traceparent: header(&parts.headers, TRACEPARENT)
            .unwrap_or_default()
            .to_string(),
    };
    Ok((caller, call))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
