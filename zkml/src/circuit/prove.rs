//! Proving an inference.

use halo2_proofs::{
    pasta::EqAffine,
    plonk::{create_proof, Error as PlonkError},
    transcript::{Blake2bWrite, Challenge255},
};
use rand_010::{rand_core::UnwrapErr, rngs::SysRng};
use thiserror::Error;

use crate::circuit::{ModelCircuit, ProvingSetup};
use crate::interp::{InterpError, Interpreter, Tensor};

/// Why a proof could not be made.
#[derive(Debug, Error)]
pub enum ProveError {
    /// The input does not fit the model (shape, int8 range).
    #[error("invalid input: {0}")]
    Input(#[from] InterpError),
    /// halo2 failed to synthesize or prove (a bug, or keys for another circuit).
    #[error("proving failed: {0}")]
    Halo2(#[from] PlonkError),
}

/// Runs the model on `input` with the interpreter and proves the result:
/// returns the output tensor and the proof bytes.
pub fn prove_inference(
    setup: &ProvingSetup,
    input: &Tensor,
) -> Result<(Tensor, Vec<u8>), ProveError> {
    let output = Interpreter::new(setup.model.model())?.run(input)?;
    // The interpreter checked the input's shape and int8 range.
    let values: Vec<i8> = input.values().iter().map(|&v| v as i8).collect();
    let circuit = setup.model.model_circuit(Some(&values));
    let instance = ModelCircuit::instance(input.values(), output.values());
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
