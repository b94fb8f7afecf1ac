//! Execution traces for optimistic verification.
//!
//! An execution's trace is one leaf per tensor state (tensor 0 is the input,
//! tensor `i + 1` the output of node `i`): a domain-tagged SHA-256 of the
//! tensor's shape and values. The trace root is the Merkle root over those
//! leaves (see [`crate::merkle`] for the tree's exact shape). An executor
//! publishes the root; in a dispute the two sides bisect over leaves until
//! they agree on every tensor before step `i` and disagree on its output, and
//! the chain settles that one step with [`verify_step`] on a [`StepWitness`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use synod_protocol::codec::{self, CodecError};

use crate::interp::{execute_node, InterpError, Interpreter, Tensor};
use crate::ir::{verify_node_proof, IrError, Model, ModelId, Node, TensorId};
use crate::merkle::{self, MerkleError, MerkleProof};

mod state;
pub use state::{
    initial_state_root, verify_transition, TransitionVerdict, TransitionWitness, EMPTY_LEAF,
};

const TENSOR_TAG: &[u8] = b"synod/zkml/tensor/v1";

/// The root of an execution trace.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TraceRoot(pub [u8; 32]);

/// The leaf hashes of an execution: one per tensor, input first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    leaves: Vec<[u8; 32]>,
}

/// One run of a model: every tensor state and the trace over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    tensors: Vec<Tensor>,
    trace: Trace,
}

/// A tensor of the trace with its proof against the trace root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenTensor {
    pub id: TensorId,
    pub tensor: Tensor,
    pub proof: MerkleProof,
}

/// Everything needed to re-execute step `step` (node `step`) alone and check
/// it against a model id and a trace root: the node with its proof of
/// membership in the model, the tensors it reads with their trace proofs, and
/// the output leaf the trace claims with its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepWitness {
    pub step: u32,
    pub node: Node,
    pub node_proof: MerkleProof,
    pub inputs: Vec<ProvenTensor>,
    pub claimed_output: [u8; 32],
    pub output_proof: MerkleProof,
}

/// The outcome of re-executing one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepVerdict {
    /// The trace's leaf is the hash of the step's true output.
    Correct,
    /// The trace claims `claimed`; the step's true output hashes to `expected`.
    Incorrect {
        expected: [u8; 32],
        claimed: [u8; 32],
    },
}

/// Why a step witness could not be built or checked. A malformed witness is
/// an error, never a verdict.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("step {step} does not exist: the model has {nodes} nodes")]
    StepOutOfRange { step: usize, nodes: usize },
    #[error("the execution holds {got} tensors, the model has {expected}")]
    ExecutionMismatch { expected: usize, got: usize },
    #[error("step {step}: the node is not part of the model: {source}")]
    NodeProof { step: usize, source: MerkleError },
    #[error("step {step}: the node reads {expected:?}, the witness provides {got:?}")]
    InputIds {
        step: usize,
        expected: Vec<TensorId>,
        got: Vec<TensorId>,
    },
    #[error("step {step}: the node reads {input}, which is not written before it")]
    ReadsLater { step: usize, input: TensorId },
    #[error(
        "step {step}: the {what} proof is for a trace of {got} tensors, the model has {expected}"
    )]
    LeafCount {
        step: usize,
        what: String,
        expected: u64,
        got: u64,
    },
    #[error("step {step}: input {tensor} is not in the trace: {source}")]
    InputProof {
        step: usize,
        tensor: TensorId,
        source: MerkleError,
    },
    #[error("step {step}: the claimed output is not in the trace: {source}")]
    OutputProof { step: usize, source: MerkleError },
    #[error("step {step}: {source}")]
    Model { step: usize, source: IrError },
    #[error("cannot execute the step: {0}")]
    Execution(#[from] InterpError),
}

/// The trace leaf of a tensor: SHA-256 of a domain tag, the rank and dims
/// (u32 little-endian) and the values (i32 little-endian).
pub fn tensor_leaf(tensor: &Tensor) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TENSOR_TAG);
    h.update((tensor.shape().len() as u32).to_le_bytes());
    for d in tensor.shape() {
        h.update(d.to_le_bytes());
    }
    let mut bytes = Vec::with_capacity(tensor.values().len() * 4);
    for v in tensor.values() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    h.update(&bytes);
    h.finalize().into()
}

/// Checks that `leaf` is leaf `index` of the trace with root `root` (for bisection).
pub fn verify_leaf(
    root: &TraceRoot,
    index: u64,
    leaf: &[u8; 32],
    proof: &MerkleProof,
) -> Result<(), MerkleError> {
    merkle::verify(&root.0, index, leaf, proof)
}

impl Trace {
    /// The trace of these tensor states.
    pub fn of(tensors: &[Tensor]) -> Trace {
        Trace {
            leaves: tensors.iter().map(tensor_leaf).collect(),
        }
    }

    /// A trace from its leaves (e.g. as published by an executor).
    pub fn from_leaves(leaves: Vec<[u8; 32]>) -> Trace {
        Trace { leaves }
    }

    /// The leaves, one per tensor, input first.
    pub fn leaves(&self) -> &[[u8; 32]] {
        &self.leaves
    }

    /// The Merkle root over the leaves.
    pub fn root(&self) -> TraceRoot {
        TraceRoot(merkle::root(&self.leaves))
    }

    /// The proof of leaf `index`, if it exists.
    pub fn leaf_proof(&self, index: usize) -> Option<MerkleProof> {
        merkle::proof(&self.leaves, index)
    }

    /// The bytes an executor must keep to answer a bisection: 32 per leaf.
    pub fn trace_size_bytes(&self) -> usize {
        self.leaves.len() * 32
    }
}

impl Execution {
    /// The execution with these tensor states (honest or not: the trace is
    /// whatever the tensors hash to).
    pub fn new(tensors: Vec<Tensor>) -> Execution {
        let trace = Trace::of(&tensors);
        Execution { tensors, trace }
    }

    /// Every tensor state, input first.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// The output (the last tensor), if the execution holds any.
    pub fn output(&self) -> Option<&Tensor> {
        self.tensors.last()
    }

    /// The trace over the tensor states.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The size of every tensor state in the canonical encoding, in bytes.
    pub fn state_size_bytes(&self) -> usize {
        codec::encode(&self.tensors).len()
    }

    /// The witness for step `step` of this execution of `model`.
    pub fn witness(&self, model: &Model, step: usize) -> Result<StepWitness, StepError> {
        let nodes = model.nodes.len();
        if self.tensors.len() != nodes + 1 {
            return Err(StepError::ExecutionMismatch {
                expected: nodes + 1,
                got: self.tensors.len(),
            });
        }
        let (Some(node), Ok(step_u32)) = (model.nodes.get(step), u32::try_from(step)) else {
            return Err(StepError::StepOutOfRange { step, nodes });
        };
        let node_proof = model
            .node_proof(step)
            .map_err(|source| StepError::Model { step, source })?;
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &id in &node.inputs {
            let index = id.0 as usize;
            let (Some(tensor), Some(proof)) =
                (self.tensors.get(index), self.trace.leaf_proof(index))
            else {
                return Err(StepError::ReadsLater { step, input: id });
            };
            inputs.push(ProvenTensor {
                id,
                tensor: tensor.clone(),
                proof,
            });
        }
        let output_proof = self
            .trace
            .leaf_proof(step + 1)
            .ok_or(StepError::StepOutOfRange { step, nodes })?;
        Ok(StepWitness {
            step: step_u32,
            node: node.clone(),
            node_proof,
            inputs,
            claimed_output: self.trace.leaves[step + 1],
            output_proof,
        })
    }
}

impl Interpreter<'_> {
    /// Runs the model and records the trace.
    pub fn run_traced(&self, input: &Tensor) -> Result<Execution, InterpError> {
        Ok(Execution::new(self.run_all(input)?))
    }
}

/// Validates `model` and runs it on `input`, recording the trace.
pub fn run_traced(model: &Model, input: &Tensor) -> Result<Execution, InterpError> {
    Interpreter::new(model)?.run_traced(input)
}

/// Re-executes one step alone: checks the node is node `step` of the model
/// `model_id`, the inputs are the tensors it reads and are in the trace
/// `trace_root`, and the claimed output is the trace's leaf `step + 1`; then
/// runs the node and says whether the claimed leaf is right.
pub fn verify_step(
    model_id: &ModelId,
    trace_root: &TraceRoot,
    witness: &StepWitness,
) -> Result<StepVerdict, StepError> {
    let step = witness.step as usize;
    let nodes = verify_node_proof(model_id, step, &witness.node, &witness.node_proof)
        .map_err(|source| StepError::NodeProof { step, source })?;
    let trace_leaves = nodes as u64 + 1;
    let got: Vec<TensorId> = witness.inputs.iter().map(|p| p.id).collect();
    if got != witness.node.inputs {
        return Err(StepError::InputIds {
            step,
            expected: witness.node.inputs.clone(),
            got,
        });
    }
    let leaf_count = |what: String, proof: &MerkleProof| {
        if proof.leaf_count == trace_leaves {
            Ok(())
        } else {
            Err(StepError::LeafCount {
                step,
                what,
                expected: trace_leaves,
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
        leaf_count(format!("input {}", input.id), &input.proof)?;
        verify_leaf(
            trace_root,
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
    leaf_count("output".to_owned(), &witness.output_proof)?;
    verify_leaf(
        trace_root,
        step as u64 + 1,
        &witness.claimed_output,
        &witness.output_proof,
    )
    .map_err(|source| StepError::OutputProof { step, source })?;
    let inputs: Vec<&Tensor> = witness.inputs.iter().map(|p| &p.tensor).collect();
    let output = execute_node(step, &witness.node, &inputs)?;
    let expected = tensor_leaf(&output);
    Ok(if expected == witness.claimed_output {
        StepVerdict::Correct
    } else {
        StepVerdict::Incorrect {
            expected,
            claimed: witness.claimed_output,
        }
    })
}

impl StepWitness {
    /// The canonical bytes (for a transaction).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical bytes (strict); tensors are checked to match their shapes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StepWitness, CodecError> {
        codec::decode(bytes)
    }
}

impl fmt::Display for TraceRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TraceRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceRoot({self})")
    }
}

/// A trace root that is not 64 hex digits.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("a trace root is 64 hex digits, got {input:?}")]
pub struct BadTraceRoot {
    pub input: String,
}

impl FromStr for TraceRoot {
    type Err = BadTraceRoot;

    fn from_str(s: &str) -> Result<TraceRoot, BadTraceRoot> {
        let bad = || BadTraceRoot {
            input: s.to_owned(),
        };
        let bytes = hex::decode(s).map_err(|_| bad())?;
        <[u8; 32]>::try_from(bytes)
            .map(TraceRoot)
            .map_err(|_| bad())
    }
}
