//! The `app_state` section of `genesis.json`: Synod's initial state, and
//! the rules the chain checks it against at InitChain ([`GenesisAppState::problems`]),
//! shared with offline genesis validation so both agree.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{
    address::Address,
    amount::Amount,
    keys::PubKey,
    params::{ChainParams, ParamError, StakingParams},
    state::VerificationMode,
};

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

/// A model registered at genesis. The chain decodes the file, checks its
/// stated id against its contents, derives the verifying key under
/// `params.models.max_k` and refuses genesis naming the model if anything fails
/// (this crate does no model decoding: see `synod_zkml::ir::Model::from_file_bytes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisModel {
    /// Standard base64 (with padding) of a `.synod-model` file.
    pub model: String,
    /// The verification modes results of the model may use.
    pub modes: Vec<VerificationMode>,
}

/// Synod's genesis `app_state`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAppState {
    pub accounts: Vec<GenesisAccount>,
    pub validators: Vec<GenesisValidator>,
    pub params: ChainParams,
    /// Models registered at genesis (absent in older genesis files: none).
    #[serde(default)]
    pub models: Vec<GenesisModel>,
    /// Workflows registered at genesis, after the models (absent: none);
    /// each is version 1, as if registered by proposal 0.
    #[serde(default)]
    pub workflows: Vec<crate::governance::WorkflowSpec>,
}

/// The rules over genesis models that need no model decoding: at least one
/// verification mode, none twice. Paths are `app_state.models[i].modes`.
pub fn model_entry_problems(models: &[(usize, GenesisModel)]) -> Vec<GenesisProblem> {
    let mut out = Vec::new();
    for (i, m) in models {
        let path = format!("app_state.models[{i}].modes");
        if m.modes.is_empty() {
            out.push(GenesisProblem::new(
                path,
                "lists no verification mode: add \"Zk\", \"Optimistic\" or both",
            ));
            continue;
        }
        let distinct: BTreeSet<_> = m.modes.iter().collect();
        if distinct.len() != m.modes.len() {
            out.push(GenesisProblem::new(path, "lists a verification mode twice"));
        }
    }
    out
}

/// One thing wrong with a genesis document, named by its JSON path in
/// `genesis.json` (e.g. `app_state.validators[2].self_bond`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisProblem {
    /// Where: a JSON path from the document's root.
    pub path: String,
    /// What is wrong, and where it helps, what would be right.
    pub message: String,
}

impl GenesisProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> GenesisProblem {
        GenesisProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for GenesisProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The problems of out-of-bounds parameters, at `app_state.params.MODULE.NAME`.
pub fn param_problems(errors: Vec<ParamError>) -> Vec<GenesisProblem> {
    errors
        .into_iter()
        .map(|e| {
            // A rule over several fields (a sum) is reported at the module.
            let path = if e
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                format!("app_state.params.{}.{}", e.module, e.name)
            } else {
                format!("app_state.params.{}", e.module)
            };
            let message = format!(
                "{} = {} is out of bounds: must be {}",
                e.name, e.value, e.rule
            );
            GenesisProblem::new(path, message)
        })
        .collect()
}

/// What a caller that parses genesis entries one by one could not read, so
/// that the rules over the readable ones do not report what only follows
/// from a missing entry (the unreadable entry is the problem to report).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnreadEntries {
    /// Operators whose account entry names them but did not parse (a bad
    /// balance): their balance is unknown, so self-bonds are not checked
    /// against it.
    pub accounts: BTreeSet<Address>,
    /// Whether any `app_state.validators` entry (or the list itself) could
    /// not be read: then "no validator" is not a problem of its own.
    pub validators: bool,
}

/// The rules over genesis accounts and validators that the chain enforces at
/// InitChain: no account or validator operator or consensus key twice, a
/// self-bond of at least `staking.min_self_bond` (unchecked when `staking` is
/// `None`, i.e. unknown) and at most the operator's genesis balance, a valid
/// moniker, at least one validator, and a total supply that fits in an
/// [`Amount`]. Each entry carries its index in the file, so that a caller
/// that could parse only some entries still names them by their place, and
/// says in `unread` what it could not parse (the chain, which parses the
/// whole state, passes `UnreadEntries::default()`).
pub fn entry_problems(
    accounts: &[(usize, GenesisAccount)],
    validators: &[(usize, GenesisValidator)],
    staking: Option<&StakingParams>,
    unread: &UnreadEntries,
) -> Vec<GenesisProblem> {
    let mut out = Vec::new();
    let mut balances: BTreeMap<Address, Amount> = BTreeMap::new();
    let mut supply = Amount::ZERO;
    let mut supply_overflowed = false;
    for (i, account) in accounts {
        if balances.contains_key(&account.address) {
            out.push(GenesisProblem::new(
                format!("app_state.accounts[{i}].address"),
                format!("account {} appears twice", account.address),
            ));
            continue;
        }
        balances.insert(account.address, account.balance);
        match supply.checked_add(account.balance) {
            Ok(total) => supply = total,
            Err(_) if !supply_overflowed => {
                supply_overflowed = true;
                out.push(GenesisProblem::new(
                    format!("app_state.accounts[{i}].balance"),
                    "the total supply overflows (more than 2^128-1 usyn): lower the balances",
                ));
            }
            Err(_) => {}
        }
    }
    let (mut operators, mut keys) = (BTreeSet::new(), BTreeSet::new());
    for (i, v) in validators {
        let at = |field: &str| format!("app_state.validators[{i}].{field}");
        if !operators.insert(v.operator) {
            out.push(GenesisProblem::new(
                at("operator"),
                format!("validator {} appears twice", v.operator),
            ));
        }
        if !keys.insert(v.consensus_key) {
            out.push(GenesisProblem::new(
                at("consensus_key"),
                format!(
                    "consensus key {} is used by two validators",
                    v.consensus_key
                ),
            ));
        }
        if let Err(e) = v.consensus_key.check_point() {
            out.push(GenesisProblem::new(at("consensus_key"), e.to_string()));
        }
        if let Err(e) = crate::tx::check_moniker(&v.moniker) {
            out.push(GenesisProblem::new(
                at("moniker"),
                format!("invalid moniker {:?}: {e}", v.moniker),
            ));
        }
        if let Some(staking) = staking {
            if v.self_bond < staking.min_self_bond {
                out.push(GenesisProblem::new(
                    at("self_bond"),
                    format!(
                        "{} is below the minimum self-bond {} (params.staking.min_self_bond)",
                        v.self_bond, staking.min_self_bond
                    ),
                ));
            }
        }
        let balance = balances.get(&v.operator).copied().unwrap_or(Amount::ZERO);
        if v.self_bond > balance && !unread.accounts.contains(&v.operator) {
            out.push(GenesisProblem::new(
                at("self_bond"),
                format!(
                    "{} is more than the operator {}'s genesis balance {balance}: fund the operator in app_state.accounts",
                    v.self_bond, v.operator
                ),
            ));
        }
    }
    if validators.is_empty() && !unread.validators {
        out.push(GenesisProblem::new(
            "app_state.validators",
            "genesis has no validator: add at least one",
        ));
    }
    out
}

impl GenesisAppState {
    /// Every rule of [`entry_problems`] and every out-of-bounds parameter:
    /// empty when the chain accepts this state at InitChain.
    pub fn problems(&self) -> Vec<GenesisProblem> {
        let accounts: Vec<_> = self.accounts.iter().cloned().enumerate().collect();
        let validators: Vec<_> = self.validators.iter().cloned().enumerate().collect();
        let mut out = entry_problems(
            &accounts,
            &validators,
            Some(&self.params.staking),
            &UnreadEntries::default(),
        );
        let models: Vec<_> = self.models.iter().cloned().enumerate().collect();
        out.extend(model_entry_problems(&models));
        out.extend(param_problems(self.params.problems()));
        out
    }

    /// The sum of every genesis balance, or `None` if it overflows.
    pub fn total_supply(&self) -> Option<Amount> {
        self.accounts
            .iter()
            .try_fold(Amount::ZERO, |sum, a| sum.checked_add(a.balance).ok())
    }
}

impl GenesisAppState {
    /// The smallest valid app state: one operator (key seed `[1; 32]`)
    /// holding 1,000,000 syn, bonded 10,000 syn as validator `v0` with the
    /// consensus key of seed `[2; 32]`; default params, no model. For tests
    /// and examples across the crates.
    pub fn one_validator_example() -> GenesisAppState {
        use crate::keys::SecretKey;
        let operator = SecretKey::from_seed([1; 32]).public().address();
        GenesisAppState {
            accounts: vec![GenesisAccount {
                address: operator,
                balance: Amount::syn(1_000_000),
            }],
            validators: vec![GenesisValidator {
                operator,
                consensus_key: SecretKey::from_seed([2; 32]).public(),
                moniker: "v0".into(),
                self_bond: Amount::syn(10_000),
            }],
            params: ChainParams::default(),
            models: Vec::new(),
            workflows: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> GenesisAppState {
        GenesisAppState::one_validator_example()
    }

    #[test]
    fn genesis_models_need_distinct_modes_and_the_field_may_be_absent() {
        let mut s = valid();
        s.models = vec![
            GenesisModel {
                model: String::new(),
                modes: vec![],
            },
            GenesisModel {
                model: String::new(),
                modes: vec![VerificationMode::Zk, VerificationMode::Zk],
            },
        ];
        let paths: Vec<String> = s.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            ["app_state.models[0].modes", "app_state.models[1].modes"]
        );
        let mut v = serde_json::to_value(valid()).unwrap();
        v.as_object_mut().unwrap().remove("models");
        assert_eq!(
            serde_json::from_value::<GenesisAppState>(v.clone()).unwrap(),
            valid()
        );
        v["models"] = serde_json::json!([{"model": "AA==", "modes": ["Zk"]}]);
        let back: GenesisAppState = serde_json::from_value(v).unwrap();
        assert_eq!(back.models[0].modes, vec![VerificationMode::Zk]);
    }

    #[test]
    fn a_consensus_key_that_is_not_an_ed25519_point_is_a_problem() {
        let mut s = valid();
        let not_a_point = (2u8..=255)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                crate::PubKey(bytes)
            })
            .find(|k| k.check_point().is_err())
            .expect("some small y has no point");
        s.validators[0].consensus_key = not_a_point;
        let problems = s.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "app_state.validators[0].consensus_key");
        assert!(problems[0]
            .to_string()
            .contains("not a valid ed25519 point"));
    }

    #[test]
    fn a_valid_state_has_no_problems() {
        assert_eq!(valid().problems(), vec![]);
        assert_eq!(valid().total_supply(), Some(Amount::syn(1_000_000)));
    }

    #[test]
    fn every_broken_rule_is_named_by_its_path() {
        let mut s = valid();
        s.accounts.push(s.accounts[0].clone());
        s.accounts.push(GenesisAccount {
            address: Address([7; 20]),
            balance: Amount(u128::MAX),
        });
        let mut twin = s.validators[0].clone();
        twin.moniker = String::new();
        twin.self_bond = Amount(1);
        s.validators.push(twin);
        s.params.staking.max_validators = 0;
        let paths: Vec<String> = s.problems().into_iter().map(|p| p.path).collect();
        for expected in [
            "app_state.accounts[1].address",
            "app_state.accounts[2].balance",
            "app_state.validators[1].operator",
            "app_state.validators[1].consensus_key",
            "app_state.validators[1].moniker",
            "app_state.validators[1].self_bond",
            "app_state.params.staking.max_validators",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "{expected} in {paths:?}"
            );
        }
        assert_eq!(s.total_supply(), None);
    }

    #[test]
    fn a_self_bond_beyond_the_balance_and_no_validators_are_problems() {
        let mut s = valid();
        s.validators[0].self_bond = Amount::syn(2_000_000);
        let problems = s.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .to_string()
            .starts_with("app_state.validators[0].self_bond: "));
        s.validators.clear();
        assert_eq!(s.problems()[0].path, "app_state.validators");
    }
}
