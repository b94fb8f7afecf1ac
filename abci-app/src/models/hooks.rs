//! The models component: genesis models, the retirement queue at the end of
//! each block, and `SubmitInferenceProof`.

use synod_protocol::{Amount, Event, GenesisAppState, TxBody};

use super::{genesis, handlers, registry, VerifierCache};
use crate::{
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError},
    state::{State, StateError},
};

/// The models component, with the verifying keys of the registered models.
pub struct Models {
    pub verifiers: VerifierCache,
}

impl Component for Models {
    fn name(&self) -> &'static str {
        "models"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis, ctx.height, &self.verifiers)
    }

    /// Retires the models whose upgrade grace period ended.
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        Ok(registry::end_block(state, block.height, &mut out.events)?)
    }

    /// A proof of inference pays for its verification: `2^k` rows of the
    /// model's circuit at `verify_fee_per_row_usyn` each. An unknown model
    /// needs nothing extra (its transaction fails before any verification).
    fn execution_fee(&self, state: &State, body: &TxBody) -> Result<Amount, StateError> {
        let TxBody::SubmitInferenceProof { model, .. } = body else {
            return Ok(Amount::ZERO);
        };
        Ok(super::proof_cost(state, super::model(state, model)?.as_ref())?.0)
    }

    /// A proof of inference costs `2^k` rows of verification at
    /// [`crate::gas::GAS_PER_PROOF_ROW`] each.
    fn execution_gas(&self, state: &State, body: &TxBody) -> Result<u64, StateError> {
        let TxBody::SubmitInferenceProof { model, .. } = body else {
            return Ok(0);
        };
        Ok(super::proof_cost(state, super::model(state, model)?.as_ref())?.1)
    }

    fn check_and_execute(
        &self,
        state: &mut State,
        tx: &TxContext<'_>,
        body: &TxBody,
        events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        match body {
            TxBody::SubmitInferenceProof {
                model,
                input,
                output,
                proof,
            } => handlers::submit_inference_proof(
                state,
                &tx.signer,
                handlers::InferenceClaim {
                    model,
                    input,
                    output,
                    proof,
                },
                &self.verifiers,
                tx.proofs,
                events,
            ),
            other => Err(not_handled(self.name(), other)),
        }
    }
}
