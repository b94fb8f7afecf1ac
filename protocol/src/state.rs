//! The records the chain stores, as queries return them. Stored values are the
//! canonical encodings of these types, so a client can check a queried value
//! against a Merkle proof and then decode it.

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, height::Height, keys::PubKey};

/// An account: spendable balance and the next expected nonce.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub balance: Amount,
    pub nonce: u64,
}

/// Where a validator stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValidatorStatus {
    /// Eligible for the active set (if its stake and power rank high enough).
    Candidate,
    /// Excluded from the active set until `until_height`, then may `Unjail`.
    Jailed {
        until_height: Height,
        reason: String,
    },
    /// Permanently excluded (double signing).
    Tombstoned,
}

/// A registered validator, keyed by its operator (account) address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    pub operator: Address,
    pub consensus_key: PubKey,
    pub moniker: String,
    pub self_bond: Amount,
    pub status: ValidatorStatus,
    pub registered_height: Height,
}

/// One pending unbonding of a validator's stake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingEntry {
    pub amount: Amount,
    /// Height at which the unbond was executed; infractions at or after it are
    /// not this stake's responsibility, earlier ones are.
    pub start_height: Height,
    pub release_height: Height,
}

/// All pending unbondings of one validator, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbondings {
    pub entries: Vec<UnbondingEntry>,
}

/// A reputation score in ppm of the maximum (0 ..= 1_000_000).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reputation {
    pub score: u64,
    pub slashes: u32,
    pub updated_height: Height,
}

/// Liveness record of a validator over the sliding window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningInfo {
    /// Blocks observed since the window was (re)started.
    pub observed: u64,
    /// Missed blocks among the last `signed_blocks_window`.
    pub missed: u64,
    /// One bit per window slot: set = missed.
    pub missed_bits: Vec<u8>,
}

/// A member of the active validator set, with its consensus power.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveValidator {
    pub operator: Address,
    pub consensus_key: PubKey,
    pub power: u64,
}

/// One row of the `/validators` query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSummary {
    pub validator: Validator,
    pub reputation: u64,
    /// Power now, whether or not it is in the active set.
    pub power: u64,
    pub active: bool,
}

/// How results of a model may be verified on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VerificationMode {
    /// A halo2 proof that `output = model(input)`, verified in FinalizeBlock.
    Zk,
    /// A bonded claim with an execution-trace root, open to challenge.
    Optimistic,
}

impl VerificationMode {
    /// The lower-case name people type: `zk`, `optimistic`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationMode::Zk => "zk",
            VerificationMode::Optimistic => "optimistic",
        }
    }
}

impl std::fmt::Display for VerificationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a registered model stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelStatus {
    /// Results of the model are accepted.
    Active,
    /// Retired by governance at `at_height`; no new results are accepted.
    Retired { at_height: Height },
}

/// A registered model, keyed by its model id (the Merkle root of its IR, see
/// `synod_zkml::ir::ModelId`). The IR itself is stored beside it, so every
/// node re-derives the verifying key and checks it against `vk_hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub id: [u8; 32],
    pub name: String,
    /// SHA-256 of the halo2 verifying key (`synod_zkml::circuit::vk_hash`): it
    /// commits to the weights, and `k`.
    pub vk_hash: [u8; 32],
    /// Circuit size exponent (`2^k` rows) the key was derived for.
    pub k: u32,
    /// Verification modes results of this model may use.
    pub modes: Vec<VerificationMode>,
    pub status: ModelStatus,
    pub registered_height: Height,
    /// Weights plus biases.
    pub parameter_count: u64,
    /// Shape of the model's input tensor (the public input of a proof).
    pub input_shape: Vec<u32>,
    /// Shape of the model's output tensor.
    pub output_shape: Vec<u32>,
    /// The model this one upgraded, if it came in by `UpgradeModel`.
    pub predecessor: Option<[u8; 32]>,
    /// The newer version that replaces this one, once upgraded.
    pub successor: Option<[u8; 32]>,
    /// Height at which an upgraded model stops accepting results (the end of
    /// its grace period).
    pub retire_at: Option<Height>,
}

impl ModelRecord {
    /// Whether results of the model are accepted.
    pub fn is_active(&self) -> bool {
        self.status == ModelStatus::Active
    }

    /// Number of values in the input tensor.
    pub fn input_len(&self) -> u64 {
        self.input_shape.iter().map(|&d| u64::from(d)).product()
    }

    /// Number of values in the output tensor.
    pub fn output_len(&self) -> u64 {
        self.output_shape.iter().map(|&d| u64::from(d)).product()
    }
}
