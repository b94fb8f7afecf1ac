//! Chain parameters, one struct per module. Genesis sets them; later, only
//! governance changes them. Each struct checks its own bounds.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;

/// Parts per million: the fixed-point unit of every ratio parameter.
pub const PPM: u64 = 1_000_000;

/// A parameter outside its allowed range.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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
    /// Evidence older than this many blocks is ignored.
    pub max_evidence_age_blocks: u64,
}

/// `reputation` parameters. Scores are integers in ppm of the maximum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReputationParams {
    /// Score of a new identity.
    pub initial_score: u64,
    /// Score decay stops here.
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
            max_evidence_age_blocks: 1_000,
        }
    }
}

impl Default for ReputationParams {
    fn default() -> Self {
        ReputationParams {
            initial_score: 100_000,
            floor_score: 50_000,
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

impl Default for ModelsParams {
    fn default() -> Self {
        ModelsParams {
            max_k: 12,
            max_proof_bytes: 16 * 1024,
            max_input_len: 4096,
        }
    }
}

impl AccountsParams {
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
            (1..=10_000).contains(&self.max_validators),
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
            self.initial_score <= PPM,
            m,
            "initial_score",
            self.initial_score,
            "<= 1000000",
        );
        check(
            &mut out,
            self.floor_score <= self.initial_score,
            m,
            "floor_score",
            self.floor_score,
            "<= initial_score",
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
        out
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
        out
    }

    /// The first bound any module breaks, if any.
    pub fn validate(&self) -> Result<(), ParamError> {
        first(self.problems())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ChainParams::default().validate().unwrap();
    }

    #[test]
    fn out_of_bounds_names_the_param() {
        let mut p = ChainParams::default();
        p.staking.double_sign_slash_ppm = 2_000_000;
        let e = p.validate().unwrap_err();
        assert_eq!((e.module, e.name), ("staking", "double_sign_slash_ppm"));
    }

    #[test]
    fn problems_names_every_bad_param_in_every_module() {
        let mut p = ChainParams::default();
        p.accounts.max_tx_bytes = 1;
        p.staking.unbonding_blocks = 0;
        p.staking.double_sign_slash_ppm = 2_000_000;
        p.reputation.power_factor_step_ppm = 0;
        p.rewards.treasury_share_ppm = 2_000_000;
        p.models.max_k = 19;
        let named: Vec<_> = p.problems().iter().map(|e| (e.module, e.name)).collect();
        assert!(named.contains(&("accounts", "max_tx_bytes")), "{named:?}");
        assert!(
            named.contains(&("staking", "unbonding_blocks")),
            "{named:?}"
        );
        assert!(
            named.contains(&("staking", "double_sign_slash_ppm")),
            "{named:?}"
        );
        assert!(
            named.contains(&("reputation", "power_factor_step_ppm")),
            "{named:?}"
        );
        assert!(
            named.contains(&("rewards", "treasury_share_ppm")),
            "{named:?}"
        );
        assert!(named.contains(&("models", "max_k")), "{named:?}");
        assert_eq!(p.validate().unwrap_err(), p.problems()[0]);
    }

    #[test]
    fn params_without_the_models_module_read_as_its_defaults() {
        let mut v = serde_json::to_value(ChainParams::default()).unwrap();
        v.as_object_mut().unwrap().remove("models");
        let p: ChainParams = serde_json::from_value(v).unwrap();
        assert_eq!(p.models, ModelsParams::default());
    }

    #[test]
    fn the_encoding_is_the_module_encodings_back_to_back() {
        let p = ChainParams::default();
        let parts = [
            crate::codec::encode(&p.accounts),
            crate::codec::encode(&p.staking),
            crate::codec::encode(&p.reputation),
            crate::codec::encode(&p.rewards),
            crate::codec::encode(&p.models),
        ];
        assert_eq!(parts.concat(), crate::codec::encode(&p));
    }

    #[test]
    fn unknown_fields_are_rejected_in_json() {
        let mut v = serde_json::to_value(ChainParams::default()).unwrap();
        v["staking"]["bogus"] = serde_json::json!(1);
        assert!(serde_json::from_value::<ChainParams>(v).is_err());
    }
}
