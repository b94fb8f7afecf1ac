//! `synod-zkml`: Layer 1 of the paper. A quantized model IR with a content
//! hash (the model id), a deterministic integer interpreter that records an
//! execution trace (for optimistic disputes), and halo2 proofs that
//! `output = model(input)` (for zk verification).

pub mod circuit;
pub mod commitment;
pub mod interp;
pub mod ir;
pub mod merkle;
pub mod onnx;
pub mod private_model;
pub mod segment;
pub mod trace;

pub use commitment::{CommitmentError, ProofContext, TensorCommitment};
pub use interp::{execute_node, run, InterpError, Interpreter, Tensor};
pub use ir::{
    verify_node_proof, IrError, LoadedModel, Model, ModelId, ModelInfo, Node, Op, Requant,
    TensorId, IR_VERSION,
};
pub use trace::{
    run_traced, verify_step, Execution, StepError, StepVerdict, StepWitness, Trace, TraceRoot,
};
