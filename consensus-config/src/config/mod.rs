//! `config/config.toml`: written as CometBFT 0.38 writes it (every section
//! and key of its default template, so CometBFT itself accepts the file), read
//! leniently into the keys Synod uses (every one defaulted, unknown keys
//! ignored, so a file CometBFT wrote or a user edited loads as well).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{duration, error::ConfigError, files};

mod template;

/// The CometBFT release whose config layout this writes.
pub const COMETBFT_VERSION: &str = "0.38.17";

/// The keys of `config.toml` that Synod reads, with CometBFT 0.38's defaults.
/// Relative paths are relative to the home directory.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CometConfig {
    /// Where the ABCI app listens: `tcp://HOST:PORT` or `unix://PATH`.
    pub proxy_app: String,
    /// Human-readable node name.
    pub moniker: String,
    /// CometBFT's database backend (the embedded node always uses RocksDB).
    pub db_backend: String,
    /// CometBFT's database directory.
    pub db_dir: PathBuf,
    /// CometBFT's log filter (`info`, or `module:level,*:error`).
    pub log_level: String,
    /// The genesis document.
    pub genesis_file: PathBuf,
    /// The consensus (validator) key.
    pub priv_validator_key_file: PathBuf,
    /// CometBFT's last-signed state (the embedded node keeps its own under `data/`).
    pub priv_validator_state_file: PathBuf,
    /// The p2p identity key.
    pub node_key_file: PathBuf,
    /// How CometBFT talks to the app: `socket` or `grpc`.
    pub abci: String,
    pub rpc: RpcConfig,
    pub p2p: P2pConfig,
    pub mempool: MempoolConfig,
    pub consensus: ConsensusConfig,
    pub instrumentation: InstrumentationConfig,
}

/// `[rpc]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RpcConfig {
    /// Where the JSON-RPC server listens (`tcp://HOST:PORT`; empty: off).
    pub laddr: String,
    /// Most calls in one JSON-RPC batch (CometBFT's default: 10).
    pub max_request_batch_size: usize,
    /// Most websocket clients at once (CometBFT's default: 100).
    pub max_subscription_clients: usize,
}

/// `[p2p]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct P2pConfig {
    /// Where to listen for peers (`tcp://HOST:PORT`).
    pub laddr: String,
    /// The address to advertise to peers (empty: derived from `laddr`).
    pub external_address: String,
    /// Seed nodes, `id@host:port`.
    #[serde(deserialize_with = "comma_list")]
    pub seeds: Vec<String>,
    /// Peers to stay connected to: `id@host:port` (or, for the embedded node, multiaddrs).
    #[serde(deserialize_with = "comma_list")]
    pub persistent_peers: Vec<String>,
    /// Strict address routability (must be false for private or loopback networks).
    pub addr_book_strict: bool,
    /// Allow several peers from one IP (must be true for a loopback network).
    pub allow_duplicate_ip: bool,
    /// Peer exchange: learn more peers from the connected ones and dial them
    /// (the embedded node's peer discovery).
    pub pex: bool,
}

/// `[mempool]` limits.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub size: u64,
    /// Most bytes held (sum of transaction sizes).
    pub max_txs_bytes: u64,
    /// Largest single transaction.
    pub max_tx_bytes: u64,
    /// Hashes of recently seen transactions remembered.
    pub cache_size: u64,
}

/// `[consensus]` timeouts. As JSON (synod-node's `consensus_timeouts` RPC
/// method) the keys and duration texts are those of `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsensusConfig {
    #[serde(with = "duration::serde_go")]
    pub timeout_propose: Duration,
    #[serde(with = "duration::serde_go")]
    pub timeout_propose_delta: Duration,
    #[serde(with = "duration::serde_go")]
    pub timeout_prevote: Duration,
    #[serde(with = "duration::serde_go")]
    pub timeout_prevote_delta: Duration,
    #[serde(with = "duration::serde_go")]
    pub timeout_precommit: Duration,
    #[serde(with = "duration::serde_go")]
    pub timeout_precommit_delta: Duration,
    /// Pause after a commit before the next height.
    #[serde(with = "duration::serde_go")]
    pub timeout_commit: Duration,
}

/// `[instrumentation]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InstrumentationConfig {
    /// Serve Prometheus metrics.
    pub prometheus: bool,
    /// Where (`HOST:PORT`, or `:PORT` for every interface).
    pub prometheus_listen_addr: String,
}

impl Default for CometConfig {
    fn default() -> Self {
        CometConfig {
            proxy_app: "tcp://127.0.0.1:26658".into(),
            moniker: "synod-node".into(),
            db_backend: "goleveldb".into(),
            db_dir: "data".into(),
            log_level: "info".into(),
            genesis_file: "config/genesis.json".into(),
            priv_validator_key_file: "config/priv_validator_key.json".into(),
            priv_validator_state_file: "data/priv_validator_state.json".into(),
            node_key_file: "config/node_key.json".into(),
            abci: "socket".into(),
            rpc: RpcConfig::default(),
            p2p: P2pConfig::default(),
            mempool: MempoolConfig::default(),
            consensus: ConsensusConfig::default(),
            instrumentation: InstrumentationConfig::default(),
        }
    }
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            laddr: "tcp://127.0.0.1:26657".into(),
            max_request_batch_size: 10,
            max_subscription_clients: 100,
        }
    }
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            laddr: "tcp://0.0.0.0:26656".into(),
            external_address: String::new(),
            seeds: Vec::new(),
            persistent_peers: Vec::new(),
            addr_book_strict: true,
            allow_duplicate_ip: false,
            pex: true,
        }
    }
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            size: 5_000,
            max_txs_bytes: 1 << 30,
            max_tx_bytes: 1 << 20,
            cache_size: 10_000,
        }
    }
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeout_propose: Duration::from_secs(3),
            timeout_propose_delta: Duration::from_millis(500),
            timeout_prevote: Duration::from_secs(1),
            timeout_prevote_delta: Duration::from_millis(500),
            timeout_precommit: Duration::from_secs(1),
            timeout_precommit_delta: Duration::from_millis(500),
            timeout_commit: Duration::from_secs(1),
        }
    }
}

impl Default for InstrumentationConfig {
    fn default() -> Self {
        InstrumentationConfig {
            prometheus: false,
            prometheus_listen_addr: ":26660".into(),
        }
    }
}

/// A comma-separated list as CometBFT writes it (`"a,b"`); an array is also accepted.
fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Text(String),
        Items(Vec<String>),
    }
    let items = match List::deserialize(d)? {
        List::Text(text) => text.split(',').map(str::to_string).collect(),
        List::Items(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

impl CometConfig {
    /// Reads `path`. Missing keys take CometBFT's defaults and unknown keys are
    /// ignored; a bad value is an error naming the file and the key.
    pub fn read(path: &Path) -> Result<CometConfig, ConfigError> {
        let text = files::read_text(path)?;
        CometConfig::parse(path, &text)
    }

    /// Parses config text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<CometConfig, ConfigError> {
        let syntax = |e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            format: "TOML",
            message: e.to_string(),
        };
        // Syntax first, so that a value error below is always about one key.
        let table: toml::Table = toml::from_str(text).map_err(syntax)?;
        serde_path_to_error::deserialize(table).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::key(path, &key, e.into_inner().message())
        })
    }

    /// Writes the complete CometBFT 0.38 `config.toml` for these settings.
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        files::write_public(path, self.to_toml().as_bytes())
    }

    /// Resolves a path from this file against the home directory, as CometBFT does.
    pub fn resolve(home: &Path, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            home.join(path)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn custom() -> CometConfig {
        CometConfig {
            proxy_app: "unix:///tmp/app \"x\".sock".into(),
            moniker: "val\\idator \"one\"\tü".into(),
            db_dir: "/abs/data".into(),
            log_level: "main:info,*:error".into(),
            rpc: RpcConfig {
                laddr: "tcp://127.0.0.1:36657".into(),
                ..RpcConfig::default()
            },
            p2p: P2pConfig {
                laddr: "tcp://127.0.0.1:36656".into(),
                external_address: "10.0.0.1:36656".into(),
                seeds: vec![],
                persistent_peers: vec!["aa@127.0.0.1:1".into(), "/ip4/127.0.0.1/tcp/2".into()],
                addr_book_strict: false,
                allow_duplicate_ip: true,
                pex: false,
            },
            mempool: MempoolConfig {
                size: 7,
                max_txs_bytes: 8,
                max_tx_bytes: 9,
                cache_size: 10,
            },
            consensus: ConsensusConfig {
                timeout_propose: Duration::from_millis(1500),
                timeout_propose_delta: Duration::from_millis(1),
                timeout_prevote: Duration::from_micros(2500),
                timeout_prevote_delta: Duration::ZERO,
                timeout_precommit: Duration::from_secs(90),
                timeout_precommit_delta: Duration::from_millis(3),
                timeout_commit: Duration::from_secs(7200),
            },
            instrumentation: InstrumentationConfig {
                prometheus: true,
                prometheus_listen_addr: "127.0.0.1:36660".into(),
            },
            ..CometConfig::default()
        }
    }

    #[test]
    fn every_value_written_reads_back_the_same() {
        for config in [CometConfig::default(), custom()] {
            let text = config.to_toml();
            assert_eq!(
                CometConfig::parse(Path::new("c.toml"), &text).unwrap(),
                config
            );
        }
    }

    #[test]
    fn the_file_has_every_section_cometbft_writes() {
        let text = CometConfig::default().to_toml();
        let table: toml::Table = toml::from_str(&text).unwrap();
        for section in [
            "rpc",
            "p2p",
            "mempool",
            "statesync",
            "blocksync",
            "consensus",
            "storage",
            "tx_index",
            "instrumentation",
        ] {
            assert!(table[section].is_table(), "missing [{section}]");
        }
        for key in [
            "version",
            "proxy_app",
            "moniker",
            "db_backend",
            "db_dir",
            "log_level",
            "genesis_file",
            "priv_validator_key_file",
            "priv_validator_state_file",
            "node_key_file",
            "abci",
        ] {
            assert!(table.contains_key(key), "missing {key}");
        }
        assert_eq!(table["consensus"]["timeout_propose"].as_str(), Some("3s"));
        assert_eq!(
            table["consensus"]["timeout_propose_delta"].as_str(),
            Some("500ms")
        );
        assert_eq!(
            table["mempool"]["max_txs_bytes"].as_integer(),
            Some(1 << 30)
        );
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_are_ignored() {
        let text = "moniker = \"m\"\nsomething_new = 1\n[consensus]\ntimeout_commit = \"250ms\"\n[future]\nx = true\n";
        let config = CometConfig::parse(Path::new("c.toml"), text).unwrap();
        assert_eq!(config.moniker, "m");
        assert_eq!(config.consensus.timeout_commit, Duration::from_millis(250));
        assert_eq!(config.consensus.timeout_propose, Duration::from_secs(3));
        assert_eq!(config.mempool, MempoolConfig::default());
    }

    #[test]
    fn a_bad_value_names_the_file_and_the_key() {
        let text = "[consensus]\ntimeout_propose = \"3 seconds\"\n";
        let err = CometConfig::parse(Path::new("/h/config/config.toml"), text).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, ConfigError::Key { ref key, .. } if key == "consensus.timeout_propose"),
            "{message}"
        );
        assert!(message.contains("/h/config/config.toml"), "{message}");
        assert!(message.contains("consensus.timeout_propose"), "{message}");

        let err =
            CometConfig::parse(Path::new("c.toml"), "[mempool]\nsize = \"big\"\n").unwrap_err();
        assert!(err.to_string().contains("mempool.size"), "{err}");
    }

    #[test]
    fn broken_toml_names_the_file() {
        let err = CometConfig::parse(Path::new("/h/config.toml"), "moniker = \"unterminated\n")
            .unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert!(err.to_string().contains("/h/config.toml"), "{err}");
    }

    #[test]
    fn persistent_peers_are_a_comma_separated_list() {
        let text = "[p2p]\npersistent_peers = \" a@h:1, b@h:2 ,,\"\n";
        let config = CometConfig::parse(Path::new("c.toml"), text).unwrap();
        assert_eq!(config.p2p.persistent_peers, vec!["a@h:1", "b@h:2"]);
    }
}
