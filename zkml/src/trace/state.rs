//! State roots for the bisection game, and the one-step transition check.
//!
//! The state after step `i` of an execution is every tensor written so far:
//! its root `S_i` is the Merkle root over the trace's leaves `0 ..= i`
//! followed by [`EMPTY_LEAF`] up to the trace's full length (`nodes + 1`
//! leaves). So `S_0` is the input alone, `S_nodes` is the trace root, and two
//! parties that agree on `S_i` agree on every tensor before and at `i` (a
//! node may read any of them, not only the last).
//!
//! A dispute bisects over these roots until the parties agree on `S_lo` and
//! disagree on `S_{lo+1}`; then [`verify_transition`] re-executes node `lo`
//! on the tensors it reads (proven against `S_lo`), puts the true output
//! leaf in slot `lo + 1` (proven empty in `S_lo`, so the siblings are the
//! ones `S_{lo+1}` has there) and says whether that gives the asserted
//! `S_{lo+1}`.

use serde::{Deserialize, Serialize};

use super::{tensor_leaf, ProvenTensor, StepError, Trace, TraceRoot};
use crate::interp::{execute_node, Tensor};
use crate::ir::{Model, TensorId};
use crate::merkle::{self, MerkleError, MerkleProof};

/// The leaf of a slot not written yet. No tensor leaf is all zeros (it is a
/// SHA-256 output), so an empty slot never passes for a written one.
pub const EMPTY_LEAF: [u8; 32] = [0; 32];

/// Everything the chain needs, besides the model, to settle one transition
/// `S_step -> S_{step+1}`: the tensors node `step` reads, each proven
/// against `S_step`, and the proof that slot `step + 1` is empty in `S_step`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionWitness {
    pub step: u32,
    pub inputs: Vec<ProvenTensor>,
    pub slot_proof: MerkleProof,
}

/// The outcome of re-executing one transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionVerdict {
    /// The asserted post-state root is the true one.
    Correct,
    /// The true output of the node hashes to `expected`, which does not give
    /// the asserted post-state root.
    Incorrect { expected: [u8; 32] },
}

/// The leaves of state `upto`: leaves `0 ..= upto`, then empty slots up to
/// `leaf_count`.
fn padded(leaves: &[[u8; 32]], upto: usize, leaf_count: usize) -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = leaves.iter().take(upto + 1).copied().collect();
    out.resize(leaf_count, EMPTY_LEAF);
    out
}

/// The root of the state holding only `input_leaf`, in a trace of
/// `leaf_count` leaves: `S_0`, which the chain computes itself.
pub fn initial_state_root(input_leaf: &[u8; 32], leaf_count: usize) -> TraceRoot {
    TraceRoot(merkle::root(&padded(&[*input_leaf], 0, leaf_count.max(1))))
}

impl Trace {
    /// `S_upto`: the root over leaves `0 ..= upto`, the rest empty. `None`
    /// past the last leaf. `S_last` is [`Trace::root`].
    pub fn state_root(&self, upto: usize) -> Option<TraceRoot> {
        let n = self.leaves.len();
        (upto < n).then(|| TraceRoot(merkle::root(&padded(&self.leaves, upto, n))))
    }

    /// The proof of slot `index` in `S_upto` (an empty slot past `upto`).
    pub fn state_proof(&self, upto: usize, index: usize) -> Option<MerkleProof> {
        let n = self.leaves.len();
        if upto >= n {
            return None;
        }
        merkle::proof(&padded(&self.leaves, upto, n), index)
    }

    /// The witness of transition `step -> step + 1` of an execution whose
    /// tensors are `tensors`, for the node `model.nodes[step]`.
    pub fn transition_witness(
        &self,
        model: &Model,
        tensors: &[Tensor],
        step: usize,
    ) -> Result<TransitionWitness, StepError> {
        let nodes = model.nodes.len();
        let (Some(node), Ok(step_u32)) = (model.nodes.get(step), u32::try_from(step)) else {
            return Err(StepError::StepOutOfRange { step, nodes });
        };
        if tensors.len() != nodes + 1 || self.leaves.len() != nodes + 1 {
            return Err(StepError::ExecutionMismatch {
                expected: nodes + 1,
                got: tensors.len(),
            });
        }
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &id in &node.inputs {
            let index = id.0 as usize;
            if index > step {
                return Err(StepError::ReadsLater { step, input: id });
            }
            let proof = self
                .state_proof(step, index)
                .ok_or(StepError::ReadsLater { step, input: id })?;
            inputs.push(ProvenTensor {
                id,
                tensor: tensors[index].clone(),
                proof,
            });
        }
        let slot_proof = self
            .state_proof(step, step + 1)
            .ok_or(StepError::StepOutOfRange { step, nodes })?;
        Ok(TransitionWitness {
            step: step_u32,
            inputs,
            slot_proof,
        })
    }
}

/// Settles the transition `pre = S_step -> post = S_{step+1}` of an
/// execution of `model`: checks the witness's tensors are the ones node
/// `step` reads and are in `pre`, and that slot `step + 1` is empty in
/// `pre`; then runs the node and says whether its true output, in that slot,
/// gives `post`. A witness that does not fit `pre` is an error, never a
/// verdict.
pub fn verify_transition(
    model: &Model,
    pre: &TraceRoot,
    post: &TraceRoot,
    witness: &TransitionWitness,
) -> Result<TransitionVerdict, StepError> {
    let step = witness.step as usize;
    let nodes = model.nodes.len();
    let node = model
        .nodes
        .get(step)
        .ok_or(StepError::StepOutOfRange { step, nodes })?;
    let leaf_count = nodes as u64 + 1;
    let got: Vec<TensorId> = witness.inputs.iter().map(|p| p.id).collect();
    if got != node.inputs {
        return Err(StepError::InputIds {
            step,
            expected: node.inputs.clone(),
            got,
        });
    }
    let count = |what: String, proof: &MerkleProof| {
        if proof.leaf_count == leaf_count {
            Ok(())
        } else {
            Err(StepError::LeafCount {
                step,
                what,
                expected: leaf_count,
                got: proof.leaf_count,
            })
        }
    };
    for input in &witness.inputs {
        if input.id.0 as usize > step {
            return Err(StepError::ReadsLater {
                step,
                input: input.id,
            });
        }
        count(format!("input {}", input.id), &input.proof)?;
        merkle::verify(
            &pre.0,
            u64::from(input.id.0),
            &tensor_leaf(&input.tensor),
            &input.proof,
        )
        .map_err(|source| StepError::InputProof {
            step,
            tensor: input.id,
            source,
        })?;
    }
    count("slot".to_owned(), &witness.slot_proof)?;
    merkle::verify(&pre.0, step as u64 + 1, &EMPTY_LEAF, &witness.slot_proof)
        .map_err(|source| StepError::OutputProof { step, source })?;
    let inputs: Vec<&Tensor> = witness.inputs.iter().map(|p| &p.tensor).collect();
    let expected = tensor_leaf(&execute_node(step, node, &inputs)?);
    Ok(
        match merkle::verify(&post.0, step as u64 + 1, &expected, &witness.slot_proof) {
            Ok(()) => TransitionVerdict::Correct,
            Err(MerkleError::RootMismatch { .. }) => TransitionVerdict::Incorrect { expected },
            Err(source) => return Err(StepError::OutputProof { step, source }),
        },
    )
}

impl TransitionWitness {
    /// The canonical bytes (for a transaction).
    pub fn to_bytes(&self) -> Vec<u8> {
        synod_protocol::codec::encode(self)
    }

    /// Decodes canonical bytes (strict); tensors are checked to match their shapes.
    pub fn from_bytes(bytes: &[u8]) -> Result<TransitionWitness, synod_protocol::CodecError> {
        synod_protocol::codec::decode(bytes)
    }
}
