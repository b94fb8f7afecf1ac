//! InitChain for governance: its params. No proposal exists at genesis.

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.governance`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.governance);
}
