//! `tollgate bundle build`, `sign` and `allow-rollback`: producing releases the server will
//! accept in order, and the one explicit way back to an older one.
//!
//! `build` writes the release's revision and sequence into the bundle's `.manifest` (keeping
//! its roots); `sign` writes `.signatures.json` over every file, the manifest included, so the
//! sequence is signed; either can also pack the directory as an OPA `.tar.gz`.
//! `allow-rollback` lets one digest serve once below the release floor.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Map, Value};

use super::audit_verify::StoreArgs;
use crate::{
    app,
    domain::{AuditEvent, UnixMillis},
    policy::{
        signature::{self, SigningAlgorithm, SIGNATURES_FILE},
        Bundle,
    },
};

/// `tollgate bundle build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The release sequence: higher than every earlier release [default: the current Unix
    /// time in seconds].
    #[arg(long)]
    pub sequence: Option<u64>,
    /// The revision name [default: the sequence].
    #[arg(long)]
    pub revision: Option<String>,
    /// Also pack the directory as this `.tar.gz`.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `tollgate bundle sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The bundle directory (built first, so its sequence is signed).
    pub dir: PathBuf,
    /// PEM private key (PKCS#8).
    #[arg(long)]
    pub signing_key: PathBuf,
    /// The key id the server's `bundle.verification.key_id` names.
    #[arg(long)]
    pub key_id: String,
    /// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA.
    #[arg(long, default_value = "EdDSA")]
    pub algorithm: String,
    /// The scope the server's `bundle.verification.scope` names.
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Also pack the signed directory as this `.tar.gz`.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `tollgate bundle allow-rollback`.
#[derive(Debug, Args)]
pub struct AllowRollbackArgs {
    /// Where the server's store is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The digest of the older bundle allowed to serve once (`GetBundleStatus`, the rollback
    /// error, or `tollgate eval` print it).
    #[arg(long)]
    pub digest: String,
}

/// Writes the revision and sequence into `.manifest`.
pub fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = args.dir.join(".manifest");
    let mut manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice::<Map<String, Value>>(&bytes)
            .with_context(|| format!("{} is not a JSON object", manifest_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(e).context(manifest_path.display().to_string()),
    };
    let sequence = match args.sequence {
        Some(n) => n,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs(),
    };
    let revision = args
        .revision
        .clone()
        .unwrap_or_else(|| sequence.to_string());
    manifest.insert("revision".into(), Value::String(revision.clone()));
    let metadata = manifest
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(metadata) = metadata else {
        anyhow::bail!("{}: metadata is not an object", manifest_path.display());
    };
    metadata.insert("sequence".into(), Value::from(sequence));
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| manifest_path.display().to_string())?;
    // A stale signature would no longer match the manifest: remove it, sign again.
    let _ = std::fs::remove_file(args.dir.join(SIGNATURES_FILE));
    let bundle = Bundle::load(&args.dir).context("the built bundle does not load")?;
    println!(
        "built {} revision {revision} sequence {sequence} digest {}",
        args.dir.display(),
        bundle.digest
    );
    if let Some(out) = &args.output {
        pack(&args.dir, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `.signatures.json` over every file of the bundle.
pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let algorithm: SigningAlgorithm = serde_json::from_value(Value::String(args.algorithm.clone()))
        .map_err(|_| anyhow::anyhow!("--algorithm {}: not a signing algorithm", args.algorithm))?;
    let pem =
        std::fs::read(&args.signing_key).with_context(|| args.signing_key.display().to_string())?;
    let key = signature::signing_key(&pem, algorithm).with_context(|| {
        format!(
            "{}: not a {algorithm:?} private key",
            args.signing_key.display()
        )
    })?;
    let bundle = Bundle::load(&args.dir)?;
    if bundle.sequence.is_none() {
        eprintln!(
            "warning: {} has no sequence (run `tollgate bundle build` first): a replay of this \
             release cannot be told from a newer one",
            args.dir.display()
        );
    }
    let signatures =
        signature::sign_files(&bundle.files, &key, algorithm, &args.key_id, &args.scope)?;
    std::fs::write(args.dir.join(SIGNATURES_FILE), signatures)?;
    println!(
        "signed {} revision {} digest {} with key {}",
        args.dir.display(),
        bundle.revision,
        bundle.digest,
        args.key_id
    );
    if let Some(out) = &args.output {
        pack(&args.dir, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Lets `digest` serve once below the floor.
pub async fn allow_rollback(args: &AllowRollbackArgs) -> anyhow::Result<ExitCode> {
    let digest = args.digest.trim();
    anyhow::ensure!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "--digest: expected the bundle's 64 hex digit SHA-256 digest"
    );
    let digest = digest.to_ascii_lowercase();
    let config = args.store.config()?;
    let stores = app::open_store(&config).await?;
    let floor = stores.policy.floor().await?;
    let event = AuditEvent::bundle_rollback_allowed(
        UnixMillis::from_time(std::time::SystemTime::now()),
        &operator(),
        &digest,
        (&floor.revision, floor.sequence),
    );
    stores
        .policy
        .allow_rollback(&digest, std::slice::from_ref(&event))
        .await?;
    println!(
        "bundle {digest} may now serve once although older than release {} (sequence {}); \
         reload the servers to activate it",
        floor.revision, floor.sequence
    );
    tracing::warn!(
        bundle.digest = digest,
        floor.sequence = floor.sequence,
        "bundle rollback allowed by an admin"
    );
    Ok(ExitCode::SUCCESS)
}

/// Who ran an operator command against the store: `operator:<OS account>`, as the
/// environment names it (unverified: whoever can write the database can write anything in it;
/// the record says who claimed to act, and its place in the chain says when).
fn operator() -> String {
    let account = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("operator:{}", account.trim())
}

/// Packs `dir` as an OPA bundle `.tar.gz` (files at the root of the archive).
fn pack(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| out.display().to_string())?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all(".", dir)
        .with_context(|| format!("packing {}", dir.display()))?;
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()?;
    println!("packed {} into {}", dir.display(), out.display());
    Ok(())
}
