//! `tollgate audit`: the auditor's offline tools. They open the store directly, from the same
//! configuration as `serve` (`--config`, `--data-dir`, `--store-url` / `TOLLGATE_*`), so they
//! work with the server down and read exactly what it wrote.
//!
//! - `export`: JSON lines for SIEM ingestion, streamed page by page (constant memory).
//! - `show`: every event of one request, in order, readable or as JSON.
//! - `replay`: a decision evaluated again with the archived revision that made it; exits 0
//!   when reproduced, 1 when not, 2 when it cannot be replayed.

use std::{io::Write, process::ExitCode, sync::Arc, time::SystemTime};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::audit_verify::StoreArgs;
use crate::{
    audit::query::{self, ExportLine},
    config::Config,
    domain::{AuditFilter, AuditKind, AuditRecord, UnixMillis},
    policy::{replay::Replayer, BundleArchive},
    store::AuditLog,
};

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
}

/// Output formats of `show`, `replay` and `bundle impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document.
    Json,
}

/// `tollgate audit export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where the trail is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// From this time: RFC 3339 (UTC, e.g. 2026-11-26T00:00:00Z) or an age like 24h, 7d.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<SystemTime>,
    /// Before this time (exclusive), same forms.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<SystemTime>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
}

/// `tollgate audit show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Where the trail is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The decision id (from the Authorize answer or the trail).
    pub decision_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `tollgate audit replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Where the trail is.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The decision id.
    pub decision_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// An RFC 3339 UTC time, or an age (`24h`) meaning that long before now.
pub fn parse_time(s: &str) -> Result<SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    let age = humantime::parse_duration(s)
        .map_err(|_| format!("{s:?} is neither an RFC 3339 UTC time nor a duration like 24h"))?;
    SystemTime::now()
        .checked_sub(age)
        .ok_or_else(|| format!("{s} reaches before the epoch"))
}

/// Opens the store `args` names, with the configuration it came from.
pub async fn open(args: &StoreArgs) -> anyhow::Result<(Config, Arc<dyn AuditLog>)> {
    let config = args.config()?;
    let store = args.open(&config).await?;
    Ok((config, store))
}

/// `tollgate audit export`: JSON lines to stdout, page by page.
pub async fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let ExportFormat::Jsonl = args.format;
    let (_, store) = open(&args.store).await?;
    let filter = AuditFilter {
        since: args.since.map(UnixMillis::from_time),
        until: args.until.map(UnixMillis::from_time),
        ..AuditFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let n = query::export(&*store, &filter, &mut out).await?;
    out.flush()?;
    tracing::info!(records = n, "audit export finished");
    Ok(ExitCode::SUCCESS)
}

/// `tollgate audit show`: one request's events, in order.
pub async fn show(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open(&args.store).await?;
    let records = query::request_events(&*store, &args.decision_id).await?;
    if records.is_empty() {
        eprintln!("no audit records for decision {}", args.decision_id);
        return Ok(ExitCode::from(2));
    }
    match args.format {
        Format::Json => {
            let lines: Vec<ExportLine<'_>> = records.iter().map(export_line).collect();
            println!("{}", serde_json::to_string_pretty(&lines)?);
        }
        Format::Text => print!("{}", render_events(&args.decision_id, &records)),
    }
    Ok(ExitCode::SUCCESS)
}

fn export_line(r: &AuditRecord) -> ExportLine<'_> {
    ExportLine {
        seq: r.seq,
        hash: &r.hash,
        prev_hash: &r.prev_hash,
        event: &r.event,
    }
}

/// The readable story of one request: one line per event, details indented below it.
pub fn render_events(decision_id: &str, records: &[AuditRecord]) -> String {
    let mut out = format!("decision {decision_id}: {} events\n", records.len());
    for r in records {
        let e = &r.event;
        let at = humantime::format_rfc3339_millis(e.at.to_time());
        out.push_str(&format!(
            "#{:<6} {at}  {:<20} {:<18} by {}\n",
            r.seq,
            e.kind.as_str(),
            e.effect,
            e.actor
        ));
        let mut facts = Vec::new();
        if e.kind == AuditKind::Decision {
            facts.push(format!(
                "{} on {}/{} by {}, bundle {}",
                e.action, e.resource_type, e.resource_id, e.subject_id, e.bundle_revision
            ));
        }
        for key in ["verdict", "reason", "changes", "error"] {
            if let Some(v) = e.detail.get(key).filter(|v| !v.is_null()) {
                let v = plain(v);
                if !e.reasons.contains(&v) {
                    facts.push(format!("{key}: {v}"));
                }
            }
        }
        if !e.reasons.is_empty() {
            facts.push(format!("reasons: {}", e.reasons.join("; ")));
        }
        if !e.approval_id.is_empty() {
            facts.push(format!("approval {}", e.approval_id));
        }
        if !e.capability_id.is_empty() {
            facts.push(format!("capability {}", e.capability_id));
        }
        for fact in facts {
            out.push_str(&format!("         {fact}\n"));
        }
    }
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `tollgate audit replay`: exit 0 when reproduced, 1 when not, 2 when it cannot replay.
pub async fn replay(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = open(&args.store).await?;
    let Some(record) = query::decision(&*store, &args.decision_id).await? else {
        eprintln!("no decision record for {}", args.decision_id);
        return Ok(ExitCode::from(2));
    };
    let recorded = query::recorded_decision(&record.event)
        .context("the decision record is not a decision event")?;
    let replayer = Replayer::new(
        BundleArchive::in_data_dir(&config.data_dir),
        config.limits,
        config.approvals,
    );
    let outcome = match replayer.replay(&recorded) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cannot replay {}: {e}", args.decision_id);
            return Ok(ExitCode::from(2));
        }
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        Format::Text => {
            println!(
                "decision {} (bundle {}, digest {})",
                outcome.decision_id, outcome.bundle_revision, outcome.bundle_digest
            );
            for (label, a) in [
                ("recorded", &outcome.recorded),
                ("replayed", &outcome.replayed),
            ] {
                let reasons = if a.reasons.is_empty() {
                    "(no reasons)".to_string()
                } else {
                    a.reasons.join("; ")
                };
                println!("  {label}: {}  {reasons}", a.effect);
            }
            println!(
                "  {}",
                if outcome.reproduced {
                    "REPRODUCED"
                } else {
                    "NOT REPRODUCED"
                }
            );
            if let Some(note) = &outcome.note {
                println!("  note: {note}");
            }
        }
    }
    Ok(if outcome.reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_ages() {
        let t = parse_time("2026-11-26T00:00:00Z").unwrap();
        assert_eq!(UnixMillis::from_time(t).as_i64(), 1_795_651_200_000);
        let day_ago = UnixMillis::from_time(parse_time("24h").unwrap()).as_i64();
        let expected = UnixMillis::from_time(SystemTime::now()).as_i64() - 86_400_000;
        assert!((day_ago - expected).abs() < 60_000);
        assert!(parse_time("yesterday").is_err());
    }
}
