//! The rewards component: at the end of every block, the issuance and the
//! block's fees are paid out: the treasury's share, the proposer's bonus, and
//! the rest to the validators that signed the last commit, by the power they
//! signed with (as the Cosmos SDK's distribution module pays its bonded
//! votes). A validator absent from the commit earns nothing for that block.

use synod_protocol::{params::PPM, Address, Amount, Event, GenesisAppState};

use crate::component::VoteInfo;

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
        distribute(state, block.proposer, block.votes, &mut out.events).or_invariant("rewards")
    }
}

/// Mints the issuance and pays issuance + fees out. `proposer` is the block
/// proposer's operator address if known; `votes` is the last commit.
pub(super) fn distribute(
    state: &mut State,
    proposer: Option<Address>,
    votes: &[VoteInfo],
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
    // The signers of the last commit that are known validators, by power. A
    // signer listed twice counts once (the node refuses such a commit; the
    // app does not rely on it).
    let mut signers: std::collections::BTreeMap<Address, u128> = Default::default();
    for v in votes.iter().filter(|v| v.signed && v.power > 0) {
        if let Some(operator) = staking::operator_by_consensus_address(state, &v.consensus_address)?
        {
            signers.entry(operator).or_insert(u128::from(v.power));
        }
    }
    let total_power: u128 = signers.values().sum();

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
        for (operator, power) in &signers {
            // for_validators * power / total_power without overflow: each
            // power fits in a u64, so rest * power < 2^128.
            let share = Amount(whole * power + rest * power / total_power);
            if !share.is_zero() {
                accounts::credit(state, operator, share)?;
                events.push(Event::Rewarded {
                    recipient: *operator,
                    amount: share,
                    reason: "validator".into(),
                });
                paid = paid.checked_add(share)?;
            }
        }
    }
    // Whatever rounding (or a commit without signers) left over goes to the treasury.
    to_treasury = to_treasury.checked_add(pool.checked_sub(paid)?)?;
    let t = super::treasury(state)?.checked_add(to_treasury)?;
    state.put(state_key::treasury(), &t);
    Ok(())
}
