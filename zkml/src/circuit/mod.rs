//! halo2 proofs that `output = model(input)` for an int8 model, under the
//! integer contract of `docs/zkml-arithmetic.md`.
//!
//! The weights and biases are fixed columns, so the verifying key commits to
//! the model; the input and output are public instances.

mod config;
pub mod fixtures;
mod keys;
mod prove;
mod spec;
mod synth;

pub use config::{ModelConfig, MAC_WIDTH};
pub use keys::{
    min_k, params, setup, verifier_key, verify, verify_batch, vk_hash, BatchItem, ProvingSetup,
    SetupError, VerifierKey, VerifyError, DEFAULT_MAX_K, MIN_K,
};
pub use prove::{prove, ProveError};
pub use spec::{CircuitLayer, ModelCircuitSpec, Requant, SpecError};
pub use synth::{ModelCircuit, RequantTamper};
