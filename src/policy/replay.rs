//! Replay and impact: recorded decisions evaluated again, against the archived revision that
//! made them (did we answer what this policy says?) or against a candidate bundle (what
//! would change if we rolled it out?).
//!
//! Both use the serving path exactly: the recorded request becomes `input` through
//! [`to_input`], [`CompiledBundle::evaluate`] runs it under the configured limits and
//! [`decide`] combines the outcome. Recorded inputs are stored after masking, so a decision
//! whose policy looked at a masked value may replay differently; the outcome says so instead
//! of hiding it.

use std::{collections::BTreeMap, sync::Arc};

use serde::Serialize;

use super::{
    archive::{ArchiveError, BundleArchive},
    compiled::{CompileError, CompiledBundle, EvalLimits},
    contract::RequirementDefaults,
    input::to_input,
};
use crate::domain::{decide, AuthzRequest};

/// Compiled archived revisions kept for replay (a replay run touches few revisions).
const CACHED_REVISIONS: u64 = 16;

/// A recorded decision, as replay needs it. Built from an audit `decision` event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedDecision {
    /// The decision id.
    pub decision_id: String,
    /// The action name (impact groups by it).
    pub action: String,
    /// The effect answered: `ALLOW`, `DENY` or `PENDING_APPROVAL`.
    pub effect: String,
    /// The reasons answered.
    pub reasons: Vec<String>,
    /// The revision that decided.
    pub bundle_revision: String,
    /// The digest of that revision: the archive key ("" if not recorded).
    pub bundle_digest: String,
    /// Input paths that were masked before recording.
    pub masked: Vec<String>,
    /// The request, `serde_json` of [`AuthzRequest`], after masking.
    pub input: serde_json::Value,
}

/// An effect and its reasons: what a caller was (or would be) told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `ALLOW`, `DENY` or `PENDING_APPROVAL`.
    pub effect: String,
    /// The reasons, sorted.
    pub reasons: Vec<String>,
}

/// What replaying one decision showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayOutcome {
    /// The decision replayed.
    pub decision_id: String,
    /// The revision it was replayed against.
    pub bundle_revision: String,
    /// That revision's digest.
    pub bundle_digest: String,
    /// Whether effect and reasons came out the same.
    pub reproduced: bool,
    /// What was answered at the time.
    pub recorded: Answer,
    /// What the same revision answers now.
    pub replayed: Answer,
    /// Set when masked values may explain a difference.
    pub note: Option<String>,
}

/// Why a decision could not be replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The record does not say which bundle digest decided it.
    #[error("decision {0} records no bundle digest")]
    NoDigest(String),
    /// The archived revision is missing or unreadable.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The archived revision no longer compiles (e.g. an engine upgrade changed the language).
    #[error("archived bundle {digest} does not compile: {source}")]
    Compile {
        /// The archived digest.
        digest: String,
        /// The compiler's error.
        #[source]
        source: CompileError,
    },
    /// The recorded input is not a request this version understands.
    #[error("recorded input of {decision_id} is not a request: {source}")]
    Input {
        /// The decision.
        decision_id: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// Replays decisions against archived revisions, compiling each revision once.
pub struct Replayer {
    archive: BundleArchive,
    limits: EvalLimits,
    defaults: RequirementDefaults,
    compiled: moka::sync::Cache<String, Arc<CompiledBundle>>,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("archive", &self.archive)
            .finish_non_exhaustive()
    }
}

impl Replayer {
    /// Replays from `archive` under the serving configuration's limits and defaults, which
    /// a replay must share with the server to reproduce limit and TTL outcomes.
    pub fn new(archive: BundleArchive, limits: EvalLimits, defaults: RequirementDefaults) -> Self {
        Self {
            archive,
            limits,
            defaults,
            compiled: moka::sync::Cache::new(CACHED_REVISIONS),
        }
    }

    /// The archived revision `digest`, compiled (cached).
    pub fn bundle(&self, digest: &str) -> Result<Arc<CompiledBundle>, ReplayError> {
        if let Some(hit) = self.compiled.get(digest) {
            return Ok(hit);
        }
        let bundle = self.archive.load(digest)?;
        let compiled =
            CompiledBundle::compile(&bundle, self.limits, self.defaults).map_err(|source| {
                ReplayError::Compile {
                    digest: digest.to_string(),
                    source,
                }
            })?;
        let compiled = Arc::new(compiled);
        self.compiled.insert(digest.to_string(), compiled.clone());
        Ok(compiled)
    }

    /// Evaluates `recorded` again with the revision that decided it.
    pub fn replay(&self, recorded: &RecordedDecision) -> Result<ReplayOutcome, ReplayError> {
        if recorded.bundle_digest.is_empty() {
            return Err(ReplayError::NoDigest(recorded.decision_id.clone()));
        }
        let bundle = self.bundle(&recorded.bundle_digest)?;
        let replayed = answer(&bundle, recorded)?;
        let recorded_answer = Answer {
            effect: recorded.effect.clone(),
            reasons: sorted(recorded.reasons.clone()),
        };
        let reproduced = replayed == recorded_answer;
        let note = masked_note(&recorded.masked, reproduced);
        Ok(ReplayOutcome {
            decision_id: recorded.decision_id.clone(),
            bundle_revision: bundle.revision.to_string(),
            bundle_digest: bundle.digest.clone(),
            reproduced,
            recorded: recorded_answer,
            replayed,
            note,
        })
    }
}

/// Replays one decision from the archive in `archive_dir` with default limits; a
/// [`Replayer`] is better for many.
pub fn replay(
    archive_dir: &std::path::Path,
    recorded: &RecordedDecision,
) -> Result<ReplayOutcome, ReplayError> {
    Replayer::new(
        BundleArchive::new(archive_dir),
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .replay(recorded)
}

/// What `bundle` answers to the recorded request.
pub fn answer(bundle: &CompiledBundle, recorded: &RecordedDecision) -> Result<Answer, ReplayError> {
    let req: AuthzRequest =
        serde_json::from_value(recorded.input.clone()).map_err(|source| ReplayError::Input {
            decision_id: recorded.decision_id.clone(),
            source,
        })?;
    let verdict = decide(bundle.evaluate(to_input(&req)));
    Ok(Answer {
        effect: verdict.effect.as_str().to_string(),
        reasons: sorted(verdict.reasons),
    })
}

fn sorted(mut reasons: Vec<String>) -> Vec<String> {
    reasons.sort();
    reasons
}

fn masked_note(masked: &[String], reproduced: bool) -> Option<String> {
    if masked.is_empty() {
        return None;
    }
    let paths = masked.join(", ");
    Some(if reproduced {
        format!(
            "input values at {paths} were masked before recording; replay used the masked values"
        )
    } else {
        format!(
            "input values at {paths} were masked before recording and replay used the masked \
             values: the difference may come from masking rather than from the policy"
        )
    })
}

/// One effect transition a candidate bundle would cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The effect answered at the time.
    pub from: String,
    /// The effect the candidate answers.
    pub to: String,
    /// How many decisions make this transition.
    pub count: u64,
    /// Up to the requested number of their decision ids, oldest first.
    pub examples: Vec<String>,
}

/// How one action's decisions fare under the candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionImpact {
    /// The action name.
    pub action: String,
    /// Decisions replayed for it.
    pub total: u64,
    /// Of those, decisions whose effect changes.
    pub changed: u64,
    /// Changed decisions per `"FROM -> TO"`.
    pub transitions: BTreeMap<String, u64>,
}

/// The blast radius of a candidate bundle over recorded decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactReport {
    /// The candidate's revision.
    pub candidate_revision: String,
    /// The candidate's digest.
    pub candidate_digest: String,
    /// Decisions considered.
    pub total: u64,
    /// Same effect under the candidate.
    pub unchanged: u64,
    /// Another effect under the candidate.
    pub changed: u64,
    /// Same effect but other reasons (counted in `unchanged` too).
    pub reasons_changed: u64,
    /// Decisions whose recorded input could not be evaluated.
    pub unreplayable: u64,
    /// Changed decisions by effect transition, most frequent first.
    pub transitions: Vec<Transition>,
    /// Per action, by name.
    pub actions: Vec<ActionImpact>,
    /// Up to the requested number of unreplayable decisions and why.
    pub unreplayable_examples: Vec<(String, String)>,
}

/// Accumulates an [`ImpactReport`] one decision at a time, so recorded decisions can be
/// streamed from the store page by page in constant memory.
pub struct Impact {
    candidate: Arc<CompiledBundle>,
    max_examples: usize,
    report: ImpactReport,
    transitions: BTreeMap<(String, String), Transition>,
    actions: BTreeMap<String, ActionImpact>,
}

impl Impact {
    /// Compares against `candidate`, keeping up to `max_examples` ids per transition.
    pub fn new(candidate: Arc<CompiledBundle>, max_examples: usize) -> Self {
        let report = ImpactReport {
            candidate_revision: candidate.revision.to_string(),
            candidate_digest: candidate.digest.clone(),
            total: 0,
            unchanged: 0,
            changed: 0,
            reasons_changed: 0,
            unreplayable: 0,
            transitions: Vec::new(),
            actions: Vec::new(),
            unreplayable_examples: Vec::new(),
        };
        Self {
            candidate,
            max_examples,
            report,
            transitions: BTreeMap::new(),
            actions: BTreeMap::new(),
        }
    }

    /// Replays `recorded` against the candidate and counts the result.
    pub fn record(&mut self, recorded: &RecordedDecision) {
        self.report.total += 1;
        let now = match answer(&self.candidate, recorded) {
            Ok(a) => a,
            Err(e) => {
                self.report.unreplayable += 1;
                if self.report.unreplayable_examples.len() < self.max_examples {
                    self.report
                        .unreplayable_examples
                        .push((recorded.decision_id.clone(), e.to_string()));
                }
                return;
            }
        };
        let action = self
            .actions
            .entry(recorded.action.clone())
            .or_insert_with(|| ActionImpact {
                action: recorded.action.clone(),
                total: 0,
                changed: 0,
                transitions: BTreeMap::new(),
            });
        action.total += 1;
        if now.effect == recorded.effect {
            self.report.unchanged += 1;
            if now.reasons != sorted(recorded.reasons.clone()) {
                self.report.reasons_changed += 1;
            }
            return;
        }
        self.report.changed += 1;
        action.changed += 1;
        *action
            .transitions
            .entry(format!("{} -> {}", recorded.effect, now.effect))
            .or_default() += 1;
        let key = (recorded.effect.clone(), now.effect.clone());
        let t = self.transitions.entry(key).or_insert_with(|| Transition {
            from: recorded.effect.clone(),
            to: now.effect,
            count: 0,
            examples: Vec::new(),
        });
        t.count += 1;
        if t.examples.len() < self.max_examples {
            t.examples.push(recorded.decision_id.clone());
        }
    }

    /// The report.
    pub fn finish(self) -> ImpactReport {
        let mut report = self.report;
        report.transitions = self.transitions.into_values().collect();
        report
            .transitions
            .sort_by(|a, b| b.count.cmp(&a.count).then(a.from.cmp(&b.from)));
        report.actions = self.actions.into_values().collect();
        report
    }
}

/// Replays `decisions` against `candidate` and summarises what would change.
pub fn impact<'a>(
    candidate: Arc<CompiledBundle>,
    decisions: impl IntoIterator<Item = &'a RecordedDecision>,
    max_examples: usize,
) -> ImpactReport {
    let mut impact = Impact::new(candidate, max_examples);
    for d in decisions {
        impact.record(d);
    }
    impact.finish()
}

#[cfg(test)]
mod tests;
