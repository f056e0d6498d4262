//! Compiles `proto/` with protox (no system `protoc` needed) and keeps the encoded descriptor
//! set for gRPC reflection; compiles Envoy's ext_authz v3 API from `proto/vendor/` (server
//! side only: Envoy is the client).

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tollgate/v1/authorizer.proto",
        "proto/tollgate/v1/admin.proto",
        "proto/tollgate/v1/approvals.proto",
        "proto/tollgate/v1/audit.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("tollgate_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;

    let envoy = protox::compile(
        ["envoy/service/auth/v3/external_auth.proto"],
        ["proto/vendor"],
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(envoy)?;
    Ok(())
}
