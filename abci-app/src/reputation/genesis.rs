//! InitChain for reputation: its params. Scores are given to identities as
//! they register (validators at genesis through the staking component).

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.reputation`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.reputation);
}
