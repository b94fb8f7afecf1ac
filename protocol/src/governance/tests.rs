//! The tally rule, proposal shapes and their wire forms.

#[test]
fn a_tally_of_stakes_near_the_u128_limit_is_exact_and_never_overflows() {
    let gp = GovernanceParams::default();
    let half = Amount(u128::MAX / 2);
    let mut t = Tally {
        bonded: Amount(u128::MAX),
        ..Tally::default()
    };
    t.add(VoteOption::Yes, half);
    assert_eq!(t.outcome(&gp, gp.threshold_ppm), TallyOutcome::Passed);
    t.add(VoteOption::No, half);
    t.add(VoteOption::No, half);
    assert_eq!(t.turnout(), u128::MAX, "saturates, never wraps");
    assert_eq!(t.outcome(&gp, gp.threshold_ppm), TallyOutcome::Rejected);
    let small = Tally {
        bonded: Amount(u128::MAX),
        yes: Amount(u128::MAX / 4),
        ..Tally::default()
    };
    assert_eq!(
        small.outcome(&gp, gp.threshold_ppm),
        TallyOutcome::QuorumFailed
    );
}

proptest::proptest! {
    #[test]
    fn scaled_comparison_agrees_with_plain_arithmetic_where_it_fits(
        a in 0u128..(1u128 << 100), x in 0u64..=1_000_000,
        b in 0u128..(1u128 << 100), y in 0u64..=1_000_000,
    ) {
        proptest::prop_assert_eq!(
            cmp_scaled(a, x, b, y),
            (a * u128::from(x)).cmp(&(b * u128::from(y)))
        );
    }

    #[test]
    fn wide_products_are_exact(a in proptest::prelude::any::<u128>(), x in proptest::prelude::any::<u64>()) {
        let (hi, lo) = wide_mul(a, x);
        // Check against schoolbook multiplication by 32-bit limbs.
        let x = u128::from(x);
        let limbs = [a & 0xffff_ffff, (a >> 32) & 0xffff_ffff, (a >> 64) & 0xffff_ffff, a >> 96];
        let mut acc = [0u128; 6];
        for (i, l) in limbs.iter().enumerate() {
            let p = l * (x & 0xffff_ffff);
            let q = l * (x >> 32);
            acc[i] += p & 0xffff_ffff;
            acc[i + 1] += (p >> 32) + (q & 0xffff_ffff);
            acc[i + 2] += q >> 32;
        }
        let mut words = [0u128; 6];
        let mut carry = 0u128;
        for i in 0..6 {
            let v = acc[i] + carry;
            words[i] = v & 0xffff_ffff;
            carry = v >> 32;
        }
        let expect_lo = words[0] | words[1] << 32 | words[2] << 64 | words[3] << 96;
        let expect_hi = words[4] | words[5] << 32;
        proptest::prop_assert_eq!((hi, lo), (expect_hi, expect_lo));
    }
}

use super::tally::{cmp_scaled, wide_mul};
use super::*;
use crate::params::GovernanceParams;
use proptest::prelude::*;

fn tally(yes: u128, no: u128, abstain: u128, veto: u128, bonded: u128) -> Tally {
    Tally {
        yes: Amount(yes),
        no: Amount(no),
        abstain: Amount(abstain),
        no_with_veto: Amount(veto),
        bonded: Amount(bonded),
    }
}

#[test]
fn cosmos_rule() {
    let p = GovernanceParams::default();
    let t = p.threshold_ppm;
    // Quorum: 33.4% of bonded must vote.
    assert_eq!(
        tally(333, 0, 0, 0, 1000).outcome(&p, t),
        TallyOutcome::QuorumFailed
    );
    assert_eq!(
        tally(334, 0, 0, 0, 1000).outcome(&p, t),
        TallyOutcome::Passed
    );
    // Abstain counts for quorum but not for the threshold.
    assert_eq!(
        tally(1, 0, 400, 0, 1000).outcome(&p, t),
        TallyOutcome::Passed
    );
    assert_eq!(
        tally(0, 0, 400, 0, 1000).outcome(&p, t),
        TallyOutcome::Rejected
    );
    // Exactly 50% yes is not above the threshold.
    assert_eq!(
        tally(250, 250, 0, 0, 1000).outcome(&p, t),
        TallyOutcome::Rejected
    );
    // Veto: more than 33.4% of all votes.
    assert_eq!(
        tally(600, 0, 0, 335, 1000).outcome(&p, t),
        TallyOutcome::Vetoed
    );
    assert_eq!(
        tally(666, 0, 0, 334, 1000).outcome(&p, t),
        TallyOutcome::Passed
    );
    // Expedited threshold 66.7%.
    let e = p.expedited_threshold_ppm;
    assert_eq!(
        tally(660, 340, 0, 0, 1000).outcome(&p, e),
        TallyOutcome::Rejected
    );
    assert_eq!(
        tally(668, 332, 0, 0, 1000).outcome(&p, e),
        TallyOutcome::Passed
    );
    assert_eq!(
        tally(0, 0, 0, 0, 0).outcome(&p, t),
        TallyOutcome::QuorumFailed
    );
}

#[test]
fn names_parse_back() {
    for o in VoteOption::ALL {
        assert_eq!(o.as_str().parse::<VoteOption>(), Ok(o));
    }
    assert_eq!("veto".parse::<VoteOption>(), Ok(VoteOption::NoWithVeto));
    assert!("maybe".parse::<VoteOption>().is_err());
    for s in ProposalStatus::ALL {
        assert_eq!(s.as_str().parse::<ProposalStatus>(), Ok(s));
    }
    assert_eq!(
        "voting".parse::<ProposalStatus>(),
        Ok(ProposalStatus::VotingPeriod)
    );
}

fn step(name: &str, inputs: Vec<u32>) -> WorkflowStep {
    WorkflowStep {
        name: name.into(),
        model: [1; 32],
        inputs,
        mode: VerificationMode::Zk,
        timeout_blocks: 10,
        reward: Amount(5),
        min_bond: Amount::ZERO,
        min_reputation: 0,
        retries: 0,
    }
}

#[test]
fn workflow_shape() {
    let mut w = WorkflowSpec {
        name: "digits".into(),
        steps: vec![step("a", vec![]), step("b", vec![0])],
    };
    w.check().unwrap();
    w.steps[1].inputs = vec![1];
    assert!(matches!(w.check(), Err(ProposalError::BadWorkflow(m)) if m.contains("earlier")));
    w.steps[1].inputs = vec![0];
    w.steps[1].name = "a".into();
    assert!(matches!(w.check(), Err(ProposalError::BadWorkflow(m)) if m.contains("twice")));
    w.name = "Bad Name".into();
    assert!(matches!(w.check(), Err(ProposalError::BadName { .. })));
    assert!(check_text("", "").is_err());
    assert!(check_text("ok", &"x".repeat(MAX_SUMMARY_BYTES + 1)).is_err());
    check_text("Register the digits MLP", "").unwrap();
}

proptest! {
    /// Passing needs yes > 0 and the quorum; adding yes never turns a pass
    /// into a failure unless it breaks nothing (monotone in yes).
    #[test]
    fn more_yes_never_hurts(
        yes in 0u128..1_000, no in 0u128..1_000, abstain in 0u128..1_000,
        veto in 0u128..1_000, extra in 0u128..1_000, slack in 0u128..1_000,
    ) {
        let p = GovernanceParams::default();
        let bonded = yes + no + abstain + veto + extra + slack;
        let before = tally(yes, no, abstain, veto, bonded).outcome(&p, p.threshold_ppm);
        let after = tally(yes + extra, no, abstain, veto, bonded).outcome(&p, p.threshold_ppm);
        if before == TallyOutcome::Passed {
            prop_assert_eq!(after, TallyOutcome::Passed);
        }
        if after == TallyOutcome::Passed {
            prop_assert!(yes + extra > 0);
        }
    }
}
