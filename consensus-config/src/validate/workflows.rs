//! Genesis workflows: each well formed, no name twice, and (when the model
//! files load, with the `models` feature) every step checked against the
//! genesis models by the chain's own admission rules, as InitChain checks
//! them: the model exists, allows the step's mode, and takes as many values
//! as it is fed.

use synod_protocol::governance::{
    admission::{check_proposal, AdmissionView, NewModel},
    ProposalKind, WorkflowRecord, WorkflowSpec,
};
use synod_protocol::{params::ChainParams, state::ModelRecord};

use super::*;

/// The genesis models as the admission rules read them; no workflow is
/// registered yet (names are checked for repeats separately).
struct GenesisModels<'a>(&'a BTreeMap<[u8; 32], ModelRecord>);

impl AdmissionView for GenesisModels<'_> {
    type Error = std::convert::Infallible;

    fn model(&self, id: &[u8; 32]) -> Result<Option<ModelRecord>, Self::Error> {
        Ok(self.0.get(id).cloned())
    }

    fn workflow(&self, _name: &str) -> Result<Option<WorkflowRecord>, Self::Error> {
        Ok(None)
    }

    fn chain_params(&self) -> Result<ChainParams, Self::Error> {
        Ok(ChainParams::default())
    }

    fn model_file(&self, _file: &[u8]) -> Result<NewModel, Self::Error> {
        // Only RegisterWorkflow is checked here; it reads no model file.
        Ok(NewModel {
            id: [0; 32],
            name: String::new(),
        })
    }
}

impl Check {
    /// `models_checkable`: whether the genesis models were all read (with
    /// the `models` feature, and no problem in them: a model file that did
    /// not load would otherwise show again as an unknown model here).
    pub(super) fn workflows(
        &mut self,
        workflows: &[(usize, WorkflowSpec)],
        models_checkable: bool,
    ) {
        let mut names = BTreeSet::new();
        for (i, spec) in workflows {
            let path = format!("app_state.workflows[{i}]");
            let well_formed = match spec.check() {
                Ok(()) => true,
                Err(e) => {
                    self.problem(path.clone(), e.to_string());
                    false
                }
            };
            if !names.insert(spec.name.clone()) {
                self.problem(path, format!("workflow {:?} is listed twice", spec.name));
                continue;
            }
            if !well_formed || !models_checkable {
                continue;
            }
            let kind = ProposalKind::RegisterWorkflow {
                workflow: spec.clone(),
            };
            if let Err(e) = check_proposal(&kind, &GenesisModels(&self.models)) {
                self.problem(path, format!("workflow {:?}: {e}", spec.name));
            }
        }
    }
}
