//! Entering, upgrading and retiring models: shared by genesis and by
//! governance proposals, so a model registered either way gets the same
//! checks and the same record.

use std::sync::Arc;

use synod_protocol::{
    state::{ModelRecord, ModelStatus, VerificationMode},
    Event, Height,
};

use super::{model, put_model, put_model_file, state_key, ModelVerifier, VerifierCache};
use crate::state::{State, StateError};

/// Longest upgrade chain followed by [`current_version`].
const MAX_UPGRADE_HOPS: usize = 64;

/// A model file checked and ready to store: its record and, for a
/// zk-enabled model, the verifier (kept out of the cache until the
/// registration is committed to state).
pub struct Registration {
    pub record: ModelRecord,
    pub file: Vec<u8>,
    pub verifier: Option<Arc<ModelVerifier>>,
}

/// Checks `file` (format, stated id, IR rules) and, if `modes` has zk,
/// derives its verifying key under `max_k`. Writes nothing. The error says
/// what is wrong with the model.
pub fn prepare(
    cache: &VerifierCache,
    file: &[u8],
    modes: &[VerificationMode],
    max_k: u32,
    height: Height,
) -> Result<Registration, String> {
    if modes.is_empty() {
        return Err("lists no verification mode".into());
    }
    let mut modes = modes.to_vec();
    modes.sort();
    modes.dedup();
    let derived = cache.derive(file, modes.contains(&VerificationMode::Zk), max_k)?;
    let loaded = &derived.loaded;
    let (k, vk_hash, verifier) = match derived.verifier {
        Some((verifier, hash)) => (verifier.key.k, hash, Some(verifier)),
        // Optimistic only: no circuit, no key.
        None => (0, [0; 32], None),
    };
    Ok(Registration {
        record: ModelRecord {
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
            predecessor: None,
            successor: None,
            retire_at: None,
        },
        file: file.to_vec(),
        verifier,
    })
}

/// Writes a prepared model's record and IR.
pub fn store(state: &mut State, registration: &Registration) {
    put_model(state, &registration.record);
    put_model_file(state, &registration.record.id, registration.file.clone());
}

/// Retires `record` now.
pub fn retire(state: &mut State, mut record: ModelRecord, height: Height, events: &mut Vec<Event>) {
    record.status = ModelStatus::Retired { at_height: height };
    record.retire_at = Some(height);
    events.push(Event::ModelRetired { model: record.id });
    put_model(state, &record);
}

/// Schedules the retirement of model `id` at the end of block `at`.
pub fn schedule_retirement(state: &mut State, id: &[u8; 32], at: Height) {
    state.put(state_key::retirement(at, id), &1u8);
}

/// End of block: retires the models whose grace period ends at `height` or
/// earlier (a model retired meanwhile by a proposal is skipped).
pub fn end_block(
    state: &mut State,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let due: Vec<(Vec<u8>, Height, [u8; 32])> = state
        .prefix_raw(&state_key::retirements_prefix())?
        .into_iter()
        .filter_map(|(key, _)| {
            let (at, id) = state_key::parse_retirement(&key)?;
            Some((key, at, id))
        })
        .take_while(|(_, at, _)| *at <= height)
        .collect();
    for (key, _, id) in due {
        state.delete(key);
        if let Some(record) = model(state, &id)? {
            if record.is_active() {
                tracing::info!(model = %hex::encode(id), name = %record.name, "grace period over: model retired");
                retire(state, record, height, events);
            }
        }
    }
    Ok(())
}

/// The newest version of model `id`: its record, or its successor's, and so
/// on along the upgrade chain. What a new run of a workflow step uses.
pub fn current_version(state: &State, id: &[u8; 32]) -> Result<Option<ModelRecord>, StateError> {
    let Some(mut record) = model(state, id)? else {
        return Ok(None);
    };
    for _ in 0..MAX_UPGRADE_HOPS {
        match record.successor {
            Some(next) => match model(state, &next)? {
                Some(r) => record = r,
                None => break,
            },
            None => break,
        }
    }
    Ok(Some(record))
}
