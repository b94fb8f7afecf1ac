//! halo2 proofs that `output = model(input)` for an int8 IR model, under the
//! integer contract of `docs/zkml-arithmetic.md`.
//!
//! The weights and biases are fixed columns, so the verifying key commits to
//! the model. With [`Visibility::PUBLIC`] the input and output are public
//! instances ([`prove_inference`], [`verify_inference`]); any other
//! [`Visibility`] commits a tensor with in-circuit Poseidon
//! (`crate::commitment`) and may bind a context ([`prove_statement`],
//! [`verify_statement`]). With committed weights (a private model,
//! [`PrivateModelCircuit`]) the weights are witnesses, the instance holds
//! their commitment (`crate::private_model`) and the verifying key depends
//! only on the architecture. [`ZkModel::from_ir`]
//! maps every IR op (Dense, Conv2d, Add, Relu, MaxPool, Reshape, ArgMax).

mod batch;
mod bound;
mod commit_chip;
mod config;
mod errors;
#[cfg(feature = "testkit")]
pub mod fixtures;
mod graph;
mod keys;
mod prove;
mod spec;
mod statement;
mod synth;
mod visibility;
mod vk_identity;
mod weights;

pub use batch::{verify_inference_batch, verify_inference_batch_with_workers};
pub use bound::{BoundModelCircuit, PrivateModelCircuit};
pub use config::{ModelConfig, MAC_WIDTH};
pub use keys::{
    params, verify_inference, ProvingSetup, SetupError, VerifierKey, VerifyError, ZkModel,
    DEFAULT_MAX_K, MIN_K,
};
pub use prove::{prove_inference, ProveError};
pub use spec::{CircuitLayer, ModelCircuitSpec, Requant, SpecError};
pub use statement::{prove_statement, verify_statement, ProvedStatement};
pub use synth::ModelCircuit;
#[cfg(feature = "testkit")]
pub use synth::{RequantTamper, Tamper};
pub use visibility::{
    ContextBinding, Statement, TensorClaim, TensorVisibility, Visibility, VisibilityParseError,
    WeightVisibility,
};
pub use vk_identity::{visibility_bytes, vk_bytes, vk_hash, vk_hash_with};
