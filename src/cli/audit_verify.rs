//! `tollgate audit verify` and `tollgate audit checkpoints`: offline tools over the store the
//! server uses (same `--config`, `--data-dir`, `TOLLGATE_STORE_URL`), for auditors.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::{
    app,
    audit::{anchor, verify, AuditKey},
    config::{Config, Overrides},
    store::AuditLog,
};

/// Which store to open: the same flags and variables as `serve`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// YAML configuration file (the server's).
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// State directory [default: ./tollgate-data].
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL [default: SQLite in the data dir].
    #[arg(long, env = "TOLLGATE_STORE_URL")]
    pub store_url: Option<String>,
}

impl StoreArgs {
    /// The server's configuration as these flags select it.
    pub fn config(&self) -> anyhow::Result<Config> {
        let Self {
            config,
            data_dir,
            store_url,
        } = self;
        Ok(Config::load(
            config.as_deref(),
            Overrides {
                data_dir: data_dir.clone(),
                store_url: store_url.clone(),
                ..Overrides::default()
            },
        )?)
    }

    /// The store, refusing to create an empty SQLite file where none exists.
    pub async fn open(&self, config: &Config) -> anyhow::Result<std::sync::Arc<dyn AuditLog>> {
        if config.store.url.is_none() {
            let file = config.data_dir.join(app::SQLITE_FILE);
            anyhow::ensure!(
                file.exists(),
                "no database at {} (pass --data-dir or TOLLGATE_STORE_URL)",
                file.display()
            );
        }
        Ok(app::open_store(config).await?.audit)
    }
}

/// `tollgate audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Where the log is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The audit public key: PASERK k4.public (or k4.secret) file, or a JWK / JWK Set file
    /// [default: the server's audit key file].
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Records read per page (memory stays constant whatever the log's size).
    #[arg(long, default_value_t = 1000)]
    pub page: u32,
    /// Checkpoints exported earlier (`tollgate audit checkpoints --format jsonl`, or a copy of
    /// an anchor file), verified beside the database's; repeatable. The server's own anchor
    /// file (`audit.anchor.file`) is always read when it exists.
    #[arg(long = "checkpoints", value_name = "FILE")]
    pub checkpoints: Vec<PathBuf>,
}

/// Walks the chain and the checkpoints: prints one OK line and exits 0, or names the first bad
/// record and exits 1.
pub async fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = args.store.config()?;
    let store = args.store.open(&config).await?;
    let key_file = args
        .public_key
        .clone()
        .unwrap_or_else(|| app::audit_key_path(&config));
    let key = if key_file.exists() {
        Some(
            AuditKey::load_verifier(&key_file)
                .with_context(|| format!("audit key {}", key_file.display()))?,
        )
    } else {
        None
    };
    let mut files = args.checkpoints.clone();
    let anchor_file = config
        .audit
        .anchor
        .file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(anchor::ANCHOR_FILE));
    if anchor_file.exists() {
        files.push(anchor_file);
    } else {
        eprintln!(
            "note: no anchor file at {}: only the database's checkpoints and any --checkpoints \
             files are checked",
            anchor_file.display()
        );
    }
    let mut checkpoints = Vec::new();
    for file in &files {
        checkpoints.extend(anchor::read(file)?);
    }
    let anchors = verify::Anchors {
        checkpoints,
        cadence: Some(verify::Cadence {
            every: config.audit.checkpoint_every,
            interval: config.audit.checkpoint_interval,
            max_batch: config.audit.max_batch,
        }),
    };
    match verify::verify(store.as_ref(), key.as_ref(), args.page, &anchors).await? {
        Ok(report) => {
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(fault) => {
            println!("FAIL: {fault}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// How `checkpoints` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckpointFormat {
    /// One line per checkpoint: seq, time, head.
    Text,
    /// One JSON object per line: `{"seq","head_hash","at","token"}` (for anchoring).
    Jsonl,
}

/// `tollgate audit checkpoints`.
#[derive(Debug, Args)]
pub struct CheckpointsArgs {
    /// Where the log is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckpointFormat::Text)]
    pub format: CheckpointFormat,
    /// Only checkpoints after this seq.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
}

/// Prints the signed checkpoints, oldest first, streaming.
pub async fn checkpoints(args: &CheckpointsArgs) -> anyhow::Result<ExitCode> {
    let config = args.store.config()?;
    let store = args.store.open(&config).await?;
    let mut out = std::io::stdout().lock();
    let mut after = args.after;
    loop {
        let page = store.checkpoints(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for cp in &page {
            match args.format {
                CheckpointFormat::Jsonl => writeln!(out, "{}", serde_json::to_string(cp)?)?,
                CheckpointFormat::Text => {
                    let at = cp.at.to_time();
                    writeln!(
                        out,
                        "{}\t{}\t{}",
                        cp.seq,
                        humantime::format_rfc3339_millis(at),
                        cp.head_hash
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
