//! The agents module's parameters (`params.agents`).

use synod_protocol::params::AgentsParams;

use super::state_key;
use crate::state::{State, StateError};

/// Module parameters.
pub fn params(state: &State) -> Result<AgentsParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them (the only other caller). A raised `min_bond` binds new
/// registrations; agents already bonded keep their bond.
pub fn update_params(state: &mut State, params: &AgentsParams) {
    state.put(state_key::params(), params);
}
