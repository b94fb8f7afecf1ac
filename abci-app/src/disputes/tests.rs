//! Unit tests of the disputes module's keys and stateless checks; the game
//! itself is tested end to end with a real model in `tests/disputes.rs`.

use synod_protocol::{disputes::MAX_WITNESS_BYTES, Amount, Height, TxBody};

use super::{handlers::check_stateless, state_key};
use crate::error::TxError;

#[test]
fn deadline_keys_sort_by_height_and_give_back_their_dispute() {
    let key = state_key::deadline(Height(42), 7);
    assert!(key.starts_with(&state_key::deadlines_at(Height(42))));
    assert_eq!(state_key::id_of(&key), Some(7));
    assert!(state_key::deadline(Height(9), 1) < state_key::deadline(Height(10), 1));
}

#[test]
fn stateless_checks_refuse_zero_bonds_bad_halves_and_huge_witnesses() {
    let code = |b: &TxBody| check_stateless(b).map_err(|e| e.code());
    assert_eq!(
        code(&TxBody::Challenge {
            run: 1,
            step: 0,
            bond: Amount::ZERO
        }),
        Err(TxError::ZeroAmount.code())
    );
    assert_eq!(
        code(&TxBody::SelectHalf {
            dispute: 1,
            half: 2
        }),
        Err(63)
    );
    assert_eq!(
        code(&TxBody::SelectHalf {
            dispute: 1,
            half: 1
        }),
        Ok(())
    );
    assert_eq!(
        code(&TxBody::OneStep {
            dispute: 1,
            witness: vec![0; MAX_WITNESS_BYTES + 1]
        }),
        Err(66)
    );
}
