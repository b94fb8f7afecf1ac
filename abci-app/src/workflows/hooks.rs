//! The workflows component. The registry changes by governance
//! ([`super::register`]) and at genesis (`app_state.workflows`, each
//! checked as a `RegisterWorkflow` proposal would be); runs are the `runs`
//! module's.

use synod_protocol::{governance::ProposalKind, GenesisAppState};

use crate::{
    component::{Component, GenesisContext},
    error::AppError,
    governance,
    state::State,
};

/// The workflows component.
pub struct Workflows;

impl Component for Workflows {
    fn name(&self) -> &'static str {
        "workflows"
    }

    /// Registers the genesis workflows (after the models, which they
    /// name), each at version 1 by "proposal 0".
    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        for (i, spec) in genesis.workflows.iter().enumerate() {
            let refused = |e: String| {
                AppError::Genesis(format!("app_state.workflows[{i}] ({:?}): {e}", spec.name))
            };
            spec.check().map_err(|e| refused(e.to_string()))?;
            let kind = ProposalKind::RegisterWorkflow {
                workflow: spec.clone(),
            };
            governance::handlers::check_against_state(state, &kind)
                .map_err(|e| refused(AppError::from_genesis(e).to_string()))?;
            super::register(state, spec, 0, ctx.height)?;
        }
        Ok(())
    }
}
