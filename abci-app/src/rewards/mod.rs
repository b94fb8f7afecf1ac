//! `rewards`: per-block issuance plus the block's fees, split between the
//! treasury, a proposer bonus and the active validators by power. Integer
//! math; the rounding remainder goes to the treasury, so nothing is lost.

pub mod state_key;

use synod_protocol::{
    params::{RewardsParams, PPM},
    Address, Amount, Event,
};

use crate::{
    accounts,
    error::HandlerError,
    staking,
    state::{State, StateError},
};

/// Module parameters.
pub fn params(state: &State) -> Result<RewardsParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters.
pub fn set_params(state: &mut State, params: &RewardsParams) {
    state.put(state_key::params(), params);
}

/// The treasury balance.
pub fn treasury(state: &State) -> Result<Amount, StateError> {
    Ok(state.get(&state_key::treasury())?.unwrap_or_default())
}

/// Sets the treasury balance (a governance spend).
pub fn set_treasury(state: &mut State, amount: Amount) {
    state.put(state_key::treasury(), &amount);
}

/// Adds a paid fee to this block's pool (the payer was already debited).
pub fn collect_fee(state: &mut State, fee: Amount) -> Result<(), HandlerError> {
    let fees: Amount = state.get(&state_key::block_fees())?.unwrap_or_default();
    state.put(state_key::block_fees(), &fees.checked_add(fee)?);
    Ok(())
}

/// Mints the issuance and pays issuance + fees out. `proposer` is the block
/// proposer's operator address if known.
pub fn distribute(
    state: &mut State,
    proposer: Option<Address>,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    let fees: Amount = state.get(&state_key::block_fees())?.unwrap_or_default();
    state.delete(state_key::block_fees());
    accounts::mint(state, p.block_issuance)?;
    let pool = p.block_issuance.checked_add(fees)?;
    if pool.is_zero() {
        return Ok(());
    }
    let set = staking::active_set(state)?;
    let total_power: u128 = set.iter().map(|v| v.power as u128).sum();

    let mut to_treasury = pool.mul_ratio(p.treasury_share_ppm, PPM);
    let mut paid = to_treasury;
    let bonus = match proposer {
        Some(_) if total_power > 0 => pool.mul_ratio(p.proposer_bonus_ppm, PPM),
        _ => Amount::ZERO,
    };
    if let (Some(proposer), false) = (proposer, bonus.is_zero()) {
        accounts::credit(state, &proposer, bonus)?;
        events.push(Event::Rewarded {
            recipient: proposer,
            amount: bonus,
            reason: "proposer_bonus".into(),
        });
        paid = paid.checked_add(bonus)?;
    }
    let for_validators = pool.checked_sub(paid)?;
    if let Some(whole) = for_validators.0.checked_div(total_power) {
        let rest = for_validators.0 % total_power;
        for v in &set {
            // for_validators * power / total_power without overflow: total_power < 2^62.
            let share = Amount(whole * v.power as u128 + rest * v.power as u128 / total_power);
            if !share.is_zero() {
                accounts::credit(state, &v.operator, share)?;
                events.push(Event::Rewarded {
                    recipient: v.operator,
                    amount: share,
                    reason: "validator".into(),
                });
                paid = paid.checked_add(share)?;
            }
        }
    }
    // Whatever rounding (or an empty set) left over goes to the treasury.
    to_treasury = to_treasury.checked_add(pool.checked_sub(paid)?)?;
    let t = treasury(state)?.checked_add(to_treasury)?;
    state.put(state_key::treasury(), &t);
    Ok(())
}
