//! `SubmitInferenceProof`: a halo2 proof that `output = model(input)` for a
//! registered, active, zk-enabled model.

use synod_protocol::{
    state::{ModelRecord, ModelStatus, VerificationMode},
    Address, Event,
};

use synod_zkml::{trace::tensor_leaf, Tensor};

use super::{batch::claim_digest, model, params, verify_inference_proof, VerifierCache};
use crate::{
    component::ProofMode,
    error::{HandlerError, TxError},
    state::State,
};

/// What a `SubmitInferenceProof` claims: `output = model(input)`, and the
/// proof of it.
#[derive(Clone, Copy, Debug)]
pub struct InferenceClaim<'a> {
    pub model: &'a [u8; 32],
    pub input: &'a [i32],
    pub output: &'a [i32],
    pub proof: &'a [u8],
}

/// The cheap checks (CheckTx and the block): the model is registered, active
/// and accepts zk proofs; the proof fits `max_proof_bytes`; input and output
/// have the model's sizes (and fit `max_input_len`); the input is int8.
/// Returns the model's record.
pub fn check_submission(
    state: &State,
    claim: InferenceClaim<'_>,
) -> Result<ModelRecord, HandlerError> {
    let InferenceClaim {
        model: model_id,
        input,
        output,
        proof,
    } = claim;
    let p = params(state)?;
    let name = hex::encode(model_id);
    let record = model(state, model_id)?.ok_or_else(|| TxError::UnknownModel {
        model: name.clone(),
    })?;
    if let ModelStatus::Retired { at_height } = record.status {
        return Err(TxError::ModelRetired {
            model: name,
            at_height,
        }
        .into());
    }
    check_claim(&p, &record, input, output, proof)?;
    Ok(record)
}

/// The checks of a claim against its model's record, whatever the model's
/// status: it accepts zk proofs, the proof fits `max_proof_bytes`, input and
/// output have the model's sizes (and fit `max_input_len`), the input is int8.
fn check_claim(
    p: &synod_protocol::params::ModelsParams,
    record: &ModelRecord,
    input: &[i32],
    output: &[i32],
    proof: &[u8],
) -> Result<(), HandlerError> {
    let name = hex::encode(record.id);
    if !record.modes.contains(&VerificationMode::Zk) {
        let modes: Vec<String> = record.modes.iter().map(|m| format!("{m:?}")).collect();
        return Err(TxError::ZkNotAllowed {
            model: name,
            modes: modes.join(", "),
        }
        .into());
    }
    if proof.len() as u64 > p.max_proof_bytes {
        return Err(TxError::ProofTooLarge {
            len: proof.len(),
            max: p.max_proof_bytes,
        }
        .into());
    }
    for (what, shape, expected, got) in [
        (
            "input",
            &record.input_shape,
            record.input_len(),
            input.len(),
        ),
        (
            "output",
            &record.output_shape,
            record.output_len(),
            output.len(),
        ),
    ] {
        if got as u64 != expected || got as u64 > u64::from(p.max_input_len) {
            return Err(TxError::WrongInferenceShape {
                model: name,
                what,
                shape: shape.clone(),
                expected,
                got,
            }
            .into());
        }
    }
    if let Some(position) = input.iter().position(|v| i8::try_from(*v).is_err()) {
        return Err(TxError::InputOutOfRange {
            position,
            value: input[position],
        }
        .into());
    }
    Ok(())
}

/// The cheap checks of a proof for a model a run pinned (a workflow
/// step's result): as for [`check_submission`], except that the model may
/// have been retired since the run started, whose runs still finish.
pub fn check_pinned(
    state: &State,
    record: &ModelRecord,
    input: &[i32],
    output: &[i32],
    proof: &[u8],
) -> Result<(), HandlerError> {
    check_claim(&params(state)?, record, input, output, proof)
}

/// `SubmitInferenceProof { model, input, output, proof }`: the cheap checks,
/// then (in a block) the proof; emits `InferenceVerified` with the input
/// commitment.
pub fn submit_inference_proof(
    state: &mut State,
    submitter: &Address,
    claim: InferenceClaim<'_>,
    cache: &VerifierCache,
    mode: ProofMode<'_>,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let record = check_submission(state, claim)?;
    let ProofMode::Verify { batched } = mode else {
        return Ok(());
    };
    let verifier = cache.verifier(state, &record)?;
    let input_commitment = if batched.contains(&claim_digest(claim)) {
        // Verified in the block's batch; the commitment is all that is left.
        let input = Tensor::new(verifier.input_shape.clone(), claim.input.to_vec())
            .map_err(|e| TxError::Undecodable(e.to_string()))?;
        tensor_leaf(&input)
    } else {
        verify_inference_proof(&verifier, claim.input, claim.output, claim.proof)?
    };
    events.push(Event::InferenceVerified {
        model: *claim.model,
        submitter: *submitter,
        input_commitment,
        output: claim.output.to_vec(),
    });
    Ok(())
}
