//! Unit tests of the reputation arithmetic.

use super::*;
use proptest::prelude::*;

#[test]
fn honest_work_rises_slowly_and_a_slash_falls_sharply() {
    let p = ReputationParams::default();
    let mut s = p.floor_score;
    for _ in 0..100 {
        s = gained(&p, s);
    }
    assert!(s > p.floor_score, "100 honest blocks must raise the score");
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

#[test]
fn stored_state_follows_the_floor_even_after_governance_raises_it() {
    use crate::state::State;
    let dir = tempfile::tempdir().unwrap();
    let storage = crate::storage::Storage::open(dir.path(), Default::default()).unwrap();
    let mut state = State::new(storage);
    let mut p = ReputationParams::default();
    update_params(&mut state, &p);
    let (old, fresh) = (Address([7; 20]), Address([8; 20]));
    register(&mut state, &old, Height(1)).unwrap();
    assert_eq!(score(&state, &old).unwrap(), p.floor_score);
    for h in 2..6 {
        record_slash(&mut state, &old, Height(h)).unwrap();
    }
    assert_eq!(
        score(&state, &old).unwrap(),
        p.floor_score,
        "slashes stop at the floor"
    );
    p.floor_score += 100_000;
    update_params(&mut state, &p);
    register(&mut state, &fresh, Height(7)).unwrap();
    assert_eq!(score(&state, &fresh).unwrap(), p.floor_score);
    assert_eq!(
        score(&state, &old).unwrap(),
        p.floor_score,
        "an old score below a raised floor reads as the floor"
    );
}

#[test]
fn a_slash_stops_at_the_floor() {
    let p = ReputationParams::default();
    assert_eq!(slashed(&p, p.floor_score), p.floor_score);
    assert_eq!(slashed(&p, p.floor_score + 1), p.floor_score);
    assert_eq!(slashed(&p, 800_000), 400_000);
}

/// One block in an identity's life.
#[derive(Clone, Debug)]
enum Step {
    Active,
    Idle,
    Slash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![Just(Step::Active), Just(Step::Idle), Just(Step::Slash)]
}

proptest! {
    /// Finding 14 of the hardening issue: a fresh identity never beats an
    /// existing one, whatever that one went through (honest work, idleness,
    /// slashes in any order), so abandoning an identity never pays.
    #[test]
    fn a_fresh_identity_never_beats_an_old_one(
        steps in prop::collection::vec(step(), 0..400),
        gain in 0u64..=PPM,
        decay in 0u64..=PPM,
        penalty in 0u64..=PPM,
        floor in 0u64..=PPM,
    ) {
        let p = ReputationParams {
            floor_score: floor,
            gain_ppm: gain,
            decay_ppm: decay,
            slash_penalty_ppm: penalty,
            ..ReputationParams::default()
        };
        let fresh = p.floor_score;
        let mut old = fresh;
        for s in &steps {
            old = match s {
                Step::Active => gained(&p, old),
                Step::Idle => decayed(&p, old),
                Step::Slash => slashed(&p, old),
            };
            prop_assert!(old >= fresh, "old {old} < fresh {fresh} after {s:?}");
        }
        prop_assert!(power_factor_ppm(&p, old) >= power_factor_ppm(&p, fresh));
    }

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
