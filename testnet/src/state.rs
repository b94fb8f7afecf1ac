//! `DIR/testnet.json`: what `up` started and where, so every later command
//! (`status`, the faults, `join`, `down`) finds the same processes and homes.
//! Written after every change, so a crash mid-command never loses a pid.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The state file's name inside the testnet directory.
pub const STATE_FILE: &str = "testnet.json";

/// Which consensus engine runs in front of each app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// `synod-node start --home H` (this repository's Tendermint node).
    Embedded,
    /// `cometbft start --home H` (CometBFT v0.38 from PATH).
    Cometbft,
}

/// What a node is in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// In the genesis validator set.
    Validator,
    /// Follows the chain; funded but not bonded.
    FullNode,
    /// Added by `synod-testnet join`: synced, funded, then registered by a tx.
    JoinedValidator,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Validator => "validator",
            Role::FullNode => "full-node",
            Role::JoinedValidator => "joined",
        })
    }
}

/// The loopback ports one node listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    pub p2p: u16,
    pub rpc: u16,
    pub abci: u16,
    pub prometheus: u16,
}

impl Ports {
    /// Every port the node's processes listen on, named, for the free-port
    /// check (the embedded node's mempool gossip uses p2p + 5).
    pub fn named(&self, engine: Engine) -> Vec<(&'static str, u16)> {
        let mut ports = vec![
            ("p2p", self.p2p),
            ("rpc", self.rpc),
            ("abci", self.abci),
            ("metrics", self.prometheus),
        ];
        if engine == Engine::Embedded {
            if let Some(gossip) = self.p2p.checked_add(5) {
                ports.push(("mempool gossip (p2p+5)", gossip));
            }
        }
        ports
    }

    /// `http://127.0.0.1:RPC`.
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc)
    }
}

impl From<synod_consensus_config::NodePorts> for Ports {
    fn from(p: synod_consensus_config::NodePorts) -> Self {
        Ports {
            p2p: p.p2p,
            rpc: p.rpc,
            abci: p.abci,
            prometheus: p.prometheus,
        }
    }
}

/// One node: its home, ports, identities and the pids of its two processes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Position in the directory: the home is `DIR/node{index}`.
    pub index: usize,
    /// The moniker (`validator-0`, `full-node-0`, or the name given to `join`).
    pub name: String,
    pub role: Role,
    /// Absolute path of the home (`DIR/node{index}`); the app's home is `HOME/app`.
    pub home: PathBuf,
    pub ports: Ports,
    /// CometBFT node id (`id@127.0.0.1:p2p` in peer lists).
    pub node_id: String,
    /// CometBFT validator address (uppercase hex), as block signatures name it.
    pub validator_address: String,
    /// The operator's `synod1…` account.
    pub operator: String,
    pub app_pid: Option<u32>,
    pub node_pid: Option<u32>,
    /// Stopped with SIGSTOP by `pause`.
    #[serde(default)]
    pub paused: bool,
    /// The p2p port `isolate` moved the node to, while it is isolated.
    #[serde(default)]
    pub isolated_p2p_port: Option<u16>,
}

impl NodeRecord {
    /// `HOME/app`: the app's state directory.
    pub fn app_home(&self) -> PathBuf {
        self.home.join("app")
    }

    /// `HOME/app.log`.
    pub fn app_log(&self) -> PathBuf {
        self.home.join("app.log")
    }

    /// `HOME/node.log`.
    pub fn node_log(&self) -> PathBuf {
        self.home.join("node.log")
    }

    /// The recorded pids, app first.
    pub fn pids(&self) -> Vec<u32> {
        self.app_pid.into_iter().chain(self.node_pid).collect()
    }

    /// Whether `query` names this node: its name, `node{index}` or `{index}`.
    pub fn is_named(&self, query: &str) -> bool {
        query == self.name
            || query == format!("node{}", self.index)
            || query.parse::<usize>().ok() == Some(self.index)
    }
}

/// The whole `testnet.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestnetState {
    /// Absolute path of the testnet directory.
    pub dir: PathBuf,
    pub chain_id: String,
    pub base_port: u16,
    pub engine: Engine,
    /// The app binary every node runs.
    pub app_binary: PathBuf,
    /// `synod-node` or `cometbft`.
    pub node_binary: PathBuf,
    /// Target block time (CometBFT's `timeout_commit`), as given to `up`.
    pub block_time: String,
    pub nodes: Vec<NodeRecord>,
    /// The agent processes `up --agents N` started (none in older files).
    #[serde(default)]
    pub agents: Vec<crate::agents::AgentProcess>,
    /// The `synod-agent` binary the agents run.
    #[serde(default)]
    pub agent_binary: Option<PathBuf>,
}

impl TestnetState {
    /// `DIR/testnet.json`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Reads `DIR/testnet.json`; says how to make one when there is none.
    pub fn load(dir: &Path) -> anyhow::Result<TestnetState> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no testnet in {} ({} is missing): start one with `synod-testnet up --dir {}`",
                dir.display(),
                STATE_FILE,
                dir.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes `DIR/testnet.json` (through a temporary file, so a reader never
    /// sees half of it).
    pub fn save(&self) -> anyhow::Result<()> {
        let path = Self::path(&self.dir);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).context("encoding the testnet state")?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }

    /// The node `query` names (name, `nodeI` or index), or an error listing the names.
    pub fn node_index(&self, query: &str) -> anyhow::Result<usize> {
        match self.nodes.iter().position(|n| n.is_named(query)) {
            Some(i) => Ok(i),
            None => {
                let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                bail!(
                    "no node {query:?} in this testnet: use a name ({}), nodeI or an index",
                    names.join(", ")
                )
            }
        }
    }

    /// The agent `query` names (`agent-1`), if any.
    pub fn agent_index(&self, query: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.is_named(query))
    }

    /// `DIR/keys`: the key files the `synod` CLI reads with `--keyring-dir`.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(index: usize, name: &str) -> NodeRecord {
        NodeRecord {
            index,
            name: name.into(),
            role: Role::Validator,
            home: PathBuf::from(format!("/tmp/t/node{index}")),
            ports: Ports {
                p2p: 1,
                rpc: 2,
                abci: 3,
                prometheus: 4,
            },
            node_id: String::new(),
            validator_address: String::new(),
            operator: String::new(),
            app_pid: None,
            node_pid: None,
            paused: false,
            isolated_p2p_port: None,
        }
    }

    #[test]
    fn a_node_is_named_by_its_name_its_directory_or_its_index() {
        let r = record(2, "validator-2");
        assert!(r.is_named("validator-2"));
        assert!(r.is_named("node2"));
        assert!(r.is_named("2"));
        assert!(!r.is_named("validator-1"));
        assert!(!r.is_named("node20"));
    }

    #[test]
    fn the_state_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = TestnetState {
            dir: dir.path().to_path_buf(),
            chain_id: "c".into(),
            base_port: 26600,
            engine: Engine::Embedded,
            app_binary: "a".into(),
            node_binary: "n".into(),
            block_time: "500ms".into(),
            nodes: vec![record(0, "validator-0")],
            agents: Vec::new(),
            agent_binary: None,
        };
        state.save().unwrap();
        let back = TestnetState::load(dir.path()).unwrap();
        assert_eq!(back.nodes[0].name, "validator-0");
        assert_eq!(back.node_index("node0").unwrap(), 0);
        assert!(back.node_index("x").is_err());
    }

    #[test]
    fn a_missing_state_file_says_how_to_start_a_testnet() {
        let dir = tempfile::tempdir().unwrap();
        let e = TestnetState::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("synod-testnet up"), "{e}");
    }
}
