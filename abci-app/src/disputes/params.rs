//! The disputes module's parameters (`params.disputes`).

use synod_protocol::params::DisputesParams;

use super::state_key;
use crate::state::{State, StateError};

/// Module parameters.
pub fn params(state: &State) -> Result<DisputesParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them (the only other caller). Disputes already open keep the
/// clocks they started with; new results and challenges take the new bonds.
pub fn update_params(state: &mut State, params: &DisputesParams) {
    state.put(state_key::params(), params);
}
