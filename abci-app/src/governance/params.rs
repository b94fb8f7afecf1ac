//! The governance module's parameters (`params.governance`), and the whole
//! chain's: a passed `ParamChange` proposal writes each module's section
//! through that module's own `update_params`.

use synod_protocol::params::{ChainParams, GovernanceParams};

use super::state_key;
use crate::{
    accounts, agents, models, reputation, rewards, runs, staking,
    state::{State, StateError},
};

/// Module parameters.
pub fn params(state: &State) -> Result<GovernanceParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters: at genesis, and when a governance proposal
/// changes them.
pub fn update_params(state: &mut State, params: &GovernanceParams) {
    state.put(state_key::params(), params);
}

/// Every module's parameters.
pub fn chain_params(state: &State) -> Result<ChainParams, StateError> {
    Ok(ChainParams {
        accounts: accounts::params(state)?,
        staking: staking::params(state)?,
        reputation: reputation::params(state)?,
        rewards: rewards::params(state)?,
        models: models::params(state)?,
        governance: params(state)?,
        agents: agents::params(state)?,
        runs: runs::params(state)?,
        disputes: crate::disputes::params(state)?,
    })
}

/// Hands every module its section of `p` (a passed `ParamChange`, already
/// checked against every bound).
pub(super) fn set_chain_params(state: &mut State, p: &ChainParams) -> Result<(), StateError> {
    accounts::update_params(state, &p.accounts);
    staking::update_params(state, &p.staking)?;
    reputation::update_params(state, &p.reputation);
    rewards::update_params(state, &p.rewards);
    models::update_params(state, &p.models);
    update_params(state, &p.governance);
    agents::update_params(state, &p.agents);
    runs::update_params(state, &p.runs);
    crate::disputes::update_params(state, &p.disputes);
    Ok(())
}
