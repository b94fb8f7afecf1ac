//! InitChain for disputes: its params. Disputes open by transaction.

use synod_protocol::GenesisAppState;

use super::update_params;
use crate::state::State;

/// Writes `params.disputes`.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) {
    update_params(state, &genesis.params.disputes);
}
