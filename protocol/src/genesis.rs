//! The `app_state` section of `genesis.json`: Synod's initial state.

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, keys::PubKey, params::ChainParams};

/// A funded account at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    pub address: Address,
    pub balance: Amount,
}

/// A validator at genesis. Its self-bond is taken from its operator account's
/// genesis balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    pub operator: Address,
    pub consensus_key: PubKey,
    pub moniker: String,
    pub self_bond: Amount,
}

/// Synod's genesis `app_state`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAppState {
    pub accounts: Vec<GenesisAccount>,
    pub validators: Vec<GenesisValidator>,
    pub params: ChainParams,
}
