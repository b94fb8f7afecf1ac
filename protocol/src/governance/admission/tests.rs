//! Each admission rule refuses what it must and lets a good proposal pass.

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
            min_bond: Amount::ZERO,
            min_reputation: 0,
            retries: 0,
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
    let err = check_proposal(&change("staking", "max_validators", "0"), &registry()).unwrap_err();
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

/// A step of model `model` consuming `inputs`.
fn dag_step(name: &str, model: u8, inputs: Vec<u32>) -> WorkflowStep {
    WorkflowStep {
        inputs,
        ..workflow("x", [model; 32], VerificationMode::Zk).steps[0].clone()
    }
    .named(name)
}

impl WorkflowStep {
    fn named(mut self, name: &str) -> WorkflowStep {
        self.name = name.into();
        self
    }
}

#[test]
fn step_lengths_must_match_what_feeds_them() {
    // Model 1 takes 4 and gives 2; model 3 takes 4 (2 + 2) and gives 2;
    // model 4 takes 2.
    let mut r = registry();
    r.models.insert([3; 32], record(3));
    let mut four = record(4);
    four.input_shape = vec![2];
    r.models.insert([4; 32], four);
    let dag = |steps: Vec<WorkflowStep>| ProposalKind::RegisterWorkflow {
        workflow: WorkflowSpec {
            name: "dag".into(),
            steps,
        },
    };
    // Two roots on the run's input, a join of both, a tail on the join.
    let good = dag(vec![
        dag_step("a", 1, vec![]),
        dag_step("b", 1, vec![]),
        dag_step("join", 3, vec![0, 1]),
        dag_step("tail", 4, vec![2]),
    ]);
    assert!(matches!(check_proposal(&good, &r), Ok(None)));
    // The join fed one output (2 values) where it takes 4.
    let short = dag(vec![dag_step("a", 1, vec![]), dag_step("join", 3, vec![0])]);
    let e = check_proposal(&short, &r).unwrap_err();
    assert!(
        matches!(
            e,
            AdmissionError::StepShapeMismatch {
                step: 1,
                takes: 4,
                fed: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("the outputs of step 0"), "{e}");
    // Two roots whose models take different lengths cannot share the input.
    let roots = dag(vec![dag_step("a", 1, vec![]), dag_step("b", 4, vec![])]);
    let e = check_proposal(&roots, &r).unwrap_err();
    assert!(
        matches!(
            e,
            AdmissionError::StepShapeMismatch {
                step: 1,
                takes: 2,
                fed: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("the run's input"), "{e}");
}

#[test]
fn step_requirements_are_bounded_and_inputs_listed_once() {
    let mut w = workflow("w", [1; 32], VerificationMode::Zk);
    w.steps[0].retries = crate::governance::MAX_STEP_RETRIES;
    w.steps[0].min_reputation = crate::params::PPM;
    assert!(w.check().is_ok());
    w.steps[0].retries += 1;
    assert!(w.check().unwrap_err().to_string().contains("retries"));
    w.steps[0].retries = 0;
    w.steps[0].min_reputation += 1;
    assert!(w.check().unwrap_err().to_string().contains("reputation"));
    w.steps[0].min_reputation = 0;
    w.steps.push(dag_step("twice", 3, vec![0, 0]));
    assert!(w.check().unwrap_err().to_string().contains("twice"));
}
