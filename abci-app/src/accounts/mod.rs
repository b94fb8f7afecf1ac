//! `accounts`: balances, nonces, fees and total supply.
//!
//! Other modules move funds only through the keeper functions here
//! ([`credit`], [`debit`], [`mint`], [`burn`]).

pub mod state_key;

use synod_protocol::{params::AccountsParams, state::Account, Address, Amount, Event};

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

/// Module parameters.
pub fn params(state: &State) -> Result<AccountsParams, StateError> {
    Ok(state.get(&state_key::params())?.unwrap_or_default())
}

/// Writes module parameters.
pub fn set_params(state: &mut State, params: &AccountsParams) {
    state.put(state_key::params(), params);
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

/// The minimum fee for a transaction of `len` bytes.
pub fn min_fee(params: &AccountsParams, len: usize) -> Amount {
    Amount(params.min_fee_per_byte_usyn as u128 * len as u128)
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

/// `Transfer { to, amount }`.
pub fn transfer(
    state: &mut State,
    from: &Address,
    to: &Address,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if amount.is_zero() {
        return Err(TxError::ZeroAmount.into());
    }
    if from == to {
        return Err(TxError::SelfTransfer.into());
    }
    debit(state, from, amount)?;
    credit(state, to, amount)?;
    events.push(Event::Transfer {
        from: *from,
        to: *to,
        amount,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::scratch_state;

    #[test]
    fn transfer_moves_funds_and_rejects_overdraft() {
        let (_dir, mut state) = scratch_state();
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        credit(&mut state, &a, Amount(100)).unwrap();
        let mut ev = vec![];
        transfer(&mut state, &a, &b, Amount(60), &mut ev).unwrap();
        assert_eq!(account(&state, &a).unwrap().balance, Amount(40));
        assert_eq!(account(&state, &b).unwrap().balance, Amount(60));
        let err = transfer(&mut state, &a, &b, Amount(41), &mut ev).unwrap_err();
        assert!(matches!(
            err,
            HandlerError::Tx(TxError::InsufficientFunds { .. })
        ));
        assert_eq!(account(&state, &a).unwrap().balance, Amount(40));
    }

    #[test]
    fn wrong_nonce_takes_nothing() {
        let (_dir, mut state) = scratch_state();
        let a = Address([1; 20]);
        credit(&mut state, &a, Amount(100)).unwrap();
        let err = charge_fee_and_nonce(&mut state, &a, 5, Amount(10)).unwrap_err();
        assert!(matches!(
            err,
            HandlerError::Tx(TxError::WrongNonce {
                expected: 0,
                got: 5,
                ..
            })
        ));
        assert_eq!(
            account(&state, &a).unwrap(),
            Account {
                balance: Amount(100),
                nonce: 0
            }
        );
        charge_fee_and_nonce(&mut state, &a, 0, Amount(10)).unwrap();
        assert_eq!(
            account(&state, &a).unwrap(),
            Account {
                balance: Amount(90),
                nonce: 1
            }
        );
    }
}
