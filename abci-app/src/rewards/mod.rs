//! `rewards`: per-block issuance plus the block's fees, split between the
//! treasury, a proposer bonus and the active validators by power. Integer
//! math; the rounding remainder goes to the treasury, so nothing is lost.

pub mod genesis;
pub mod hooks;
pub mod params;
pub mod state_key;
#[cfg(test)]
mod tests;

pub use params::{params, update_params};

use synod_protocol::{Address, Amount, Event};

use crate::{
    accounts,
    error::{HandlerError, TxError},
    state::{State, StateError},
};

/// The treasury balance.
pub fn treasury(state: &State) -> Result<Amount, StateError> {
    Ok(state.get(&state_key::treasury())?.unwrap_or_default())
}

/// Pays `amount` from the treasury to `recipient`: a passed
/// `TreasurySpend` proposal. Refused, changing nothing, if the treasury
/// holds less.
pub fn spend_treasury(
    state: &mut State,
    recipient: &Address,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let held = treasury(state)?;
    let left = held.checked_sub(amount).map_err(|_| {
        TxError::InvalidProposal(format!(
            "the treasury holds {held}, the proposal spends {amount}"
        ))
    })?;
    state.put(state_key::treasury(), &left);
    accounts::credit(state, recipient, amount)?;
    events.push(Event::TreasurySpent {
        recipient: *recipient,
        amount,
    });
    Ok(())
}

/// Adds a paid fee to this block's pool (the payer was already debited).
pub fn collect_fee(state: &mut State, fee: Amount) -> Result<(), HandlerError> {
    let fees: Amount = state.get(&state_key::block_fees())?.unwrap_or_default();
    state.put(state_key::block_fees(), &fees.checked_add(fee)?);
    Ok(())
}
