//! Whether a proposal fits the chain's state: the one rule the chain applies
//! when a proposal is submitted (a clear tx error) and again when it executes
//! (state may have changed during the vote), and that `synod gov propose`
//! applies before sending (a refusal in a block still costs the fee).
//!
//! The rules read state through [`AdmissionView`]: the chain implements it
//! over its state, a client over records it fetched. They are pure, so both
//! sides run exactly the same checks in the same order, and a refusal reads
//! the same on both.

use crate::{
    address::Address,
    height::Height,
    models::current_version,
    params::{ChainParams, GovernanceParams, ParamChangeError},
    state::{ModelRecord, ModelStatus, VerificationMode},
};

use super::{ProposalKind, WorkflowRecord, WorkflowSpec};

/// What a proposal's `.synod-model` file says it is. Decoding the file needs
/// `synod-zkml`, which this crate cannot depend on, so the view does it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewModel {
    /// The model id (the Merkle root of its IR).
    pub id: [u8; 32],
    /// The name the file gives the model.
    pub name: String,
}

/// The facts the admission rules read. Every method may fail with the view's
/// own error (a storage error on the chain, a record not fetched in a
/// client), which [`check_proposal`] passes through as
/// [`AdmissionError::View`].
pub trait AdmissionView {
    /// Why a fact could not be read.
    type Error;

    /// The registered model `id`, if any.
    fn model(&self, id: &[u8; 32]) -> Result<Option<ModelRecord>, Self::Error>;

    /// The registered workflow `name`, if any.
    fn workflow(&self, name: &str) -> Result<Option<WorkflowRecord>, Self::Error>;

    /// The chain's parameters now.
    fn chain_params(&self) -> Result<ChainParams, Self::Error>;

    /// Decodes a proposal's model file (format, stated id, IR rules); the
    /// error says what is wrong with the file. Called only after the checks
    /// that come first on the chain, so a proposal with several faults is
    /// refused for the same one everywhere.
    fn model_file(&self, file: &[u8]) -> Result<NewModel, Self::Error>;
}

/// Why a proposal does not fit the chain's state. Each message reads as the
/// chain's refusal does.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError<E> {
    /// `RegisterModel` of a model that is registered already.
    #[error("model {} ({name:?}) is already registered", hex::encode(.model))]
    ModelAlreadyRegistered { model: [u8; 32], name: String },
    /// `UpgradeModel` or `RetireModel` of a model that is not registered.
    #[error("unknown model {}: query /models for the registered ones", hex::encode(.model))]
    UnknownModel { model: [u8; 32] },
    /// `UpgradeModel` or `RetireModel` of a retired model.
    #[error("model {} was retired at height {at_height}: it accepts no new results", hex::encode(.model))]
    ModelRetired { model: [u8; 32], at_height: Height },
    /// `UpgradeModel` of a model that already has a newer version.
    #[error("model {} was already upgraded to {}", hex::encode(.model), hex::encode(.successor))]
    AlreadyUpgraded {
        model: [u8; 32],
        successor: [u8; 32],
    },
    /// `UpgradeModel` to a version that is registered already.
    #[error("the new version {} ({name:?}) is already registered", hex::encode(.model))]
    NewVersionAlreadyRegistered { model: [u8; 32], name: String },
    /// `RegisterWorkflow` under a name that is taken.
    #[error("workflow {name:?} is already registered: propose update_workflow")]
    WorkflowAlreadyRegistered { name: String },
    /// `UpdateWorkflow` of a workflow that is not registered.
    #[error("unknown workflow {name:?}: propose register_workflow")]
    UnknownWorkflow { name: String },
    /// A workflow step names a model that is not registered.
    #[error("step {step} ({step_name}): unknown model {}", hex::encode(.model))]
    StepModelUnknown {
        step: usize,
        step_name: String,
        model: [u8; 32],
    },
    /// The current version of a step's model is retired.
    #[error("step {step} ({step_name}): model {} is retired", hex::encode(.model))]
    StepModelRetired {
        step: usize,
        step_name: String,
        /// The current version (after following upgrades).
        model: [u8; 32],
    },
    /// The current version of a step's model does not allow the step's mode.
    #[error(
        "step {step} ({step_name}): model {} does not allow the {mode:?} mode (it allows {allowed:?})",
        hex::encode(.model)
    )]
    StepModeNotAllowed {
        step: usize,
        step_name: String,
        /// The current version (after following upgrades).
        model: [u8; 32],
        mode: VerificationMode,
        allowed: Vec<VerificationMode>,
    },
    /// A step's input length is not what it is fed: the run's input (the
    /// same for every step without inputs) or its producers' outputs,
    /// concatenated in the order listed.
    #[error("step {step} ({step_name}): its model takes {takes} values but is fed {fed} ({from})")]
    StepShapeMismatch {
        step: usize,
        step_name: String,
        takes: u64,
        fed: u64,
        /// What feeds it, in words.
        from: String,
    },
    /// A `ParamChange` that cannot be applied to the current parameters.
    #[error("invalid parameter change: {0}")]
    InvalidParamChange(ParamChangeError),
    /// The view could not read a fact (or decode the model file).
    #[error(transparent)]
    View(E),
}

/// Checks `kind` against the state `view` reads: the models and workflows it
/// names and, for a `ParamChange`, the parameters it would produce, which it
/// returns. Stateless checks ([`ProposalKind::check`]) come before this; the
/// zk circuit of a model is derived only when the proposal executes.
pub fn check_proposal<V: AdmissionView>(
    kind: &ProposalKind,
    view: &V,
) -> Result<Option<ChainParams>, AdmissionError<V::Error>> {
    match kind {
        ProposalKind::RegisterModel { model, .. } => {
            let new = view.model_file(model).map_err(AdmissionError::View)?;
            if read(view.model(&new.id))?.is_some() {
                return Err(AdmissionError::ModelAlreadyRegistered {
                    model: new.id,
                    name: new.name,
                });
            }
        }
        ProposalKind::UpgradeModel {
            previous, model, ..
        } => {
            let old = active_model(view, previous)?;
            if let Some(successor) = old.successor {
                return Err(AdmissionError::AlreadyUpgraded {
                    model: *previous,
                    successor,
                });
            }
            let new = view.model_file(model).map_err(AdmissionError::View)?;
            if read(view.model(&new.id))?.is_some() {
                return Err(AdmissionError::NewVersionAlreadyRegistered {
                    model: new.id,
                    name: new.name,
                });
            }
        }
        ProposalKind::RetireModel { model } => {
            active_model(view, model)?;
        }
        ProposalKind::RegisterWorkflow { workflow } => {
            if read(view.workflow(&workflow.name))?.is_some() {
                return Err(AdmissionError::WorkflowAlreadyRegistered {
                    name: workflow.name.clone(),
                });
            }
            check_step_models(view, workflow)?;
        }
        ProposalKind::UpdateWorkflow { workflow } => {
            if read(view.workflow(&workflow.name))?.is_none() {
                return Err(AdmissionError::UnknownWorkflow {
                    name: workflow.name.clone(),
                });
            }
            check_step_models(view, workflow)?;
        }
        ProposalKind::ParamChange { changes } => {
            let params = read(view.chain_params())?
                .with_changes(changes)
                .map_err(AdmissionError::InvalidParamChange)?;
            return Ok(Some(params));
        }
        ProposalKind::TreasurySpend { .. } | ProposalKind::Text => {}
    }
    Ok(None)
}

/// A view's answer, its error wrapped.
fn read<T, E>(answer: Result<T, E>) -> Result<T, AdmissionError<E>> {
    answer.map_err(AdmissionError::View)
}

/// Model `id`, which must be registered and not retired.
fn active_model<V: AdmissionView>(
    view: &V,
    id: &[u8; 32],
) -> Result<ModelRecord, AdmissionError<V::Error>> {
    let record = read(view.model(id))?.ok_or(AdmissionError::UnknownModel { model: *id })?;
    if let ModelStatus::Retired { at_height } = record.status {
        return Err(AdmissionError::ModelRetired {
            model: *id,
            at_height,
        });
    }
    Ok(record)
}

/// Every step's model, followed through its upgrades to the version a new
/// run of the step uses, must be registered, active and allow the step's
/// verification mode.
fn check_step_models<V: AdmissionView>(
    view: &V,
    workflow: &WorkflowSpec,
) -> Result<(), AdmissionError<V::Error>> {
    let mut current_models = Vec::with_capacity(workflow.steps.len());
    for (step, spec) in workflow.steps.iter().enumerate() {
        let current =
            read(current_version(&spec.model, |id| view.model(id)))?.ok_or_else(|| {
                AdmissionError::StepModelUnknown {
                    step,
                    step_name: spec.name.clone(),
                    model: spec.model,
                }
            })?;
        if !current.is_active() {
            return Err(AdmissionError::StepModelRetired {
                step,
                step_name: spec.name.clone(),
                model: current.id,
            });
        }
        if !current.modes.contains(&spec.mode) {
            return Err(AdmissionError::StepModeNotAllowed {
                step,
                step_name: spec.name.clone(),
                model: current.id,
                mode: spec.mode,
                allowed: current.modes,
            });
        }
        current_models.push(current);
    }
    check_step_shapes(workflow, &current_models)
}

/// Every step's model takes as many values as it is fed: the steps without
/// inputs all read the run's input (so their models take the same length),
/// and a step with inputs reads its producers' outputs concatenated in the
/// order listed. `models[i]` is step `i`'s model (its current version).
/// Checked when a workflow is registered and again when a run starts (an
/// upgrade may change a model's output shape).
pub fn check_step_shapes<E>(
    workflow: &WorkflowSpec,
    models: &[crate::state::ModelRecord],
) -> Result<(), AdmissionError<E>> {
    let mut run_input: Option<(usize, u64)> = None;
    for (i, (spec, model)) in workflow.steps.iter().zip(models).enumerate() {
        let takes = model.input_len();
        let (fed, from) = if spec.inputs.is_empty() {
            match run_input {
                None => {
                    run_input = Some((i, takes));
                    continue;
                }
                Some((first, len)) => (
                    len,
                    format!("the run's input, which step {first} reads as {len} values"),
                ),
            }
        } else {
            let fed = spec
                .inputs
                .iter()
                .filter_map(|&j| models.get(j as usize))
                .map(|m| m.output_len())
                .sum();
            let from = spec
                .inputs
                .iter()
                .map(|j| format!("step {j}"))
                .collect::<Vec<_>>()
                .join(" + ");
            (fed, format!("the outputs of {from}"))
        };
        if fed != takes {
            return Err(AdmissionError::StepShapeMismatch {
                step: i,
                step_name: spec.name.clone(),
                takes,
                fed,
                from,
            });
        }
    }
    Ok(())
}

/// A proposer who has as many proposals in flight as one may have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{proposer} already has {in_flight} proposals in their deposit or voting period, the most one proposer may have (governance.max_proposals_per_proposer = {max})"
)]
pub struct TooManyProposals {
    pub proposer: Address,
    /// The proposer's proposals in their deposit or voting period.
    pub in_flight: u32,
    /// `governance.max_proposals_per_proposer`.
    pub max: u32,
}

/// Whether `proposer`, who has `in_flight` proposals in their deposit or
/// voting period, may submit another: fewer than
/// `max_proposals_per_proposer` (spam protection).
pub fn check_in_flight(
    params: &GovernanceParams,
    proposer: &Address,
    in_flight: u32,
) -> Result<(), TooManyProposals> {
    if in_flight >= params.max_proposals_per_proposer {
        return Err(TooManyProposals {
            proposer: *proposer,
            in_flight,
            max: params.max_proposals_per_proposer,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
