//! InitChain for rewards: its params. The treasury starts empty.

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.rewards`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.rewards);
}
