//! InitChain for agents: its params. Agents register by transaction.

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.agents`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.agents);
}
