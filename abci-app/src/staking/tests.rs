use proptest::prelude::*;
use synod_protocol::{
    params::{ReputationParams, StakingParams},
    Amount,
};

use super::power;
use crate::reputation;

proptest! {
    /// Sybil resistance: one stake split across any number of identities never
    /// has more power in total than the stake held by one identity, even if
    /// every split identity had the same reputation (new ones have less).
    #[test]
    fn splitting_stake_never_gains_power(
        parts in proptest::collection::vec(1u128..5_000_000_000_000, 1..20),
        score in 0u64..=1_000_000,
        split_score_drop in 0u64..=1_000_000,
    ) {
        let sp = StakingParams::default();
        let rp = ReputationParams::default();
        let whole: u128 = parts.iter().sum();
        let one = power(&sp, &rp, Amount(whole), score);
        let split_score = score.saturating_sub(split_score_drop);
        let many: u64 = parts.iter().map(|p| power(&sp, &rp, Amount(*p), split_score)).sum();
        prop_assert!(many <= one, "split {many} > whole {one}");
    }

    #[test]
    fn power_grows_with_stake_and_reputation(stake in 0u128..1_000_000_000_000_000, extra in 0u128..1_000_000_000_000, s1 in 0u64..=1_000_000, s2 in 0u64..=1_000_000) {
        let sp = StakingParams::default();
        let rp = ReputationParams::default();
        let (lo, hi) = (s1.min(s2), s1.max(s2));
        prop_assert!(power(&sp, &rp, Amount(stake), lo) <= power(&sp, &rp, Amount(stake), hi));
        prop_assert!(power(&sp, &rp, Amount(stake), lo) <= power(&sp, &rp, Amount(stake + extra), lo));
    }
}

#[test]
fn a_new_identity_has_less_power_than_an_established_one_with_the_same_stake() {
    let sp = StakingParams::default();
    let rp = ReputationParams::default();
    let stake = Amount::syn(10_000);
    let new = power(&sp, &rp, stake, rp.floor_score);
    let mut score = rp.floor_score;
    for _ in 0..1_000 {
        score = reputation::gained(&rp, score);
    }
    assert!(power(&sp, &rp, stake, score) > new);
}

#[test]
fn the_most_validators_at_the_most_power_stay_within_cometbfts_total() {
    use synod_protocol::params::MAX_VALIDATORS;
    let total = u128::from(super::MAX_POWER_PER_VALIDATOR) * u128::from(MAX_VALIDATORS);
    assert!(total <= (i64::MAX / 8) as u128, "{total}");
    // A stake beyond the cap gets exactly the cap at full reputation.
    let sp = StakingParams::default();
    let rp = ReputationParams::default();
    let huge = Amount(u128::MAX);
    assert_eq!(
        power(&sp, &rp, huge, 1_000_000),
        super::MAX_POWER_PER_VALIDATOR
    );
}
