//! Unit tests of the accounts module.

#![allow(clippy::unwrap_used)]

use super::{handlers::transfer, *};
use crate::testkit::scratch_state;
use synod_protocol::{state::Account, Address, Amount};

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
