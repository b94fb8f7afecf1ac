//! Governance wire types: what a proposal can ask for, its record and
//! lifecycle, votes, and the tally rule every node applies.
//!
//! A proposal is submitted with a deposit, collects deposits until it reaches
//! `min_deposit` (deposit period), is voted on by bonded stake (voting period),
//! and is then tallied: quorum of all bonded stake, veto share of the votes,
//! then the yes threshold of the non-abstaining votes. A proposal that passes
//! is executed atomically: it changes everything it asks for, or nothing and
//! is marked failed with the reason.

pub mod admission;
mod tally;
mod workflow;

pub use tally::{Tally, TallyOutcome};
pub use workflow::{
    WorkflowRecord, WorkflowSpec, WorkflowStep, MAX_STEP_RETRIES, MAX_WORKFLOW_NAME_BYTES,
    MAX_WORKFLOW_STEPS,
};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, height::Height, state::VerificationMode};

/// Proposal ids count up from 1.
pub type ProposalId = u64;

/// Longest proposal title, in bytes.
pub const MAX_TITLE_BYTES: usize = 140;
/// Longest proposal summary, in bytes.
pub const MAX_SUMMARY_BYTES: usize = 4096;
/// Most parameter changes in one proposal.
pub const MAX_PARAM_CHANGES: usize = 32;
/// Longest grace period of a model upgrade, in blocks.
pub const MAX_GRACE_BLOCKS: u64 = 10_000_000;

/// A vote. A later vote by the same voter replaces the earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteOption {
    Yes,
    No,
    Abstain,
    /// A no that also burns the deposits when it reaches the veto share.
    NoWithVeto,
}

impl VoteOption {
    pub const ALL: [VoteOption; 4] = [
        VoteOption::Yes,
        VoteOption::No,
        VoteOption::Abstain,
        VoteOption::NoWithVeto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VoteOption::Yes => "yes",
            VoteOption::No => "no",
            VoteOption::Abstain => "abstain",
            VoteOption::NoWithVeto => "no_with_veto",
        }
    }
}

impl fmt::Display for VoteOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A vote option that is not one of the four.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown vote option {0:?}; options: yes, no, abstain, no_with_veto (or veto)")]
pub struct VoteOptionError(pub String);

impl FromStr for VoteOption {
    type Err = VoteOptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "yes" => Ok(VoteOption::Yes),
            "no" => Ok(VoteOption::No),
            "abstain" => Ok(VoteOption::Abstain),
            "no_with_veto" | "veto" | "nowithveto" => Ok(VoteOption::NoWithVeto),
            _ => Err(VoteOptionError(s.to_string())),
        }
    }
}

/// One parameter to change: `module.name = value`, the value as JSON text in
/// the form the genesis file uses (`"25"`, `"\"5000000\""` for an amount).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamChange {
    pub module: String,
    pub name: String,
    pub value: String,
}

impl fmt::Display for ParamChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} = {}", self.module, self.name, self.value)
    }
}

/// What a proposal asks for. The order of the variants is part of the wire
/// format: append only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalKind {
    /// Register a model: `model` is a `.synod-model` file.
    RegisterModel {
        model: Vec<u8>,
        modes: Vec<VerificationMode>,
    },
    /// Register `model` as the new version of `previous`, which stays
    /// accepted for `grace_blocks` more blocks and is then retired.
    UpgradeModel {
        previous: [u8; 32],
        model: Vec<u8>,
        modes: Vec<VerificationMode>,
        grace_blocks: u64,
    },
    /// Retire a model at once.
    RetireModel { model: [u8; 32] },
    /// Register a new workflow under its name.
    RegisterWorkflow { workflow: WorkflowSpec },
    /// Replace the spec of a registered workflow (same name, next version).
    UpdateWorkflow { workflow: WorkflowSpec },
    /// Change chain parameters; all of them or none.
    ParamChange { changes: Vec<ParamChange> },
    /// Pay `amount` from the community treasury to `recipient`.
    TreasurySpend { recipient: Address, amount: Amount },
    /// A signal with no effect on state.
    Text,
}

impl ProposalKind {
    /// A short stable name, used in events and listings.
    pub fn name(&self) -> &'static str {
        match self {
            ProposalKind::RegisterModel { .. } => "register_model",
            ProposalKind::UpgradeModel { .. } => "upgrade_model",
            ProposalKind::RetireModel { .. } => "retire_model",
            ProposalKind::RegisterWorkflow { .. } => "register_workflow",
            ProposalKind::UpdateWorkflow { .. } => "update_workflow",
            ProposalKind::ParamChange { .. } => "param_change",
            ProposalKind::TreasurySpend { .. } => "treasury_spend",
            ProposalKind::Text => "text",
        }
    }

    /// One line saying what the proposal does.
    pub fn describe(&self) -> String {
        match self {
            ProposalKind::RegisterModel { model, modes } => format!(
                "register a model ({} bytes, modes {})",
                model.len(),
                modes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            ProposalKind::UpgradeModel {
                previous,
                model,
                grace_blocks,
                ..
            } => format!(
                "upgrade model {} to a new version ({} bytes); the old one retires {grace_blocks} blocks later",
                hex::encode(previous),
                model.len()
            ),
            ProposalKind::RetireModel { model } => format!("retire model {}", hex::encode(model)),
            ProposalKind::RegisterWorkflow { workflow } => format!(
                "register workflow {:?} ({} steps)",
                workflow.name,
                workflow.steps.len()
            ),
            ProposalKind::UpdateWorkflow { workflow } => format!(
                "update workflow {:?} ({} steps)",
                workflow.name,
                workflow.steps.len()
            ),
            ProposalKind::ParamChange { changes } => format!(
                "change {}",
                changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ProposalKind::TreasurySpend { recipient, amount } => {
                format!("pay {amount} from the treasury to {recipient}")
            }
            ProposalKind::Text => "text (no state change)".into(),
        }
    }

    /// Stateless checks of the payload's shape.
    pub fn check(&self) -> Result<(), ProposalError> {
        let modes_ok = |modes: &[VerificationMode]| {
            if modes.is_empty() {
                Err(ProposalError::NoModes)
            } else {
                Ok(())
            }
        };
        match self {
            ProposalKind::RegisterModel { model, modes } => {
                modes_ok(modes)?;
                if model.is_empty() {
                    return Err(ProposalError::EmptyModel);
                }
            }
            ProposalKind::UpgradeModel {
                model,
                modes,
                grace_blocks,
                ..
            } => {
                modes_ok(modes)?;
                if model.is_empty() {
                    return Err(ProposalError::EmptyModel);
                }
                if *grace_blocks > MAX_GRACE_BLOCKS {
                    return Err(ProposalError::GraceTooLong {
                        got: *grace_blocks,
                        max: MAX_GRACE_BLOCKS,
                    });
                }
            }
            ProposalKind::RegisterWorkflow { workflow }
            | ProposalKind::UpdateWorkflow { workflow } => workflow.check()?,
            ProposalKind::ParamChange { changes } => {
                if changes.is_empty() || changes.len() > MAX_PARAM_CHANGES {
                    return Err(ProposalError::ParamChangeCount {
                        got: changes.len(),
                        max: MAX_PARAM_CHANGES,
                    });
                }
            }
            ProposalKind::TreasurySpend { amount, .. } => {
                if amount.is_zero() {
                    return Err(ProposalError::ZeroSpend);
                }
            }
            ProposalKind::RetireModel { .. } | ProposalKind::Text => {}
        }
        Ok(())
    }
}

/// A payload that is malformed on its face.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProposalError {
    #[error("proposal title must be 1 ..= {MAX_TITLE_BYTES} bytes without control characters")]
    BadTitle,
    #[error("proposal summary must be at most {MAX_SUMMARY_BYTES} bytes")]
    SummaryTooLong,
    #[error("the proposal lists no verification mode for the model")]
    NoModes,
    #[error("the proposal carries an empty model file")]
    EmptyModel,
    #[error("grace period {got} blocks is longer than the limit {max}")]
    GraceTooLong { got: u64, max: u64 },
    #[error("a parameter change proposal changes 1 ..= {max} parameters, this one {got}")]
    ParamChangeCount { got: usize, max: usize },
    #[error("a treasury spend must pay more than zero")]
    ZeroSpend,
    #[error(
        "bad {what} {name:?}: 1 ..= {MAX_WORKFLOW_NAME_BYTES} bytes of a-z, 0-9, '-', '_' or '.'"
    )]
    BadName { what: &'static str, name: String },
    #[error("bad workflow: {0}")]
    BadWorkflow(String),
}

fn check_name(what: &'static str, name: &str) -> Result<(), ProposalError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_WORKFLOW_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ProposalError::BadName {
            what,
            name: name.to_string(),
        })
    }
}

/// Checks a proposal's title and summary.
pub fn check_text(title: &str, summary: &str) -> Result<(), ProposalError> {
    if title.trim().is_empty()
        || title.len() > MAX_TITLE_BYTES
        || title.chars().any(char::is_control)
    {
        return Err(ProposalError::BadTitle);
    }
    if summary.len() > MAX_SUMMARY_BYTES {
        return Err(ProposalError::SummaryTooLong);
    }
    Ok(())
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Collecting deposits until `min_deposit`.
    DepositPeriod,
    /// Open for votes until `voting_end_height`.
    VotingPeriod,
    /// Passed and executed.
    Passed,
    /// Not passed: threshold missed, vetoed or quorum failed (see `outcome`).
    Rejected,
    /// Passed, but executing it failed; nothing changed (see `outcome`).
    Failed,
    /// The deposit period ended before the deposits reached the minimum.
    Expired,
}

impl ProposalStatus {
    pub const ALL: [ProposalStatus; 6] = [
        ProposalStatus::DepositPeriod,
        ProposalStatus::VotingPeriod,
        ProposalStatus::Passed,
        ProposalStatus::Rejected,
        ProposalStatus::Failed,
        ProposalStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::DepositPeriod => "deposit_period",
            ProposalStatus::VotingPeriod => "voting_period",
            ProposalStatus::Passed => "passed",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Failed => "failed",
            ProposalStatus::Expired => "expired",
        }
    }

    /// Still collecting deposits or votes.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            ProposalStatus::DepositPeriod | ProposalStatus::VotingPeriod
        )
    }
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of the six.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown proposal status {0:?}; statuses: deposit_period, voting_period, passed, rejected, failed, expired (or deposit, voting)")]
pub struct ProposalStatusError(pub String);

impl FromStr for ProposalStatus {
    type Err = ProposalStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s2 = s.to_ascii_lowercase().replace('-', "_");
        match s2.as_str() {
            "deposit" => return Ok(ProposalStatus::DepositPeriod),
            "voting" => return Ok(ProposalStatus::VotingPeriod),
            _ => {}
        }
        ProposalStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s2)
            .ok_or_else(|| ProposalStatusError(s.to_string()))
    }
}

/// What happened to a proposal's deposits when it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositFate {
    /// Still held (the proposal is in flight).
    Held,
    Refunded,
    Burned,
}

/// A proposal and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: ProposalId,
    pub proposer: Address,
    pub kind: ProposalKind,
    pub title: String,
    pub summary: String,
    /// Shorter voting period, higher threshold; falls back to a regular
    /// proposal if it misses the expedited threshold (then `false`, and
    /// `expedited_until` says when).
    pub expedited: bool,
    /// The height at which an expedited proposal that did not pass became a
    /// regular one.
    pub expedited_until: Option<Height>,
    pub status: ProposalStatus,
    pub submit_height: Height,
    /// Last height at which deposits are accepted before the voting period.
    pub deposit_end_height: Height,
    pub total_deposit: Amount,
    pub voting_start_height: Option<Height>,
    /// The proposal is tallied at the end of this block.
    pub voting_end_height: Option<Height>,
    /// The tally that decided it.
    pub final_tally: Option<Tally>,
    /// Why it ended as it did, in words.
    pub outcome: Option<String>,
    pub deposits: DepositFate,
}

impl Proposal {
    /// The proposal without its payload (a model file can be tens of KB):
    /// what `/proposals` lists.
    pub fn summary(&self) -> ProposalSummary {
        ProposalSummary {
            id: self.id,
            proposer: self.proposer,
            kind: self.kind.name().to_string(),
            description: self.kind.describe(),
            title: self.title.clone(),
            expedited: self.expedited,
            status: self.status,
            submit_height: self.submit_height,
            deposit_end_height: self.deposit_end_height,
            total_deposit: self.total_deposit,
            voting_end_height: self.voting_end_height,
            outcome: self.outcome.clone(),
        }
    }
}

/// A proposal as listed: everything but its payload, summary and tally
/// (`/proposal/{id}` has them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalSummary {
    pub id: ProposalId,
    pub proposer: Address,
    /// [`ProposalKind::name`].
    pub kind: String,
    /// [`ProposalKind::describe`].
    pub description: String,
    pub title: String,
    pub expedited: bool,
    pub status: ProposalStatus,
    pub submit_height: Height,
    pub deposit_end_height: Height,
    pub total_deposit: Amount,
    pub voting_end_height: Option<Height>,
    pub outcome: Option<String>,
}

/// A voter's current vote on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    pub voter: Address,
    pub option: VoteOption,
    pub height: Height,
}

/// A depositor's total deposit on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    pub depositor: Address,
    pub amount: Amount,
}

#[cfg(test)]
mod tests;
