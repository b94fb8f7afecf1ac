//! `models`: the model registry. Model id (the Merkle root of the model's
//! IR) -> name, verifying-key hash, circuit size, allowed verification modes
//! and status; plus the IR itself, so every node re-derives the verifying key.
//! Models enter at genesis or by governance proposal (register, upgrade
//! with a grace period, retire); see [`registry`].
//!
//! `SubmitInferenceProof` is checked in two phases: the cheap checks (model
//! known, active and zk-enabled, sizes and shapes) in CheckTx and again in
//! the block; the halo2 verification only in FinalizeBlock
//! ([`crate::component::ProofMode::Verify`]). A proof that fails still pays its fee and uses
//! its nonce, as every transaction does. A block verifies the proofs for
//! each model in one batch first ([`batch`]).

pub mod batch;
pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod registry;
pub mod state_key;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod verifier;

use synod_protocol::state::ModelRecord;

use crate::state::{State, StateError};

pub use params::{params, update_params};
pub use registry::{register, retire, upgrade, Registration};
pub use verifier::{verify_inference_proof, ModelFileError, ModelVerifier, VerifierCache};

/// What verifying a proof of `record` costs, on top of a transaction's
/// own: the fee (`2^k` rows at `verify_fee_per_row_usyn`) and the gas
/// (`2^k` rows at [`crate::gas::GAS_PER_PROOF_ROW`]); nothing for no model
/// (its transaction fails before any verification).
pub fn proof_cost(
    state: &State,
    record: Option<&ModelRecord>,
) -> Result<(synod_protocol::Amount, u64), StateError> {
    Ok(match record {
        Some(r) => (
            params(state)?.verify_fee(r.k),
            crate::gas::GAS_PER_PROOF_ROW.saturating_mul(1u64 << r.k.min(32)),
        ),
        None => (synod_protocol::Amount::ZERO, 0),
    })
}

/// A registered model by id.
pub fn model(state: &State, id: &[u8; 32]) -> Result<Option<ModelRecord>, StateError> {
    state.get(&state_key::model(id))
}

/// Every registered model, in model id order.
pub fn models(state: &State) -> Result<Vec<ModelRecord>, StateError> {
    Ok(state
        .prefix::<ModelRecord>(&state_key::models_prefix())?
        .into_iter()
        .map(|(_, m)| m)
        .collect())
}

/// Writes a model record.
fn put_model(state: &mut State, record: &ModelRecord) {
    state.put(state_key::model(&record.id), record);
}

/// The stored `.synod-model` file of a model.
pub fn model_file(state: &State, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StateError> {
    state.get_raw(&state_key::ir(id))
}

/// Stores the `.synod-model` file of a model (raw bytes: the file format is
/// the zkml crate's, with its own magic, version and id).
fn put_model_file(state: &mut State, id: &[u8; 32], file: Vec<u8>) {
    state.put_raw(state_key::ir(id), file);
}

#[cfg(test)]
mod tests;
