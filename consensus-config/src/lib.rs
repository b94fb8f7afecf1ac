//! `synod-consensus-config`: node homes in CometBFT 0.38's layout, so the same
//! home runs under CometBFT or under the embedded `synod-node`.
//!
//! - [`config`]: `config/config.toml`, written complete (CometBFT accepts it),
//!   read leniently into the keys Synod uses.
//! - [`genesis`]: `config/genesis.json` with Synod's `app_state`, and the
//!   `RequestInitChain` a node sends for it.
//! - [`keys`]: `node_key.json`, `priv_validator_key.json` and Synod's
//!   `operator_key.json`, checked on load, written with mode 0600.
//! - [`home`]: a single-validator home ([`init_home`]), a loopback network
//!   ([`generate_network`]) of N validators plus full nodes (funded, not
//!   bonded, peered with every validator), with funded user keys (a faucet,
//!   agents, a copy of each node operator's key) in [`NetworkSpec::keys_dir`];
//!   and reading a home back ([`load_home`]).
//! - [`validate`]: offline genesis validation that reports every problem with
//!   its JSON path ([`validate_genesis`], [`check_genesis`]): CometBFT's own
//!   checks, and Synod's InitChain rules, which live in `synod-protocol`
//!   (`GenesisAppState::problems`, `tx::check_moniker`, `ChainParams::problems`)
//!   so the chain and this validator apply the same ones.
//! - [`duration`]: Go's duration text ("500ms", "1m30s") as CometBFT uses it.
//! - [`cli`]: what the operator tools (`synod-config`, `synod-node`,
//!   `synod-testnet`) share about printing: stdout lines that end quietly on
//!   a closed pipe ([`outln!`]) and counts in words ([`cli::count`]).
//!
//! The `synod-config` binary wraps these: `validate-genesis FILE` (exit 1 if
//! any problem, 2 if the file cannot be read), `init --home H --moniker M`,
//! and `testnet --dir D --validators 4 --full-nodes 0 --agents 0`.
//!
//! Formats are pinned by `tests/cometbft_format.rs`: `config.toml` has exactly
//! the keys of CometBFT 0.38's default template (listed, with their Go types,
//! in `tests/golden/cometbft-0.38-config-keys.txt`), and genesis and key files
//! parse as tendermint-rs's mirrors of CometBFT's types.
//!
//! ```no_run
//! use synod_consensus_config::{generate_network, validate_genesis, NetworkSpec};
//!
//! let mut spec = NetworkSpec::new("/tmp/synod-net", 4, "synod-local");
//! spec.genesis.seed = Some(7); // same keys every time
//! spec.full_nodes = 1; // node4, "full-node-0"
//! spec.agents = 3; // keys/agent-0.json .. agent-2.json, 100,000 syn each
//! for home in generate_network(&spec)? {
//!     println!("{} {} {} validator={}", home.moniker, home.node_id, home.p2p_laddr, home.is_validator);
//! }
//! let genesis = std::fs::read_to_string(spec.home(0).join("config/genesis.json"))
//!     .expect("written above");
//! for problem in validate_genesis(&genesis) {
//!     println!("{problem}"); // "app_state.validators[2].self_bond: ..."
//! }
//! # Ok::<(), synod_consensus_config::ConfigError>(())
//! ```

pub mod cli;
pub mod config;
pub mod duration;
pub mod error;
mod files;
pub mod genesis;
pub mod home;
pub mod keys;
mod listed_keys;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod validate;

pub use config::CometConfig;
pub use error::ConfigError;
pub use genesis::GenesisFile;
pub use home::{
    generate_network, init_home, load_home, GenesisOptions, HomeSummary, LoadedHome, NetworkSpec,
    NodePorts,
};
pub use keys::{KeySource, NodeKey, OperatorKey, PrivValidatorKey};
/// The tendermint-rs crate whose types (ids, genesis, time) appear in this API.
pub use tendermint;
pub use validate::{check_genesis, validate_genesis, GenesisProblem, GenesisReport};
