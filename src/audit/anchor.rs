//! Anchors: every signed checkpoint is also written, as it is made, somewhere the database
//! cannot reach, so a writer to the database alone cannot make a rewritten trail verify by
//! deleting or re-signing checkpoints. The default is an append-only JSON-lines file (the
//! same lines `tollgate audit checkpoints --format jsonl` prints); a webhook can receive them
//! too (a SIEM, a transparency log, another account's object store behind a function).
//! `tollgate audit verify` reads the configured file, and any exported files given with
//! `--checkpoints`, beside the database's own checkpoints.

use std::{
    io::{BufRead as _, Write as _},
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::domain::Checkpoint;

/// `audit.anchor` in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnchorConfig {
    /// The append-only file (default `data_dir/audit-anchor.jsonl`); put it on storage the
    /// database's operators cannot rewrite (another volume, a WORM bucket mount).
    pub file: Option<PathBuf>,
    /// Also POST every checkpoint, as JSON, to this URL (best effort, logged on failure).
    pub webhook: Option<String>,
}

/// The anchor file's default name in the data directory.
pub const ANCHOR_FILE: &str = "audit-anchor.jsonl";

/// Why an anchor could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The file could not be opened, written or synced.
    #[error("anchor file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a checkpoints file is not a checkpoint.
    #[error("{path} line {line}: not a checkpoint: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The webhook could not be set up or refused the checkpoint.
    #[error("anchor webhook: {0}")]
    Webhook(String),
    /// The write task died.
    #[error("anchor write task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Where checkpoints are anchored. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Anchor {
    file: PathBuf,
    webhook: Option<(reqwest::Client, String)>,
}

impl Anchor {
    /// The anchor `config` describes, its file defaulting to `data_dir`.
    pub fn new(config: &AnchorConfig, data_dir: &Path) -> Result<Self, AnchorError> {
        let file = config
            .file
            .clone()
            .unwrap_or_else(|| data_dir.join(ANCHOR_FILE));
        let webhook = match &config.webhook {
            None => None,
            Some(url) => {
                let client = crate::outbound::client(Duration::from_secs(5))
                    .map_err(|e| AnchorError::Webhook(e.to_string()))?;
                Some((client, url.clone()))
            }
        };
        Ok(Self { file, webhook })
    }

    /// The anchor file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Appends `cp` to the file and syncs it, then sends it to the webhook. The file write
    /// must succeed; a webhook failure is logged and does not fail the call.
    pub async fn write(&self, cp: &Checkpoint) -> Result<(), AnchorError> {
        let (path, text) = (self.file.clone(), line(cp));
        let body = text.clone();
        tokio::task::spawn_blocking(move || append(&path, &text))
            .await
            .map_err(AnchorError::Task)??;
        if let Some((client, url)) = &self.webhook {
            let sent = client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            match sent.map(|r| r.error_for_status()) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) | Err(e) => {
                    tracing::error!(error = %crate::telemetry::ErrorChain(&e), audit.seq = cp.seq, "checkpoint not delivered to the anchor webhook; the anchor file has it");
                }
            }
        }
        Ok(())
    }
}

fn line(cp: &Checkpoint) -> String {
    // A checkpoint is plain strings and integers: it always serialises.
    serde_json::to_string(cp).unwrap_or_default()
}

fn append(path: &Path, line: &str) -> Result<(), AnchorError> {
    let io = |source| AnchorError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    writeln!(file, "{line}").map_err(io)?;
    file.sync_data().map_err(io)
}

/// Every checkpoint in a JSON-lines file (blank lines skipped), in file order.
pub fn read(path: &Path) -> Result<Vec<Checkpoint>, AnchorError> {
    let io = |source| AnchorError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, text) in std::io::BufReader::new(file).lines().enumerate() {
        let text = text.map_err(io)?;
        if text.trim().is_empty() {
            continue;
        }
        let cp = serde_json::from_str(&text).map_err(|source| AnchorError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        out.push(cp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnixMillis;

    #[tokio::test]
    async fn checkpoints_are_appended_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let anchor = Anchor::new(&AnchorConfig::default(), dir.path()).unwrap();
        assert_eq!(anchor.file(), dir.path().join(ANCHOR_FILE));
        let cp = |seq| Checkpoint {
            seq,
            head_hash: format!("h{seq}"),
            at: UnixMillis(seq),
            token: "v4.public.x".into(),
        };
        anchor.write(&cp(10)).await.unwrap();
        anchor.write(&cp(20)).await.unwrap();
        assert_eq!(read(anchor.file()).unwrap(), [cp(10), cp(20)]);
        std::fs::write(anchor.file(), "{\"seq\": 1}\n").unwrap();
        let err = read(anchor.file()).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
