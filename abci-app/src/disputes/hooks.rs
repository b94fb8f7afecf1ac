//! The disputes component: its params at genesis, its transactions, and
//! the clocks at the end of a block.

use synod_protocol::{Event, GenesisAppState, TxBody};

use super::{genesis, handlers};
use crate::{
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant, TxError},
    runs::optimistic,
    state::{State, StateError},
};

/// The disputes component.
pub struct Disputes;

/// The state root before this block: the seed of a reassignment's draw.
fn prev_app_hash(state: &State) -> [u8; 32] {
    state
        .storage()
        .committed()
        .map(|c| c.root)
        .unwrap_or_default()
}

impl Component for Disputes {
    fn name(&self) -> &'static str {
        "disputes"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis);
        Ok(())
    }

    /// Settles the disputes whose side to move ran out of clock.
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        let root = prev_app_hash(state);
        handlers::time_out(state, block.height, &root, &mut out.events).or_invariant("disputes")
    }

    fn check_stateless(&self, body: &TxBody) -> Result<(), TxError> {
        handlers::check_stateless(body)
    }

    /// A challenge and a one step load the model's IR (and the one step
    /// runs one node of it): [`crate::runs::optimistic::GAS_PER_MODEL_PARAMETER`].
    fn execution_gas(&self, state: &State, body: &TxBody) -> Result<u64, StateError> {
        match body {
            TxBody::Challenge { run, step, .. } => optimistic::ir_gas(state, *run, *step),
            TxBody::OneStep { dispute, .. } => match super::dispute(state, *dispute)? {
                Some(d) => optimistic::ir_gas(state, d.run, d.step),
                None => Ok(0),
            },
            _ => Ok(0),
        }
    }

    fn check_and_execute(
        &self,
        state: &mut State,
        tx: &TxContext<'_>,
        body: &TxBody,
        events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        let at = handlers::At {
            height: tx.height,
            prev_app_hash: prev_app_hash(state),
            events,
        };
        let signer = &tx.signer;
        match body {
            TxBody::Challenge { run, step, bond } => {
                handlers::challenge(state, signer, (*run, *step, *bond), at)
            }
            TxBody::Bisect { dispute, mid_root } => {
                handlers::bisect(state, signer, (*dispute, *mid_root), at)
            }
            TxBody::SelectHalf { dispute, half } => {
                handlers::select_half(state, signer, (*dispute, *half), at)
            }
            TxBody::OneStep { dispute, witness } => {
                handlers::one_step(state, signer, (*dispute, witness), at)
            }
            other => Err(not_handled(self.name(), other)),
        }
    }
}
