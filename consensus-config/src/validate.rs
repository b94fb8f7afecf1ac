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

mod repeated_keys;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
pub use synod_protocol::genesis::GenesisProblem;
use synod_protocol::{
    genesis::{entry_problems, model_entry_problems, param_problems, UnreadEntries},
    params::{
        AccountsParams, GovernanceParams, ModelsParams, ReputationParams, RewardsParams,
        StakingParams,
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
/// The fields of Synod's `app_state` (`models` may be absent).
const APP_STATE_FIELDS: [&str; 4] = ["accounts", "validators", "params", "models"];
/// The parameter modules of `app_state.params` (`models` and `governance`
/// may be absent: their defaults).
const PARAM_MODULES: [&str; 6] = synod_protocol::params::ChainParams::MODULES;

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

    fn chain_id(&mut self, value: Option<&Value>) -> Option<String> {
        let id = match value {
            Some(Value::String(id)) => id,
            Some(other) => {
                self.problem("chain_id", format!("expected a string, found {other}"));
                return None;
            }
            None => {
                self.problem("chain_id", "missing");
                return None;
            }
        };
        if id.is_empty() {
            self.problem("chain_id", "must not be empty");
        } else if id.len() > MAX_CHAIN_ID_LEN {
            self.problem(
                "chain_id",
                format!(
                    "is {} bytes long; CometBFT allows at most {MAX_CHAIN_ID_LEN}",
                    id.len()
                ),
            );
        }
        // tendermint-rs' rule (`chain::Id`), which synod-node reads it with.
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if let Some(c) = id.chars().find(|&c| !allowed(c)) {
            self.problem(
                "chain_id",
                format!(
                    "{id:?} holds {c:?}: a chain id may hold only a-z, A-Z, 0-9, '-', '_' and '.'"
                ),
            );
        }
        Some(id.clone())
    }

    fn genesis_time(&mut self, value: Option<&Value>) {
        match value {
            Some(Value::String(t)) => {
                if tendermint::Time::parse_from_rfc3339(t).is_err() {
                    self.problem(
                        "genesis_time",
                        format!("{t:?} is not an RFC 3339 time such as \"2024-01-01T00:00:00Z\""),
                    );
                }
            }
            Some(other) => {
                self.problem("genesis_time", format!("expected a string, found {other}"))
            }
            None => self.problem("genesis_time", "missing"),
        }
    }

    fn consensus_params(&mut self, value: &Value) {
        let base = "consensus_params";
        let Some(params) = value.as_object() else {
            self.problem(base, format!("expected an object, found {value}"));
            return;
        };
        let mut block_max_bytes = None;
        if let Some(block) = self.object(params, base, "block") {
            let base = "consensus_params.block";
            if let Some(max) = self.int64_field(block, base, "max_bytes") {
                if max == -1 {
                    // CometBFT reads -1 as its largest block; tendermint-rs
                    // reads the field unsigned, so synod-node refuses it.
                    self.problem(
                        join(base, "max_bytes"),
                        format!("-1 (CometBFT's largest block) is refused by synod-node, which reads the size unsigned: write \"{MAX_BLOCK_SIZE_BYTES}\""),
                    );
                } else if max <= 0 {
                    self.problem(join(base, "max_bytes"), format!("{max} must be > 0"));
                } else if max > MAX_BLOCK_SIZE_BYTES {
                    self.problem(
                        join(base, "max_bytes"),
                        format!("{max} is above CometBFT's largest block, {MAX_BLOCK_SIZE_BYTES}"),
                    );
                } else {
                    block_max_bytes = Some(max);
                }
            }
            if let Some(gas) = self.int64_field(block, base, "max_gas") {
                if gas < -1 {
                    self.problem(
                        join(base, "max_gas"),
                        format!("{gas} must be >= -1 (-1: no limit)"),
                    );
                }
            }
        }
        if let Some(evidence) = self.object(params, base, "evidence") {
            let base = "consensus_params.evidence";
            if let Some(n) = self.int64_field(evidence, base, "max_age_num_blocks") {
                if n <= 0 {
                    self.problem(join(base, "max_age_num_blocks"), format!("{n} must be > 0"));
                }
            }
            if let Some(d) = self.int64_field(evidence, base, "max_age_duration") {
                if d <= 0 {
                    self.problem(
                        join(base, "max_age_duration"),
                        format!("{d} must be > 0 (nanoseconds, e.g. \"172800000000000\" for 48h)"),
                    );
                }
            }
            if let Some(bytes) = self.int64_field(evidence, base, "max_bytes") {
                if bytes < 0 {
                    self.problem(join(base, "max_bytes"), format!("{bytes} must be >= 0"));
                } else if let Some(block) = block_max_bytes.filter(|&b| bytes > b) {
                    self.problem(
                        join(base, "max_bytes"),
                        format!("{bytes} is more than a block holds (consensus_params.block.max_bytes = {block})"),
                    );
                }
            }
        }
        if let Some(validator) = self.object(params, base, "validator") {
            let path = "consensus_params.validator.pub_key_types";
            match validator.get("pub_key_types") {
                Some(Value::Array(types)) if types.is_empty() => {
                    self.problem(path, "must list at least one key type: [\"ed25519\"]");
                }
                Some(Value::Array(types)) => {
                    for (i, t) in types.iter().enumerate() {
                        if t.as_str() != Some("ed25519") {
                            self.problem(
                                format!("{path}[{i}]"),
                                format!("{t} is not supported: Synod's validators use \"ed25519\" keys only"),
                            );
                        }
                    }
                }
                Some(other) => self.problem(path, format!("expected a list, found {other}")),
                None => self.problem(path, "missing"),
            }
        }
        self.version_params(params.get("version"));
        if let Some(abci) = self.optional_object(params, base, "abci") {
            if let Some(height) = abci
                .get("vote_extensions_enable_height")
                .filter(|h| !h.is_null())
            {
                let path = "consensus_params.abci.vote_extensions_enable_height";
                if let Some(h) = self.int64(path, height) {
                    if h < 0 {
                        self.problem(path, format!("{h} must be >= 0 (0: disabled)"));
                    }
                }
            }
        }
    }

    /// `consensus_params.version` in the shape tendermint-rs reads: absent,
    /// null, `{}`, or an object with `app` (or its alias `app_version`), an
    /// unsigned integer in a string.
    fn version_params(&mut self, value: Option<&Value>) {
        let base = "consensus_params.version";
        let version = match value {
            None | Some(Value::Null) => return,
            Some(Value::Object(v)) if v.is_empty() => return,
            Some(Value::Object(v)) => v,
            Some(other) => {
                self.problem(base, format!("expected an object, found {other}"));
                return;
            }
        };
        let (key, app) = match (version.get("app"), version.get("app_version")) {
            (Some(_), Some(_)) => {
                self.problem(
                    base,
                    "gives both `app` and its alias `app_version`: keep `app`",
                );
                return;
            }
            (Some(app), None) => ("app", app),
            (None, Some(app)) => ("app_version", app),
            (None, None) => {
                let keys: Vec<&str> = version.keys().map(String::as_str).collect();
                self.problem(
                    join(base, "app"),
                    format!(
                        "missing: version holds {} but not `app` (e.g. {{\"app\": \"0\"}}, or leave version empty)",
                        keys.join(", ")
                    ),
                );
                return;
            }
        };
        let readable = app.as_str().is_some_and(|s| s.parse::<u64>().is_ok());
        if !readable {
            self.problem(
                join(base, key),
                format!("{app} must be an unsigned integer in a string"),
            );
        }
    }

    /// An object field of `parent` that may be absent.
    fn optional_object<'a>(
        &mut self,
        parent: &'a Map<String, Value>,
        base: &str,
        field: &str,
    ) -> Option<&'a Map<String, Value>> {
        match parent.get(field) {
            None => None,
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                self.problem(
                    join(base, field),
                    format!("expected an object, found {other}"),
                );
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

    fn app_state(&mut self, value: &Value) -> AppState {
        let Some(app) = value.as_object() else {
            self.problem(
                "app_state",
                format!("expected Synod's app_state object, found {value}"),
            );
            return AppState::unreadable();
        };
        for key in app.keys() {
            if !APP_STATE_FIELDS.contains(&key.as_str()) {
                self.problem(
                    format!("app_state.{key}"),
                    format!(
                        "unknown field (app_state has: {})",
                        APP_STATE_FIELDS.join(", ")
                    ),
                );
            }
        }
        let (account_count, accounts) = self.entries::<GenesisAccount>(app, "accounts");
        let (validator_count, validators) = self.entries::<GenesisValidator>(app, "validators");
        let mut staking = None;
        let mut models_params = Some(ModelsParams::default());
        if let Some(params) = self.object(app, "app_state", "params") {
            for key in params.keys() {
                if !PARAM_MODULES.contains(&key.as_str()) {
                    self.problem(
                        format!("app_state.params.{key}"),
                        format!(
                            "unknown parameter module (modules: {})",
                            PARAM_MODULES.join(", ")
                        ),
                    );
                }
            }
            self.module(params, "accounts", AccountsParams::problems);
            staking = self.module(params, "staking", StakingParams::problems);
            self.module(params, "reputation", ReputationParams::problems);
            self.module(params, "rewards", RewardsParams::problems);
            if params.contains_key("models") {
                models_params = self.module(params, "models", ModelsParams::problems);
            }
            if params.contains_key("governance") {
                self.module(params, "governance", GovernanceParams::problems);
            }
        }
        if app.contains_key("models") {
            let (_, models) = self.entries::<GenesisModel>(app, "models");
            self.problems.extend(model_entry_problems(&models));
            self.models(&models, models_params.as_ref());
        }
        let unread = unread_entries(app, &accounts, &validators, validator_count);
        self.problems.extend(entry_problems(
            &accounts,
            &validators,
            staking.as_ref(),
            &unread,
        ));
        AppState {
            accounts,
            validators,
            staking,
            account_count,
            validator_count,
            validators_unread: unread.validators,
        }
    }

    /// Each genesis model file: standard base64 of a `.synod-model` file
    /// that loads (magic, version, stated id equal to the contents' id, IR
    /// rules), no model twice, and a zk-enabled model fits a circuit of
    /// `params.models.max_k` (when the params are readable). The chain also
    /// derives the verifying key; that is too slow to do here.
    fn models(&mut self, models: &[(usize, GenesisModel)], params: Option<&ModelsParams>) {
        use base64::Engine;
        let mut seen: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for (i, entry) in models {
            let path = format!("app_state.models[{i}].model");
            let file = match base64::engine::general_purpose::STANDARD.decode(entry.model.trim()) {
                Ok(file) => file,
                Err(e) => {
                    self.problem(
                        path,
                        format!("not standard base64 of a .synod-model file: {e}"),
                    );
                    continue;
                }
            };
            self.model_file(&path, *i, entry, &file, params, &mut seen);
        }
    }

    /// One model file's own checks: it loads (magic, version, stated id, IR
    /// rules), is not listed twice, and fits the circuit cap when it allows zk.
    #[cfg(feature = "models")]
    fn model_file(
        &mut self,
        path: &str,
        i: usize,
        entry: &GenesisModel,
        file: &[u8],
        params: Option<&ModelsParams>,
        seen: &mut BTreeMap<[u8; 32], usize>,
    ) {
        let loaded = match synod_zkml::ir::Model::from_file_bytes(file) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.problem(path, format!("not a valid model file: {e}"));
                return;
            }
        };
        if let Some(first) = seen.insert(loaded.id.0, i) {
            self.problem(
                path,
                format!(
                    "model {:?} ({}) is also app_state.models[{first}]",
                    loaded.model.name, loaded.id
                ),
            );
        }
        let zk = entry
            .modes
            .contains(&synod_protocol::state::VerificationMode::Zk);
        if let (true, Some(params)) = (zk, params) {
            if let Err(e) = synod_zkml::circuit::ZkModel::from_ir(&loaded.model, params.max_k) {
                self.problem(
                    path,
                    format!(
                        "model {:?} ({}) allows Zk but has no circuit under params.models.max_k = {}: {e}",
                        loaded.model.name, loaded.id, params.max_k
                    ),
                );
            }
        }
    }

    /// Without the `models` feature the files themselves are not loaded
    /// (only their base64 is checked): `synod-config` always has the feature.
    #[cfg(not(feature = "models"))]
    fn model_file(
        &mut self,
        _path: &str,
        _i: usize,
        _entry: &GenesisModel,
        _file: &[u8],
        _params: Option<&ModelsParams>,
        _seen: &mut BTreeMap<[u8; 32], usize>,
    ) {
    }

    /// The top-level `validators`: each well formed, and together the same
    /// keys and powers as `app_state`'s validators (which CometBFT hands the
    /// app at InitChain, and the app answers with).
    fn listed_validators(&mut self, value: &Value, app: &AppState) {
        let Some(items) = value.as_array() else {
            self.problem("validators", format!("expected a list, found {value}"));
            return;
        };
        if items.is_empty() {
            // CometBFT then takes the validator set from the app's InitChain answer.
            return;
        }
        let expected: BTreeMap<PubKey, (usize, Amount)> = app
            .validators
            .iter()
            .map(|(i, v)| (v.consensus_key, (*i, v.self_bond)))
            .collect();
        let mut listed = BTreeMap::new();
        // Some entry did not parse: a key missing from the readable ones
        // may be in it (reported already).
        let mut listed_unread = false;
        for (i, item) in items.iter().enumerate() {
            let path = format!("validators[{i}]");
            // tendermint-rs panics on some malformed keys: check them first.
            if let Err(refused) = listed_keys::check_listed_validator(item) {
                let at = if refused.path.is_empty() {
                    path
                } else {
                    join(&path, &refused.path)
                };
                self.problem(at, refused.message);
                listed_unread = true;
                continue;
            }
            let Some(info) = self.parse::<tendermint::validator::Info>(&path, item) else {
                listed_unread = true;
                continue;
            };
            let address = tendermint::account::Id::from(info.pub_key);
            if info.address != address {
                self.problem(
                    format!("{path}.address"),
                    format!(
                        "{} is not the address of its pub_key, which is {address}",
                        info.address
                    ),
                );
            }
            let Some(raw) = info.pub_key.ed25519() else {
                self.problem(format!("{path}.pub_key"), "only ed25519 keys are supported");
                continue;
            };
            let Ok(bytes) = <[u8; 32]>::try_from(raw.as_bytes()) else {
                continue;
            };
            let key = PubKey(bytes);
            if listed.insert(key, i).is_some() {
                self.problem(format!("{path}.pub_key"), "listed twice");
            }
            match expected.get(&key) {
                // It may be the key of an entry that did not parse (reported already).
                None if app.validators_unread => {}
                None => self.problem(
                    format!("{path}.pub_key"),
                    "is not the consensus_key of any validator in app_state.validators",
                ),
                Some((_, self_bond)) => {
                    if let Some(staking) = &app.staking {
                        let power = power_for_bond(staking, *self_bond);
                        if info.power.value() != power {
                            self.problem(
                                format!("{path}.power"),
                                format!(
                                    "{} does not match app_state: its self_bond {self_bond} gives power {power} (self_bond / params.staking.power_reduction_usyn)",
                                    info.power.value()
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (key, (j, _)) in &expected {
            if !listed_unread && !listed.contains_key(key) {
                self.problem(
                    format!("app_state.validators[{j}].consensus_key"),
                    "is missing from the top-level validators list (list every genesis validator there, or none)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let problems = validate_genesis("{\n  \"chain_id\": \"x\",\n  oops\n}");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("line 3"), "{}", problems[0]);
        assert!(problems[0].message.contains("column"), "{}", problems[0]);
    }

    /// A valid genesis document (one validator) as JSON, with `models`.
    #[cfg(feature = "models")]
    fn genesis_with_models(models: serde_json::Value) -> String {
        let app_state = synod_protocol::GenesisAppState::one_validator_example();
        let time = tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap();
        let doc = crate::genesis::build_genesis("synod-x", time, &app_state).unwrap();
        let mut json: Value = serde_json::from_str(&crate::genesis::genesis_json(&doc)).unwrap();
        json["app_state"]["models"] = models;
        json.to_string()
    }

    /// A small valid model: Dense 4 -> 2, then Relu.
    #[cfg(feature = "models")]
    fn tiny_model() -> synod_zkml::ir::Model {
        use synod_zkml::ir::{Model, Node, Op, Requant, Scale, TensorId, TensorInfo};
        Model {
            name: "tiny".into(),
            input: TensorInfo {
                shape: vec![4],
                zero_point: 0,
                scale: Scale {
                    multiplier: 1,
                    shift: 0,
                },
            },
            nodes: vec![
                Node {
                    inputs: vec![TensorId(0)],
                    op: Op::Dense {
                        in_features: 4,
                        out_features: 2,
                        weights: vec![1, -1, 2, 0, 3, 1, -2, 1],
                        bias: vec![0, 5],
                        requant: Requant {
                            multiplier: 1 << 30,
                            shift: 31,
                            zero_point: 0,
                        },
                        channels: Vec::new(),
                    },
                },
                Node {
                    inputs: vec![TensorId(1)],
                    op: Op::Relu { zero_point: 0 },
                },
            ],
        }
    }

    #[cfg(feature = "models")]
    #[test]
    fn genesis_models_are_loaded_and_each_bad_one_is_named() {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let good = tiny_model().to_file_bytes();
        let mut wrong_id = good.clone();
        wrong_id[12] ^= 0xff;
        let problems = validate_genesis(&genesis_with_models(serde_json::json!([
            {"model": b64(&good), "modes": ["Zk", "Optimistic"]},
            {"model": "%%%", "modes": ["Zk"]},
            {"model": b64(&wrong_id), "modes": ["Optimistic"]},
            {"model": b64(&good), "modes": []},
            {"model": b64(b"SYNODMDL"), "modes": ["Zk"], "extra": 1},
        ])));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "app_state.models[4].extra",
                "app_state.models[3].modes",
                "app_state.models[1].model",
                "app_state.models[2].model",
                "app_state.models[3].model",
            ],
            "{problems:?}"
        );
        assert!(problems[2].message.contains("base64"), "{}", problems[2]);
        assert!(problems[3].message.contains("model id"), "{}", problems[3]);
        assert!(
            problems[4].message.contains("also app_state.models[0]"),
            "{}",
            problems[4]
        );
        assert_eq!(
            validate_genesis(&genesis_with_models(serde_json::json!([
                {"model": b64(&good), "modes": ["Zk"]},
            ]))),
            vec![]
        );
        // A genesis without the field, or with an empty list, is valid.
        assert_eq!(
            validate_genesis(&genesis_with_models(serde_json::json!([]))),
            vec![]
        );
    }

    /// A valid one-validator genesis document, as JSON, changed by `edit`.
    fn one_validator_genesis(edit: impl FnOnce(&mut Value)) -> String {
        let app_state = synod_protocol::GenesisAppState::one_validator_example();
        let time = tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap();
        let doc = crate::genesis::build_genesis("synod-x", time, &app_state).unwrap();
        let mut json: Value = serde_json::from_str(&crate::genesis::genesis_json(&doc)).unwrap();
        edit(&mut json);
        json.to_string()
    }

    #[test]
    fn a_bad_balance_is_one_problem_not_also_an_unfunded_validator() {
        assert_eq!(validate_genesis(&one_validator_genesis(|_| {})), vec![]);
        for bad in [serde_json::json!("12 bananas"), serde_json::json!(5)] {
            let problems = validate_genesis(&one_validator_genesis(|g| {
                g["app_state"]["accounts"][0]["balance"] = bad.clone();
            }));
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, ["app_state.accounts[0].balance"], "{problems:?}");
        }
        // A readable balance that is too small is still named where it is.
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["app_state"]["accounts"][0]["balance"] = serde_json::json!("1");
        }));
        assert!(
            problems
                .iter()
                .any(|p| p.path == "app_state.validators[0].self_bond"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_bad_validator_entry_is_one_problem_not_also_an_unknown_listed_key() {
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["app_state"]["validators"][0]["self_bond"] = serde_json::json!("lots");
        }));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["app_state.validators[0].self_bond"], "{problems:?}");
    }

    /// The paths of `text`'s problems.
    fn problem_paths(text: &str) -> Vec<String> {
        validate_genesis(text).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_genesis_that_repeats_a_key_is_refused_naming_the_key() {
        let text = crate::genesis::genesis_json(
            &crate::genesis::build_genesis(
                "synod-x",
                tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap(),
                &synod_protocol::GenesisAppState::one_validator_example(),
            )
            .unwrap(),
        );
        assert_eq!(validate_genesis(&text), vec![]);
        // The first models entry is one the app refuses; a reader that keeps
        // the last value sees an empty list.
        let twice = text.replacen(
            "\"models\": []",
            "\"models\": [{\"modes\": [\"zk\"]}],\n    \"models\": []",
            1,
        );
        assert_ne!(twice, text);
        let problems = validate_genesis(&twice);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "app_state.models");
        assert!(
            problems[0]
                .message
                .contains("\"models\" appears more than once"),
            "{}",
            problems[0]
        );
        let chain_twice = text.replacen(
            "\"chain_id\"",
            "\"chain_id\": \"synod-y\",\n  \"chain_id\"",
            1,
        );
        assert_eq!(problem_paths(&chain_twice), ["chain_id"]);
    }

    #[test]
    fn a_chain_id_is_at_most_50_bytes_of_the_characters_tendermint_allows() {
        for bad in ["synod test", "synod/1", "synod:x", "ßynod"] {
            let paths = problem_paths(&one_validator_genesis(|g| g["chain_id"] = bad.into()));
            assert_eq!(paths, ["chain_id"], "{bad}");
        }
        // 26 characters, 52 bytes.
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["chain_id"] = "é".repeat(26).into()
        }));
        assert!(
            problems.iter().any(|p| p.message.contains("52 bytes long")),
            "{problems:?}"
        );
        let longest = "a-Z_0.9".repeat(7) + "x";
        assert_eq!(longest.len(), MAX_CHAIN_ID_LEN);
        assert_eq!(
            validate_genesis(&one_validator_genesis(|g| g["chain_id"] = longest.into())),
            vec![]
        );
    }

    #[test]
    fn consensus_params_are_checked_in_the_shape_the_node_reads() {
        let paths = |edit: &dyn Fn(&mut Value)| problem_paths(&one_validator_genesis(edit));
        assert_eq!(
            paths(&|g| {
                g["consensus_params"]["version"] =
                    serde_json::json!({"vote_extensions_enable_height": "0"})
            }),
            ["consensus_params.version.app"]
        );
        assert_eq!(
            paths(&|g| g["consensus_params"]["version"] = serde_json::json!([])),
            ["consensus_params.version"]
        );
        assert_eq!(
            paths(&|g| g["consensus_params"]["abci"] = Value::Null),
            ["consensus_params.abci"]
        );
        assert_eq!(
            paths(&|g| g["consensus_params"]["block"]["max_bytes"] = "-1".into()),
            ["consensus_params.block.max_bytes"]
        );
        // What the node reads as absent passes.
        for version in [
            serde_json::json!({}),
            Value::Null,
            serde_json::json!({"app_version": "3"}),
        ] {
            assert_eq!(
                paths(&|g| g["consensus_params"]["version"] = version.clone()),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn what_only_the_node_refuses_is_reported_with_its_path() {
        let problems = validate_genesis(&one_validator_genesis(|g| {
            g["consensus_params"]["block"]["time_iota_ms"] = "soon".into()
        }));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "consensus_params.block.time_iota_ms");
        assert!(
            problems[0]
                .message
                .starts_with("synod-node refuses the document"),
            "{}",
            problems[0]
        );
        let paths = problem_paths(&one_validator_genesis(|g| {
            let root = g.as_object_mut().unwrap();
            root.remove("initial_height");
            root.remove("app_hash");
        }));
        assert_eq!(paths, ["initial_height", "app_hash"]);
    }

    #[test]
    fn a_listed_key_that_panics_tendermint_is_a_problem_not_a_crash() {
        for value in ["AAAA=", "=", "AAAAAAAA===="] {
            let problems = validate_genesis(&one_validator_genesis(|g| {
                g["validators"][0]["pub_key"]["value"] = value.into()
            }));
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].path, "validators[0].pub_key.value");
            assert!(
                problems[0].message.contains("not standard base64"),
                "{}",
                problems[0]
            );
        }
    }

    #[test]
    fn a_non_object_is_refused() {
        let problems = validate_genesis("[1, 2]");
        assert_eq!(problems[0].path, "(document)");
    }

    #[test]
    fn numbers_where_cometbft_expects_strings_are_named() {
        let problems = validate_genesis(r#"{"initial_height": 1}"#);
        assert!(
            problems
                .iter()
                .any(|p| p.path == "initial_height" && p.message.contains("must be a string")),
            "{problems:?}"
        );
    }
}
