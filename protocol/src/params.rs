//! Chain parameters, one struct per module. Genesis sets them; later, only
//! governance changes them. Each struct checks its own bounds.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;

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
        out.extend(self.governance.problems());
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

/// A parameter change that cannot be applied.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ParamChangeError {
    #[error("unknown parameter module {module:?}; modules: {}", ChainParams::MODULES.join(", "))]
    UnknownModule { module: String },
    #[error("unknown parameter {module}.{name}; {module} has: {known}")]
    UnknownParam {
        module: String,
        name: String,
        known: String,
    },
    #[error("bad value for {module}.{name}: {value:?} is not JSON: {reason}")]
    NotJson {
        module: String,
        name: String,
        value: String,
        reason: String,
    },
    #[error("bad value for {module}.{name}: {reason}")]
    WrongType {
        module: String,
        name: String,
        reason: String,
    },
    #[error(transparent)]
    OutOfBounds(#[from] ParamError),
}

impl ChainParams {
    /// The module names, as `ParamChange::module` spells them.
    pub const MODULES: [&'static str; 6] = [
        "accounts",
        "staking",
        "reputation",
        "rewards",
        "models",
        "governance",
    ];

    /// These params with `module.name` set to the JSON text `value`, checked
    /// against every bound. Nothing is changed on error.
    pub fn with_change(
        &self,
        module: &str,
        name: &str,
        value: &str,
    ) -> Result<ChainParams, ParamChangeError> {
        let changed = self.set_unchecked(module, name, value)?;
        changed.validate()?;
        Ok(changed)
    }

    /// These params with every change applied in order, then checked against
    /// every bound once (so a bound that ties two changed parameters together
    /// holds whatever their order). Nothing is changed on error.
    pub fn with_changes(
        &self,
        changes: &[crate::governance::ParamChange],
    ) -> Result<ChainParams, ParamChangeError> {
        let mut changed = self.clone();
        for c in changes {
            changed = changed.set_unchecked(&c.module, &c.name, &c.value)?;
        }
        changed.validate()?;
        Ok(changed)
    }

    /// These params with `module.name` set to the JSON text `value`: the
    /// module and parameter must exist and the value must have its type;
    /// bounds are not checked.
    pub fn set_unchecked(
        &self,
        module: &str,
        name: &str,
        value: &str,
    ) -> Result<ChainParams, ParamChangeError> {
        let mut tree = serde_json::to_value(self).map_err(|e| ParamChangeError::WrongType {
            module: module.into(),
            name: name.into(),
            reason: e.to_string(),
        })?;
        let fields = tree
            .get_mut(module)
            .and_then(|m| m.as_object_mut())
            .ok_or_else(|| ParamChangeError::UnknownModule {
                module: module.into(),
            })?;
        if !fields.contains_key(name) {
            return Err(ParamChangeError::UnknownParam {
                module: module.into(),
                name: name.into(),
                known: fields.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let parsed: serde_json::Value =
            serde_json::from_str(value).map_err(|e| ParamChangeError::NotJson {
                module: module.into(),
                name: name.into(),
                value: value.into(),
                reason: e.to_string(),
            })?;
        fields.insert(name.to_string(), parsed);
        serde_json::from_value(tree).map_err(|e| ParamChangeError::WrongType {
            module: module.into(),
            name: name.into(),
            reason: e.to_string(),
        })
    }

    /// The JSON text of `module.name`, as [`ChainParams::with_change`] takes it.
    pub fn value_of(&self, module: &str, name: &str) -> Option<String> {
        let tree = serde_json::to_value(self).ok()?;
        tree.get(module)?.get(name).map(ToString::to_string)
    }
}

#[cfg(test)]
mod tests;
