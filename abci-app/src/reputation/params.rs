//! The reputation module's parameters (`params.reputation`).

use synod_protocol::params::ReputationParams;

use super::state_key;
use crate::state::{State, StateError};

/// Module parameters.
pub fn params(state: &State) -> Result<ReputationParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them (the only other caller).
pub fn update_params(state: &mut State, params: &ReputationParams) {
    state.put(state_key::params(), params);
}
