//! A node's home directory, laid out as CometBFT 0.38 lays it out, so the same
//! home runs under CometBFT or the embedded synod-node:
//!
//! ```text
//! HOME/config/config.toml               settings (see [`CometConfig`])
//! HOME/config/genesis.json              genesis, with Synod's app_state
//! HOME/config/node_key.json             p2p identity key            (mode 0600)
//! HOME/config/priv_validator_key.json   consensus key               (mode 0600)
//! HOME/config/operator_key.json         operator's account key      (mode 0600)
//! HOME/data/priv_validator_state.json   CometBFT's signer state   (mode 0600)
//! HOME/data/                            chain data
//! ```
//!
//! `operator_key.json` is Synod's addition: the account key that holds the
//! validator's genesis balance and self-bond. Keep it (or move it to a wallet)
//! to sign the operator's transactions; the node itself never reads it.
//!
//! A generated network ([`generate_network`]) also writes `DIR/keys/`: the
//! faucet's and agents' funded account keys and a copy of every node
//! operator's key, all in `operator_key.json`'s format (mode 0600).

use std::path::{Path, PathBuf};

use synod_protocol::{
    params::ChainParams, Address, Amount, GenesisAccount, GenesisAppState, GenesisValidator, PubKey,
};
use tendermint::Time;

use crate::{
    config::CometConfig,
    error::ConfigError,
    files,
    genesis::{build_genesis, genesis_json, GenesisFile},
    keys::{KeySource, NodeKey, OperatorKey, PrivValidatorKey},
};

/// `config/config.toml`, relative to the home.
pub const CONFIG_FILE: &str = "config/config.toml";
/// `config/operator_key.json`, relative to the home.
pub const OPERATOR_KEY_FILE: &str = "config/operator_key.json";
/// `data/`, relative to the home.
pub const DATA_DIR: &str = "data";
/// The faucet's key file in [`NetworkSpec::keys_dir`].
pub const FAUCET_KEY_FILE: &str = "faucet.json";

/// CometBFT's `priv_validator_state.json` before anything is signed.
const EMPTY_SIGNER_STATE: &str = "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n";

/// Ports of validator `i` of a generated network: `base + 10*i` (p2p),
/// `+1` (RPC), `+2` (the app's ABCI socket), `+3` (Prometheus); `+5` is left
/// for synod-node's mempool gossip (its p2p port + 5), the rest are spare.
pub const PORTS_PER_NODE: u16 = 10;

/// The loopback ports one node of a generated network uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePorts {
    pub p2p: u16,
    pub rpc: u16,
    pub abci: u16,
    pub prometheus: u16,
}

impl NodePorts {
    /// The ports of validator `index` counting from `base_port`, or `None` past port 65535.
    pub fn of(base_port: u16, index: usize) -> Option<NodePorts> {
        let first = u16::try_from(index)
            .ok()?
            .checked_mul(PORTS_PER_NODE)?
            .checked_add(base_port)?;
        // The whole block must fit, spare ports included.
        first.checked_add(PORTS_PER_NODE - 1)?;
        Some(NodePorts {
            p2p: first,
            rpc: first.checked_add(1)?,
            abci: first.checked_add(2)?,
            prometheus: first.checked_add(3)?,
        })
    }
}

/// How a new chain's genesis funds and bonds its validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisOptions {
    /// Seed for every key (node, consensus, operator): the same seed gives the
    /// same keys. `None`: fresh keys from the operating system.
    pub seed: Option<u64>,
    /// Genesis time; `None`: now.
    pub genesis_time: Option<Time>,
    /// Each validator operator's genesis balance (the self-bond is taken from it).
    pub operator_balance: Amount,
    /// Each validator's self-bond.
    pub self_bond: Amount,
    /// More funded accounts (users, agents).
    pub extra_accounts: Vec<GenesisAccount>,
    /// Chain parameters.
    pub params: ChainParams,
    /// Models registered at genesis (`.synod-model` files, base64).
    pub models: Vec<synod_protocol::genesis::GenesisModel>,
    /// Workflows registered at genesis (after the models they name).
    pub workflows: Vec<synod_protocol::governance::WorkflowSpec>,
}

impl Default for GenesisOptions {
    /// 1,000,000 syn per operator of which 10,000 bonded, default parameters.
    fn default() -> Self {
        GenesisOptions {
            seed: None,
            genesis_time: None,
            operator_balance: Amount::syn(1_000_000),
            self_bond: Amount::syn(10_000),
            extra_accounts: Vec::new(),
            params: ChainParams::default(),
            models: Vec::new(),
            workflows: Vec::new(),
        }
    }
}

/// What was written into one home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HomeSummary {
    pub home: PathBuf,
    pub moniker: String,
    /// CometBFT node id (of `node_key.json`).
    pub node_id: tendermint::node::Id,
    /// CometBFT validator address (of `priv_validator_key.json`).
    pub validator_address: tendermint::account::Id,
    pub consensus_key: PubKey,
    /// The operator's account (`operator_key.json`): funded at genesis, and
    /// bonded if this node is a validator.
    pub operator: Address,
    /// A genesis validator (else a full node, whose operator is funded but not bonded).
    pub is_validator: bool,
    /// `p2p.laddr`, `rpc.laddr`, `proxy_app`, `instrumentation.prometheus_listen_addr`.
    pub p2p_laddr: String,
    pub rpc_laddr: String,
    pub proxy_app: String,
    pub prometheus_listen_addr: String,
}

/// One validator's keys before they are written.
struct ValidatorKeys {
    node: NodeKey,
    consensus: PrivValidatorKey,
    operator: OperatorKey,
}

impl ValidatorKeys {
    fn generate(source: &mut KeySource) -> ValidatorKeys {
        ValidatorKeys {
            node: NodeKey(source.next_key()),
            consensus: PrivValidatorKey(source.next_key()),
            operator: OperatorKey(source.next_key()),
        }
    }
}

/// Fails if `home` already holds a home (any of its files, or chain data).
fn refuse_existing(home: &Path) -> Result<(), ConfigError> {
    let config = CometConfig::default();
    let taken = [
        PathBuf::from(CONFIG_FILE),
        config.genesis_file,
        config.node_key_file,
        config.priv_validator_key_file,
        PathBuf::from(OPERATOR_KEY_FILE),
    ]
    .into_iter()
    .map(|f| home.join(f))
    .find(|p| p.exists());
    if let Some(path) = taken {
        return Err(ConfigError::AlreadyExists { path });
    }
    let data = home.join(DATA_DIR);
    let has_data = std::fs::read_dir(&data)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if has_data {
        return Err(ConfigError::AlreadyExists { path: data });
    }
    Ok(())
}

/// The genesis state: every node operator funded (`nodes`, validators first),
/// the first `validators` of them bonded, then `users` and the extra accounts funded.
fn genesis_state(
    monikers: &[String],
    nodes: &[ValidatorKeys],
    validators: usize,
    users: &[GenesisAccount],
    options: &GenesisOptions,
) -> GenesisAppState {
    let mut accounts: Vec<GenesisAccount> = nodes
        .iter()
        .map(|k| GenesisAccount {
            address: k.operator.address(),
            balance: options.operator_balance,
        })
        .collect();
    accounts.extend(users.iter().cloned());
    accounts.extend(options.extra_accounts.iter().cloned());
    let keys = &nodes[..validators.min(nodes.len())];
    let validators = keys
        .iter()
        .zip(monikers)
        .map(|(k, moniker)| GenesisValidator {
            operator: k.operator.address(),
            consensus_key: k.consensus.public(),
            moniker: moniker.clone(),
            self_bond: options.self_bond,
        })
        .collect();
    GenesisAppState {
        accounts,
        validators,
        params: options.params.clone(),
        models: options.models.clone(),
        workflows: options.workflows.clone(),
    }
}

/// Writes one home: config, genesis text, keys, and `data/`.
fn write_home(
    home: &Path,
    config: &CometConfig,
    genesis_text: &str,
    keys: &ValidatorKeys,
    is_validator: bool,
) -> Result<HomeSummary, ConfigError> {
    files::create_dir(&home.join("config"))?;
    files::create_dir(&home.join(DATA_DIR))?;
    config.write(&home.join(CONFIG_FILE))?;
    files::write_public(
        &CometConfig::resolve(home, &config.genesis_file),
        genesis_text.as_bytes(),
    )?;
    keys.node
        .write(&CometConfig::resolve(home, &config.node_key_file))?;
    keys.consensus
        .write(&CometConfig::resolve(home, &config.priv_validator_key_file))?;
    keys.operator.write(&home.join(OPERATOR_KEY_FILE))?;
    // CometBFT refuses to start without its signer state: nothing signed yet.
    files::write_private(
        &CometConfig::resolve(home, &config.priv_validator_state_file),
        EMPTY_SIGNER_STATE.as_bytes(),
    )?;
    Ok(HomeSummary {
        home: home.to_path_buf(),
        moniker: config.moniker.clone(),
        node_id: keys.node.node_id(),
        validator_address: keys.consensus.address(),
        consensus_key: keys.consensus.public(),
        operator: keys.operator.address(),
        is_validator,
        p2p_laddr: config.p2p.laddr.clone(),
        rpc_laddr: config.rpc.laddr.clone(),
        proxy_app: config.proxy_app.clone(),
        prometheus_listen_addr: config.instrumentation.prometheus_listen_addr.clone(),
    })
}

/// Writes a single-validator home for a new chain `chain_id`: `config` with
/// `moniker` set, a genesis in which the validator's operator account is
/// funded and bonded, and fresh keys. Refuses to overwrite an existing home.
pub fn init_home(
    home: &Path,
    moniker: &str,
    chain_id: &str,
    config: &CometConfig,
    options: &GenesisOptions,
) -> Result<HomeSummary, ConfigError> {
    refuse_existing(home)?;
    let keys = vec![ValidatorKeys::generate(&mut KeySource::new(options.seed))];
    let monikers = vec![moniker.to_string()];
    let app_state = genesis_state(&monikers, &keys, 1, &[], options);
    let genesis = build_genesis(
        chain_id,
        options.genesis_time.unwrap_or_else(Time::now),
        &app_state,
    )?;
    let config = CometConfig {
        moniker: moniker.to_string(),
        ..config.clone()
    };
    write_home(home, &config, &genesis_json(&genesis), &keys[0], true)
}

/// A local network on loopback: validators, then full nodes, one home each;
/// and funded user keys (a faucet, agents) in [`NetworkSpec::keys_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Homes are written to `dir/node0`, `dir/node1`, ... (validators first,
    /// then full nodes); user keys to `dir/keys`.
    pub dir: PathBuf,
    pub validators: usize,
    /// Non-validating nodes, `dir/node{validators + j}`, named `full-node-{j}`,
    /// peered with every validator. Each has an operator account funded with
    /// `genesis.operator_balance` but not bonded, so it can register as a
    /// validator later.
    pub full_nodes: usize,
    /// Agent accounts, `keys/agent-{i}.json`, each funded with `agent_balance`.
    pub agents: usize,
    /// Genesis balance of each agent account.
    pub agent_balance: Amount,
    /// Genesis balance of the faucet account (`keys/faucet.json`); `None`: no faucet.
    pub faucet_balance: Option<Amount>,
    pub chain_id: String,
    /// Node `i` uses ports `base_port + 10*i` .. `+3` (see [`NodePorts`]).
    pub base_port: u16,
    /// Validator `i` is named `{moniker_prefix}{i}`.
    pub moniker_prefix: String,
    /// Settings every home starts from (timeouts, mempool limits, whether
    /// Prometheus is on); moniker, addresses and peers are set per validator.
    pub config: CometConfig,
    pub genesis: GenesisOptions,
}

impl NetworkSpec {
    /// `validators` validators of chain `chain_id` under `dir`, ports from
    /// 26600, default config and genesis options; no full nodes or agents; a
    /// faucet holding 1,000,000,000 syn; agents (if added) get 100,000 syn each.
    pub fn new(dir: impl Into<PathBuf>, validators: usize, chain_id: &str) -> NetworkSpec {
        let mut config = CometConfig::default();
        // Loopback peers share one IP and are not publicly routable.
        config.p2p.addr_book_strict = false;
        config.p2p.allow_duplicate_ip = true;
        NetworkSpec {
            dir: dir.into(),
            validators,
            full_nodes: 0,
            agents: 0,
            agent_balance: Amount::syn(100_000),
            faucet_balance: Some(Amount::syn(1_000_000_000)),
            chain_id: chain_id.to_string(),
            base_port: 26600,
            moniker_prefix: "validator-".into(),
            config,
            genesis: GenesisOptions::default(),
        }
    }

    /// The home directory of node `index` (validators first, then full nodes).
    pub fn home(&self, index: usize) -> PathBuf {
        self.dir.join(format!("node{index}"))
    }

    /// Where user keys are written, in `operator_key.json`'s format (mode
    /// 0600): `faucet.json`, `agent-{i}.json`, and a copy of each node's
    /// operator key as `{moniker}.json`.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// The moniker of node `index`: `{moniker_prefix}{i}` for validators,
    /// `full-node-{j}` for full nodes.
    pub fn moniker(&self, index: usize) -> String {
        if index < self.validators {
            format!("{}{index}", self.moniker_prefix)
        } else {
            format!("full-node-{}", index - self.validators)
        }
    }

    /// The file name of agent `index`'s key in [`NetworkSpec::keys_dir`].
    pub fn agent_key_file(index: usize) -> String {
        format!("agent-{index}.json")
    }
}

/// A funded user account of a generated network and where its key goes.
struct UserKey {
    file: String,
    key: OperatorKey,
    balance: Amount,
}

/// Writes the homes of a loopback network: one genesis (identical bytes in
/// every home) funding every node's operator, the faucet, the agents and the
/// extra accounts, and bonding every validator's operator; each node on its
/// own ports, validators listing all other validators as `persistent_peers`
/// (`nodeid@127.0.0.1:port`) and full nodes listing every validator; the user
/// keys in [`NetworkSpec::keys_dir`]. Refuses to overwrite an existing home
/// or key. Returns the homes, validators first.
///
/// Keys are drawn from one [`KeySource`] in a fixed order (validators' node,
/// consensus and operator keys, then full nodes' likewise, then the faucet,
/// then the agents), so a seed reproduces everything, and adding full nodes
/// or agents does not change the validators' keys.
pub fn generate_network(spec: &NetworkSpec) -> Result<Vec<HomeSummary>, ConfigError> {
    if spec.validators == 0 {
        return Err(ConfigError::Spec(
            "a network needs at least one validator".into(),
        ));
    }
    let nodes = spec
        .validators
        .checked_add(spec.full_nodes)
        .ok_or_else(|| ConfigError::Spec("too many nodes".into()))?;
    let ports = (0..nodes)
        .map(|i| NodePorts::of(spec.base_port, i))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            ConfigError::Spec(format!(
                "{nodes} nodes from base port {} need ports past 65535: lower the base port",
                spec.base_port
            ))
        })?;
    let mut source = KeySource::new(spec.genesis.seed);
    let keys: Vec<ValidatorKeys> = (0..nodes)
        .map(|_| ValidatorKeys::generate(&mut source))
        .collect();
    let monikers: Vec<String> = (0..nodes).map(|i| spec.moniker(i)).collect();
    let mut users = Vec::new();
    if let Some(balance) = spec.faucet_balance {
        users.push(UserKey {
            file: FAUCET_KEY_FILE.into(),
            key: OperatorKey(source.next_key()),
            balance,
        });
    }
    users.extend((0..spec.agents).map(|i| UserKey {
        file: NetworkSpec::agent_key_file(i),
        key: OperatorKey(source.next_key()),
        balance: spec.agent_balance,
    }));

    for i in 0..nodes {
        refuse_existing(&spec.home(i))?;
    }
    let keys_dir = spec.keys_dir();
    let key_files: Vec<PathBuf> = users
        .iter()
        .map(|u| u.file.clone())
        .chain(monikers.iter().map(|m| format!("{m}.json")))
        .map(|f| keys_dir.join(f))
        .collect();
    if let Some(path) = key_files.iter().find(|p| p.exists()) {
        return Err(ConfigError::AlreadyExists { path: path.clone() });
    }
    let unique: std::collections::BTreeSet<_> = key_files.iter().collect();
    if unique.len() != key_files.len() {
        return Err(ConfigError::Spec(format!(
            "two keys would share a file name in {}: choose another moniker prefix",
            keys_dir.display()
        )));
    }

    let user_accounts: Vec<GenesisAccount> = users
        .iter()
        .map(|u| GenesisAccount {
            address: u.key.address(),
            balance: u.balance,
        })
        .collect();
    let app_state = genesis_state(
        &monikers,
        &keys,
        spec.validators,
        &user_accounts,
        &spec.genesis,
    );
    let genesis = build_genesis(
        &spec.chain_id,
        spec.genesis.genesis_time.unwrap_or_else(Time::now),
        &app_state,
    )?;
    let genesis_text = genesis_json(&genesis);
    let peer = |j: usize| format!("{}@127.0.0.1:{}", keys[j].node.node_id(), ports[j].p2p);
    let homes = (0..nodes)
        .map(|i| {
            let mut config = spec.config.clone();
            config.moniker = monikers[i].clone();
            config.proxy_app = format!("tcp://127.0.0.1:{}", ports[i].abci);
            config.rpc.laddr = format!("tcp://127.0.0.1:{}", ports[i].rpc);
            config.p2p.laddr = format!("tcp://127.0.0.1:{}", ports[i].p2p);
            config.p2p.persistent_peers =
                (0..spec.validators).filter(|&j| j != i).map(peer).collect();
            config.instrumentation.prometheus_listen_addr =
                format!("127.0.0.1:{}", ports[i].prometheus);
            write_home(
                &spec.home(i),
                &config,
                &genesis_text,
                &keys[i],
                i < spec.validators,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;

    // A keyring: 0700, as `synod` makes its own (docs/cli.md).
    files::create_private_dir(&keys_dir)?;
    for user in &users {
        user.key.write(&keys_dir.join(&user.file))?;
    }
    for (moniker, k) in monikers.iter().zip(&keys) {
        k.operator
            .write(&keys_dir.join(format!("{moniker}.json")))?;
    }
    Ok(homes)
}

/// A home as read back: settings, genesis and keys, each checked.
#[derive(Clone, Debug)]
pub struct LoadedHome {
    pub home: PathBuf,
    pub config: CometConfig,
    pub genesis: GenesisFile,
    pub node_key: NodeKey,
    pub validator_key: PrivValidatorKey,
}

/// Reads `home`: `config/config.toml`, then the genesis and key files it
/// names (relative paths resolved against `home`).
pub fn load_home(home: &Path) -> Result<LoadedHome, ConfigError> {
    let config = CometConfig::read(&home.join(CONFIG_FILE))?;
    let genesis = GenesisFile::read(&CometConfig::resolve(home, &config.genesis_file))?;
    let node_key = NodeKey::read(&CometConfig::resolve(home, &config.node_key_file))?;
    let validator_key =
        PrivValidatorKey::read(&CometConfig::resolve(home, &config.priv_validator_key_file))?;
    Ok(LoadedHome {
        home: home.to_path_buf(),
        config,
        genesis,
        node_key,
        validator_key,
    })
}
