//! Proving and verifying a [`Statement`]: an inference under the visibility
//! the keys were derived for, with committed tensors and a context.
//!
//! For [`super::Visibility::PUBLIC`] these are [`prove_inference`] and
//! [`verify_inference`] (the same circuit, instance and proof bytes).

use halo2_proofs::{
    pasta::{EqAffine, Fp},
    poly::commitment::Params,
};

use super::keys::{check_params, check_tensor, verify_instance};
use super::prove::proof_bytes;
use super::visibility::{
    claim_instance, ContextBinding, Statement, TensorClaim, TensorVisibility, WeightVisibility,
};
use super::{prove_inference, ProveError, ProvingSetup, VerifierKey, VerifyError};
use crate::commitment::{ProofContext, TensorCommitment};
use crate::interp::{Interpreter, Tensor};
use crate::private_model::weights_commitment;

/// A proof, the output it computed and the statement it proves.
#[derive(Clone, Debug)]
pub struct ProvedStatement {
    /// The output tensor (private to the prover when committed).
    pub output: Tensor,
    /// What the proof shows: the public instance, as a verifier gets it.
    pub statement: Statement,
    /// The proof bytes.
    pub proof: Vec<u8>,
}

/// The int8 values of a tensor the interpreter made or checked.
fn int8_values(t: &Tensor) -> Result<Vec<i8>, ProveError> {
    t.values()
        .iter()
        .enumerate()
        .map(|(position, &value)| {
            i8::try_from(value).map_err(|_| ProveError::OutputNotInt8 { position, value })
        })
        .collect()
}

fn claim(
    visibility: TensorVisibility,
    tensor: &Tensor,
    values: &[i8],
) -> Result<TensorClaim, ProveError> {
    Ok(match visibility {
        TensorVisibility::Public => TensorClaim::Public(tensor.clone()),
        TensorVisibility::Committed => TensorClaim::Committed(TensorCommitment::of(values)?),
    })
}

/// Runs the model on `input` and proves the result under the keys'
/// visibility, binding `context` (which must be given exactly when the
/// visibility binds one).
pub fn prove_statement(
    setup: &ProvingSetup,
    input: &Tensor,
    context: Option<ProofContext>,
) -> Result<ProvedStatement, ProveError> {
    let visibility = setup.model.visibility();
    if (visibility.context == ContextBinding::Bound) != context.is_some() {
        return Err(ProveError::Context {
            visibility,
            given: context.is_some(),
        });
    }
    if visibility.is_public() {
        let (output, proof) = prove_inference(setup, input)?;
        let statement = Statement {
            input: TensorClaim::Public(input.clone()),
            output: TensorClaim::Public(output.clone()),
            weights: None,
            context: None,
        };
        return Ok(ProvedStatement {
            output,
            statement,
            proof,
        });
    }
    let output = Interpreter::new(setup.model.model())?.run(input)?;
    // The interpreter checked the input's shape and int8 range.
    let input_values: Vec<i8> = input.values().iter().map(|&v| v as i8).collect();
    let output_values = match visibility.output {
        TensorVisibility::Committed => int8_values(&output)?,
        TensorVisibility::Public => Vec::new(),
    };
    let weights = match visibility.weights {
        WeightVisibility::Committed => Some(weights_commitment(setup.model.model())?),
        WeightVisibility::Fixed => None,
    };
    let statement = Statement {
        input: claim(visibility.input, input, &input_values)?,
        output: claim(visibility.output, &output, &output_values)?,
        weights,
        context,
    };
    let instance = statement_instance(&statement);
    let context = context.map(ProofContext::to_field);
    let proof = if weights.is_some() {
        let circuit = setup.model.private_circuit(Some(&input_values), context);
        proof_bytes(setup, circuit, &instance)?
    } else {
        let circuit = setup.model.bound_circuit(Some(&input_values), context);
        proof_bytes(setup, circuit, &instance)?
    };
    Ok(ProvedStatement {
        output,
        statement,
        proof,
    })
}

/// The public instance of a statement (see `visibility.rs` for the layout).
pub(crate) fn statement_instance(statement: &Statement) -> Vec<Fp> {
    let mut instance = claim_instance(&statement.input);
    instance.extend(claim_instance(&statement.output));
    instance.extend(statement.weights.map(TensorCommitment::to_field));
    instance.extend(statement.context.map(ProofContext::to_field));
    instance
}

/// Checks that `proof` proves `statement` for the model and visibility
/// `key` was derived for. A statement of another visibility (a committed
/// tensor where the key shows it, a missing or extra context), a public
/// tensor of the wrong shape or range, a commitment or context other than
/// the proof's: each is refused.
pub fn verify_statement(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    statement: &Statement,
    proof: &[u8],
) -> Result<(), VerifyError> {
    check_params(params, key)?;
    if statement.visibility() != key.visibility {
        return Err(VerifyError::Visibility {
            key: key.visibility,
            statement: statement.visibility(),
        });
    }
    if let TensorClaim::Public(input) = &statement.input {
        check_tensor("input", &key.input_shape, input, false)?;
    }
    if let TensorClaim::Public(output) = &statement.output {
        check_tensor("output", &key.output_shape, output, key.output_is_index)?;
    }
    verify_instance(params, key, &statement_instance(statement), proof)
}
