//! The fuzz targets (`tollgate::fuzzing`, also driven coverage-guided by `fuzz/`) as property
//! tests: random and structure-aware inputs, none may panic. Each target gets bytes shaped
//! like its real input (mutated valid inputs as well as noise) so the properties reach past
//! the first parse error.

use proptest::prelude::*;
use prost::Message as _;
use tollgate::{fuzzing, grpc::pb};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[a-z:._@-]{0,24}",
        Just("\u{200b}".to_string()),
        Just("ѕecret".to_string()),
    ]
}

fn value(depth: u32) -> BoxedStrategy<prost_types::Value> {
    use prost_types::value::Kind;
    let leaf = prop_oneof![
        any::<f64>().prop_map(Kind::NumberValue),
        text().prop_map(Kind::StringValue),
        any::<bool>().prop_map(Kind::BoolValue),
        Just(Kind::NullValue(0)),
    ];
    let kind = if depth == 0 {
        leaf.boxed()
    } else {
        prop_oneof![
            leaf,
            prop::collection::vec(value(depth - 1), 0..4)
                .prop_map(|values| Kind::ListValue(prost_types::ListValue { values })),
            prop::collection::btree_map(text(), value(depth - 1), 0..4)
                .prop_map(|fields| Kind::StructValue(prost_types::Struct { fields })),
        ]
        .boxed()
    };
    kind.prop_map(|k| prost_types::Value { kind: Some(k) })
        .boxed()
}

fn request() -> impl Strategy<Value = pb::AuthorizeRequest> {
    (
        text(),
        text(),
        text(),
        text(),
        prop::collection::btree_map(text(), value(3), 0..4),
    )
        .prop_map(
            |(id, kind, action, resource, params)| pb::AuthorizeRequest {
                subject: Some(pb::Subject {
                    id,
                    kind,
                    ..Default::default()
                }),
                action: Some(pb::Action {
                    name: action,
                    params: Some(prost_types::Struct { fields: params }),
                }),
                resource: Some(pb::Resource {
                    r#type: resource,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn authorize_requests_never_panic(req in request(), noise in prop::collection::vec(any::<u8>(), 0..64), cut in any::<prop::sample::Index>()) {
        let bytes = req.encode_to_vec();
        fuzzing::authorize_request(&bytes);
        // Truncated, and with noise appended.
        fuzzing::authorize_request(&bytes[..cut.index(bytes.len() + 1)]);
        let mut noisy = bytes.clone();
        noisy.extend_from_slice(&noise);
        fuzzing::authorize_request(&noisy);
        fuzzing::authorize_request(&noise);
    }

    #[test]
    fn bundles_never_panic(rego in "package [a-z]{1,8}\n(allow if [a-z. =\"0-9]{0,30}\n){0,3}", data in ".{0,60}", noise in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut files = b"policy.rego\0".to_vec();
        files.extend_from_slice(rego.as_bytes());
        files.extend_from_slice(b"\0data.json\0");
        files.extend_from_slice(data.as_bytes());
        files.extend_from_slice(b"\0.manifest\0{\"metadata\": {\"sequence\": 1}}\0");
        fuzzing::bundle_files(&files);
        fuzzing::bundle_files(&noise);
        fuzzing::bundle_tar_gz(&noise);
        fuzzing::bundle_signature(&noise);
        fuzzing::bundle_signature(format!("{{\"signatures\": [\"{data}\"]}}").as_bytes());
    }

    #[test]
    fn tokens_checkpoints_and_configs_never_panic(s in ".{0,200}", noise in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::capability_token(s.as_bytes());
        fuzzing::capability_token(format!("v4.public.{s}").as_bytes());
        fuzzing::capability_token(&noise);
        fuzzing::checkpoint_line(s.as_bytes());
        fuzzing::checkpoint_line(format!("{{\"seq\": 1, \"head_hash\": \"{s}\", \"at\": -1, \"token\": \"v4.public.{s}\"}}").as_bytes());
        fuzzing::config_yaml(s.as_bytes());
        fuzzing::config_yaml(format!("audit:\n  checkpoint_every: {}\nstore:\n  acquire_timeout: {s}\n", noise.len()).as_bytes());
        fuzzing::config_yaml(&noise);
    }
}

/// A tar.gz built from real entries, then corrupted byte by byte.
#[test]
fn corrupted_tar_gz_bundles_never_panic() {
    let mut tar = tar::Builder::new(Vec::new());
    let rego = b"package tollgate\n\nallow if input.action.name == \"x\"\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(rego.len() as u64);
    header.set_cksum();
    tar.append_data(&mut header, "policy.rego", &rego[..])
        .unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let good = gz.finish().unwrap();
    fuzzing::bundle_tar_gz(&good);
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        fuzzing::bundle_tar_gz(&bad);
        fuzzing::bundle_tar_gz(&good[..i]);
    }
}
