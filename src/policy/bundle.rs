//! Reading a policy bundle from disk: a directory or an OPA bundle `.tar.gz`.
//!
//! Layout (OPA's): `.rego` files anywhere; `data.json` / `data.yaml` at directory `a/b/` are
//! placed at `data.a.b`; an optional `.manifest` gives the `revision` and `roots`. Hidden
//! files and directories other than `.manifest` are ignored, and so are `*.md` files.

use std::{
    fs,
    io::Read,
    path::{Component, Path, PathBuf},
};

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::signature::SIGNATURES_FILE;

/// Most bytes a bundle may hold once unpacked (guards against decompression bombs).
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;
/// Most files a bundle may hold.
pub const MAX_BUNDLE_FILES: usize = 10_000;

/// Why a bundle could not be read. The last good bundle keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The bundle exceeds [`MAX_BUNDLE_BYTES`] or [`MAX_BUNDLE_FILES`].
    #[error("bundle too large: {0}")]
    TooLarge(String),
    /// A file name escapes the bundle or is not UTF-8.
    #[error("bad path in bundle: {0}")]
    BadPath(String),
    /// `.manifest` is not valid JSON of the expected shape.
    #[error("bad .manifest: {0}")]
    BadManifest(String),
    /// A data file does not parse, or it collides with another.
    #[error("bad data file {path}: {message}")]
    BadData {
        /// The data file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A `.rego` file is not UTF-8.
    #[error("policy file {0} is not UTF-8")]
    NotUtf8(String),
    /// Data lies outside the manifest's roots.
    #[error("{0} is outside the bundle roots")]
    OutsideRoots(String),
    /// The bundle has no `.rego` files.
    #[error("bundle contains no .rego files")]
    Empty,
}

/// One Rego source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Path inside the bundle, `/`-separated.
    pub path: String,
    /// The source text.
    pub text: String,
}

/// A bundle read from disk, not yet compiled.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The manifest's revision, else `sha256:` and the first 16 hex digits of [`Self::digest`].
    pub revision: String,
    /// SHA-256 over every file used (path, length, content), hex: the content address.
    pub digest: String,
    /// Where it was read from.
    pub source: PathBuf,
    /// Rego modules, sorted by path.
    pub modules: Vec<Module>,
    /// The merged data document.
    pub data: Value,
    /// The manifest's roots (empty means everything).
    pub roots: Vec<String>,
    /// The release sequence: the manifest's `metadata.sequence`, else a revision that is a
    /// plain number. Signed, it orders releases so a replayed older one is refused.
    pub sequence: Option<u64>,
    /// Every file the digest covers, `(path, bytes)` sorted by path: what the archive writes
    /// back, so an archived revision reloads to the same digest.
    pub files: Vec<(String, Vec<u8>)>,
    /// The root `.signatures.json`, if any: not covered by the digest (re-signing the same
    /// content is the same revision), checked by [`super::signature::BundleVerifier`].
    pub signatures: Option<Vec<u8>>,
}

#[derive(Debug, Default, Deserialize)]
struct Manifest {
    #[serde(default)]
    revision: String,
    #[serde(default)]
    roots: Option<Vec<String>>,
    #[serde(default)]
    metadata: ManifestMetadata,
}

#[derive(Debug, Default, Deserialize)]
struct ManifestMetadata {
    #[serde(default)]
    sequence: Option<u64>,
}

impl Bundle {
    /// Reads a directory or a `.tar.gz` / `.tgz` file.
    pub fn load(path: &Path) -> Result<Self, BundleError> {
        let meta = fs::metadata(path).map_err(|source| BundleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let files = if meta.is_dir() {
            read_dir_files(path)?
        } else {
            read_tar_gz_files(path)?
        };
        Self::from_files(path.to_path_buf(), files)
    }

    /// Builds a bundle from `(path, bytes)` pairs, as read from either format.
    pub fn from_files(
        source: PathBuf,
        mut files: Vec<(String, Vec<u8>)>,
    ) -> Result<Self, BundleError> {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        let mut manifest = Manifest::default();
        let mut modules = Vec::new();
        let mut data_files = Vec::new();
        let mut used_files = Vec::new();
        let mut signatures = None;
        for (path, bytes) in files {
            let name = path.rsplit('/').next().unwrap_or(&path);
            let used = if path == SIGNATURES_FILE {
                signatures = Some(bytes);
                continue;
            } else if path == ".manifest" {
                manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| BundleError::BadManifest(e.to_string()))?;
                true
            } else if name.ends_with(".rego") {
                let text = String::from_utf8(bytes.clone())
                    .map_err(|_| BundleError::NotUtf8(path.clone()))?;
                modules.push(Module {
                    path: path.clone(),
                    text,
                });
                true
            } else if matches!(name, "data.json" | "data.yaml" | "data.yml") {
                data_files.push((path.clone(), bytes.clone()));
                true
            } else {
                false
            };
            if used {
                hasher.update((path.len() as u64).to_be_bytes());
                hasher.update(path.as_bytes());
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(&bytes);
                used_files.push((path, bytes));
            }
        }
        if modules.is_empty() {
            return Err(BundleError::Empty);
        }
        let roots = manifest.roots.unwrap_or_default();
        let mut data = Value::Object(Map::new());
        for (path, bytes) in data_files {
            let dir: Vec<&str> = path.split('/').collect();
            let dir = &dir[..dir.len() - 1];
            check_root(&roots, dir, &path)?;
            let parsed = parse_data(&path, &bytes)?;
            merge_at(&mut data, dir, parsed, &path)?;
        }
        let digest = hex::encode(hasher.finalize());
        let sequence = manifest
            .metadata
            .sequence
            .or_else(|| manifest.revision.trim().parse().ok());
        let revision = if manifest.revision.trim().is_empty() {
            format!("sha256:{}", &digest[..16])
        } else {
            manifest.revision.trim().to_string()
        };
        Ok(Self {
            revision,
            digest,
            source,
            modules,
            data,
            roots,
            sequence,
            files: used_files,
            signatures,
        })
    }

    /// Whether `package` (dotted, without `data.`) lies under the manifest's roots.
    pub fn package_in_roots(&self, package: &str) -> bool {
        let parts: Vec<&str> = package.split('.').collect();
        self.roots.is_empty() || self.roots.iter().any(|r| under_root(r, &parts))
    }
}

fn under_root(root: &str, parts: &[&str]) -> bool {
    let root_parts: Vec<&str> = root.split('/').filter(|s| !s.is_empty()).collect();
    root_parts.is_empty()
        || (root_parts.len() <= parts.len() && root_parts.iter().zip(parts).all(|(a, b)| a == b))
        || (parts.len() < root_parts.len() && parts.iter().zip(&root_parts).all(|(a, b)| a == b))
}

fn check_root(roots: &[String], dir: &[&str], path: &str) -> Result<(), BundleError> {
    if roots.is_empty() || roots.iter().any(|r| under_root(r, dir) && !dir.is_empty()) {
        return Ok(());
    }
    Err(BundleError::OutsideRoots(path.to_string()))
}

fn parse_data(path: &str, bytes: &[u8]) -> Result<Value, BundleError> {
    let bad = |message: String| BundleError::BadData {
        path: path.to_string(),
        message,
    };
    let value: Value = if path.ends_with(".json") {
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?
    } else {
        yaml_serde::from_slice(bytes).map_err(|e| bad(e.to_string()))?
    };
    if !value.is_object() {
        return Err(bad("the top level must be an object".into()));
    }
    Ok(value)
}

/// Deep-merges `value` into `data` at `dir`; a key defined twice with non-object values is an
/// error rather than a silent overwrite.
fn merge_at(data: &mut Value, dir: &[&str], value: Value, path: &str) -> Result<(), BundleError> {
    let mut node = data;
    for part in dir {
        let Value::Object(map) = node else {
            return Err(BundleError::BadData {
                path: path.to_string(),
                message: format!("{part} collides with a non-object value"),
            });
        };
        node = map
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    merge(node, value, path)
}

fn merge(into: &mut Value, value: Value, path: &str) -> Result<(), BundleError> {
    match (into, value) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v, path)?,
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        _ => Err(BundleError::BadData {
            path: path.to_string(),
            message: "defines a value another data file already defines".into(),
        }),
    }
}

fn read_dir_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| BundleError::Io {
            path: dir.clone(),
            source,
        };
        for entry in fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let file_type = entry.file_type().map_err(io)?;
            if name.starts_with('.') && !(root_file(&name) && dir == root) {
                continue;
            }
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            if !file_type.is_file() || !relevant(&name) {
                continue;
            }
            let bytes = fs::read(&path).map_err(|source| BundleError::Io {
                path: path.clone(),
                source,
            })?;
            total += bytes.len() as u64;
            if total > MAX_BUNDLE_BYTES || out.len() >= MAX_BUNDLE_FILES {
                return Err(BundleError::TooLarge(root.display().to_string()));
            }
            let rel = path
                .strip_prefix(root)
                .map_err(|_| BundleError::BadPath(path.display().to_string()))?;
            out.push((bundle_path(rel)?, bytes));
        }
    }
    Ok(out)
}

/// The hidden files a bundle may have at its root.
fn root_file(name: &str) -> bool {
    name == ".manifest" || name == SIGNATURES_FILE
}

fn relevant(name: &str) -> bool {
    root_file(name)
        || name.ends_with(".rego")
        || matches!(name, "data.json" | "data.yaml" | "data.yml")
}

fn bundle_path(rel: &Path) -> Result<String, BundleError> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(
                p.to_str()
                    .ok_or_else(|| BundleError::BadPath(rel.display().to_string()))?
                    .to_string(),
            ),
            Component::CurDir => {}
            _ => return Err(BundleError::BadPath(rel.display().to_string())),
        }
    }
    if parts.is_empty() {
        return Err(BundleError::BadPath(rel.display().to_string()));
    }
    Ok(parts.join("/"))
}

fn read_tar_gz_files(path: &Path) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let file = fs::File::open(path).map_err(|source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    tar_gz_files(path, file)
}

/// The files of the `.tar.gz` read from `reader` (`path` names it in errors).
pub fn tar_gz_files(
    path: &Path,
    file: impl std::io::Read,
) -> Result<Vec<(String, Vec<u8>)>, BundleError> {
    let io = |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Cap what the decoder may produce in all (skipped entries are decompressed too).
    let decoder = flate2::read::GzDecoder::new(file).take(2 * MAX_BUNDLE_BYTES);
    let mut archive = tar::Archive::new(decoder);
    let mut out = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = entry.path().map_err(io)?.into_owned();
        let rel = rel.strip_prefix("/").unwrap_or(&rel).to_path_buf();
        let path_str = bundle_path(&rel)?;
        let name = path_str.rsplit('/').next().unwrap_or(&path_str).to_string();
        let hidden = path_str.split('/').any(|p| p.starts_with('.')) && !root_file(&path_str);
        if hidden || !relevant(&name) {
            continue;
        }
        // The entry reader yields exactly the header's size, so checking it first bounds
        // what is buffered.
        total = total.saturating_add(entry.header().size().map_err(io)?);
        if total > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(path.display().to_string()));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(io)?;
        if total > MAX_BUNDLE_BYTES || out.len() >= MAX_BUNDLE_FILES {
            return Err(BundleError::TooLarge(path.display().to_string()));
        }
        out.push((path_str, bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn data_lands_at_its_directory_path() {
        let b = Bundle::from_files(
            "x".into(),
            files(&[
                ("p.rego", "package tollgate"),
                ("data.json", r#"{"top": 1}"#),
                ("a/b/data.yaml", "limit: 5\n"),
            ]),
        )
        .unwrap();
        assert_eq!(b.data["top"], 1);
        assert_eq!(b.data["a"]["b"]["limit"], 5);
        assert!(b.revision.starts_with("sha256:"));
    }

    #[test]
    fn manifest_revision_wins_and_roots_are_enforced() {
        let b = Bundle::from_files(
            "x".into(),
            files(&[
                ("p.rego", "package tollgate"),
                (".manifest", r#"{"revision": "v7", "roots": ["tollgate"]}"#),
                ("tollgate/data.json", r#"{"k": 1}"#),
            ]),
        )
        .unwrap();
        assert_eq!(b.revision, "v7");
        assert!(b.package_in_roots("tollgate.lib"));
        assert!(!b.package_in_roots("other"));
        let err = Bundle::from_files(
            "x".into(),
            files(&[
                ("p.rego", "package tollgate"),
                (".manifest", r#"{"roots": ["tollgate"]}"#),
                ("other/data.json", r#"{"k": 1}"#),
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::OutsideRoots(_)), "{err}");
    }

    #[test]
    fn colliding_data_is_rejected_and_empty_bundles_too() {
        let err = Bundle::from_files(
            "x".into(),
            files(&[
                ("p.rego", "package tollgate"),
                ("data.json", r#"{"a": {"b": 1}}"#),
                ("a/data.json", r#"{"b": 2}"#),
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::BadData { .. }), "{err}");
        assert!(matches!(
            Bundle::from_files("x".into(), files(&[("data.json", "{}")])),
            Err(BundleError::Empty)
        ));
    }

    #[test]
    fn digest_changes_with_content_and_not_with_order() {
        let a = Bundle::from_files("x".into(), files(&[("a.rego", "1"), ("b.rego", "2")])).unwrap();
        let b = Bundle::from_files("x".into(), files(&[("b.rego", "2"), ("a.rego", "1")])).unwrap();
        let c = Bundle::from_files("x".into(), files(&[("a.rego", "1"), ("b.rego", "3")])).unwrap();
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
    }
}
