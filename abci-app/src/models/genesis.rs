//! The models of genesis `app_state.models`: each file decoded and checked,
//! its verifying key derived under `params.models.max_k`, its record and IR
//! stored. Anything wrong refuses genesis, naming the model.

use std::collections::BTreeSet;

use base64::Engine;
use synod_protocol::{GenesisAppState, Height};

use super::{registry, update_params, VerifierCache};
use crate::{error::AppError, state::State};

/// Writes `params.models` and registers every genesis model, keeping the
/// derived verifiers in `cache`.
pub fn init_genesis(
    state: &mut State,
    genesis: &GenesisAppState,
    height: Height,
    cache: &VerifierCache,
) -> Result<(), AppError> {
    let (models, params) = (&genesis.models, &genesis.params.models);
    update_params(state, params);
    let mut seen = BTreeSet::new();
    for (i, entry) in models.iter().enumerate() {
        let at = format!("app_state.models[{i}]");
        let fail = |what: String| AppError::Genesis(format!("{at}: {what}"));
        let file = base64::engine::general_purpose::STANDARD
            .decode(entry.model.trim())
            .map_err(|e| fail(format!("model is not standard base64: {e}")))?;
        let registration = registry::prepare(cache, &file, &entry.modes, params.max_k, height)
            .map_err(|e| fail(format!("cannot register the model: {e}")))?;
        let record = &registration.record;
        if !seen.insert(record.id) {
            return Err(fail(format!(
                "model {:?} ({}) is registered twice",
                record.name,
                hex::encode(record.id)
            )));
        }
        tracing::info!(model = %hex::encode(record.id), name = %record.name, k = record.k, vk_hash = %hex::encode(record.vk_hash), "genesis model registered");
        registry::register(state, &registration);
        if let Some(verifier) = registration.verifier {
            cache.insert(verifier);
        }
    }
    Ok(())
}
