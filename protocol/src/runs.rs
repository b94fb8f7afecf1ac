//! Workflow runs: a requester's escrowed execution of a registered
//! workflow, its steps assigned to agents and proven one by one, until the
//! run is verified (every step final) or fails.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{address::Address, amount::Amount, height::Height};

/// Domain tag of [`workflow_hash`].
pub const WORKFLOW_HASH_DOMAIN: &[u8] = b"synod-workflow-verified/v1\0";

/// A run, keyed by its id (a counter from 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: u64,
    pub workflow: String,
    /// The workflow version the run is pinned to.
    pub version: u32,
    /// That version's steps, pinned: a later `UpdateWorkflow` never changes
    /// a run in flight.
    pub spec: crate::governance::WorkflowSpec,
    /// The spec hash of that version.
    pub spec_hash: [u8; 32],
    /// The model each step runs, pinned at submission (upgrades followed
    /// then, never after).
    pub models: Vec<[u8; 32]>,
    pub submitter: Address,
    /// The run's input (int8 values), what every step without inputs reads.
    pub input: Vec<i32>,
    /// What the submitter escrowed.
    pub budget: Amount,
    /// What the escrow still holds.
    pub escrow: Amount,
    pub steps: Vec<StepRun>,
    pub status: RunStatus,
    pub submitted_height: Height,
}

impl RunRecord {
    /// Whether the run still takes results.
    pub fn is_running(&self) -> bool {
        self.status == RunStatus::Running
    }

    /// The input step `i` reads: the run's input for a step without
    /// inputs, else its producers' outputs concatenated in the order listed
    /// (a producer not final yet contributes nothing).
    pub fn step_input(&self, i: usize) -> Vec<i32> {
        let Some(spec) = self.spec.steps.get(i) else {
            return Vec::new();
        };
        if spec.inputs.is_empty() {
            return self.input.clone();
        }
        spec.inputs
            .iter()
            .flat_map(|&j| match self.steps.get(j as usize).map(|s| &s.status) {
                Some(StepStatus::Final { output, .. }) => output.clone(),
                _ => Vec::new(),
            })
            .collect()
    }
}

/// Where a run stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Steps are being executed.
    Running,
    /// Every step is final: the paper's `WorkflowVerified`.
    Verified {
        workflow_hash: [u8; 32],
        /// The executor whose result completed the run.
        verifier: Address,
        height: Height,
    },
    /// A step ran out of retries, or no agent could take it; the rest of
    /// the escrow went back to the submitter.
    Failed {
        step: u32,
        reason: String,
        height: Height,
    },
}

/// One step of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRun {
    pub status: StepStatus,
    /// Assignments so far (the first one included).
    pub attempts: u32,
    /// Every agent assigned to it so far, in order.
    pub executors: Vec<Address>,
}

/// Where a step stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    /// Its inputs are not final yet.
    Waiting,
    /// `agent` must deliver its result by the end of block `deadline`.
    Assigned { agent: Address, deadline: Height },
    /// Its result is final.
    Final {
        agent: Address,
        output: Vec<i32>,
        height: Height,
    },
    /// An optimistic result, open to challenge until the end of block
    /// `window_end`, then final once every dispute on it is settled for
    /// `agent`. The run holds `bond` until then.
    Asserted {
        agent: Address,
        output: Vec<i32>,
        trace_root: [u8; 32],
        bond: Amount,
        window_end: Height,
        /// Disputes on this result not settled yet.
        open_disputes: u32,
        /// Challenges ever opened on this result.
        challenges: u32,
    },
}

/// The id of a verified execution: SHA-256 over the spec hash, the version,
/// the run id, the input and every step's output (each length-prefixed),
/// under [`WORKFLOW_HASH_DOMAIN`]. `/verified/{workflow_hash}` answers it.
pub fn workflow_hash(
    spec_hash: &[u8; 32],
    version: u32,
    run: u64,
    input: &[i32],
    outputs: &[&[i32]],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(WORKFLOW_HASH_DOMAIN);
    h.update(spec_hash);
    h.update(version.to_be_bytes());
    h.update(run.to_be_bytes());
    for tensor in std::iter::once(input).chain(outputs.iter().copied()) {
        h.update((tensor.len() as u64).to_be_bytes());
        for v in tensor {
            h.update(v.to_be_bytes());
        }
    }
    h.finalize().into()
}

/// The record `/verified/{workflow_hash}` proves: the paper's
/// `verifiedWorkflows[workflowHash]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedWorkflow {
    pub workflow: String,
    pub version: u32,
    pub run: u64,
    pub verifier: Address,
    pub height: Height,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_hash_covers_every_part() {
        let base = workflow_hash(&[1; 32], 1, 7, &[1, 2], &[&[3], &[4, 5]]);
        assert_ne!(
            base,
            workflow_hash(&[2; 32], 1, 7, &[1, 2], &[&[3], &[4, 5]])
        );
        assert_ne!(
            base,
            workflow_hash(&[1; 32], 2, 7, &[1, 2], &[&[3], &[4, 5]])
        );
        assert_ne!(
            base,
            workflow_hash(&[1; 32], 1, 8, &[1, 2], &[&[3], &[4, 5]])
        );
        assert_ne!(
            base,
            workflow_hash(&[1; 32], 1, 7, &[1, 2], &[&[3, 4], &[5]])
        );
        assert_ne!(
            base,
            workflow_hash(&[1; 32], 1, 7, &[1], &[&[2, 3], &[4, 5]])
        );
        assert_eq!(
            base,
            workflow_hash(&[1; 32], 1, 7, &[1, 2], &[&[3], &[4, 5]])
        );
    }
}
