//! Compiles `proto/` with protox (no system `protoc` needed) and keeps the encoded descriptor
//! set for gRPC reflection.

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
    Ok(())
}
