//! InitChain for runs: its params. Runs start by transaction.

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.runs`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.runs);
}
