//! Proving an inference.
//!
//! Needs a `rand_core 0.10` random source for halo2's blinding factors, so
//! this module is compiled only once `zkml/Cargo.toml` has
//! `rand_010 = { package = "rand", version = "0.10", default-features = false, features = ["sys_rng"] }`
//! (the same crate and features halo2_proofs already builds) and
//! `circuit/mod.rs` declares `mod prove; pub use prove::{prove, ProveError};`.

use std::sync::Arc;

use halo2_proofs::{
    pasta::EqAffine,
    plonk::{create_proof, Error as PlonkError},
    transcript::{Blake2bWrite, Challenge255},
};
use rand_010::{rand_core::UnwrapErr, rngs::SysRng};
use thiserror::Error;

use crate::circuit::{ModelCircuit, ProvingSetup, SpecError};

/// Why a proof could not be made.
#[derive(Debug, Error)]
pub enum ProveError {
    /// The input does not fit the model.
    #[error("invalid input: {0}")]
    Spec(#[from] SpecError),
    /// halo2 failed to synthesize or prove (a bug, or keys for another circuit).
    #[error("proving failed: {0}")]
    Halo2(#[from] PlonkError),
}

/// Runs the model on `input` and proves the result: returns the int8 output
/// and the proof bytes.
pub fn prove(setup: &ProvingSetup, input: &[i8]) -> Result<(Vec<i8>, Vec<u8>), ProveError> {
    let output = setup.spec.evaluate(input)?;
    let circuit = ModelCircuit::new(Arc::clone(&setup.spec), Some(input.to_vec()));
    let instance = ModelCircuit::instance(input, &output);
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(Vec::new());
    create_proof(
        &setup.params,
        &setup.pk,
        &[circuit],
        &[&[&instance[..]]],
        UnwrapErr(SysRng),
        &mut transcript,
    )?;
    Ok((output, transcript.finalize()))
}
