//! The models of genesis `app_state.models`: each file decoded and checked,
//! its verifying key derived under `params.models.max_k`, its record and IR
//! stored. Anything wrong refuses genesis, naming the model.

use std::collections::BTreeSet;

use base64::Engine;
use synod_protocol::{
    params::ModelsParams,
    state::{ModelRecord, ModelStatus, VerificationMode},
    GenesisModel, Height,
};

use super::{put_model, put_model_file, VerifierCache};
use crate::{error::AppError, state::State};

/// Registers every genesis model, keeping the derived verifiers in `cache`.
pub fn init_genesis(
    state: &mut State,
    models: &[GenesisModel],
    params: &ModelsParams,
    height: Height,
    cache: &VerifierCache,
) -> Result<(), AppError> {
    let mut seen = BTreeSet::new();
    for (i, entry) in models.iter().enumerate() {
        let at = format!("app_state.models[{i}]");
        let fail = |what: String| AppError::Genesis(format!("{at}: {what}"));
        let file = base64::engine::general_purpose::STANDARD
            .decode(entry.model.trim())
            .map_err(|e| fail(format!("model is not standard base64: {e}")))?;
        let zk = entry.modes.contains(&VerificationMode::Zk);
        let derived = cache
            .derive(&file, zk, params.max_k)
            .map_err(|e| fail(format!("cannot register the model: {e}")))?;
        let loaded = &derived.loaded;
        let named = |what: String| {
            fail(format!(
                "model {:?} ({}): {what}",
                loaded.model.name, loaded.id
            ))
        };
        if !seen.insert(loaded.id.0) {
            return Err(named("registered twice".into()));
        }
        if entry.modes.is_empty() {
            return Err(named("lists no verification mode".into()));
        }
        let mut modes = entry.modes.clone();
        modes.sort();
        modes.dedup();
        let (k, vk_hash) = match &derived.verifier {
            Some((verifier, hash)) => (verifier.key.k, *hash),
            // Optimistic only: no circuit, no key.
            None => (0, [0; 32]),
        };
        let record = ModelRecord {
            id: loaded.id.0,
            name: loaded.model.name.clone(),
            vk_hash,
            k,
            modes,
            status: ModelStatus::Active,
            registered_height: height,
            parameter_count: loaded.info.parameter_count,
            input_shape: loaded.model.input.shape.clone(),
            output_shape: loaded.info.output().shape.clone(),
        };
        tracing::info!(model = %loaded.id, name = %record.name, k, vk_hash = %hex::encode(vk_hash), "genesis model registered");
        put_model(state, &record);
        put_model_file(state, &record.id, file);
        if let Some((verifier, _)) = derived.verifier {
            cache.insert(verifier);
        }
    }
    Ok(())
}
