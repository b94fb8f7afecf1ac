//! Offline genesis validation that names every problem, not only the first:
//! what CometBFT 0.38 checks of `genesis.json` (chain id, time, heights,
//! consensus parameters, the listed validators), and what Synod's chain
//! checks of `app_state` at InitChain (the protocol's own rules,
//! [`GenesisAppState::problems`], applied entry by entry).
//!
//! The document is walked as untyped JSON, and each account, validator and
//! parameter module is parsed on its own, so one bad element does not hide
//! the others: a genesis with ten mistakes gets ten [`GenesisProblem`]s, each
//! with the JSON path of the value at fault. Last, a document with no fault
//! found outside `app_state` is read as `synod-node` reads it
//! ([`GenesisFile::parse`]), so what the node refuses is refused here too.

mod app_state;
mod cometbft;
mod repeated_keys;
mod workflows;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
pub use synod_protocol::genesis::GenesisProblem;
use synod_protocol::{
    genesis::{entry_problems, model_entry_problems, param_problems, UnreadEntries},
    params::{
        AccountsParams, AgentsParams, DisputesParams, GovernanceParams, ModelsParams,
        ReputationParams, RewardsParams, RunsParams, StakingParams,
    },
    Address, Amount, GenesisAccount, GenesisModel, GenesisValidator, PubKey,
};

use crate::genesis::{power_for_bond, GenesisFile};
use crate::{error::ConfigError, listed_keys};

/// The longest chain id CometBFT accepts, in bytes.
pub const MAX_CHAIN_ID_LEN: usize = 50;
/// CometBFT's largest block (`types.MaxBlockSizeBytes`, 100 MiB).
pub const MAX_BLOCK_SIZE_BYTES: i64 = 104_857_600;

/// The top-level fields of a CometBFT 0.38 genesis document.
const TOP_LEVEL_FIELDS: [&str; 7] = [
    "genesis_time",
    "chain_id",
    "initial_height",
    "consensus_params",
    "validators",
    "app_hash",
    "app_state",
];
/// The fields of Synod's `app_state` (`models` and `workflows` may be absent).
const APP_STATE_FIELDS: [&str; 5] = ["accounts", "validators", "params", "models", "workflows"];
/// The parameter modules of `app_state.params` (`models`, `governance`,
/// `agents` and `runs` may be absent: their defaults).
const PARAM_MODULES: &[&str] = &synod_protocol::params::ChainParams::MODULES;

/// What validation found: the problems, and a summary of what was readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisReport {
    /// `chain_id`, if it is a string.
    pub chain_id: Option<String>,
    /// Entries of `app_state.validators`.
    pub validators: usize,
    /// Entries of `app_state.accounts`.
    pub accounts: usize,
    /// The sum of the readable account balances (`None` if it overflows).
    pub total_supply: Option<Amount>,
    /// Every problem found, in document order; empty for a valid genesis.
    pub problems: Vec<GenesisProblem>,
}

impl GenesisReport {
    /// No problem found.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Every problem of the genesis document `text` (empty if CometBFT 0.38 and
/// Synod's chain would both accept it). See [`check_genesis`].
pub fn validate_genesis(text: &str) -> Vec<GenesisProblem> {
    check_genesis(text).problems
}

/// Validates the genesis document `text`, collecting every problem:
///
/// - JSON syntax (with line and column), and every key an object gives more
///   than once (readers disagree on which one counts);
/// - CometBFT: unknown top-level fields; `chain_id` non-empty, at most 50
///   bytes, of `a-z A-Z 0-9 - _ .` only (tendermint-rs' rule); `genesis_time`
///   in RFC 3339; `initial_height` >= 0 (0 means 1); the consensus
///   parameters' bounds and shape (block and evidence sizes, evidence age,
///   ed25519 as the only key type, `version.app`); the listed `validators`
///   (a strictly encoded ed25519 key, its address, power) agreeing with
///   `app_state`'s validators;
/// - Synod's `app_state`: unknown fields in any entry, duplicate accounts,
///   operators or consensus keys, self-bonds below the minimum or above the
///   operator's balance, bad monikers, no validator, total supply overflow,
///   and every out-of-bounds parameter;
/// - when nothing outside `app_state` was found: `synod-node`'s own reading
///   of the document (as `tendermint::Genesis`, then its InitChain request),
///   whose first error is reported.
pub fn check_genesis(text: &str) -> GenesisReport {
    let mut check = Check::default();
    let mut report = GenesisReport {
        chain_id: None,
        validators: 0,
        accounts: 0,
        total_supply: Some(Amount::ZERO),
        problems: Vec::new(),
    };
    let root: Value = match serde_json::from_str(text) {
        Ok(root) => root,
        Err(e) => {
            check.problem("(document)", format!("not valid JSON: {e}"));
            report.problems = check.problems;
            return report;
        }
    };
    let Some(root) = root.as_object() else {
        check.problem("(document)", "a genesis document must be a JSON object");
        report.problems = check.problems;
        return report;
    };
    for repeated in repeated_keys::repeated_keys(text) {
        check.problem(
            repeated.path,
            format!(
                "the key {:?} appears more than once in its object; readers disagree on which one counts (the last, the first, or neither): keep one",
                repeated.key
            ),
        );
    }
    for key in root.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
            check.problem(
                key,
                format!(
                    "unknown top-level field (a CometBFT 0.38 genesis has: {})",
                    TOP_LEVEL_FIELDS.join(", ")
                ),
            );
        }
    }
    report.chain_id = check.chain_id(root.get("chain_id"));
    check.genesis_time(root.get("genesis_time"));
    match root.get("initial_height") {
        Some(height) => {
            if let Some(h) = check.int64("initial_height", height) {
                // CometBFT reads 0 as 1 (what `cometbft init` writes); below 0 is an error.
                if h < 0 {
                    check.problem("initial_height", format!("{h} is negative"));
                }
            }
        }
        None => check.problem(
            "initial_height",
            "missing (synod-node needs it: \"1\" for a new chain)",
        ),
    }
    match root.get("consensus_params") {
        Some(params) => check.consensus_params(params),
        None => check.problem("consensus_params", "missing"),
    }
    match root.get("app_hash") {
        Some(hash) => {
            let ok = hash
                .as_str()
                .is_some_and(|h| h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                check.problem("app_hash", "must be a hex string (empty for a new chain)");
            }
        }
        None => check.problem(
            "app_hash",
            "missing (synod-node needs it: \"\" for a new chain)",
        ),
    }
    let app = match root.get("app_state") {
        Some(app_state) => check.app_state(app_state),
        None => {
            check.problem("app_state", "missing: Synod needs its app_state");
            AppState::unreadable()
        }
    };
    if let Some(listed) = root.get("validators") {
        check.listed_validators(listed, &app);
    }
    if check
        .problems
        .iter()
        .all(|p| p.path == "app_state" || p.path.starts_with("app_state."))
    {
        check.node_reading(text);
    }
    report.validators = app.validator_count;
    report.accounts = app.account_count;
    report.total_supply = app
        .accounts
        .iter()
        .try_fold(Amount::ZERO, |sum, (_, a)| sum.checked_add(a.balance).ok());
    report.problems = check.problems;
    report
}

/// The parts of `app_state` that parsed, each entry with its index.
#[derive(Default)]
struct AppState {
    accounts: Vec<(usize, GenesisAccount)>,
    validators: Vec<(usize, GenesisValidator)>,
    staking: Option<StakingParams>,
    account_count: usize,
    validator_count: usize,
    /// Some validator entry, or the list itself, did not parse: a listed
    /// key found in none of the readable ones may be in an unreadable one.
    validators_unread: bool,
}

impl AppState {
    /// Nothing of `app_state` could be read (missing, or not an object).
    fn unreadable() -> AppState {
        AppState {
            validators_unread: true,
            ..AppState::default()
        }
    }
}

/// What of `app_state`'s accounts and validators did not parse, so that one
/// bad entry is reported once, not again as what follows from its absence
/// (a validator whose operator's account has a bad balance is not also "more
/// than the operator's genesis balance 0").
fn unread_entries(
    app: &Map<String, Value>,
    accounts: &[(usize, GenesisAccount)],
    validators: &[(usize, GenesisValidator)],
    validator_count: usize,
) -> UnreadEntries {
    let parsed: BTreeSet<usize> = accounts.iter().map(|(i, _)| *i).collect();
    let accounts = match app.get("accounts") {
        // The address of each entry that did not parse, when it is readable.
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(i, _)| !parsed.contains(i))
            .filter_map(|(_, item)| item.get("address")?.as_str()?.parse::<Address>().ok())
            .collect(),
        // No readable list: no balance is known.
        _ => validators.iter().map(|(_, v)| v.operator).collect(),
    };
    UnreadEntries {
        accounts,
        validators: !matches!(app.get("validators"), Some(Value::Array(_)))
            || validators.len() != validator_count,
    }
}

#[derive(Default)]
struct Check {
    problems: Vec<GenesisProblem>,
    /// The genesis models that load, as the chain registers them (only
    /// their id, name, modes and shapes are read): what workflows check
    /// their steps against. Filled only with the `models` feature.
    models: BTreeMap<[u8; 32], synod_protocol::state::ModelRecord>,
}

/// `base.field`, or `field` at the root.
fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

impl Check {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(GenesisProblem::new(path, message));
    }

    /// An int64 as CometBFT encodes it: a JSON string of decimal digits.
    fn int64(&mut self, path: &str, value: &Value) -> Option<i64> {
        match value {
            Value::String(s) => match s.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.problem(path, format!("{s:?} is not a 64-bit integer"));
                    None
                }
            },
            Value::Number(n) => {
                self.problem(
                    path,
                    format!("{n} must be a string (CometBFT encodes 64-bit integers as JSON strings: \"{n}\")"),
                );
                None
            }
            other => {
                self.problem(
                    path,
                    format!("expected an integer in a string, found {other}"),
                );
                None
            }
        }
    }

    /// A required int64 field of `object` at `base`.
    fn int64_field(&mut self, object: &Map<String, Value>, base: &str, field: &str) -> Option<i64> {
        let path = join(base, field);
        match object.get(field) {
            Some(value) => self.int64(&path, value),
            None => {
                self.problem(path, "missing");
                None
            }
        }
    }

    /// A required object field of `object` at `base`.
    fn object<'a>(
        &mut self,
        parent: &'a Map<String, Value>,
        base: &str,
        field: &str,
    ) -> Option<&'a Map<String, Value>> {
        let path = join(base, field);
        match parent.get(field) {
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                self.problem(path, format!("expected an object, found {other}"));
                None
            }
            None => {
                self.problem(path, "missing");
                None
            }
        }
    }

    /// `synod-node`'s own reading of the document: `GenesisFile::parse` (as
    /// `tendermint::Genesis`, with its checks of the listed validators) and
    /// the InitChain request. Only its first error is known.
    fn node_reading(&mut self, text: &str) {
        let refused = |e: ConfigError| match e {
            ConfigError::Key { key, message, .. } => (key, message),
            ConfigError::Syntax { message, .. } => ("(document)".to_owned(), message),
            other => ("(document)".to_owned(), other.to_string()),
        };
        let outcome = GenesisFile::parse(Path::new("genesis.json"), text.to_owned())
            .and_then(|file| file.init_chain_request())
            .map_err(refused);
        if let Err((path, message)) = outcome {
            self.problem(path, format!("synod-node refuses the document: {message}"));
        }
    }

    /// Parses one element, naming the path of the failing key inside it.
    fn parse<T: DeserializeOwned>(&mut self, path: &str, value: &Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                let inner = e.path().to_string();
                let at = if inner == "." {
                    path.to_string()
                } else {
                    join(path, &inner)
                };
                self.problem(at, e.into_inner().to_string());
                None
            }
        }
    }

    /// Each element of the list at `path`, parsed on its own.
    fn entries<T: DeserializeOwned>(
        &mut self,
        app: &Map<String, Value>,
        field: &str,
    ) -> (usize, Vec<(usize, T)>) {
        let path = format!("app_state.{field}");
        let items = match app.get(field) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.problem(path, format!("expected a list, found {other}"));
                return (0, Vec::new());
            }
            None => {
                self.problem(path, "missing");
                return (0, Vec::new());
            }
        };
        let parsed = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((i, self.parse(&format!("{path}[{i}]"), item)?)))
            .collect();
        (items.len(), parsed)
    }

    /// One parameter module, parsed and bounds-checked on its own.
    fn module<T: DeserializeOwned>(
        &mut self,
        params: &Map<String, Value>,
        name: &str,
        problems: impl Fn(&T) -> Vec<synod_protocol::params::ParamError>,
    ) -> Option<T> {
        let path = format!("app_state.params.{name}");
        let Some(value) = params.get(name) else {
            self.problem(path, "missing");
            return None;
        };
        let module: T = self.parse(&path, value)?;
        self.problems.extend(param_problems(problems(&module)));
        Some(module)
    }
}

#[cfg(test)]
mod tests;
