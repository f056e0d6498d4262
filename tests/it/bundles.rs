//! OPA bundle archives (`.tar.gz`): manifest revision and roots, content addressing, and
//! archives that must be refused.


use std::path::Path;

use tollgate::policy::{Bundle, BundleError, CompiledBundle, EvalLimits, RequirementDefaults};

fn tar_gz(path: &Path, files: &[(&str, &str)]) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..`; write the raw name so hostile archives can be built.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        tar.append(&header, body.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

const POLICY: &str =
    "package tollgate\n\nallow if input.action.name == data.tollgate_config.allowed\n";

#[test]
fn an_opa_bundle_archive_loads_with_its_manifest_revision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar.gz");
    tar_gz(
        &path,
        &[
            (
                "/.manifest",
                r#"{"revision": "2026-11-22.1", "roots": ["tollgate", "tollgate_config"]}"#,
            ),
            ("/tollgate/policy.rego", POLICY),
            (
                "/tollgate_config/data.json",
                r#"{"allowed": "dataset.read"}"#,
            ),
            ("/README.md", "ignored"),
        ],
    );
    let bundle = Bundle::load(&path).unwrap();
    assert_eq!(bundle.revision, "2026-11-22.1");
    assert_eq!(bundle.data["tollgate_config"]["allowed"], "dataset.read");
    assert_eq!(bundle.modules.len(), 1);
    let compiled = CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .unwrap();
    assert_eq!(&*compiled.revision, "2026-11-22.1");

    // The same content as a directory has the same digest: the address is the content.
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("tollgate")).unwrap();
    std::fs::create_dir_all(tree.join("tollgate_config")).unwrap();
    std::fs::write(
        tree.join(".manifest"),
        r#"{"revision": "2026-11-22.1", "roots": ["tollgate", "tollgate_config"]}"#,
    )
    .unwrap();
    std::fs::write(tree.join("tollgate/policy.rego"), POLICY).unwrap();
    std::fs::write(
        tree.join("tollgate_config/data.json"),
        r#"{"allowed": "dataset.read"}"#,
    )
    .unwrap();
    assert_eq!(Bundle::load(&tree).unwrap().digest, bundle.digest);
}

#[test]
fn hostile_or_broken_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar.gz");

    tar_gz(&path, &[("../escape.rego", POLICY)]);
    assert!(matches!(Bundle::load(&path), Err(BundleError::BadPath(_))));

    tar_gz(&path, &[("/.manifest", "{not json"), ("/p.rego", POLICY)]);
    assert!(matches!(
        Bundle::load(&path),
        Err(BundleError::BadManifest(_))
    ));

    tar_gz(
        &path,
        &[
            ("/.manifest", r#"{"roots": ["tollgate"]}"#),
            ("/other/data.json", "{}"),
            ("/p.rego", POLICY),
        ],
    );
    assert!(matches!(
        Bundle::load(&path),
        Err(BundleError::OutsideRoots(_))
    ));

    std::fs::write(&path, b"not a gzip stream").unwrap();
    assert!(matches!(Bundle::load(&path), Err(BundleError::Io { .. })));

    // A package outside the manifest roots is refused at compile time.
    tar_gz(
        &path,
        &[
            ("/.manifest", r#"{"roots": ["tollgate"]}"#),
            ("/p.rego", POLICY),
            ("/q.rego", "package elsewhere\nx := 1\n"),
        ],
    );
    let bundle = Bundle::load(&path).unwrap();
    let err = CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("outside the bundle roots"),
        "{err}"
    );
}

#[test]
fn a_decompression_bomb_stops_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    let big = "a".repeat(65 * 1024 * 1024);
    tar_gz(&path, &[("/p.rego", POLICY), ("/data.json", &big)]);
    assert!(
        std::fs::metadata(&path).unwrap().len() < 1024 * 1024,
        "compresses well"
    );
    assert!(matches!(Bundle::load(&path), Err(BundleError::TooLarge(_))));
}
