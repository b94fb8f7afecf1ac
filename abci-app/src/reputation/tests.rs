//! Unit tests of the reputation arithmetic.

use super::*;
use proptest::prelude::*;

#[test]
fn honest_work_rises_slowly_and_a_slash_falls_sharply() {
    let p = ReputationParams::default();
    let mut s = p.initial_score;
    for _ in 0..100 {
        s = gained(&p, s);
    }
    assert!(
        s > p.initial_score,
        "100 honest blocks must raise the score"
    );
    assert!(s < 250_000, "but only slowly: {s}");
    let after = slashed(&p, s);
    assert!(
        s - after >= s / 3,
        "a slash must cost at least a third: {s} -> {after}"
    );
}

#[test]
fn idle_scores_decay_to_the_floor_and_stop() {
    let p = ReputationParams::default();
    let mut s = 900_000;
    for _ in 0..20_000 {
        s = decayed(&p, s);
    }
    assert_eq!(s, p.floor_score);
    assert_eq!(
        decayed(&p, 10_000),
        10_000,
        "below the floor decay does nothing"
    );
}

proptest! {
    #[test]
    fn scores_stay_in_range(score in 0u64..=PPM, gain in 0u64..=PPM, decay in 0u64..=PPM) {
        let p = ReputationParams { gain_ppm: gain, decay_ppm: decay, ..ReputationParams::default() };
        prop_assert!(gained(&p, score) <= PPM);
        prop_assert!(gained(&p, score) >= score);
        prop_assert!(decayed(&p, score) <= score);
        prop_assert!(slashed(&p, score) <= score);
        let f = power_factor_ppm(&p, score);
        prop_assert!(f >= p.min_power_factor_ppm && f <= PPM);
    }
}
