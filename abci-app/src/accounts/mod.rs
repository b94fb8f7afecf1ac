//! `accounts`: balances, nonces, fees and total supply.
//!
//! Other modules move funds only through the keeper functions here
//! ([`credit`], [`debit`], [`mint`], [`burn`], [`charge_fee_and_nonce`]);
//! the `Transfer` transaction is in [`handlers`].

pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod state_key;
#[cfg(test)]
mod tests;

pub use params::{params, update_params};

use synod_protocol::{state::Account, Address, Amount};

use crate::{
    error::{HandlerError, TxError},
    state::{State, StateError},
};

/// The account at `address` (a never-seen address is an empty account).
pub fn account(state: &State, address: &Address) -> Result<Account, StateError> {
    Ok(state.get(&state_key::account(address))?.unwrap_or_default())
}

fn put_account(state: &mut State, address: &Address, account: &Account) {
    state.put(state_key::account(address), account);
}

/// Total supply of usyn (balances + bonded + unbonding + treasury).
pub fn supply(state: &State) -> Result<Amount, StateError> {
    Ok(state.get(&state_key::supply())?.unwrap_or_default())
}

/// Adds to a balance (supply unchanged: the funds came from elsewhere in state).
pub fn credit(state: &mut State, address: &Address, amount: Amount) -> Result<(), HandlerError> {
    let mut acct = account(state, address)?;
    acct.balance = acct.balance.checked_add(amount)?;
    put_account(state, address, &acct);
    Ok(())
}

/// Lowers an account's balance in memory, failing with `InsufficientFunds`.
fn withdraw(acct: &mut Account, address: &Address, amount: Amount) -> Result<(), TxError> {
    acct.balance = acct
        .balance
        .checked_sub(amount)
        .map_err(|_| TxError::InsufficientFunds {
            account: *address,
            needed: amount,
            available: acct.balance,
        })?;
    Ok(())
}

/// Takes from a balance, failing with `InsufficientFunds`.
pub fn debit(state: &mut State, address: &Address, amount: Amount) -> Result<(), HandlerError> {
    let mut acct = account(state, address)?;
    withdraw(&mut acct, address, amount)?;
    put_account(state, address, &acct);
    Ok(())
}

/// Creates new usyn (block issuance, genesis).
pub fn mint(state: &mut State, amount: Amount) -> Result<(), HandlerError> {
    let s = supply(state)?.checked_add(amount)?;
    state.put(state_key::supply(), &s);
    Ok(())
}

/// Destroys usyn (slashing).
pub fn burn(state: &mut State, amount: Amount) -> Result<(), HandlerError> {
    let s = supply(state)?.checked_sub(amount)?;
    state.put(state_key::supply(), &s);
    Ok(())
}

/// Checks the nonce and takes the fee, then bumps the nonce. Nothing is
/// written if either check fails.
pub fn charge_fee_and_nonce(
    state: &mut State,
    signer: &Address,
    nonce: u64,
    fee: Amount,
) -> Result<(), HandlerError> {
    let mut acct = account(state, signer)?;
    if acct.nonce != nonce {
        return Err(TxError::WrongNonce {
            signer: *signer,
            expected: acct.nonce,
            got: nonce,
        }
        .into());
    }
    withdraw(&mut acct, signer, fee)?;
    acct.nonce += 1;
    put_account(state, signer, &acct);
    Ok(())
}
