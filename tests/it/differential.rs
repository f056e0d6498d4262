//! Property test: on random requests against the shipped bundle (wrong types included), the
//! serving path (the VM alone) gives the reference interpreter's answer, errors included;
//! the only tolerated difference is the VM failing where the interpreter does not (DENY).

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};
use tollgate::{
    domain::{AuthzRequest, InputLimits},
    policy::{
        agreement, input::to_input, Agreement, Bundle, CompiledBundle, EvalLimits,
        RequirementDefaults,
    },
};

fn bundle() -> &'static CompiledBundle {
    static B: OnceLock<CompiledBundle> = OnceLock::new();
    B.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let b = Bundle::load(&path).unwrap();
        let compiled =
            CompiledBundle::compile(&b, EvalLimits::default(), RequirementDefaults::default())
                .unwrap();
        // Otherwise the comparison below would hold the interpreter to itself.
        assert_eq!(compiled.serving_engine().as_str(), "vm");
        compiled
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u64..2_000_000).prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        (0.0f64..1e6).prop_map(|f| json!(f)),
        "[a-z0-9:/._-]{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "prod",
            "staging",
            "dev",
            "pii",
            "internal",
            "admin",
            "*",
            "org",
            "1h",
            "12h",
            "s3://corp-analytics-eu/x",
            "s3://elsewhere/x",
            "owner",
            "team:growth",
            "250000",
        ])
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn params() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "table",
        "rows",
        "dest",
        "role",
        "scope",
        "duration",
        "principal",
        "policy",
        "region",
        "count",
        "key_id",
        "to",
        "from",
        "reason",
        "api_key",
        "force",
    ]);
    prop::collection::btree_map(keys, value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn request() -> impl Strategy<Value = Value> {
    let actions = prop::sample::select(vec![
        "data.export",
        "iam.role.grant",
        "iam.policy.attach",
        "apikey.regenerate",
        "infra.create",
        "infra.destroy",
        "secret.read",
        "secret.move",
        "dataset.read",
        "secret.list",
        "vm.describe",
        "apikey.get",
        "unknown.thing",
    ]);
    let types = prop::sample::select(vec![
        "dataset", "iam_role", "secret", "api_key", "database", "bucket", "cluster", "vm",
    ]);
    let kinds = prop::sample::select(vec!["agent", "service", "pipeline", "user"]);
    let groups = prop::collection::vec(
        prop::sample::select(vec![
            "exporters",
            "sre",
            "security",
            "analysts",
            "team:growth",
        ]),
        0..3,
    );
    (actions, types, kinds, groups, params(), params(), scalar(), scalar())
        .prop_map(|(action, rtype, kind, groups, params, attrs, env, intent)| {
            json!({
                "subject": {"id": "agent:p", "kind": kind, "owner": "team:growth", "groups": groups},
                "action": {"name": action, "params": params},
                "resource": {"type": rtype, "id": "r-1", "attributes": attrs},
                "context": {
                    "environment": env.as_str().unwrap_or("prod"),
                    "intent": intent.as_str().map(|s| format!("{s} for TICKET-1 analysis")).unwrap_or_default(),
                },
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn serving_path_matches_the_reference(req in request()) {
        let req: AuthzRequest = serde_json::from_value(req).unwrap();
        prop_assume!(req.validate(&InputLimits::default()).is_ok());
        let input = to_input(&req);
        let b = bundle();
        let served = b.evaluate(input.clone());
        let reference = b.evaluate_interpreted(input.clone());
        let found = agreement(&served, &reference);
        prop_assert!(
            found != Agreement::Different,
            "served {:?} vs reference {:?}", served, reference
        );
    }
}
