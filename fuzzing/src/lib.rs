//! `synod-fuzzing`: every decoder of untrusted bytes in Synod, fuzzed.
//!
//! [`targets`] holds one target per decoder (`pub fn <target>(data: &[u8])`,
//! re-exported here): transactions, the state codec, decided blocks and the
//! consensus wire codec, proposal streams, mempool gossip, RPC parameters,
//! model files and step witnesses, ONNX imports, proofs of inference, state
//! proofs and genesis files. Each asserts what must hold for any input.
//!
//! Two runners drive the same targets. [`runner`] is a stable-Rust mutation
//! fuzzer ([`mutate`]) that starts from the committed corpus
//! (`fuzzing/corpus/<target>/`, written by `synod-fuzz seed`), catches panics
//! and saves each crashing input under `fuzzing/crashes/<target>/`; CI runs
//! it briefly (`tests/short_run.rs`). `fuzzing/cargo-fuzz/` runs them
//! coverage-guided under libFuzzer. See the "Fuzzing" section of
//! `docs/security.md`.

pub mod corpus;
pub mod error;
pub mod fixtures;
pub mod known;
pub mod libfuzzer;
pub mod mutate;
pub mod runner;
pub mod targets;

pub use error::FuzzError;
pub use targets::{
    block::block, codec::codec, genesis::genesis, gossip::gossip, model::model, onnx::onnx,
    proof::proof, rpc::rpc, state_proof::state_proof, stream::stream, tx::tx, Target, TARGETS,
};
