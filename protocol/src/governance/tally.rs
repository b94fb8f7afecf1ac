//! The tally: stake behind each vote option, and the rule every node
//! applies to it (quorum, veto, threshold) in exact integer arithmetic.

use serde::{Deserialize, Serialize};

use super::VoteOption;

use crate::{
    amount::Amount,
    params::{GovernanceParams, PPM},
};

/// Stake (usyn) behind each option, and all bonded stake when counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub yes: Amount,
    pub no: Amount,
    pub abstain: Amount,
    pub no_with_veto: Amount,
    /// All bonded stake at the time of the tally (the quorum's base).
    pub bonded: Amount,
}

/// What a tally decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TallyOutcome {
    Passed,
    /// Not enough of the bonded stake voted: deposits burned.
    QuorumFailed,
    /// Too many NoWithVeto: deposits burned.
    Vetoed,
    /// The yes share of non-abstaining votes is not above the threshold:
    /// deposits refunded.
    Rejected,
}

impl Tally {
    /// Stake that voted.
    pub fn turnout(&self) -> u128 {
        // Each voter counts once with at most its own bond, so the sum never
        // exceeds the bonded total; saturate rather than wrap regardless.
        self.yes
            .0
            .saturating_add(self.no.0)
            .saturating_add(self.abstain.0)
            .saturating_add(self.no_with_veto.0)
    }

    /// Adds `stake` to `option`.
    pub fn add(&mut self, option: VoteOption, stake: Amount) {
        let slot = match option {
            VoteOption::Yes => &mut self.yes,
            VoteOption::No => &mut self.no,
            VoteOption::Abstain => &mut self.abstain,
            VoteOption::NoWithVeto => &mut self.no_with_veto,
        };
        slot.0 = slot.0.saturating_add(stake.0);
    }

    /// The rule, as in the Cosmos SDK: quorum of bonded stake first, then the
    /// veto share of all votes, then yes strictly above `threshold_ppm` of the
    /// non-abstaining votes. Integer math only.
    pub fn outcome(&self, params: &GovernanceParams, threshold_ppm: u64) -> TallyOutcome {
        use std::cmp::Ordering::{Greater, Less};
        let turnout = self.turnout();
        // Exact comparisons of `a * ppm` with `b * share_ppm`: stakes are
        // u128, so the products need up to 192 bits.
        if self.bonded.is_zero()
            || cmp_scaled(turnout, PPM, self.bonded.0, params.quorum_ppm) == Less
        {
            return TallyOutcome::QuorumFailed;
        }
        if cmp_scaled(self.no_with_veto.0, PPM, turnout, params.veto_threshold_ppm) == Greater {
            return TallyOutcome::Vetoed;
        }
        let non_abstain = self
            .yes
            .0
            .saturating_add(self.no.0)
            .saturating_add(self.no_with_veto.0);
        if non_abstain > 0 && cmp_scaled(self.yes.0, PPM, non_abstain, threshold_ppm) == Greater {
            TallyOutcome::Passed
        } else {
            TallyOutcome::Rejected
        }
    }

    /// `part` as a percentage of `whole` with one decimal, for messages.
    pub fn percent(part: u128, whole: u128) -> String {
        if whole == 0 {
            return "0.0%".into();
        }
        let tenths = part.saturating_mul(1000) / whole;
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// `a * x` against `b * y`, exactly (the products may need 192 bits).
pub(super) fn cmp_scaled(a: u128, x: u64, b: u128, y: u64) -> std::cmp::Ordering {
    wide_mul(a, x).cmp(&wide_mul(b, y))
}

/// `a * x` as (high, low) 128-bit halves.
pub(super) fn wide_mul(a: u128, x: u64) -> (u128, u128) {
    let x = u128::from(x);
    let (a_hi, a_lo) = (a >> 64, a & u128::from(u64::MAX));
    // a * x = a_hi * x * 2^64 + a_lo * x; each product fits in 128 bits.
    let mid = a_hi * x;
    let low = a_lo * x;
    let (lo, carry) = (mid << 64).overflowing_add(low);
    ((mid >> 64) + u128::from(carry), lo)
}
