//! Proving an inference.

use halo2_proofs::{
    pasta::{EqAffine, Fp},
    plonk::{create_proof, Circuit, Error as PlonkError},
    transcript::{Blake2bWrite, Challenge255},
};
use rand_010::{rand_core::UnwrapErr, rngs::SysRng};
use thiserror::Error;

use crate::circuit::{ModelCircuit, ProvingSetup, Visibility};
use crate::commitment::CommitmentError;
use crate::interp::{InterpError, Interpreter, Tensor};

/// Why a proof could not be made.
#[derive(Debug, Error)]
pub enum ProveError {
    /// The input does not fit the model (shape, int8 range).
    #[error("invalid input: {0}")]
    Input(#[from] InterpError),
    /// `prove_inference` on keys of a visibility other than public (use
    /// `prove_statement`).
    #[error("the proving keys are for visibility {0}; prove_inference proves only the public one, use prove_statement")]
    NotPublic(Visibility),
    /// A context given for a visibility without one, or none for one with.
    #[error("visibility {visibility} {}", if *.given { "binds no context, but one was given" } else { "binds a context, but none was given" })]
    Context {
        /// The keys' visibility.
        visibility: Visibility,
        /// Whether a context was given.
        given: bool,
    },
    /// A committed output value outside int8 (an ArgMax index above 127).
    #[error("output value {value} at position {position} is not an int8, so the output cannot be committed")]
    OutputNotInt8 {
        /// Position in the output.
        position: usize,
        /// The value.
        value: i32,
    },
    /// A committed tensor could not be committed to.
    #[error("committing to a tensor: {0}")]
    Commitment(#[from] CommitmentError),
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
    if !setup.model.visibility().is_public() {
        return Err(ProveError::NotPublic(setup.model.visibility()));
    }
    let output = Interpreter::new(setup.model.model())?.run(input)?;
    // The interpreter checked the input's shape and int8 range.
    let values: Vec<i8> = input.values().iter().map(|&v| v as i8).collect();
    let circuit = setup.model.model_circuit(Some(&values));
    let instance = ModelCircuit::instance(input.values(), output.values());
    Ok((output, proof_bytes(setup, circuit, &instance)?))
}

/// Proves `circuit` (of `setup`'s keys) for the public `instance`, with
/// blinding from the OS's randomness.
pub(super) fn proof_bytes(
    setup: &ProvingSetup,
    circuit: impl Circuit<Fp>,
    instance: &[Fp],
) -> Result<Vec<u8>, ProveError> {
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(Vec::new());
    create_proof(
        &setup.params,
        &setup.pk,
        &[circuit],
        &[&[instance]],
        UnwrapErr(SysRng),
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}
