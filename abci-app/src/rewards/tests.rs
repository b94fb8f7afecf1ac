//! Unit tests of the rewards module.

#![allow(clippy::unwrap_used)]

use synod_protocol::{params::RewardsParams, Address, Amount};

use super::{collect_fee, hooks::distribute, spend_treasury, treasury, update_params};
use crate::{accounts, error::HandlerError, testkit::scratch_state};

#[test]
fn with_no_active_set_the_whole_pool_goes_to_the_treasury() {
    let (_dir, mut state) = scratch_state();
    let p = RewardsParams::default();
    update_params(&mut state, &p);
    collect_fee(&mut state, Amount(1_000)).unwrap();
    collect_fee(&mut state, Amount(234)).unwrap();
    let mut events = Vec::new();
    distribute(&mut state, None, &mut events).unwrap();
    let expected = p.block_issuance.checked_add(Amount(1_234)).unwrap();
    assert_eq!(treasury(&state).unwrap(), expected);
    assert_eq!(
        accounts::supply(&state).unwrap(),
        p.block_issuance,
        "only the issuance is new money"
    );
    // The fee pool is emptied: the next block starts from zero.
    distribute(&mut state, None, &mut events).unwrap();
    let twice = expected.checked_add(p.block_issuance).unwrap();
    assert_eq!(treasury(&state).unwrap(), twice);
}

#[test]
fn a_treasury_spend_pays_out_or_is_refused_changing_nothing() {
    let (_dir, mut state) = scratch_state();
    update_params(&mut state, &RewardsParams::default());
    collect_fee(&mut state, Amount(500)).unwrap();
    distribute(&mut state, None, &mut Vec::new()).unwrap();
    let held = treasury(&state).unwrap();
    let to = Address([4; 20]);

    let err = spend_treasury(&mut state, &to, Amount(held.0 + 1), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, HandlerError::Tx(_)), "{err}");
    assert!(err.to_string().contains("the treasury holds"), "{err}");
    assert_eq!(treasury(&state).unwrap(), held);
    assert_eq!(
        accounts::account(&state, &to).unwrap().balance,
        Amount::ZERO
    );

    let mut events = Vec::new();
    spend_treasury(&mut state, &to, Amount(300), &mut events).unwrap();
    assert_eq!(treasury(&state).unwrap(), Amount(held.0 - 300));
    assert_eq!(accounts::account(&state, &to).unwrap().balance, Amount(300));
    assert_eq!(events.len(), 1);
}
