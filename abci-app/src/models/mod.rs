//! `models`: the model registry. Model id (the Merkle root of the model's
//! IR) -> name, verifying-key hash, circuit size, allowed verification modes
//! and status; plus the IR itself, so every node re-derives the verifying key.
//! Models enter at genesis or by governance proposal (register, upgrade
//! with a grace period, retire); see [`registry`].
//!
//! `SubmitInferenceProof` is checked in two phases: the cheap checks (model
//! known, active and zk-enabled, sizes and shapes) in CheckTx and again in
//! the block; the halo2 verification only in FinalizeBlock
//! ([`ProofCheck::Verify`]). A proof that fails still pays its fee and uses
//! its nonce, as every transaction does. A block verifies the proofs for
//! each model in one batch first ([`batch`]).

pub mod batch;
pub mod genesis;
pub mod handlers;
pub mod registry;
pub mod state_key;
pub mod testkit;
mod verifier;

use synod_protocol::{params::ModelsParams, state::ModelRecord};

use crate::state::{State, StateError};

pub use verifier::{verify_inference_proof, ModelVerifier, VerifierCache};

/// How far a proof of inference is checked.
#[derive(Clone, Copy)]
pub enum ProofCheck<'a> {
    /// CheckTx and PrepareProposal: the cheap checks only; the block verifies.
    Deferred,
    /// FinalizeBlock: the cheap checks, then the halo2 verification (skipped
    /// for a claim the block's batches already verified).
    Verify {
        cache: &'a VerifierCache,
        batched: &'a batch::VerifiedClaims,
    },
}

/// Module parameters.
pub fn params(state: &State) -> Result<ModelsParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters.
pub fn set_params(state: &mut State, params: &ModelsParams) {
    state.put(state_key::params(), params);
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
pub fn put_model(state: &mut State, record: &ModelRecord) {
    state.put(state_key::model(&record.id), record);
}

/// The stored `.synod-model` file of a model.
pub fn model_file(state: &State, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StateError> {
    state.get_raw(&state_key::ir(id))
}

/// Stores the `.synod-model` file of a model (raw bytes: the file format is
/// the zkml crate's, with its own magic, version and id).
pub fn put_model_file(state: &mut State, id: &[u8; 32], file: Vec<u8>) {
    state.put_raw(state_key::ir(id), file);
}

#[cfg(test)]
mod tests;
