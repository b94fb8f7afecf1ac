//! Block-level batch verification of proofs of inference: before a block's
//! transactions run, the proofs for each model are verified together
//! (`verify_inference_batch`: one `2^k`-sized multi-scalar multiplication for
//! the whole batch). A batch that passes marks its claims verified; a batch
//! that fails is halved, and each half tried again, so one bad proof does not
//! cost the others their batch; a claim no passing batch covers verifies its
//! own proof when its transaction runs. Either way every claim gets the verdict it would get
//! alone, so the batch changes speed, never results: the batch factors are
//! derived from the proofs themselves (no randomness), and the transactions
//! still run in order with every state check.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use synod_protocol::{SignedTx, TxBody};
use synod_zkml::{circuit, Tensor};

use super::{
    handlers::{check_submission, InferenceClaim},
    ModelVerifier, VerifierCache,
};
use crate::{
    component::Components,
    error::HandlerError,
    state::{State, StateError},
};

/// Claims whose proofs a block's batches verified (by [`claim_digest`]).
#[derive(Clone, Debug, Default)]
pub struct VerifiedClaims(BTreeSet<[u8; 32]>);

impl VerifiedClaims {
    /// Whether `claim`'s proof was verified in a batch.
    pub fn contains(&self, claim: InferenceClaim<'_>) -> bool {
        self.0.contains(&claim_digest(claim))
    }

    /// The digests ([`claim_digest`]) of the verified claims.
    pub fn digests(&self) -> &BTreeSet<[u8; 32]> {
        &self.0
    }

    /// Number of verified claims.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No claim verified.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// SHA-256 of a claim's model, input, output and proof, each length-prefixed.
pub fn claim_digest(claim: InferenceClaim<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"synod/inference-claim/v1");
    h.update(claim.model);
    for part in [claim.input, claim.output] {
        h.update((part.len() as u64).to_le_bytes());
        for v in part {
            h.update(v.to_le_bytes());
        }
    }
    h.update((claim.proof.len() as u64).to_le_bytes());
    h.update(claim.proof);
    h.finalize().into()
}

/// A model's verifier and the claims of the block for it.
type Batch = (
    std::sync::Arc<ModelVerifier>,
    Vec<([u8; 32], (Tensor, Tensor, Vec<u8>))>,
);

/// Batch-verifies, per model, the proofs of inference among `txs` (the
/// block's decoded, correctly signed transactions with their encoded
/// lengths) against the state before the block. Claims whose fee does not
/// cover their verification, or that the transaction's cheap checks
/// ([`check_submission`]) refuse, are left out; models with a single claim
/// are left to the transaction.
pub fn preverify(
    state: &State,
    components: &Components,
    txs: &[(&SignedTx, usize)],
    cache: &VerifierCache,
) -> Result<VerifiedClaims, StateError> {
    let mut batches: BTreeMap<[u8; 32], Batch> = BTreeMap::new();
    for &(tx, len) in txs {
        // A proof of inference, or a workflow step's result (its model and
        // input as the run holds them before the block: a step whose
        // inputs become final within the block verifies on its own).
        let step_input;
        let step_model;
        let (claim, record) = match &tx.body {
            TxBody::SubmitInferenceProof {
                model: id,
                input,
                output,
                proof,
            } => {
                let claim = InferenceClaim {
                    model: id,
                    input,
                    output,
                    proof,
                };
                match check_submission(state, claim) {
                    Ok(record) => (claim, record),
                    Err(HandlerError::Tx(_)) => continue,
                    Err(HandlerError::State(e)) => return Err(e),
                }
            }
            TxBody::SubmitResult {
                run,
                step,
                output,
                proof,
            } => {
                let Some((record, input)) =
                    crate::runs::handlers::result_claim(state, &tx.sender(), *run, *step)?
                else {
                    continue;
                };
                step_input = input;
                step_model = record.id;
                let claim = InferenceClaim {
                    model: &step_model,
                    input: &step_input,
                    output,
                    proof,
                };
                match super::handlers::check_pinned(state, &record, &step_input, output, proof) {
                    Ok(()) => (claim, record.clone()),
                    Err(HandlerError::Tx(_)) => continue,
                    Err(HandlerError::State(e)) => return Err(e),
                }
            }
            _ => continue,
        };
        let (id, input, output, proof) = (claim.model, claim.input, claim.output, claim.proof);
        // The transaction's own gates: a claim they refuse is never verified.
        if crate::execute::check_fee(state, components, tx, len)?.is_err() {
            continue;
        }
        let verifier = match batches.get(id) {
            Some((v, _)) => std::sync::Arc::clone(v),
            None => cache.verifier(state, &record)?,
        };
        let (Ok(input_t), Ok(output_t)) = (
            Tensor::new(verifier.input_shape.clone(), input.to_vec()),
            Tensor::new(verifier.output_shape.clone(), output.to_vec()),
        ) else {
            continue;
        };
        let digest = claim_digest(claim);
        batches
            .entry(*id)
            .or_insert_with(|| (verifier, Vec::new()))
            .1
            .push((digest, (input_t, output_t, proof.to_vec())));
    }
    let mut verified = BTreeSet::new();
    for (_, (verifier, claims)) in batches {
        // A failed batch is halved until the halves pass, so one bad proof
        // costs a few more batch checks instead of every claim its own
        // verification; at most as many extra checks as there are claims,
        // so a block of bad proofs costs at most twice what it did.
        let mut budget = claims.len();
        bisect(&verifier, &claims, &mut budget, &mut verified);
    }
    Ok(VerifiedClaims(verified))
}

/// One model's claims with their digests, ready to batch-verify.
type Claims = [([u8; 32], (Tensor, Tensor, Vec<u8>))];

/// Batch-verifies `claims`; if the batch fails, each half in turn while
/// `budget` lasts. Claims of a passing batch go into `verified`; a claim left
/// out (alone, or the budget spent) is verified by its own transaction.
/// Deterministic: the halves depend only on the claims' order in the block.
fn bisect(
    verifier: &ModelVerifier,
    claims: &Claims,
    budget: &mut usize,
    verified: &mut BTreeSet<[u8; 32]>,
) {
    if claims.len() < 2 {
        return;
    }
    let items: Vec<(Tensor, Tensor, Vec<u8>)> = claims.iter().map(|(_, i)| i.clone()).collect();
    if circuit::verify_inference_batch(&verifier.params, &verifier.key, &items).is_ok() {
        verified.extend(claims.iter().map(|(d, _)| *d));
        return;
    }
    let (left, right) = claims.split_at(claims.len() / 2);
    for half in [left, right] {
        if half.len() >= 2 && *budget > 0 {
            *budget -= 1;
            bisect(verifier, half, budget, verified);
        }
    }
}
