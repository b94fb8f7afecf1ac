//! Entering, upgrading and retiring models: shared by genesis and by
//! governance proposals, so a model registered either way gets the same
//! checks and the same record.

use std::sync::Arc;

use synod_protocol::{
    state::{ModelRecord, ModelStatus, VerificationMode},
    Event, Height,
};

use super::{
    model, put_model, put_model_file, state_key, ModelFileError, ModelVerifier, VerifierCache,
};
use crate::{
    error::{HandlerError, TxError},
    state::{State, StateError},
};

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
) -> Result<Registration, ModelFileError> {
    if modes.is_empty() {
        return Err(ModelFileError::NoVerificationMode);
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

/// Registers a prepared model: its record and IR (genesis, or a passed
/// `RegisterModel` proposal; the caller checked it is not registered yet).
pub fn register(state: &mut State, registration: &Registration) {
    put_model(state, &registration.record);
    put_model_file(state, &registration.record.id, registration.file.clone());
}

/// Registers `registration` as the next version of model `previous` (a
/// passed `UpgradeModel` proposal): the new record names its predecessor,
/// the old one its successor, and the old one retires after `grace_blocks`
/// (at once for 0). Refused, writing nothing, if `previous` is unknown or the
/// input shape changes.
pub fn upgrade(
    state: &mut State,
    previous: &[u8; 32],
    mut registration: Registration,
    grace_blocks: u64,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<Registration, HandlerError> {
    let mut old = model(state, previous)?.ok_or_else(|| TxError::UnknownModel {
        model: hex::encode(previous),
    })?;
    if old.input_shape != registration.record.input_shape {
        return Err(TxError::InvalidProposal(format!(
            "the new version takes input shape {:?}, the old one {:?}: an upgrade must keep the input shape",
            registration.record.input_shape, old.input_shape
        ))
        .into());
    }
    registration.record.predecessor = Some(*previous);
    register(state, &registration);
    events.push(Event::ModelRegistered {
        model: registration.record.id,
        name: registration.record.name.clone(),
        vk_hash: registration.record.vk_hash,
        successor_of: Some(*previous),
    });
    let at = Height(height.value().saturating_add(grace_blocks));
    old.successor = Some(registration.record.id);
    old.retire_at = Some(at);
    if grace_blocks == 0 {
        retire_record(state, old, height, events);
    } else {
        put_model(state, &old);
        state.put(state_key::retirement(at, previous), &1u8);
        events.push(Event::ModelRetirementScheduled {
            model: *previous,
            at_height: at,
        });
    }
    Ok(registration)
}

/// Retires model `id` now (a passed `RetireModel` proposal). Refused if the
/// model is unknown.
pub fn retire(
    state: &mut State,
    id: &[u8; 32],
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let record = model(state, id)?.ok_or_else(|| TxError::UnknownModel {
        model: hex::encode(id),
    })?;
    retire_record(state, record, height, events);
    Ok(())
}

fn retire_record(
    state: &mut State,
    mut record: ModelRecord,
    height: Height,
    events: &mut Vec<Event>,
) {
    record.status = ModelStatus::Retired { at_height: height };
    record.retire_at = Some(height);
    events.push(Event::ModelRetired { model: record.id });
    put_model(state, &record);
}

/// End of block: retires the models whose grace period ends at `height` or
/// earlier (a model retired meanwhile by a proposal is skipped).
pub(super) fn end_block(
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
                retire_record(state, record, height, events);
            }
        }
    }
    Ok(())
}

/// The newest version of model `id`: its record, or its successor's, and so
/// on along the upgrade chain. What a new run of a workflow step uses.
pub fn current_version(state: &State, id: &[u8; 32]) -> Result<Option<ModelRecord>, StateError> {
    synod_protocol::models::current_version(id, |id| model(state, id))
}
