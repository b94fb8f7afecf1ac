//! `workflows`: the registry of workflow DAGs, entered and updated by
//! governance (`RegisterWorkflow`, `UpdateWorkflow`). A workflow's steps name
//! registered models; a new run of a step uses the newest version of its
//! model ([`step_models`]), so a model upgrade carries over to workflows.
//! Runs, step assignment and results are the workflow issue's.

pub mod hooks;
pub mod state_key;
#[cfg(test)]
mod tests;

use synod_protocol::{
    governance::{ProposalId, WorkflowRecord, WorkflowSpec},
    Height,
};

use crate::{
    models,
    state::{State, StateError},
};

/// A registered workflow by name.
pub fn workflow(state: &State, name: &str) -> Result<Option<WorkflowRecord>, StateError> {
    state.get(&state_key::workflow(name))
}

/// Every registered workflow, in name order.
pub fn workflows(state: &State) -> Result<Vec<WorkflowRecord>, StateError> {
    Ok(state
        .prefix::<WorkflowRecord>(&state_key::workflows_prefix())?
        .into_iter()
        .map(|(_, w)| w)
        .collect())
}

/// Registers `spec` by a passed proposal: a new workflow at version 1, or
/// the next version of the one with its name (keeping its first
/// registration height). Returns the stored record.
pub fn register(
    state: &mut State,
    spec: &WorkflowSpec,
    proposal: ProposalId,
    height: Height,
) -> Result<WorkflowRecord, StateError> {
    let before = workflow(state, &spec.name)?;
    let record = WorkflowRecord {
        spec: spec.clone(),
        version: before.as_ref().map_or(1, |w| w.version + 1),
        spec_hash: spec.hash(),
        registered_height: before.as_ref().map_or(height, |w| w.registered_height),
        updated_height: height,
        proposal,
    };
    state.put(state_key::workflow(&record.spec.name), &record);
    Ok(record)
}

/// The model each step of `spec` runs now: the newest version of the model
/// it names (`None` for a step whose model is unknown).
pub fn step_models(
    state: &State,
    spec: &WorkflowSpec,
) -> Result<Vec<Option<[u8; 32]>>, StateError> {
    spec.steps
        .iter()
        .map(|step| Ok(models::registry::current_version(state, &step.model)?.map(|r| r.id)))
        .collect()
}
