//! The rewards component: at the end of every block, the issuance and the
//! block's fees are paid out (treasury share, proposer bonus, the rest to
//! the active set by power).

use synod_protocol::{params::PPM, Address, Amount, Event, GenesisAppState};

use super::{genesis, params, state_key};
use crate::{
    accounts,
    component::{BlockContext, BlockEffects, Component, GenesisContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant},
    staking,
    state::State,
};

/// The rewards component.
pub struct Rewards;

impl Component for Rewards {
    fn name(&self) -> &'static str {
        "rewards"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis);
        Ok(())
    }

    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        distribute(state, block.proposer, &mut out.events).or_invariant("rewards")
    }
}

/// Mints the issuance and pays issuance + fees out. `proposer` is the block
/// proposer's operator address if known.
pub(super) fn distribute(
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
    let t = super::treasury(state)?.checked_add(to_treasury)?;
    state.put(state_key::treasury(), &t);
    Ok(())
}
