//! `tools/list` filtered by policy (`--filter-tools`): a tool is listed unless the policy
//! denies this agent a call of it with empty arguments. Every tool of a page is asked about
//! in one dry-run `BatchAuthorize`, which opens no approval and mints no capability, so
//! listing never puts a request in front of a reviewer and PENDING keeps a tool listed.
//! Filtering is a courtesy to the agent, never the enforcement: every call is still decided
//! on its own. Fail closed: if tollgate cannot answer, the listing is an error, never the
//! unfiltered list.

use rmcp::model::{ErrorData, Tool};
use serde_json::Map;

use super::mapping::{Agent, Mapping};
use crate::{client::Client, grpc::pb, service::MAX_BATCH, telemetry::ErrorChain};

/// The tools of `tools` the policy does not deny `agent` outright, in their order.
pub async fn permitted(
    tollgate: &Client,
    agent: &Agent,
    mapping: &Mapping,
    tools: Vec<Tool>,
) -> Result<Vec<Tool>, ErrorData> {
    let mut kept = Vec::with_capacity(tools.len());
    for chunk in tools.chunks(MAX_BATCH) {
        let requests = chunk
            .iter()
            .map(|t| mapping.request(agent, &t.name, &Map::new(), ""))
            .collect();
        let batch = pb::BatchAuthorizeRequest {
            requests,
            dry_run: true,
        };
        let answer = tollgate.authorize_batch(batch).await.map_err(|e| {
            tracing::warn!(error = %ErrorChain(&e), "tools/list: tollgate could not be asked");
            unfiltered()
        })?;
        if answer.results.len() != chunk.len() {
            tracing::warn!(
                asked = chunk.len(),
                answered = answer.results.len(),
                "tools/list: incomplete batch answer"
            );
            return Err(unfiltered());
        }
        for (tool, item) in chunk.iter().zip(answer.results) {
            let keep = listed(&item).map_err(|reason| {
                tracing::warn!(tool = %tool.name, reason = %reason, "tools/list: no decision");
                unfiltered()
            })?;
            if keep {
                kept.push(tool.clone());
            }
        }
    }
    Ok(kept)
}

/// Whether a tool stays listed given its dry-run answer: unless DENY. A tool whose request
/// is invalid (e.g. a name too long for an action) is left out, since no call of it could
/// be authorized either. Any other missing decision is an error (fail closed).
fn listed(item: &pb::BatchItem) -> Result<bool, String> {
    use pb::batch_item::Outcome;
    match &item.outcome {
        Some(Outcome::Decision(d)) => Ok(matches!(
            pb::Effect::try_from(d.effect),
            Ok(pb::Effect::Allow | pb::Effect::PendingApproval)
        )),
        Some(Outcome::Error(e)) if e.code == tonic::Code::InvalidArgument as i32 => Ok(false),
        Some(Outcome::Error(e)) => Err(format!("{} ({}): {}", e.field, e.code, e.message)),
        None => Err("empty batch item".into()),
    }
}

/// The error of a filtered `tools/list` that tollgate could not decide.
fn unfiltered() -> ErrorData {
    ErrorData::internal_error(
        "tollgate could not be asked which tools to list; the list is withheld",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::batch_item::Outcome;

    fn decided(effect: pb::Effect) -> pb::BatchItem {
        pb::BatchItem {
            outcome: Some(Outcome::Decision(pb::AuthorizeResponse {
                effect: effect as i32,
                ..Default::default()
            })),
        }
    }

    fn failed(code: tonic::Code) -> pb::BatchItem {
        pb::BatchItem {
            outcome: Some(Outcome::Error(pb::ItemError {
                code: code as i32,
                field: "requests[0]".into(),
                message: "m".into(),
            })),
        }
    }

    #[test]
    fn only_deny_and_invalid_tools_are_left_out_and_no_answer_is_an_error() {
        assert_eq!(listed(&decided(pb::Effect::Allow)), Ok(true));
        assert_eq!(listed(&decided(pb::Effect::PendingApproval)), Ok(true));
        assert_eq!(listed(&decided(pb::Effect::Deny)), Ok(false));
        assert_eq!(listed(&decided(pb::Effect::Unspecified)), Ok(false));
        assert_eq!(listed(&failed(tonic::Code::InvalidArgument)), Ok(false));
        assert!(listed(&failed(tonic::Code::Unavailable)).is_err());
        assert!(listed(&pb::BatchItem { outcome: None }).is_err());
    }
}
