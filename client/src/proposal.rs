//! Governance proposals from what a user writes, checked locally the way the
//! chain checks them: `module.name=VALUE` parameter changes, workflow files,
//! verification modes; and, once a proposal is on chain, what it needs next.
//!
//! Everything here is plain data with checked parsing: bad input is a
//! [`ProposalInputError`] naming the input and what is wrong, never a panic.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use synod_protocol::{
    governance::{
        Proposal, ProposalId, ProposalStatus, WorkflowSpec, WorkflowStep, MAX_WORKFLOW_STEPS,
    },
    params::{ChainParams, GovernanceParams, ParamChangeError},
    state::VerificationMode,
    Amount, Height,
};
use synod_zkml::ir::ModelId;

pub use synod_protocol::governance::ParamChange;

use crate::TxOutcome;

/// Why a proposal's input was refused before anything was sent.
#[derive(Debug, thiserror::Error)]
pub enum ProposalInputError {
    /// A `--set` argument is not `module.name=VALUE`.
    #[error("bad --set {input:?}: {reason}")]
    BadSet { input: String, reason: String },
    /// A parameter change the chain would refuse, in the chain's words
    /// (`error` is [`ChainParams::with_change`]'s).
    #[error("invalid parameter change: {error}{}", hint.as_deref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    ParamChange {
        change: Box<ParamChange>,
        error: Box<ParamChangeError>,
        hint: Option<String>,
    },
    /// A verification mode that is not `zk` or `optimistic`.
    #[error("unknown verification mode {0:?}; modes: zk, optimistic")]
    BadMode(String),
    /// A workflow file that is not a well-formed workflow.
    #[error("workflow file {origin}: {reason}")]
    Workflow { origin: String, reason: String },
}

/// The JSON text of a `--set` value: `raw` itself when it is JSON (`50`,
/// `true`, `"5000"`), else `raw` as a JSON string (`5000syn` -> `"5000syn"`).
pub fn param_value_json(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(json) => json.to_string(),
        Err(_) => Value::String(raw.to_string()).to_string(),
    }
}

/// Parses `module.name=VALUE` (VALUE as [`param_value_json`] says). Splits
/// at the first `=` and the first `.`, so a value may contain either.
pub fn parse_param_set(input: &str) -> Result<ParamChange, ProposalInputError> {
    let bad = |reason: &str| ProposalInputError::BadSet {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (key, raw) = input
        .split_once('=')
        .ok_or_else(|| bad("expected module.name=VALUE, e.g. staking.max_validators=50"))?;
    let (module, name) = key
        .trim()
        .split_once('.')
        .ok_or_else(|| bad("expected module.name before '=', e.g. governance.min_deposit"))?;
    if module.is_empty() || name.is_empty() {
        return Err(bad(
            "expected module.name before '=', e.g. governance.min_deposit",
        ));
    }
    Ok(ParamChange {
        module: module.to_string(),
        name: name.to_string(),
        value: param_value_json(raw),
    })
}

/// `params` with every change applied (unknown module or parameter and wrong
/// type named per change), then every bound checked once over all of them,
/// as the chain applies them ([`ChainParams::with_changes`]): the order of
/// the changes does not matter.
pub fn apply_param_changes(
    params: &ChainParams,
    changes: &[ParamChange],
) -> Result<ChainParams, ProposalInputError> {
    // Each change names a parameter and has its type; the bounds are then
    // checked once over all of them, as the chain does.
    let mut changed = params.clone();
    for change in changes {
        changed = changed
            .set_unchecked(&change.module, &change.name, &change.value)
            .map_err(|error| ProposalInputError::ParamChange {
                hint: change_hint(&changed, change, &error),
                change: Box::new(change.clone()),
                error: Box::new(error),
            })?;
    }
    params.with_changes(changes).map_err(|error| {
        // Name the change whose parameter breaks a bound (the last one if
        // the broken bound is on a parameter none of them set).
        let culprit = match &error {
            ParamChangeError::OutOfBounds(bound) => changes
                .iter()
                .find(|c| c.module == bound.module && c.name == bound.name),
            _ => None,
        }
        .or(changes.last())
        .cloned()
        .unwrap_or(ParamChange {
            module: String::new(),
            name: String::new(),
            value: String::new(),
        });
        ProposalInputError::ParamChange {
            hint: change_hint(&changed, &culprit, &error),
            change: Box::new(culprit),
            error: Box::new(error),
        }
    })
}

/// A hint for the usual mistakes: an amount given as a bare number (amounts
/// are JSON strings), and a bound across fields.
fn change_hint(
    params: &ChainParams,
    change: &ParamChange,
    error: &ParamChangeError,
) -> Option<String> {
    let current = params.value_of(&change.module, &change.name);
    match error {
        ParamChangeError::WrongType { .. }
            if current.as_deref().is_some_and(|c| c.starts_with('"'))
                && serde_json::from_str::<u128>(&change.value).is_ok() =>
        {
            Some(format!(
                "{}.{} is an amount: give it with a unit, e.g. --set {}.{}={}usyn",
                change.module, change.name, change.module, change.name, change.value
            ))
        }
        // A rule that names a parameter (`< voting_blocks`) is a bound across fields.
        ParamChangeError::OutOfBounds(e) if e.rule.contains('_') => Some(format!(
            "{}.{} is bounded by another parameter ({}): change both in the same proposal (another --set)",
            e.module, e.name, e.rule
        )),
        _ => None,
    }
}

/// A verification mode by name: `zk` or `optimistic` (any case).
pub fn parse_mode(s: &str) -> Result<VerificationMode, ProposalInputError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "zk" => Ok(VerificationMode::Zk),
        "optimistic" => Ok(VerificationMode::Optimistic),
        _ => Err(ProposalInputError::BadMode(s.to_string())),
    }
}

/// The name [`parse_mode`] reads.
pub fn mode_name(mode: VerificationMode) -> &'static str {
    mode.as_str()
}

/// A workflow as people write it (`register-workflow FILE.json`):
///
/// ```json
/// {"name": "digits",
///  "steps": [{"name": "classify", "model": "<64 hex digits>", "inputs": [],
///             "mode": "zk", "timeout_blocks": 20, "reward": "1syn"}]}
/// ```
///
/// `inputs` (indices of earlier steps, whose outputs are concatenated in
/// this order; default none: the run's input) may be left out; `reward` is
/// an amount (`"1syn"`, `"5000usyn"`) or a number of usyn. Optional:
/// `min_bond` (an amount), `min_reputation` (ppm of the maximum score) and
/// `retries` (reassignments after a missed timeout), each 0 by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFile {
    pub name: String,
    pub steps: Vec<WorkflowFileStep>,
}

/// One step of a [`WorkflowFile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFileStep {
    pub name: String,
    /// The model id, 64 hex digits.
    pub model: String,
    #[serde(default)]
    pub inputs: Vec<u32>,
    /// `zk` or `optimistic`.
    pub mode: String,
    pub timeout_blocks: u64,
    /// An amount string, or a JSON number of usyn.
    pub reward: Value,
    /// The least agent bond an executor must hold (an amount; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bond: Option<Value>,
    /// The least reputation (ppm of the maximum) an executor must have.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_reputation: u64,
    /// Reassignments after missed timeouts before the run fails.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

impl WorkflowFile {
    /// Reads and converts a workflow file; see [`WorkflowFile::parse`].
    pub fn read(path: &std::path::Path) -> Result<WorkflowSpec, ProposalInputError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProposalInputError::Workflow {
            origin: origin.clone(),
            reason: format!("cannot read it: {e}"),
        })?;
        WorkflowFile::parse(&text, &origin)
    }

    /// Parses workflow JSON (`origin` names it in errors), converts it to a
    /// [`WorkflowSpec`] and checks it with [`WorkflowSpec::check`].
    pub fn parse(text: &str, origin: &str) -> Result<WorkflowSpec, ProposalInputError> {
        let bad = |reason: String| ProposalInputError::Workflow {
            origin: origin.to_string(),
            reason,
        };
        let file: WorkflowFile = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "{e} (expected {{\"name\": ..., \"steps\": [{{\"name\", \"model\", \"inputs\", \"mode\", \"timeout_blocks\", \"reward\"}}, ...]}})"
            ))
        })?;
        let spec = file.to_spec().map_err(bad)?;
        spec.check().map_err(|e| bad(e.to_string()))?;
        Ok(spec)
    }

    /// The wire form of this workflow. Checks each step's model id, mode and
    /// reward; not the shape of the DAG ([`WorkflowSpec::check`] does).
    pub fn to_spec(&self) -> Result<WorkflowSpec, String> {
        if self.steps.len() > MAX_WORKFLOW_STEPS {
            return Err(format!(
                "a workflow has at most {MAX_WORKFLOW_STEPS} steps, this one has {}",
                self.steps.len()
            ));
        }
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let at = |what: &str, e: String| format!("step {i} ({}): {what}: {e}", step.name);
                let model = step
                    .model
                    .trim()
                    .parse::<ModelId>()
                    .map_err(|e| at("model", e.to_string()))?;
                let mode = parse_mode(&step.mode).map_err(|e| at("mode", e.to_string()))?;
                let reward = reward_amount(&step.reward).map_err(|e| at("reward", e))?;
                let min_bond = match &step.min_bond {
                    Some(v) => reward_amount(v).map_err(|e| at("min_bond", e))?,
                    None => Amount::ZERO,
                };
                Ok(WorkflowStep {
                    name: step.name.clone(),
                    model: model.0,
                    inputs: step.inputs.clone(),
                    mode,
                    timeout_blocks: step.timeout_blocks,
                    reward,
                    min_bond,
                    min_reputation: step.min_reputation,
                    retries: step.retries,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(WorkflowSpec {
            name: self.name.clone(),
            steps,
        })
    }

    /// The file form of a spec (what `query workflow` prints, and what
    /// `update-workflow` reads back).
    pub fn from_spec(spec: &WorkflowSpec) -> WorkflowFile {
        WorkflowFile {
            name: spec.name.clone(),
            steps: spec
                .steps
                .iter()
                .map(|s| WorkflowFileStep {
                    name: s.name.clone(),
                    model: hex::encode(s.model),
                    inputs: s.inputs.clone(),
                    mode: mode_name(s.mode).to_string(),
                    timeout_blocks: s.timeout_blocks,
                    reward: Value::String(s.reward.to_string()),
                    min_bond: (!s.min_bond.is_zero())
                        .then(|| Value::String(s.min_bond.to_string())),
                    min_reputation: s.min_reputation,
                    retries: s.retries,
                })
                .collect(),
        }
    }
}

fn reward_amount(reward: &Value) -> Result<Amount, String> {
    match reward {
        Value::String(s) => s.parse::<Amount>().map_err(|e| e.to_string()),
        Value::Number(n) => n
            .as_u64()
            .map(|usyn| Amount(u128::from(usyn)))
            .ok_or_else(|| format!("{n} is not a whole number of usyn")),
        other => Err(format!(
            "{other} is not an amount: write \"1syn\", \"5000usyn\" or a number of usyn"
        )),
    }
}

/// The id of the proposal a `Propose` tx created: the `proposal` attribute
/// of its `proposal_submitted` event.
pub fn submitted_proposal_id(outcome: &TxOutcome) -> Option<ProposalId> {
    outcome
        .events
        .iter()
        .filter(|(kind, _)| kind == "proposal_submitted")
        .flat_map(|(_, attrs)| attrs)
        .find(|(key, _)| key == "proposal")
        .and_then(|(_, value)| value.parse().ok())
}

/// What a proposal needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// `missing` more in deposits by the end of block `by_height`, or it expires.
    Deposits { missing: Amount, by_height: Height },
    /// Votes until the end of block `until_height`, when it is tallied.
    Votes { until_height: Option<Height> },
    /// Nothing: it ended with `status`.
    Ended {
        status: ProposalStatus,
        outcome: Option<String>,
    },
}

impl NextStep {
    /// Where `p` stands under the governance parameters `gov`.
    pub fn of(p: &Proposal, gov: &GovernanceParams) -> NextStep {
        match p.status {
            ProposalStatus::DepositPeriod => NextStep::Deposits {
                missing: gov
                    .required_deposit(p.expedited)
                    .checked_sub(p.total_deposit)
                    .unwrap_or(Amount::ZERO),
                by_height: p.deposit_end_height,
            },
            ProposalStatus::VotingPeriod => NextStep::Votes {
                until_height: p.voting_end_height,
            },
            status => NextStep::Ended {
                status,
                outcome: p.outcome.clone(),
            },
        }
    }

    /// One line for people, naming the command that moves it on.
    pub fn describe(&self, id: ProposalId) -> String {
        match self {
            NextStep::Deposits { missing, by_height } => format!(
                "needs {} more in deposits by height {by_height} (`synod gov deposit {id} AMOUNT --from KEY`), or it expires",
                missing.to_syn_string()
            ),
            NextStep::Votes {
                until_height: Some(h),
            } => format!(
                "open for votes until height {h} (`synod gov vote {id} yes|no|abstain|no_with_veto --from KEY`)"
            ),
            NextStep::Votes { until_height: None } => format!(
                "open for votes (`synod gov vote {id} yes|no|abstain|no_with_veto --from KEY`)"
            ),
            NextStep::Ended {
                status,
                outcome: Some(o),
            } => format!("ended: {status} ({o})"),
            NextStep::Ended {
                status,
                outcome: None,
            } => format!("ended: {status}"),
        }
    }
}

#[cfg(test)]
mod tests;
