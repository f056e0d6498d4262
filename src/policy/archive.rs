//! The bundle archive: every activated revision, kept by content address so any recorded
//! decision can be replayed against the exact policy that made it.
//!
//! `data_dir/bundles/<digest>.tar.gz` holds an OPA-format bundle with exactly the files the
//! digest covers (and its `.signatures.json`, for provenance), so [`Bundle::load`] reads it
//! back to the same digest. Files are written
//! once (temp file, fsync, rename) and never rewritten: a digest names one content forever.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use super::{
    bundle::{Bundle, BundleError},
    signature::SIGNATURES_FILE,
};

/// The archive's directory name inside the data directory.
pub const ARCHIVE_DIR: &str = "bundles";

/// Why an archive operation failed. Serving never depends on it; replay does.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The digest is not 64 lowercase hex digits, so it names no archive file.
    #[error("not a bundle digest: {0:?}")]
    BadDigest(String),
    /// No archive exists for this digest (activated before archiving existed, or the write
    /// failed at the time).
    #[error("bundle {0} is not in the archive")]
    Missing(String),
    /// Writing or reading the archive file failed.
    #[error("archive {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The archived file does not load as a bundle.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The archived file loads to another digest than its name: it was altered.
    #[error("archive {path} holds digest {actual}, not {expected}")]
    DigestMismatch {
        /// The archive file.
        path: PathBuf,
        /// The digest its name promises.
        expected: String,
        /// The digest of what it holds.
        actual: String,
    },
}

/// What [`BundleArchive::store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new archive file was written.
    Written,
    /// This digest was archived already; nothing was written.
    AlreadyPresent,
}

/// A directory of archived bundles, keyed by digest.
#[derive(Debug, Clone)]
pub struct BundleArchive {
    dir: PathBuf,
}

impl BundleArchive {
    /// The archive in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The archive of a data directory: `data_dir/bundles`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join(ARCHIVE_DIR))
    }

    /// Where the archive lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for `digest`; refuses anything but a SHA-256 hex digest, so a recorded value
    /// can never name a path outside the archive.
    pub fn path_for(&self, digest: &str) -> Result<PathBuf, ArchiveError> {
        let valid = digest.len() == 64
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(ArchiveError::BadDigest(digest.to_string()));
        }
        Ok(self.dir.join(format!("{digest}.tar.gz")))
    }

    /// Whether `digest` is archived.
    pub fn contains(&self, digest: &str) -> bool {
        self.path_for(digest).is_ok_and(|p| p.is_file())
    }

    /// Archives `bundle` unless its digest is present already. Atomic: a reader sees no file
    /// or the whole file, also after a crash mid-write.
    pub fn store(&self, bundle: &Bundle) -> Result<Stored, ArchiveError> {
        let path = self.path_for(&bundle.digest)?;
        if path.is_file() {
            return Ok(Stored::AlreadyPresent);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ArchiveError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            bundle.digest,
            uuid::Uuid::now_v7().simple()
        ));
        let mut files = bundle.files.clone();
        if let Some(signatures) = &bundle.signatures {
            files.push((SIGNATURES_FILE.to_string(), signatures.clone()));
        }
        let written = write_file(&tmp, &files).and_then(|()| fs::rename(&tmp, &path));
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(ArchiveError::Io { path, source });
        }
        // Make the rename itself durable.
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(Stored::Written)
    }

    /// Loads the archived bundle for `digest`, checking it still has that digest.
    pub fn load(&self, digest: &str) -> Result<Bundle, ArchiveError> {
        let path = self.path_for(digest)?;
        if !path.is_file() {
            return Err(ArchiveError::Missing(digest.to_string()));
        }
        let bundle = Bundle::load(&path)?;
        if bundle.digest != digest {
            return Err(ArchiveError::DigestMismatch {
                path,
                expected: digest.to_string(),
                actual: bundle.digest,
            });
        }
        Ok(bundle)
    }
}

fn write_file(path: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let file = write_tar_gz(file, files)?;
    file.sync_all()
}

/// Writes `files` as an OPA bundle `.tar.gz` to `out` and returns it. Deterministic: fixed
/// modes and times, files in the given order.
pub fn write_tar_gz<W: Write>(out: W, files: &[(String, Vec<u8>)]) -> std::io::Result<W> {
    let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> Bundle {
        fs::create_dir_all(dir.join("tollgate/lib")).unwrap();
        fs::write(
            dir.join(".manifest"),
            r#"{"revision": "r1", "roots": ["tollgate"]}"#,
        )
        .unwrap();
        fs::write(
            dir.join("policy.rego"),
            "package tollgate\n\nallow if data.tollgate.lib.open\n",
        )
        .unwrap();
        fs::write(dir.join("tollgate/lib/data.json"), r#"{"open": true}"#).unwrap();
        fs::write(dir.join("README.md"), "not part of the bundle").unwrap();
        Bundle::load(dir).unwrap()
    }

    #[test]
    fn an_archived_bundle_loads_back_to_the_same_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = sample(&tmp.path().join("src"));
        let archive = BundleArchive::new(tmp.path().join("archive"));
        assert!(!archive.contains(&bundle.digest));
        assert_eq!(archive.store(&bundle).unwrap(), Stored::Written);
        assert!(archive.contains(&bundle.digest));
        let back = archive.load(&bundle.digest).unwrap();
        assert_eq!(back.digest, bundle.digest);
        assert_eq!(back.revision, "r1");
        assert_eq!(back.modules, bundle.modules);
        assert_eq!(back.data, bundle.data);
        // The plain loader reads the archive too: it is an ordinary OPA bundle.
        let path = archive.path_for(&bundle.digest).unwrap();
        assert_eq!(Bundle::load(&path).unwrap().digest, bundle.digest);
        // No temp files are left behind.
        let names: Vec<_> = fs::read_dir(archive.dir()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn activation_archives_and_a_failed_write_still_serves() {
        use crate::policy::{EvalLimits, ActivePolicy, RequirementDefaults};
        let tmp = tempfile::tempdir().unwrap();
        let digest = sample(&tmp.path().join("src")).digest;
        let store = |archive: BundleArchive| {
            ActivePolicy::new(
                tmp.path().join("src"),
                EvalLimits::default(),
                RequirementDefaults::default(),
            )
            .with_archive(archive)
        };
        let good = BundleArchive::new(tmp.path().join("archive"));
        let serving = store(good.clone());
        serving.reload().unwrap();
        assert!(good.contains(&digest));
        assert_eq!(serving.status().archive_failures, 0);
        // An archive "directory" that is a file cannot be written; the bundle serves anyway.
        let blocked = tmp.path().join("not-a-dir");
        fs::write(&blocked, "x").unwrap();
        let serving = store(BundleArchive::new(&blocked));
        serving.reload().unwrap();
        assert_eq!(serving.current().unwrap().digest, digest);
        assert_eq!(serving.status().archive_failures, 1);
    }

    #[test]
    fn a_present_digest_is_not_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = sample(&tmp.path().join("src"));
        let archive = BundleArchive::new(tmp.path().join("archive"));
        archive.store(&bundle).unwrap();
        let path = archive.path_for(&bundle.digest).unwrap();
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(archive.store(&bundle).unwrap(), Stored::AlreadyPresent);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
    }

    #[test]
    fn bad_digests_and_altered_archives_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = BundleArchive::new(tmp.path());
        for bad in ["../../etc/passwd", "ABC", &"g".repeat(64), &"A".repeat(64)] {
            assert!(matches!(
                archive.path_for(bad),
                Err(ArchiveError::BadDigest(_))
            ));
        }
        let missing = "0".repeat(64);
        assert!(matches!(
            archive.load(&missing),
            Err(ArchiveError::Missing(_))
        ));
        // An archive whose content does not match its name is detected.
        let bundle = sample(&tmp.path().join("src"));
        let other = "1".repeat(64);
        let path = archive.path_for(&other).unwrap();
        write_tar_gz(fs::File::create(&path).unwrap(), &bundle.files).unwrap();
        assert!(matches!(
            archive.load(&other),
            Err(ArchiveError::DigestMismatch { .. })
        ));
    }
}
