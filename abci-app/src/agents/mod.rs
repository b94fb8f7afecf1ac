//! `agents`: the registry of agents (the executors and verifiers of
//! workflow steps) and their bonds, a ledger apart from validator
//! self-bonds.
//!
//! An agent registers with a bond of at least `params.agents.min_bond` and
//! the models it serves (registered and active); its reputation starts at
//! the floor, as every new identity's does, so a fresh identity is never
//! preferred to an old one. It leaves with `ExitAgent`: it takes no new
//! work from then on, and its bond returns to its balance after
//! `params.agents.unbonding_blocks`.

pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod state_key;
#[cfg(test)]
mod tests;

use synod_protocol::{agents::AgentRecord, params::PPM, Address, Amount};

use crate::{
    accounts,
    error::HandlerError,
    state::{State, StateError},
};

pub use params::{params, update_params};

/// An agent by address.
pub fn agent(state: &State, address: &Address) -> Result<Option<AgentRecord>, StateError> {
    state.get(&state_key::agent(address))
}

/// Every registered agent (exiting ones included), in address order.
pub fn agents(state: &State) -> Result<Vec<AgentRecord>, StateError> {
    Ok(state
        .prefix::<AgentRecord>(&state_key::agents_prefix())?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// Every agent bond the module holds, exiting agents' included: part of the
/// supply that is in no balance.
pub fn bonded(state: &State) -> Result<Amount, StateError> {
    let mut total = Amount::ZERO;
    for a in agents(state)? {
        total = total.checked_add(a.bond).map_err(|e| StateError::Corrupt {
            key: String::from_utf8_lossy(&state_key::agent(&a.address)).into_owned(),
            reason: format!("agent bonds overflow: {e}"),
        })?;
    }
    Ok(total)
}

/// Takes `ppm` of `agent`'s bond (a missed step, later a lost dispute) and
/// burns it; returns the amount taken (zero for an unknown agent).
pub fn slash(state: &mut State, agent: &Address, ppm: u64) -> Result<Amount, HandlerError> {
    let Some(mut record) = self::agent(state, agent)? else {
        return Ok(Amount::ZERO);
    };
    let cut = Amount(
        record.bond.0 / u128::from(PPM) * u128::from(ppm.min(PPM))
            + record.bond.0 % u128::from(PPM) * u128::from(ppm.min(PPM)) / u128::from(PPM),
    );
    record.bond = record.bond.checked_sub(cut)?;
    put_agent(state, &record);
    accounts::burn(state, cut)?;
    Ok(cut)
}

/// Writes an agent record.
fn put_agent(state: &mut State, agent: &AgentRecord) {
    state.put(state_key::agent(&agent.address), agent);
}
