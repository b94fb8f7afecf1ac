//! The accounts transaction: `Transfer`.

use synod_protocol::{Address, Amount, Event, TxBody};

use super::{credit, debit};
use crate::{
    error::{HandlerError, TxError},
    state::State,
};

/// Stateless checks of an accounts body: a transfer moves something.
pub fn check_stateless(body: &TxBody) -> Result<(), TxError> {
    match body {
        TxBody::Transfer { amount, .. } if amount.is_zero() => Err(TxError::ZeroAmount),
        _ => Ok(()),
    }
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
