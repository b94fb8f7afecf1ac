//! `staking`: self-bonds, the unbonding queue, the validator registry, jailing,
//! slashing and the selection of the active validator set.
//!
//! Sybil resistance: a validator's power is its bonded stake (in units of
//! `power_reduction_usyn`, rounded down) times a reputation factor that starts
//! low for new identities. Splitting one stake across many identities can only
//! lose power: rounding down is superadditive and new identities start with a
//! lower factor.

pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod state_key;

use synod_protocol::{
    params::{ReputationParams, StakingParams, MAX_VALIDATORS, PPM},
    state::{ActiveValidator, Unbondings, Validator},
    Address, Amount, Height, PubKey,
};

use crate::{
    accounts,
    error::HandlerError,
    reputation,
    state::{State, StateError},
};

pub use hooks::{Evidence, ValidatorUpdate, VoteInfo};
pub use params::{params, update_params};

/// Largest power one validator can have: so much that even the most
/// validators the params allow ([`MAX_VALIDATORS`]), each at this power, stay
/// within CometBFT's limit on the total, `i64::MAX / 8`.
pub const MAX_POWER_PER_VALIDATOR: u64 = (i64::MAX as u64 / 8) / MAX_VALIDATORS as u64;

/// Most unbondings one validator may have in flight (Cosmos' `max_entries`):
/// each `Unbond` rewrites the whole list, and slashing walks it, so it
/// stays small; a validator unbonds more in fewer, larger steps.
pub const MAX_UNBONDING_ENTRIES: usize = 7;

/// A validator by operator address.
pub fn validator(state: &State, operator: &Address) -> Result<Option<Validator>, StateError> {
    state.get(&state_key::validator(operator))
}

/// Every registered validator, in operator address order.
pub fn validators(state: &State) -> Result<Vec<Validator>, StateError> {
    Ok(state
        .prefix::<Validator>(&state_key::validators_prefix())?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}

/// Writes a validator record.
fn put_validator(state: &mut State, v: &Validator) {
    state.put(state_key::validator(&v.operator), v);
}

/// The operator behind a consensus address (as CometBFT names validators).
pub fn operator_by_consensus_address(
    state: &State,
    address: &[u8; 20],
) -> Result<Option<Address>, StateError> {
    state.get(&state_key::by_consensus_address(address))
}

/// Pending unbondings of a validator.
pub fn unbondings(state: &State, operator: &Address) -> Result<Unbondings, StateError> {
    Ok(state
        .get(&state_key::unbondings(operator))?
        .unwrap_or_default())
}

/// The active set as last reported to consensus.
pub fn active_set(state: &State) -> Result<Vec<ActiveValidator>, StateError> {
    Ok(state.get(&state_key::active_set())?.unwrap_or_default())
}

/// Consensus power of a stake at a reputation score: whole stake units times
/// the reputation factor, rounded down.
pub fn power(params: &StakingParams, rep: &ReputationParams, self_bond: Amount, score: u64) -> u64 {
    let units = self_bond.0 / params.power_reduction_usyn.max(1) as u128;
    let units = units.min(MAX_POWER_PER_VALIDATOR as u128);
    let factor = reputation::power_factor_ppm(rep, score) as u128;
    (units * factor / PPM as u128) as u64
}

/// The power a validator would have now (0 if jailed, tombstoned or below the minimum bond).
pub fn validator_power(state: &State, v: &Validator) -> Result<u64, StateError> {
    let p = params(state)?;
    let rep = reputation::params(state)?;
    power_under(state, &p, &rep, v, v.self_bond)
}

/// The power validator `v` would have with `self_bond` under the given
/// params (0 if jailed, tombstoned or below the minimum bond).
fn power_under(
    state: &State,
    p: &StakingParams,
    rep: &ReputationParams,
    v: &Validator,
    self_bond: Amount,
) -> Result<u64, StateError> {
    if v.status != synod_protocol::state::ValidatorStatus::Candidate || self_bond < p.min_self_bond
    {
        return Ok(0);
    }
    let score = reputation::score(state, &v.operator)?;
    Ok(power(p, rep, self_bond, score))
}

/// Whether some validator would keep power under `p` and `rep`, with
/// `operator`'s self-bond taken as `self_bond` if given: consensus cannot run
/// without validators, so a change that leaves none is refused (an unbond,
/// a parameter change), never applied.
pub fn power_remains(
    state: &State,
    p: &StakingParams,
    rep: &ReputationParams,
    change: Option<(&Address, Amount)>,
) -> Result<bool, StateError> {
    for v in validators(state)? {
        let bond = match change {
            Some((operator, bond)) if *operator == v.operator => bond,
            _ => v.self_bond,
        };
        if power_under(state, p, rep, &v, bond)? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Adds a new validator (used by the `RegisterValidator` handler and genesis);
/// the caller has checked eligibility and moved the bond out of the balance.
fn create_validator(state: &mut State, v: &Validator, height: Height) -> Result<(), HandlerError> {
    put_validator(state, v);
    state.put(
        state_key::by_consensus_address(&v.consensus_key.consensus_address()),
        &v.operator,
    );
    reputation::register(state, &v.operator, height)?;
    Ok(())
}

/// Takes `self_bond` from the operator's balance and registers the validator:
/// shared by genesis and the `RegisterValidator` tx.
fn bond_new_validator(
    state: &mut State,
    operator: &Address,
    consensus_key: PubKey,
    moniker: &str,
    self_bond: Amount,
    height: Height,
) -> Result<Validator, HandlerError> {
    accounts::debit(state, operator, self_bond)?;
    let v = Validator {
        operator: *operator,
        consensus_key,
        moniker: moniker.to_string(),
        self_bond,
        status: synod_protocol::state::ValidatorStatus::Candidate,
        registered_height: height,
    };
    create_validator(state, &v, height)?;
    Ok(v)
}

#[cfg(test)]
mod tests;
