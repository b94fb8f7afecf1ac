//! Workflows as governance registers them: a DAG of model steps, its
//! checks on its face, and the record state keeps.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{check_name, ProposalError, ProposalId};
use crate::{amount::Amount, height::Height, state::VerificationMode};

/// Longest workflow or step name, in bytes.
pub const MAX_WORKFLOW_NAME_BYTES: usize = 64;
/// Most steps in one workflow.
pub const MAX_WORKFLOW_STEPS: usize = 64;
/// The most reassignments a workflow step may allow after missed timeouts.
pub const MAX_STEP_RETRIES: u32 = 16;

/// One step of a workflow DAG: a registered model run on the outputs of
/// earlier steps (or on the run's input when `inputs` is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStep {
    pub name: String,
    /// The model id; an upgraded model is followed to its successor.
    pub model: [u8; 32],
    /// Indices of earlier steps whose outputs this step consumes.
    pub inputs: Vec<u32>,
    /// How results of this step are verified.
    pub mode: VerificationMode,
    /// Blocks an assigned agent has to deliver the result.
    pub timeout_blocks: u64,
    /// Paid to the agent whose result finalizes.
    pub reward: Amount,
    /// The least agent bond an executor of this step must hold.
    #[serde(default)]
    pub min_bond: Amount,
    /// The least reputation score (ppm of the maximum) an executor of this
    /// step must have.
    #[serde(default)]
    pub min_reputation: u64,
    /// How many times the step is reassigned after a missed timeout before
    /// the run fails (at most [`MAX_STEP_RETRIES`]).
    #[serde(default)]
    pub retries: u32,
}

/// A workflow: a DAG of model steps, in topological order (each step only
/// consumes earlier steps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSpec {
    pub name: String,
    pub steps: Vec<WorkflowStep>,
}

impl WorkflowSpec {
    /// SHA-256 of the canonical encoding: what a run of this version refers to.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(crate::codec::encode(self)).into()
    }

    /// Stateless shape checks: names, step count, the DAG order, timeouts.
    /// Whether the models exist is checked against state when the proposal
    /// executes.
    pub fn check(&self) -> Result<(), ProposalError> {
        check_name("workflow name", &self.name)?;
        if self.steps.is_empty() || self.steps.len() > MAX_WORKFLOW_STEPS {
            return Err(ProposalError::BadWorkflow(format!(
                "a workflow has 1 ..= {MAX_WORKFLOW_STEPS} steps, this one has {}",
                self.steps.len()
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, step) in self.steps.iter().enumerate() {
            check_name("step name", &step.name)?;
            if !names.insert(step.name.as_str()) {
                return Err(ProposalError::BadWorkflow(format!(
                    "step name {:?} is used twice",
                    step.name
                )));
            }
            if let Some(bad) = step.inputs.iter().find(|&&j| j as usize >= i) {
                return Err(ProposalError::BadWorkflow(format!(
                    "step {i} ({}) consumes step {bad}: a step may only consume earlier steps",
                    step.name
                )));
            }
            if step.timeout_blocks == 0 {
                return Err(ProposalError::BadWorkflow(format!(
                    "step {i} ({}) has a zero timeout",
                    step.name
                )));
            }
            if step.retries > MAX_STEP_RETRIES {
                return Err(ProposalError::BadWorkflow(format!(
                    "step {i} ({}) allows {} retries, at most {MAX_STEP_RETRIES}",
                    step.name, step.retries
                )));
            }
            if step.min_reputation > crate::params::PPM {
                return Err(ProposalError::BadWorkflow(format!(
                    "step {i} ({}) asks for reputation {}, above the maximum score {}",
                    step.name,
                    step.min_reputation,
                    crate::params::PPM
                )));
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(dup) = step.inputs.iter().find(|j| !seen.insert(**j)) {
                return Err(ProposalError::BadWorkflow(format!(
                    "step {i} ({}) consumes step {dup} twice",
                    step.name
                )));
            }
        }
        Ok(())
    }
}

/// A registered workflow, by name; `version` counts updates from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRecord {
    pub spec: WorkflowSpec,
    pub version: u32,
    /// [`WorkflowSpec::hash`] of `spec`.
    pub spec_hash: [u8; 32],
    pub registered_height: Height,
    pub updated_height: Height,
    /// The proposal that registered or last updated it.
    pub proposal: ProposalId,
}
