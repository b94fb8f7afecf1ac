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
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        amount::Amount,
        governance::{ParamChange, WorkflowStep},
        models::tests::record,
    };

    /// Records in memory; a model file is "decoded" by looking it up in
    /// `files`, and fails when it is not there.
    #[derive(Default)]
    struct Registry {
        models: BTreeMap<[u8; 32], ModelRecord>,
        workflows: BTreeMap<String, WorkflowRecord>,
        params: ChainParams,
        files: BTreeMap<Vec<u8>, NewModel>,
    }

    /// What [`Registry`] fails with.
    #[derive(Debug, PartialEq, Eq)]
    struct BadFile;

    impl std::fmt::Display for BadFile {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bad file")
        }
    }

    impl std::error::Error for BadFile {}

    impl AdmissionView for Registry {
        type Error = BadFile;

        fn model(&self, id: &[u8; 32]) -> Result<Option<ModelRecord>, BadFile> {
            Ok(self.models.get(id).cloned())
        }

        fn workflow(&self, name: &str) -> Result<Option<WorkflowRecord>, BadFile> {
            Ok(self.workflows.get(name).cloned())
        }

        fn chain_params(&self) -> Result<ChainParams, BadFile> {
            Ok(self.params.clone())
        }

        fn model_file(&self, file: &[u8]) -> Result<NewModel, BadFile> {
            self.files.get(file).cloned().ok_or(BadFile)
        }
    }

    const FILE: &[u8] = b"model 7";

    /// Models 1 (active) and 2 (retired at height 9), the file of model 7,
    /// and workflow "digits".
    fn registry() -> Registry {
        let mut r = Registry::default();
        r.models.insert([1; 32], record(1));
        let mut retired = record(2);
        retired.status = ModelStatus::Retired {
            at_height: Height(9),
        };
        r.models.insert([2; 32], retired);
        r.files.insert(
            FILE.to_vec(),
            NewModel {
                id: [7; 32],
                name: "seven".into(),
            },
        );
        let spec = workflow("digits", [1; 32], VerificationMode::Zk);
        r.workflows.insert(
            "digits".into(),
            WorkflowRecord {
                spec_hash: spec.hash(),
                spec,
                version: 1,
                registered_height: Height(1),
                updated_height: Height(1),
                proposal: 1,
            },
        );
        r
    }

    fn workflow(name: &str, model: [u8; 32], mode: VerificationMode) -> WorkflowSpec {
        WorkflowSpec {
            name: name.into(),
            steps: vec![WorkflowStep {
                name: "classify".into(),
                model,
                inputs: vec![],
                mode,
                timeout_blocks: 10,
                reward: Amount(5),
            }],
        }
    }

    fn register_workflow(name: &str, model: u8, mode: VerificationMode) -> ProposalKind {
        ProposalKind::RegisterWorkflow {
            workflow: workflow(name, [model; 32], mode),
        }
    }

    fn update_workflow(name: &str, model: u8, mode: VerificationMode) -> ProposalKind {
        ProposalKind::UpdateWorkflow {
            workflow: workflow(name, [model; 32], mode),
        }
    }

    fn register(model: &[u8]) -> ProposalKind {
        ProposalKind::RegisterModel {
            model: model.to_vec(),
            modes: vec![VerificationMode::Zk],
        }
    }

    fn upgrade(previous: u8, model: &[u8]) -> ProposalKind {
        ProposalKind::UpgradeModel {
            previous: [previous; 32],
            model: model.to_vec(),
            modes: vec![VerificationMode::Zk],
            grace_blocks: 10,
        }
    }

    fn check(kind: ProposalKind, view: &Registry) -> Result<Option<ChainParams>, String> {
        check_proposal(&kind, view).map_err(|e| e.to_string())
    }

    #[test]
    fn registering_a_new_model_passes() {
        assert_eq!(check(register(FILE), &registry()), Ok(None));
    }

    #[test]
    fn registering_a_registered_model_is_refused() {
        let mut r = registry();
        r.models.insert([7; 32], record(7));
        let err = check_proposal(&register(FILE), &r).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::ModelAlreadyRegistered { model: [7, ..], ref name } if name == "seven"
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "model {} (\"seven\") is already registered",
                "07".repeat(32)
            )
        );
    }

    #[test]
    fn a_model_file_that_does_not_decode_is_the_views_error() {
        let err = check_proposal(&register(b"junk"), &registry()).unwrap_err();
        assert!(matches!(err, AdmissionError::View(BadFile)));
    }

    #[test]
    fn upgrading_an_active_model_to_a_new_version_passes() {
        assert_eq!(check(upgrade(1, FILE), &registry()), Ok(None));
    }

    #[test]
    fn upgrading_an_unknown_model_is_refused_before_the_file_is_read() {
        // The file is bad too: the unknown model is what the chain reports.
        let err = check_proposal(&upgrade(3, b"junk"), &registry()).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::UnknownModel { model: [3, ..] }
        ));
        assert!(
            err.to_string()
                .starts_with(&format!("unknown model {}", "03".repeat(32))),
            "{err}"
        );
    }

    #[test]
    fn upgrading_a_retired_model_is_refused() {
        let err = check_proposal(&upgrade(2, FILE), &registry()).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::ModelRetired {
                model: [2, ..],
                at_height: Height(9)
            }
        ));
        assert!(err.to_string().contains("retired at height 9"), "{err}");
    }

    #[test]
    fn upgrading_a_model_twice_is_refused() {
        let mut r = registry();
        r.models.get_mut(&[1; 32]).unwrap().successor = Some([5; 32]);
        let err = check_proposal(&upgrade(1, FILE), &r).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::AlreadyUpgraded {
                model: [1, ..],
                successor: [5, ..]
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "model {} was already upgraded to {}",
                "01".repeat(32),
                "05".repeat(32)
            )
        );
    }

    #[test]
    fn upgrading_to_a_registered_version_is_refused() {
        let mut r = registry();
        r.models.insert([7; 32], record(7));
        let err = check_proposal(&upgrade(1, FILE), &r).unwrap_err();
        assert!(matches!(
            err,
            AdmissionError::NewVersionAlreadyRegistered { model: [7, ..], .. }
        ));
        assert!(err.to_string().starts_with("the new version"), "{err}");
    }

    #[test]
    fn retiring_an_active_model_passes() {
        let kind = ProposalKind::RetireModel { model: [1; 32] };
        assert_eq!(check(kind, &registry()), Ok(None));
    }

    #[test]
    fn retiring_an_unknown_or_retired_model_is_refused() {
        let unknown = ProposalKind::RetireModel { model: [3; 32] };
        assert!(matches!(
            check_proposal(&unknown, &registry()),
            Err(AdmissionError::UnknownModel { model: [3, ..] })
        ));
        let retired = ProposalKind::RetireModel { model: [2; 32] };
        assert!(matches!(
            check_proposal(&retired, &registry()),
            Err(AdmissionError::ModelRetired { model: [2, ..], .. })
        ));
    }

    #[test]
    fn registering_a_new_workflow_passes() {
        let kind = register_workflow("other", 1, VerificationMode::Zk);
        assert_eq!(check(kind, &registry()), Ok(None));
    }

    #[test]
    fn registering_a_registered_workflow_is_refused() {
        let kind = register_workflow("digits", 1, VerificationMode::Zk);
        assert_eq!(
            check(kind, &registry()),
            Err("workflow \"digits\" is already registered: propose update_workflow".into())
        );
    }

    #[test]
    fn updating_a_registered_workflow_passes() {
        let kind = update_workflow("digits", 1, VerificationMode::Optimistic);
        assert_eq!(check(kind, &registry()), Ok(None));
    }

    #[test]
    fn updating_an_unknown_workflow_is_refused() {
        let kind = update_workflow("other", 1, VerificationMode::Zk);
        assert_eq!(
            check(kind, &registry()),
            Err("unknown workflow \"other\": propose register_workflow".into())
        );
    }

    #[test]
    fn a_step_whose_model_is_unknown_is_refused() {
        let kind = register_workflow("other", 3, VerificationMode::Zk);
        assert_eq!(
            check(kind, &registry()),
            Err(format!(
                "step 0 (classify): unknown model {}",
                "03".repeat(32)
            ))
        );
    }

    #[test]
    fn a_step_whose_model_is_retired_is_refused() {
        let kind = register_workflow("other", 2, VerificationMode::Zk);
        assert_eq!(
            check(kind, &registry()),
            Err(format!(
                "step 0 (classify): model {} is retired",
                "02".repeat(32)
            ))
        );
    }

    #[test]
    fn a_step_whose_model_refuses_its_mode_is_refused() {
        let mut r = registry();
        r.models.get_mut(&[1; 32]).unwrap().modes = vec![VerificationMode::Optimistic];
        let kind = update_workflow("digits", 1, VerificationMode::Zk);
        assert_eq!(
            check(kind, &r),
            Err(format!(
                "step 0 (classify): model {} does not allow the Zk mode (it allows [Optimistic])",
                "01".repeat(32)
            ))
        );
    }

    #[test]
    fn a_step_runs_the_newest_version_of_its_model() {
        // Model 1 was upgraded to 4; a step naming 1 is checked against 4.
        let mut r = registry();
        r.models.get_mut(&[1; 32]).unwrap().successor = Some([4; 32]);
        let mut newer = record(4);
        newer.modes = vec![VerificationMode::Optimistic];
        r.models.insert([4; 32], newer);
        let zk = register_workflow("other", 1, VerificationMode::Zk);
        assert!(matches!(
            check_proposal(&zk, &r),
            Err(AdmissionError::StepModeNotAllowed { model: [4, ..], .. })
        ));
        let optimistic = register_workflow("other", 1, VerificationMode::Optimistic);
        assert_eq!(check(optimistic.clone(), &r), Ok(None));
        // Once the newest version is retired, the step is refused.
        r.models.get_mut(&[4; 32]).unwrap().status = ModelStatus::Retired {
            at_height: Height(3),
        };
        assert!(matches!(
            check_proposal(&optimistic, &r),
            Err(AdmissionError::StepModelRetired { model: [4, ..], .. })
        ));
    }

    fn change(module: &str, name: &str, value: &str) -> ProposalKind {
        ProposalKind::ParamChange {
            changes: vec![ParamChange {
                module: module.into(),
                name: name.into(),
                value: value.into(),
            }],
        }
    }

    #[test]
    fn a_valid_param_change_passes_and_returns_the_new_params() {
        let params = check(change("staking", "max_validators", "7"), &registry())
            .unwrap()
            .unwrap();
        assert_eq!(params.staking.max_validators, 7);
    }

    #[test]
    fn a_param_change_out_of_bounds_is_refused() {
        let err =
            check_proposal(&change("staking", "max_validators", "0"), &registry()).unwrap_err();
        let AdmissionError::InvalidParamChange(inner) = &err else {
            panic!("{err}");
        };
        assert!(matches!(inner, ParamChangeError::OutOfBounds(_)));
        assert_eq!(
            err.to_string(),
            format!("invalid parameter change: {inner}")
        );
    }

    #[test]
    fn text_and_treasury_spends_read_nothing() {
        struct Nothing;
        impl AdmissionView for Nothing {
            type Error = ();
            fn model(&self, _: &[u8; 32]) -> Result<Option<ModelRecord>, ()> {
                Err(())
            }
            fn workflow(&self, _: &str) -> Result<Option<WorkflowRecord>, ()> {
                Err(())
            }
            fn chain_params(&self) -> Result<ChainParams, ()> {
                Err(())
            }
            fn model_file(&self, _: &[u8]) -> Result<NewModel, ()> {
                Err(())
            }
        }
        assert!(matches!(
            check_proposal(&ProposalKind::Text, &Nothing),
            Ok(None)
        ));
        let spend = ProposalKind::TreasurySpend {
            recipient: Address([1; 20]),
            amount: Amount(5),
        };
        assert!(matches!(check_proposal(&spend, &Nothing), Ok(None)));
    }

    #[test]
    fn a_proposer_below_the_limit_may_propose() {
        let params = GovernanceParams::default();
        let max = params.max_proposals_per_proposer;
        assert_eq!(check_in_flight(&params, &Address([1; 20]), 0), Ok(()));
        assert_eq!(check_in_flight(&params, &Address([1; 20]), max - 1), Ok(()));
    }

    #[test]
    fn a_proposer_at_the_limit_is_refused() {
        let params = GovernanceParams::default();
        let max = params.max_proposals_per_proposer;
        let err = check_in_flight(&params, &Address([1; 20]), max).unwrap_err();
        assert_eq!(
            err,
            TooManyProposals {
                proposer: Address([1; 20]),
                in_flight: max,
                max
            }
        );
        assert!(
            err.to_string().contains("max_proposals_per_proposer"),
            "{err}"
        );
    }
}
