//! `tollgate.api`: the bundle's say over who may call what. A bundle that defines package
//! `tollgate.api` with a `roles` rule (a set of role names for `input.caller`) decides every
//! caller's roles itself, so the security team controls access to the API with the same
//! reviewed, signed policy as the decisions; without it the configured roles apply.
//!
//! For example, `roles contains "review" if "sre" in input.caller.groups` lets SREs review
//! and `roles contains "redeem" if input.caller.id == "service:deployer"` names the one
//! executor (`docs/security.md` has a whole module).
//!
//! `input.caller` holds `id`, `kind`, `groups`, `owner` and `authentication` (`method`,
//! `acr`, `amr`). An evaluation error or a value that is not a set of strings fails closed:
//! the caller holds no role.

use std::collections::BTreeMap;

use regorus::Value;

use super::CompiledBundle;
use crate::domain::{AuthMethod, EvalFailure, FailureKind, Principal};

/// The package a bundle defines to decide roles.
pub const API_PACKAGE: &str = "data.tollgate.api";
/// The rule that holds a caller's roles.
pub const ROLES_QUERY: &str = "data.tollgate.api.roles";

/// The roles `bundle` gives `caller`, or `None` when the bundle does not decide roles.
pub fn roles(
    bundle: &CompiledBundle,
    caller: &Principal,
) -> Result<Option<Vec<String>>, EvalFailure> {
    let mut engine = bundle.engine();
    let failure = |e: anyhow::Error| EvalFailure::new(FailureKind::Evaluation, format!("{e:#}"));
    if !engine
        .get_packages()
        .map_err(failure)?
        .iter()
        .any(|p| p == API_PACKAGE)
    {
        return Ok(None);
    }
    engine.set_input(input(caller));
    let results = engine
        .eval_query(ROLES_QUERY.into(), false)
        .map_err(failure)?;
    let value = results
        .result
        .first()
        .and_then(|r| r.expressions.first())
        .map(|e| e.value.clone());
    let Some(value) = value.filter(|v| *v != Value::Undefined) else {
        return Ok(None);
    };
    let contract = || {
        EvalFailure::new(
            FailureKind::Contract,
            "data.tollgate.api.roles must be a set of role names",
        )
    };
    let set = value.as_set().map_err(|_| contract())?;
    set.iter()
        .map(|r| r.as_string().map(|s| s.to_string()).map_err(|_| contract()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `input` for the roles rule: the caller, never a request.
fn input(p: &Principal) -> Value {
    let text = |s: &str| Value::from(s);
    let list = |items: &[String]| Value::from(items.iter().map(|i| text(i)).collect::<Vec<_>>());
    let method = match &p.authentication.method {
        AuthMethod::StaticToken => "static_token",
        AuthMethod::Token { .. } => "token",
        AuthMethod::Certificate => "certificate",
        AuthMethod::Chat { .. } => "chat",
    };
    let object = |fields: Vec<(&str, Value)>| {
        Value::from(
            fields
                .into_iter()
                .map(|(k, v)| (text(k), v))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let authentication = object(vec![
        ("method", text(method)),
        (
            "acr",
            p.authentication.acr.as_deref().map_or(Value::Null, text),
        ),
        ("amr", list(&p.authentication.amr)),
    ]);
    let caller = object(vec![
        ("id", text(&p.id)),
        ("kind", text(p.kind.as_str())),
        ("groups", list(&p.groups)),
        ("owner", text(&p.owner)),
        ("authentication", authentication),
    ]);
    object(vec![("caller", caller)])
}
