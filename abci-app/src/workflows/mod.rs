//! `workflows`: the registry of workflow DAGs, entered and updated by
//! governance (`RegisterWorkflow`, `UpdateWorkflow`). A workflow's steps name
//! registered models; a new run of a step uses the newest version of its
//! model ([`step_models`]), so a model upgrade carries over to workflows.
//! Runs, step assignment and results are the workflow issue's.

pub mod state_key;

use synod_protocol::governance::{WorkflowRecord, WorkflowSpec};

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

/// Writes a workflow record.
pub fn put_workflow(state: &mut State, record: &WorkflowRecord) {
    state.put(state_key::workflow(&record.spec.name), record);
}

/// Checks every step's model against the registry: registered, active (or
/// upgraded to an active version) and accepting the step's verification
/// mode. The error names the step and the problem.
pub fn check_models(state: &State, spec: &WorkflowSpec) -> Result<(), WorkflowCheck> {
    for (i, step) in spec.steps.iter().enumerate() {
        let at = || format!("step {i} ({})", step.name);
        let current = models::registry::current_version(state, &step.model)?.ok_or_else(|| {
            WorkflowCheck::Invalid(format!(
                "{}: unknown model {}",
                at(),
                hex::encode(step.model)
            ))
        })?;
        if !current.is_active() {
            return Err(WorkflowCheck::Invalid(format!(
                "{}: model {} is retired",
                at(),
                hex::encode(current.id)
            )));
        }
        if !current.modes.contains(&step.mode) {
            return Err(WorkflowCheck::Invalid(format!(
                "{}: model {} does not allow the {:?} mode (it allows {:?})",
                at(),
                hex::encode(current.id),
                step.mode,
                current.modes
            )));
        }
    }
    Ok(())
}

/// Why a workflow does not fit the registry.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowCheck {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    State(#[from] StateError),
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
