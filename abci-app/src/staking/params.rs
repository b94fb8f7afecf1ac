//! The staking module's parameters (`params.staking`).

use synod_protocol::params::StakingParams;

use super::state_key;
use crate::state::{State, StateError};

/// Module parameters.
pub fn params(state: &State) -> Result<StakingParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them (the only other caller). A new `signed_blocks_window`
/// starts every validator's liveness record afresh: misses recorded in the
/// old window's slots would otherwise count in the new one and could slash a
/// validator that signs every block from then on.
pub fn update_params(state: &mut State, params: &StakingParams) -> Result<(), StateError> {
    let old = state.get::<StakingParams>(&state_key::params())?;
    if old.is_some_and(|old| old.signed_blocks_window != params.signed_blocks_window) {
        for v in super::validators(state)? {
            state.delete(state_key::signing_info(&v.operator));
        }
    }
    state.put(state_key::params(), params);
    Ok(())
}
