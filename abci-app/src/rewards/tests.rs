//! Unit tests of the rewards module.

#![allow(clippy::unwrap_used)]

use synod_protocol::{params::RewardsParams, Address, Amount};

use super::{collect_fee, hooks::distribute, spend_treasury, treasury, update_params};
use crate::{accounts, error::HandlerError, testkit::scratch_state};

#[test]
fn with_no_signers_the_whole_pool_goes_to_the_treasury() {
    let (_dir, mut state) = scratch_state();
    let p = RewardsParams::default();
    update_params(&mut state, &p);
    collect_fee(&mut state, Amount(1_000)).unwrap();
    collect_fee(&mut state, Amount(234)).unwrap();
    let mut events = Vec::new();
    distribute(&mut state, None, &[], &mut events).unwrap();
    let expected = p.block_issuance.checked_add(Amount(1_234)).unwrap();
    assert_eq!(treasury(&state).unwrap(), expected);
    assert_eq!(
        accounts::supply(&state).unwrap(),
        p.block_issuance,
        "only the issuance is new money"
    );
    // The fee pool is emptied: the next block starts from zero.
    distribute(&mut state, None, &[], &mut events).unwrap();
    let twice = expected.checked_add(p.block_issuance).unwrap();
    assert_eq!(treasury(&state).unwrap(), twice);
}

#[test]
fn a_treasury_spend_pays_out_or_is_refused_changing_nothing() {
    let (_dir, mut state) = scratch_state();
    update_params(&mut state, &RewardsParams::default());
    collect_fee(&mut state, Amount(500)).unwrap();
    distribute(&mut state, None, &[], &mut Vec::new()).unwrap();
    let held = treasury(&state).unwrap();
    let to = Address([4; 20]);

    let err = spend_treasury(&mut state, &to, Amount(held.0 + 1), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, HandlerError::Tx(_)), "{err}");
    assert!(err.to_string().contains("the treasury holds"), "{err}");
    assert!(!err.to_string().contains("usyn usyn"), "{err}");
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

/// Finding 16 of the hardening issue: only the last commit's signers are
/// paid, by the power they signed with; an absent validator earns nothing.
#[test]
fn only_the_last_commits_signers_are_paid_by_power() {
    use crate::testkit::{TestChain, TestNet};
    use synod_protocol::{params::ChainParams, Event};
    let dir = tempfile::tempdir().unwrap();
    let mut chain =
        TestChain::start(dir.path(), TestNet::new(4, 0, ChainParams::default())).unwrap();
    chain.block(Vec::new()).unwrap();
    let absent = chain.net.consensus_address(3);
    chain.absent.insert(absent);
    let out = chain.block(Vec::new()).unwrap();
    let paid = |i: usize| {
        let who = chain.net.operators[i].address();
        out.events
            .iter()
            .filter_map(|e| match e {
                Event::Rewarded {
                    recipient,
                    amount,
                    reason,
                } if *recipient == who && reason == "validator" => Some(*amount),
                _ => None,
            })
            .fold(Amount::ZERO, |a, b| Amount(a.0 + b.0))
    };
    assert_eq!(paid(3), Amount::ZERO, "the absent validator earns nothing");
    let (a, b, c) = (paid(0), paid(1), paid(2));
    assert!(
        !a.is_zero() && a == b && b == c,
        "equal power, equal pay: {a} {b} {c}"
    );
    // The three signers share what the four would have: nothing is lost.
    let p = RewardsParams::default();
    let for_validators = p.block_issuance.0
        - p.block_issuance
            .mul_ratio(p.treasury_share_ppm, 1_000_000)
            .0
        - p.block_issuance
            .mul_ratio(p.proposer_bonus_ppm, 1_000_000)
            .0;
    assert!(for_validators - 3 * a.0 < 3, "{for_validators} vs 3 x {a}");

    // A commit the signers sign with unequal powers pays by those powers.
    let (_dir, mut state) = (dir, chain.state());
    let mut votes = chain.last_commit_votes();
    let first_signer = votes.iter().position(|v| v.signed).unwrap();
    votes[first_signer].power *= 3;
    let mut events = Vec::new();
    distribute(&mut state, None, &votes, &mut events).unwrap();
    let shares: Vec<Amount> = events
        .iter()
        .filter_map(|e| match e {
            Event::Rewarded { amount, reason, .. } if reason == "validator" => Some(*amount),
            _ => None,
        })
        .collect();
    assert_eq!(shares.len(), 3, "{events:?}");
    let mut sorted = shares.clone();
    sorted.sort();
    assert_eq!(sorted[0], sorted[1], "{shares:?}");
    assert!(
        sorted[2].0.abs_diff(3 * sorted[0].0) <= 3,
        "3x the power, 3x the pay: {shares:?}"
    );
}
