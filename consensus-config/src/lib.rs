//! `synod-consensus-config`: node homes in CometBFT 0.38's layout, so the same
//! home runs under CometBFT or under the embedded `synod-node`.
//!
//! - [`config`]: `config/config.toml`, written complete (CometBFT accepts it),
//!   read leniently into the keys Synod uses.
//! - [`genesis`]: `config/genesis.json` with Synod's `app_state`, and the
//!   `RequestInitChain` a node sends for it.
//! - [`keys`]: `node_key.json`, `priv_validator_key.json` and Synod's
//!   `operator_key.json`, checked on load, written with mode 0600.
//! - [`home`]: a single-validator home ([`init_home`]), a loopback network of
//!   N validators ([`generate_network`]), and reading a home back ([`load_home`]).
//! - [`duration`]: Go's duration text ("500ms", "1m30s") as CometBFT uses it.
//!
//! ```no_run
//! use synod_consensus_config::{generate_network, NetworkSpec};
//!
//! let mut spec = NetworkSpec::new("/tmp/synod-net", 4, "synod-local");
//! spec.genesis.seed = Some(7); // same keys every time
//! for home in generate_network(&spec)? {
//!     println!("{} {} {}", home.moniker, home.node_id, home.p2p_laddr);
//! }
//! # Ok::<(), synod_consensus_config::ConfigError>(())
//! ```

pub mod config;
pub mod duration;
pub mod error;
mod files;
pub mod genesis;
pub mod home;
pub mod keys;

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
