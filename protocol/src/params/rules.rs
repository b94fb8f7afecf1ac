//! Each module's parameter bounds (what genesis and a param change must
//! respect) and the values derived from parameters.

use super::*;

impl AccountsParams {
    /// The smallest fee the chain takes for an encoded transaction of `len`
    /// bytes: `min_fee_per_byte_usyn` per byte. The one rule both the chain
    /// (which refuses a lower fee) and clients (which pay it) apply; it
    /// cannot overflow (a `u64` times a `usize` fits a `u128`).
    pub fn min_fee(&self, len: usize) -> Amount {
        Amount(u128::from(self.min_fee_per_byte_usyn) * len as u128)
    }

    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        check(
            &mut out,
            self.max_tx_bytes >= 256 && self.max_tx_bytes <= 4 * 1024 * 1024,
            "accounts",
            "max_tx_bytes",
            self.max_tx_bytes,
            "256 ..= 4194304",
        );
        check(
            &mut out,
            self.min_fee_per_byte_usyn <= 1_000_000,
            "accounts",
            "min_fee_per_byte_usyn",
            self.min_fee_per_byte_usyn,
            "<= 1000000",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl StakingParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "staking";
        check(
            &mut out,
            self.unbonding_blocks >= 1,
            m,
            "unbonding_blocks",
            self.unbonding_blocks,
            ">= 1",
        );
        check(
            &mut out,
            !self.min_self_bond.is_zero(),
            m,
            "min_self_bond",
            self.min_self_bond,
            "> 0",
        );
        check(
            &mut out,
            (1..=MAX_VALIDATORS).contains(&self.max_validators),
            m,
            "max_validators",
            self.max_validators,
            "1 ..= 10000",
        );
        check(
            &mut out,
            self.power_reduction_usyn >= 1,
            m,
            "power_reduction_usyn",
            self.power_reduction_usyn,
            ">= 1",
        );
        check(
            &mut out,
            self.double_sign_slash_ppm <= PPM,
            m,
            "double_sign_slash_ppm",
            self.double_sign_slash_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.downtime_slash_ppm <= PPM,
            m,
            "downtime_slash_ppm",
            self.downtime_slash_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            (1..=100_000).contains(&self.signed_blocks_window),
            m,
            "signed_blocks_window",
            self.signed_blocks_window,
            "1 ..= 100000",
        );
        check(
            &mut out,
            self.min_signed_per_window_ppm <= PPM,
            m,
            "min_signed_per_window_ppm",
            self.min_signed_per_window_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.max_evidence_age_blocks >= 1,
            m,
            "max_evidence_age_blocks",
            self.max_evidence_age_blocks,
            ">= 1",
        );
        check(
            &mut out,
            self.max_evidence_age_blocks <= self.unbonding_blocks,
            m,
            "max_evidence_age_blocks",
            self.max_evidence_age_blocks,
            "<= staking.unbonding_blocks (stake must stay slashable while evidence against it can still be proven)",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl ReputationParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "reputation";
        check(
            &mut out,
            self.floor_score <= PPM,
            m,
            "floor_score",
            self.floor_score,
            "<= 1000000",
        );
        check(
            &mut out,
            self.gain_ppm <= PPM,
            m,
            "gain_ppm",
            self.gain_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.decay_ppm <= PPM,
            m,
            "decay_ppm",
            self.decay_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.slash_penalty_ppm <= PPM,
            m,
            "slash_penalty_ppm",
            self.slash_penalty_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.min_power_factor_ppm <= PPM,
            m,
            "min_power_factor_ppm",
            self.min_power_factor_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            (1..=PPM).contains(&self.power_factor_step_ppm),
            m,
            "power_factor_step_ppm",
            self.power_factor_step_ppm,
            "1 ..= 1000000",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl RewardsParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "rewards";
        check(
            &mut out,
            self.proposer_bonus_ppm <= PPM,
            m,
            "proposer_bonus_ppm",
            self.proposer_bonus_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.treasury_share_ppm <= PPM,
            m,
            "treasury_share_ppm",
            self.treasury_share_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            // Checked only when both shares are in range: one bad share is one problem.
            self.proposer_bonus_ppm > PPM
                || self.treasury_share_ppm > PPM
                || self.proposer_bonus_ppm + self.treasury_share_ppm <= PPM,
            m,
            "proposer_bonus_ppm + treasury_share_ppm",
            self.proposer_bonus_ppm
                .saturating_add(self.treasury_share_ppm),
            "<= 1000000",
        );
        check(
            &mut out,
            self.block_issuance.0 <= u64::MAX as u128,
            m,
            "block_issuance",
            self.block_issuance,
            "<= u64::MAX usyn",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl ModelsParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "models";
        check(
            &mut out,
            (9..=18).contains(&self.max_k),
            m,
            "max_k",
            self.max_k,
            "9 ..= 18",
        );
        check(
            &mut out,
            (1..=4 * 1024 * 1024).contains(&self.max_proof_bytes),
            m,
            "max_proof_bytes",
            self.max_proof_bytes,
            "1 ..= 4194304",
        );
        check(
            &mut out,
            (1..=1 << 20).contains(&self.max_input_len),
            m,
            "max_input_len",
            self.max_input_len,
            "1 ..= 1048576",
        );
        check(
            &mut out,
            self.verify_fee_per_row_usyn <= 1_000_000,
            m,
            "verify_fee_per_row_usyn",
            self.verify_fee_per_row_usyn,
            "<= 1000000",
        );
        out
    }

    /// The fee, on top of the per-byte fee, for verifying a proof of a
    /// model of `2^k` rows.
    pub fn verify_fee(&self, k: u32) -> Amount {
        Amount(u128::from(self.verify_fee_per_row_usyn) << k.min(64))
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl ChainParams {
    /// Every bound any module breaks, module by module (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = self.accounts.problems();
        out.extend(self.staking.problems());
        out.extend(self.reputation.problems());
        out.extend(self.rewards.problems());
        out.extend(self.models.problems());
        out.extend(self.governance.problems());
        out.extend(self.agents.problems());
        out.extend(self.runs.problems());
        out.extend(self.disputes.problems());
        out
    }

    /// The first bound any module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl GovernanceParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "governance";
        check(
            &mut out,
            !self.min_deposit.is_zero(),
            m,
            "min_deposit",
            self.min_deposit,
            "> 0",
        );
        check(
            &mut out,
            self.expedited_min_deposit >= self.min_deposit,
            m,
            "expedited_min_deposit",
            self.expedited_min_deposit,
            ">= min_deposit",
        );
        check(
            &mut out,
            self.min_initial_deposit_ppm <= PPM,
            m,
            "min_initial_deposit_ppm",
            self.min_initial_deposit_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            (1..=10_000_000).contains(&self.max_deposit_blocks),
            m,
            "max_deposit_blocks",
            self.max_deposit_blocks,
            "1 ..= 10000000",
        );
        check(
            &mut out,
            (1..=10_000_000).contains(&self.voting_blocks),
            m,
            "voting_blocks",
            self.voting_blocks,
            "1 ..= 10000000",
        );
        check(
            &mut out,
            self.expedited_voting_blocks >= 1 && self.expedited_voting_blocks < self.voting_blocks,
            m,
            "expedited_voting_blocks",
            self.expedited_voting_blocks,
            ">= 1 and < voting_blocks",
        );
        check(
            &mut out,
            (1..=PPM).contains(&self.quorum_ppm),
            m,
            "quorum_ppm",
            self.quorum_ppm,
            "1 ..= 1000000",
        );
        check(
            &mut out,
            (1..PPM).contains(&self.threshold_ppm),
            m,
            "threshold_ppm",
            self.threshold_ppm,
            "1 ..= 999999",
        );
        check(
            &mut out,
            self.expedited_threshold_ppm > self.threshold_ppm && self.expedited_threshold_ppm < PPM,
            m,
            "expedited_threshold_ppm",
            self.expedited_threshold_ppm,
            "> threshold_ppm and <= 999999",
        );
        check(
            &mut out,
            (1..=PPM).contains(&self.veto_threshold_ppm),
            m,
            "veto_threshold_ppm",
            self.veto_threshold_ppm,
            "1 ..= 1000000",
        );
        check(
            &mut out,
            (1..=100).contains(&self.max_proposals_per_proposer),
            m,
            "max_proposals_per_proposer",
            self.max_proposals_per_proposer,
            "1 ..= 100",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }

    /// Deposits a proposal needs to enter its voting period.
    pub fn required_deposit(&self, expedited: bool) -> Amount {
        if expedited {
            self.expedited_min_deposit
        } else {
            self.min_deposit
        }
    }

    /// Deposit the proposer must put down when proposing.
    pub fn min_initial_deposit(&self, expedited: bool) -> Amount {
        self.required_deposit(expedited)
            .mul_ratio(self.min_initial_deposit_ppm, PPM)
    }
}

impl AgentsParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "agents";
        check(
            &mut out,
            !self.min_bond.is_zero(),
            m,
            "min_bond",
            self.min_bond,
            "> 0 (an identity must cost something)",
        );
        check(
            &mut out,
            (1..=10_000_000).contains(&self.unbonding_blocks),
            m,
            "unbonding_blocks",
            self.unbonding_blocks,
            "1 ..= 10000000",
        );
        check(
            &mut out,
            (1..=256).contains(&self.max_models),
            m,
            "max_models",
            self.max_models,
            "1 ..= 256",
        );
        check(
            &mut out,
            self.max_metadata_bytes <= 4096,
            m,
            "max_metadata_bytes",
            self.max_metadata_bytes,
            "<= 4096",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl RunsParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "runs";
        check(
            &mut out,
            (1..=1_000).contains(&self.max_open_runs_per_submitter),
            m,
            "max_open_runs_per_submitter",
            self.max_open_runs_per_submitter,
            "1 ..= 1000",
        );
        check(
            &mut out,
            (1..=1 << 20).contains(&self.max_values_held),
            m,
            "max_values_held",
            self.max_values_held,
            "1 ..= 1048576",
        );
        check(
            &mut out,
            self.timeout_slash_ppm <= PPM,
            m,
            "timeout_slash_ppm",
            self.timeout_slash_ppm,
            "<= 1000000",
        );
        check(
            &mut out,
            self.timeout_reputation_penalty_ppm <= PPM,
            m,
            "timeout_reputation_penalty_ppm",
            self.timeout_reputation_penalty_ppm,
            "<= 1000000",
        );
        out
    }

    /// The first bound this module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

impl DisputesParams {
    /// Every bound this module breaks, in field order (empty when all hold).
    pub fn problems(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let m = "disputes";
        check(
            &mut out,
            (1..=100_000).contains(&self.challenge_window_blocks),
            m,
            "challenge_window_blocks",
            self.challenge_window_blocks,
            "1 ..= 100000",
        );
        check(
            &mut out,
            (2..=100_000).contains(&self.clock_blocks),
            m,
            "clock_blocks",
            self.clock_blocks,
            "2 ..= 100000",
        );
        check(
            &mut out,
            !self.min_result_bond.is_zero(),
            m,
            "min_result_bond",
            self.min_result_bond,
            "> 0",
        );
        check(
            &mut out,
            self.result_bond_per_kparam_usyn <= 1_000_000_000,
            m,
            "result_bond_per_kparam_usyn",
            self.result_bond_per_kparam_usyn,
            "<= 1000000000",
        );
        check(
            &mut out,
            !self.min_challenge_bond.is_zero(),
            m,
            "min_challenge_bond",
            self.min_challenge_bond,
            "> 0",
        );
        check(
            &mut out,
            self.challenge_bond_step_ppm <= 10 * PPM,
            m,
            "challenge_bond_step_ppm",
            self.challenge_bond_step_ppm,
            "<= 10000000",
        );
        check(
            &mut out,
            (1..=64).contains(&self.max_open_challenges),
            m,
            "max_open_challenges",
            self.max_open_challenges,
            "1 ..= 64",
        );
        for (name, value) in [
            ("winner_share_ppm", self.winner_share_ppm),
            ("fraud_agent_slash_ppm", self.fraud_agent_slash_ppm),
            (
                "false_challenge_reputation_penalty_ppm",
                self.false_challenge_reputation_penalty_ppm,
            ),
        ] {
            check(&mut out, value <= PPM, m, name, value, "<= 1000000");
        }
        out
    }
}
