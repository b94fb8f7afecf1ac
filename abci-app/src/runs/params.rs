//! The runs module's parameters (`params.runs`).

use synod_protocol::params::RunsParams;

use super::state_key;
use crate::state::{State, StateError};

/// Module parameters.
pub fn params(state: &State) -> Result<RunsParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them (the only other caller). Runs in flight keep going under
/// the new values.
pub fn update_params(state: &mut State, params: &RunsParams) {
    state.put(state_key::params(), params);
}
