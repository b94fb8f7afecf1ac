//! Chain parameters, one struct per module. Genesis sets them; later, only
//! governance changes them. Each struct checks its own bounds.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;

mod change;
mod rules;
pub use change::ParamChangeError;

/// The most validators `staking.max_validators` may allow. With
/// `MAX_POWER_PER_VALIDATOR` in the chain it keeps the total power within
/// CometBFT's bound of `i64::MAX / 8`.
pub const MAX_VALIDATORS: u32 = 10_000;

/// Parts per million: the fixed-point unit of every ratio parameter.
pub const PPM: u64 = 1_000_000;

/// A parameter outside its allowed range.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("parameter {module}.{name} = {value} is out of bounds: {rule}")]
pub struct ParamError {
    pub module: &'static str,
    pub name: &'static str,
    pub value: String,
    pub rule: &'static str,
}

/// Records a [`ParamError`] in `problems` unless `ok`.
fn check(
    problems: &mut Vec<ParamError>,
    ok: bool,
    module: &'static str,
    name: &'static str,
    value: impl ToString,
    rule: &'static str,
) {
    if !ok {
        problems.push(ParamError {
            module,
            name,
            value: value.to_string(),
            rule,
        });
    }
}

/// The first of `problems`, as a `Result`.
fn first(problems: Vec<ParamError>) -> Result<(), ParamError> {
    match problems.into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// `accounts` parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsParams {
    /// Minimum fee per byte of encoded transaction, in usyn.
    pub min_fee_per_byte_usyn: u64,
    /// Largest accepted encoded transaction, in bytes.
    pub max_tx_bytes: u64,
}

/// `staking` parameters (slashing defaults follow the Cosmos SDK).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingParams {
    /// Blocks between an unbond and the release of the funds.
    pub unbonding_blocks: u64,
    /// Smallest self-bond a validator may hold (and register with).
    pub min_self_bond: Amount,
    /// Size of the active validator set.
    pub max_validators: u32,
    /// usyn per unit of consensus voting power before the reputation factor.
    pub power_reduction_usyn: u64,
    /// Fraction of stake slashed for double signing (ppm): 5%.
    pub double_sign_slash_ppm: u64,
    /// Fraction of stake slashed for downtime (ppm): 1%.
    pub downtime_slash_ppm: u64,
    /// Sliding window of blocks over which liveness is measured: 100.
    pub signed_blocks_window: u64,
    /// Minimum share of the window a validator must sign (ppm): 50%.
    pub min_signed_per_window_ppm: u64,
    /// Blocks a validator stays jailed for downtime.
    pub downtime_jail_blocks: u64,
    /// Evidence older than this many blocks is ignored. At most
    /// `unbonding_blocks`: stake that starts unbonding after an infraction
    /// stays slashable until the evidence of it expires.
    pub max_evidence_age_blocks: u64,
}

/// `reputation` parameters. Scores are integers in ppm of the maximum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReputationParams {
    /// The lowest score an identity can have, and the score a new identity
    /// starts at: idleness decays toward it and a slash stops at it, so a
    /// fresh identity never starts above an old one (abandoning a slashed or
    /// idle identity for a new one gains nothing).
    pub floor_score: u64,
    /// Share of the gap to the maximum gained per block of honest, active work (ppm).
    pub gain_ppm: u64,
    /// Share of the excess above the floor lost per block of inactivity (ppm).
    pub decay_ppm: u64,
    /// Share of the score lost on any slash (ppm).
    pub slash_penalty_ppm: u64,
    /// Reputation factor of power at score 0 (ppm); rises linearly to 1 at the maximum.
    pub min_power_factor_ppm: u64,
    /// The factor moves in steps of this size (ppm), so small score changes do
    /// not churn the validator set every block.
    pub power_factor_step_ppm: u64,
}

/// `rewards` parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsParams {
    /// New usyn minted each block.
    pub block_issuance: Amount,
    /// Share of issuance and fees for the block's proposer (ppm).
    pub proposer_bonus_ppm: u64,
    /// Share of issuance and fees for the community treasury (ppm).
    pub treasury_share_ppm: u64,
}

/// `models` parameters: what the chain accepts of a model and of a proof of
/// inference. halo2 verification cost grows with `2^k`, so `max_k` caps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsParams {
    /// Largest circuit size exponent a registered model may need (`2^k` rows).
    pub max_k: u32,
    /// Largest accepted proof of inference, in bytes.
    pub max_proof_bytes: u64,
    /// Most values a model input (and a submitted output) may hold.
    pub max_input_len: u32,
    /// Fee per circuit row for verifying a proof of inference, in usyn, on
    /// top of the per-byte fee: a proof for a model of `2^k` rows needs
    /// `2^k * verify_fee_per_row_usyn` more, since verifying it costs time
    /// in proportion to `2^k`.
    pub verify_fee_per_row_usyn: u64,
}

/// `governance` parameters (quorum, threshold and veto are the Cosmos SDK
/// defaults). Periods are in blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceParams {
    /// Deposits a proposal needs before it is voted on.
    pub min_deposit: Amount,
    /// Deposits an expedited proposal needs.
    pub expedited_min_deposit: Amount,
    /// Share of the minimum deposit the proposer must put down when
    /// proposing (ppm): spam protection.
    pub min_initial_deposit_ppm: u64,
    /// Blocks a proposal may collect deposits before it expires.
    pub max_deposit_blocks: u64,
    /// Blocks of a regular voting period.
    pub voting_blocks: u64,
    /// Blocks of an expedited voting period (shorter than `voting_blocks`).
    pub expedited_voting_blocks: u64,
    /// Share of all bonded stake that must vote (ppm): 33.4%.
    pub quorum_ppm: u64,
    /// Yes share of non-abstaining votes a proposal must exceed (ppm): 50%.
    pub threshold_ppm: u64,
    /// Yes share an expedited proposal must exceed (ppm): 66.7%; at least `threshold_ppm`.
    pub expedited_threshold_ppm: u64,
    /// NoWithVeto share of all votes that vetoes (ppm): 33.4%.
    pub veto_threshold_ppm: u64,
    /// Proposals one proposer may have in deposit or voting period at once.
    pub max_proposals_per_proposer: u32,
    /// Burn the deposits of a proposal whose vote misses the quorum (Cosmos
    /// SDK `burn_vote_quorum`, default false: they are refunded). Deposits of
    /// a vetoed proposal are always burned.
    #[serde(default)]
    pub burn_vote_quorum: bool,
}

/// `agents` parameters: what an agent must bond and how it leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsParams {
    /// Smallest bond an agent may register with (and keep).
    pub min_bond: Amount,
    /// Blocks between `ExitAgent` and the release of the bond.
    pub unbonding_blocks: u64,
    /// Most models one agent may serve.
    pub max_models: u32,
    /// Longest agent metadata, in bytes.
    pub max_metadata_bytes: u32,
}

/// `runs` parameters: what a run may hold and what a missed step costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsParams {
    /// Runs one submitter may have running at once.
    pub max_open_runs_per_submitter: u32,
    /// Most int8 values a run holds: its input and every step's output.
    pub max_values_held: u32,
    /// Share of its bond an executor forfeits for a missed step timeout (ppm).
    pub timeout_slash_ppm: u64,
    /// Share of its reputation above the floor an executor loses for a
    /// missed step timeout (ppm): a little, where fraud costs a lot.
    pub timeout_reputation_penalty_ppm: u64,
}

/// `disputes` parameters: optimistic results, challenges and the bisection
/// game's clocks. Every amount is in usyn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputesParams {
    /// Blocks after an optimistic result during which it may be challenged.
    pub challenge_window_blocks: u64,
    /// Each side's clock: blocks it may spend across all its moves. A
    /// dispute ends within `2 × clock_blocks` blocks of its challenge.
    pub clock_blocks: u64,
    /// The least bond of an optimistic result, whatever the model.
    pub min_result_bond: Amount,
    /// Added to the result bond per 1,000 model parameters (usyn).
    pub result_bond_per_kparam_usyn: u64,
    /// The least bond of a challenge when none is open on the result.
    pub min_challenge_bond: Amount,
    /// Each challenge open on a result raises the next one's minimum by
    /// this share of `min_challenge_bond` (ppm).
    pub challenge_bond_step_ppm: u64,
    /// Most disputes open at once on one result.
    pub max_open_challenges: u32,
    /// Share of the loser's bond paid to the winner (ppm); the rest is
    /// burned, so a pair colluding across both sides loses it.
    pub winner_share_ppm: u64,
    /// Share of a cheating executor's agent bond burned (ppm).
    pub fraud_agent_slash_ppm: u64,
    /// Share of its reputation above the floor a false challenger loses (ppm).
    pub false_challenge_reputation_penalty_ppm: u64,
}

/// All parameters of the chain. The canonical encoding is the modules'
/// encodings back to back, in field order (what the `/params` query proves
/// part by part); new modules are appended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainParams {
    pub accounts: AccountsParams,
    pub staking: StakingParams,
    pub reputation: ReputationParams,
    pub rewards: RewardsParams,
    /// Absent in genesis files written before the module existed: the defaults.
    #[serde(default)]
    pub models: ModelsParams,
    /// Absent in genesis files written before the module existed: the defaults.
    #[serde(default)]
    pub governance: GovernanceParams,
    /// Absent in genesis files written before the module existed: the defaults.
    #[serde(default)]
    pub agents: AgentsParams,
    /// Absent in genesis files written before the module existed: the defaults.
    #[serde(default)]
    pub runs: RunsParams,
    /// Absent in genesis files written before the module existed: the defaults.
    #[serde(default)]
    pub disputes: DisputesParams,
}

impl Default for AccountsParams {
    fn default() -> Self {
        AccountsParams {
            min_fee_per_byte_usyn: 1,
            max_tx_bytes: 64 * 1024,
        }
    }
}

impl Default for StakingParams {
    fn default() -> Self {
        StakingParams {
            unbonding_blocks: 100,
            min_self_bond: Amount::syn(1_000),
            max_validators: 100,
            power_reduction_usyn: 1_000_000,
            double_sign_slash_ppm: 50_000,
            downtime_slash_ppm: 10_000,
            signed_blocks_window: 100,
            min_signed_per_window_ppm: 500_000,
            downtime_jail_blocks: 50,
            max_evidence_age_blocks: 100,
        }
    }
}

impl Default for ReputationParams {
    fn default() -> Self {
        ReputationParams {
            floor_score: 100_000,
            gain_ppm: 1_000,
            decay_ppm: 2_000,
            slash_penalty_ppm: 500_000,
            min_power_factor_ppm: 500_000,
            power_factor_step_ppm: 50_000,
        }
    }
}

impl Default for RewardsParams {
    fn default() -> Self {
        RewardsParams {
            block_issuance: Amount::syn(10),
            proposer_bonus_ppm: 50_000,
            treasury_share_ppm: 20_000,
        }
    }
}

impl Default for GovernanceParams {
    fn default() -> Self {
        GovernanceParams {
            min_deposit: Amount::syn(10_000),
            expedited_min_deposit: Amount::syn(50_000),
            min_initial_deposit_ppm: 250_000,
            // About two days and one day at one block per second.
            max_deposit_blocks: 172_800,
            voting_blocks: 172_800,
            expedited_voting_blocks: 86_400,
            quorum_ppm: 334_000,
            threshold_ppm: 500_000,
            expedited_threshold_ppm: 667_000,
            veto_threshold_ppm: 334_000,
            max_proposals_per_proposer: 5,
            burn_vote_quorum: false,
        }
    }
}

impl Default for AgentsParams {
    fn default() -> Self {
        AgentsParams {
            min_bond: Amount::syn(100),
            unbonding_blocks: 100,
            max_models: 16,
            max_metadata_bytes: 256,
        }
    }
}

impl Default for RunsParams {
    fn default() -> Self {
        RunsParams {
            max_open_runs_per_submitter: 8,
            max_values_held: 4096,
            timeout_slash_ppm: 10_000,
            timeout_reputation_penalty_ppm: 50_000,
        }
    }
}

impl Default for DisputesParams {
    fn default() -> Self {
        DisputesParams {
            challenge_window_blocks: 20,
            clock_blocks: 100,
            min_result_bond: Amount::syn(1),
            result_bond_per_kparam_usyn: 1_000,
            min_challenge_bond: Amount::syn(1),
            challenge_bond_step_ppm: 1_000_000,
            max_open_challenges: 8,
            winner_share_ppm: 500_000,
            fraud_agent_slash_ppm: 100_000,
            false_challenge_reputation_penalty_ppm: 50_000,
        }
    }
}

impl DisputesParams {
    /// The least bond of an optimistic result of a model with
    /// `parameter_count` parameters.
    pub fn result_bond(&self, parameter_count: u64) -> Amount {
        let scaled = u128::from(parameter_count / 1_000)
            .saturating_mul(u128::from(self.result_bond_per_kparam_usyn));
        Amount(self.min_result_bond.0.saturating_add(scaled))
    }

    /// The least bond of a challenge on a result with `open` disputes open.
    pub fn challenge_bond(&self, open: u32) -> Amount {
        let step = self.min_challenge_bond.0 / u128::from(PPM)
            * u128::from(self.challenge_bond_step_ppm)
            + self.min_challenge_bond.0 % u128::from(PPM)
                * u128::from(self.challenge_bond_step_ppm)
                / u128::from(PPM);
        Amount(
            self.min_challenge_bond
                .0
                .saturating_add(step.saturating_mul(u128::from(open))),
        )
    }

    /// The most blocks a dispute lasts after its challenge, whatever either
    /// side does: both clocks.
    pub fn dispute_bound_blocks(&self) -> u64 {
        self.clock_blocks.saturating_mul(2)
    }
}

impl Default for ModelsParams {
    fn default() -> Self {
        ModelsParams {
            max_k: 12,
            max_proof_bytes: 16 * 1024,
            max_input_len: 4096,
            verify_fee_per_row_usyn: 32,
        }
    }
}

#[cfg(test)]
mod tests;
