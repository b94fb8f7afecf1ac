//! The verifying keys of registered models, derived from the stored IR and
//! kept in memory: deriving a key (and the IPA parameters of its `k`) takes
//! a while, verifying with it takes milliseconds.
//!
//! Everything here is a pure function of chain state: the parameters depend
//! only on `k`, the key only on the model and `k`, and halo2 verification is
//! deterministic. The cache changes no verdict, only how fast it comes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use halo2_proofs::{pasta::EqAffine, poly::commitment::Params};
use synod_protocol::state::{ModelRecord, VerificationMode};
use synod_zkml::{
    circuit::{self, VerifierKey, ZkModel},
    ir::{IrError, LoadedModel, Model},
    trace::tensor_leaf,
    Tensor,
};

use super::{model_file, models, state_key};
use crate::{
    error::{AppError, TxError},
    state::{State, StateError},
};

/// What verifying proofs of one model needs.
#[derive(Debug)]
pub struct ModelVerifier {
    /// The model id.
    pub id: [u8; 32],
    /// IPA parameters for the key's `k` (shared by every model of that `k`).
    pub params: Arc<Params<EqAffine>>,
    /// The verifying key (commits to the weights).
    pub key: VerifierKey,
    /// Shape of the model's input tensor.
    pub input_shape: Vec<u32>,
    /// Shape of the model's output tensor.
    pub output_shape: Vec<u32>,
}

/// Why a model file cannot be registered (or no longer derives its key).
/// The texts are part of a failed proposal's stored outcome: keep them.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("lists no verification mode")]
    NoVerificationMode,
    #[error("{0}")]
    File(#[from] IrError),
    #[error("no circuit for it: {0}")]
    NoCircuit(circuit::SetupError),
    #[error("IPA parameters for k = {k}: {source}")]
    Params { k: u32, source: circuit::SetupError },
    #[error("verifying key: {0}")]
    VerifyingKey(circuit::SetupError),
}

/// A model file checked and, for a zk-enabled model, its verifier derived.
pub struct DerivedModel {
    pub loaded: LoadedModel,
    /// `None` for a model without the zk mode (no circuit needed).
    pub verifier: Option<(Arc<ModelVerifier>, [u8; 32])>,
}

#[derive(Default)]
struct Inner {
    params: BTreeMap<u32, Arc<Params<EqAffine>>>,
    models: BTreeMap<[u8; 32], Arc<ModelVerifier>>,
}

/// Verifiers by model id, and IPA parameters by `k`. A cheap handle: clones
/// share one cache.
#[derive(Clone, Default)]
pub struct VerifierCache {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for VerifierCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("VerifierCache")
            .field(
                "models",
                &inner.models.keys().map(hex::encode).collect::<Vec<_>>(),
            )
            .field("params_k", &inner.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl VerifierCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps are only ever inserted into whole: a panic cannot leave them torn.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A cache with the verifier of every zk-enabled model in `state`, each
    /// re-derived from its stored IR and checked against its record's
    /// `vk_hash` (a mismatch means this build derives other keys than the
    /// chain registered: a hard error, never a silent disagreement).
    pub fn rebuild(state: &State) -> Result<VerifierCache, AppError> {
        let cache = VerifierCache::default();
        for record in models(state)? {
            if record.modes.contains(&VerificationMode::Zk) {
                cache
                    .verifier(state, &record)
                    .map_err(|e| AppError::ModelRegistry(e.to_string()))?;
            }
        }
        Ok(cache)
    }

    /// Model ids with a verifier in memory.
    pub fn model_ids(&self) -> Vec<[u8; 32]> {
        self.lock().models.keys().copied().collect()
    }

    /// IPA parameters for `k`, derived once.
    pub fn params(&self, k: u32) -> Result<Arc<Params<EqAffine>>, circuit::SetupError> {
        if let Some(p) = self.lock().params.get(&k) {
            return Ok(Arc::clone(p));
        }
        let params = Arc::new(circuit::params(k)?);
        Ok(Arc::clone(self.lock().params.entry(k).or_insert(params)))
    }

    /// Checks a `.synod-model` file (magic, version, stated id against the
    /// contents, IR rules) and, if `zk`, derives its verifier with a circuit
    /// of at most `2^max_k` rows. Does not insert it.
    pub fn derive(
        &self,
        file: &[u8],
        zk: bool,
        max_k: u32,
    ) -> Result<DerivedModel, ModelFileError> {
        let loaded = Model::from_file_bytes(file)?;
        if !zk {
            return Ok(DerivedModel {
                loaded,
                verifier: None,
            });
        }
        let zk_model = ZkModel::from_ir(&loaded.model, max_k).map_err(ModelFileError::NoCircuit)?;
        let k = zk_model.k();
        let params = self
            .params(k)
            .map_err(|source| ModelFileError::Params { k, source })?;
        let key = zk_model
            .verifier_key(&params)
            .map_err(ModelFileError::VerifyingKey)?;
        let hash = key.vk_hash();
        let verifier = ModelVerifier {
            id: loaded.id.0,
            params,
            input_shape: key.input_shape.clone(),
            output_shape: key.output_shape.clone(),
            key,
        };
        Ok(DerivedModel {
            loaded,
            verifier: Some((Arc::new(verifier), hash)),
        })
    }

    /// Keeps a derived verifier.
    pub fn insert(&self, verifier: Arc<ModelVerifier>) {
        self.lock().models.insert(verifier.id, verifier);
    }

    /// The verifier of a registered model: from memory, or re-derived from
    /// its stored IR with the record's `k` and checked against its `vk_hash`.
    pub fn verifier(
        &self,
        state: &State,
        record: &ModelRecord,
    ) -> Result<Arc<ModelVerifier>, StateError> {
        if let Some(v) = self.lock().models.get(&record.id) {
            return Ok(Arc::clone(v));
        }
        let corrupt = |reason: String| StateError::Corrupt {
            key: String::from_utf8_lossy(&state_key::ir(&record.id)).into_owned(),
            reason,
        };
        let file = model_file(state, &record.id)?
            .ok_or_else(|| corrupt("the model's IR is missing".into()))?;
        let derived = self
            .derive(&file, true, record.k)
            .map_err(|e| corrupt(format!("model {:?} no longer derives: {e}", record.name)))?;
        let Some((verifier, hash)) = derived.verifier else {
            return Err(corrupt("no verifier derived".into()));
        };
        if derived.loaded.id.0 != record.id {
            return Err(corrupt(format!(
                "the stored IR has id {}, the record {}",
                derived.loaded.id,
                hex::encode(record.id)
            )));
        }
        if verifier.key.k != record.k || hash != record.vk_hash {
            return Err(corrupt(format!(
                "model {:?}: this build derives a verifying key with k = {} and hash {}, the chain registered k = {} and hash {}; refusing to verify proofs with a different key",
                record.name,
                verifier.key.k,
                hex::encode(hash),
                record.k,
                hex::encode(record.vk_hash)
            )));
        }
        self.insert(Arc::clone(&verifier));
        Ok(verifier)
    }
}

/// Checks a proof that `output = model(input)` for the model of `verifier`
/// (`input` and `output` in the model's shapes: the public instance) and
/// returns the input commitment (the zkml trace leaf of the input tensor).
/// Shared by `SubmitInferenceProof` and the workflow results.
pub fn verify_inference_proof(
    verifier: &ModelVerifier,
    input: &[i32],
    output: &[i32],
    proof: &[u8],
) -> Result<[u8; 32], TxError> {
    let model = hex::encode(verifier.id);
    let tensor = |what: &'static str, shape: &[u32], values: &[i32]| {
        Tensor::new(shape.to_vec(), values.to_vec()).map_err(|_| TxError::WrongInferenceShape {
            model: model.clone(),
            what,
            shape: shape.to_vec(),
            expected: shape.iter().map(|&d| u64::from(d)).product(),
            got: values.len(),
        })
    };
    let input = tensor("input", &verifier.input_shape, input)?;
    let output = tensor("output", &verifier.output_shape, output)?;
    circuit::verify_inference(&verifier.params, &verifier.key, &input, &output, proof).map_err(
        |e| TxError::InvalidProof {
            model: model.clone(),
            reason: e.to_string(),
        },
    )?;
    Ok(tensor_leaf(&input))
}
