//! `tollgate bundle impact`: the blast radius of a policy change before it rolls out. Every
//! decision recorded in a time window is evaluated against the candidate bundle and the
//! effect changes are summarised per transition and per action, with example decision ids.
//! Decisions stream from the store page by page, so a long window costs time, not memory.
//! When the server requires signed bundles, the report also says whether the candidate's
//! signature would pass.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::SystemTime};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::{
    audit::{open, parse_time, Format},
    audit_verify::StoreArgs,
};
use crate::{
    audit::query::{self, MAX_PAGE},
    config::Config,
    domain::{AuditFilter, AuditKind, UnixMillis},
    policy::{
        replay::{Impact, ImpactReport},
        Bundle, BundleVerifier, CompiledBundle,
    },
};

/// `tollgate bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BundleCommand,
}

/// `tollgate bundle` subcommands.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Replay recorded decisions against a candidate bundle; summarise what would change.
    Impact(ImpactArgs),
    /// Write a release's revision and sequence into the bundle's `.manifest`.
    Build(super::bundle_release::BuildArgs),
    /// Sign a bundle (OPA `.signatures.json`), its sequence included.
    Sign(super::bundle_release::SignArgs),
    /// Let one older bundle (by digest) serve once below the release floor.
    AllowRollback(super::bundle_release::AllowRollbackArgs),
}

/// `tollgate bundle impact`.
#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// Where the trail is (the server's config).
    #[command(flatten)]
    pub store: StoreArgs,
    /// The candidate bundle: a directory or OPA .tar.gz.
    #[arg(long)]
    pub candidate: PathBuf,
    /// Decisions from this time: RFC 3339 (UTC) or an age like 24h.
    #[arg(long, value_parser = parse_time, default_value = "24h")]
    pub since: SystemTime,
    /// Decisions before this time (exclusive).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<SystemTime>,
    /// Example decision ids per transition.
    #[arg(long, default_value_t = 10)]
    pub examples: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `tollgate bundle`.
pub async fn run(args: &BundleArgs) -> anyhow::Result<ExitCode> {
    let impact_args = match &args.command {
        BundleCommand::Impact(a) => a,
        BundleCommand::Build(a) => return super::bundle_release::build(a),
        BundleCommand::Sign(a) => return super::bundle_release::sign(a),
        BundleCommand::AllowRollback(a) => return super::bundle_release::allow_rollback(a).await,
    };
    let (config, store) = open(&impact_args.store).await?;
    let path = &impact_args.candidate;
    let bundle = Bundle::load(path).with_context(|| format!("loading {}", path.display()))?;
    let candidate = CompiledBundle::compile(&bundle, config.limits, config.approvals)
        .with_context(|| format!("compiling {}", path.display()))?;
    let signature = signature_check(&config, &bundle);
    let mut impact = Impact::new(Arc::new(candidate), impact_args.examples);
    let filter = AuditFilter {
        kind: Some(AuditKind::Decision),
        since: Some(UnixMillis::from_time(impact_args.since)),
        until: impact_args.until.map(UnixMillis::from_time),
        ..AuditFilter::default()
    };
    let mut after = 0;
    loop {
        let page = store.query(&filter, after, MAX_PAGE).await?;
        for record in &page {
            if let Some(d) = query::recorded_decision(&record.event) {
                impact.record(&d);
            }
        }
        match page.last() {
            Some(last) if page.len() == MAX_PAGE as usize => after = last.seq,
            _ => break,
        }
    }
    let report = impact.finish();
    match impact_args.format {
        Format::Json => {
            let mut json = serde_json::to_value(&report)?;
            if let (Some(map), Some(check)) = (json.as_object_mut(), &signature) {
                let verdict = match check {
                    Ok(()) => "verified".to_string(),
                    Err(why) => format!("rejected: {why}"),
                };
                map.insert("signature".into(), verdict.into());
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
            match &signature {
                Some(Ok(())) => println!("signature: verified"),
                Some(Err(why)) => println!("signature: this server would REJECT it: {why}"),
                None => {}
            }
            print!("{}", render(&report));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// When the server requires signed bundles, whether the candidate would pass: the impact is
/// still computed (authors run it before signing), but the report says so.
fn signature_check(config: &Config, bundle: &Bundle) -> Option<Result<(), String>> {
    let verification = config.bundle.verification.as_ref()?;
    Some(
        BundleVerifier::from_config(verification)
            .and_then(|v| v.verify(bundle.signatures.as_deref(), &bundle.files))
            .map_err(|e| e.to_string()),
    )
}

/// The report for people.
pub fn render(r: &ImpactReport) -> String {
    let mut out = format!(
        "candidate {} (digest {})\n{} decisions: {} unchanged, {} changed, {} unreplayable",
        r.candidate_revision, r.candidate_digest, r.total, r.unchanged, r.changed, r.unreplayable
    );
    if r.reasons_changed > 0 {
        out.push_str(&format!(
            " ({} unchanged effects with other reasons)",
            r.reasons_changed
        ));
    }
    out.push('\n');
    if !r.transitions.is_empty() {
        out.push_str("\nchanges:\n");
    }
    for t in &r.transitions {
        out.push_str(&format!("  {} -> {}: {}\n", t.from, t.to, t.count));
        for id in &t.examples {
            out.push_str(&format!("    {id}\n"));
        }
    }
    if !r.actions.is_empty() {
        out.push_str("\nby action:\n");
    }
    for a in &r.actions {
        let moves: Vec<String> = a
            .transitions
            .iter()
            .map(|(t, n)| format!("{t}: {n}"))
            .collect();
        out.push_str(&format!(
            "  {}: {} of {} changed{}\n",
            a.action,
            a.changed,
            a.total,
            if moves.is_empty() {
                String::new()
            } else {
                format!(" ({})", moves.join(", "))
            }
        ));
    }
    for (id, why) in &r.unreplayable_examples {
        out.push_str(&format!("  unreplayable {id}: {why}\n"));
    }
    out
}
