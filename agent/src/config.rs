//! The agent's TOML config: which key, which node, where to listen, which
//! peers to dial first, which models it serves and which roles it plays.
//! `synod-agent init` writes a commented one ([`template`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Most bytes a config file may have (it is read whole).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// One agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account key: the keyring's operator JSON format
    /// (`{"priv_key": {"type": "tendermint/PrivKeyEd25519", ...}}`). Its
    /// seed is also the libp2p identity, so the PeerId names the account.
    pub key_file: PathBuf,
    /// The node's CometBFT JSON-RPC, e.g. `http://127.0.0.1:26601`.
    pub node_rpc: String,
    /// Where the agent keeps its state (done steps, payloads).
    pub data_dir: PathBuf,
    /// The libp2p listen address, e.g. `/ip4/127.0.0.1/tcp/7000`.
    pub listen: String,
    /// Peers dialed at start (`/ip4/…/tcp/…/p2p/12D3…`).
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS (not built in this
    /// version: refused when true, so a config never silently does less).
    #[serde(default)]
    pub mdns: bool,
    /// Where `/metrics` is served (Prometheus text format), e.g.
    /// `127.0.0.1:9100`; none when absent.
    #[serde(default)]
    pub metrics: Option<String>,
    /// The roles this agent plays.
    #[serde(default = "default_roles")]
    pub roles: Vec<Role>,
    /// The bond put up by `RegisterAgent` when the key is not an agent yet,
    /// e.g. `100syn`.
    #[serde(default = "default_bond")]
    pub bond: String,
    /// How often the chain is polled for new blocks, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// The models it serves.
    #[serde(default, rename = "model")]
    pub models: Vec<ModelConfig>,
}

/// A role an agent plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes the steps assigned to it: run, prove, submit, serve payloads.
    Executor,
}

/// One model the agent serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// A `.synod-model` file: zk (halo2 proofs) and optimistic.
    SynodModel { path: PathBuf },
    /// An external command speaking JSON lines on stdin/stdout (optimistic
    /// only), checked deterministic on sample inputs before it is served.
    Command {
        /// The model id it stands for (64 hex digits).
        id: String,
        /// The program and its arguments.
        command: Vec<String>,
        /// The input length it takes and the output length it gives.
        input_len: usize,
        output_len: usize,
    },
}

fn default_roles() -> Vec<Role> {
    vec![Role::Executor]
}

fn default_bond() -> String {
    "100syn".into()
}

fn default_poll_ms() -> u64 {
    500
}

/// Why a config is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the config {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge { path: String },
    #[error("the config {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

impl Config {
    /// Reads and checks `path`; relative paths in it are taken from the
    /// config file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let io = |source| ConfigError::Io {
            path: p.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { path: p });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        if config.mdns {
            return Err(ConfigError::Invalid {
                path: p,
                reason: "mdns = true: mDNS discovery is not built into this agent; list \
                         bootstrap peers instead"
                    .into(),
            });
        }
        if config.models.is_empty() {
            return Err(ConfigError::Invalid {
                path: p,
                reason: "no [[model]]: an agent serves at least one model".into(),
            });
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |q: &mut PathBuf| {
            if q.is_relative() {
                *q = base.join(&*q);
            }
        };
        rebase(&mut config.key_file);
        rebase(&mut config.data_dir);
        for m in &mut config.models {
            if let ModelConfig::SynodModel { path } = m {
                rebase(path);
            }
        }
        Ok(config)
    }
}

/// A commented config for `synod-agent init`.
pub fn template(
    key_file: &Path,
    node_rpc: &str,
    listen: &str,
    models: &[PathBuf],
    metrics: Option<&str>,
) -> String {
    let mut out = String::new();
    out.push_str("# synod-agent config (see docs/agents.md).\n\n");
    out.push_str(
        "# The account key, in the keyring's operator JSON format. Its seed is also\n\
         # the libp2p identity: the PeerId names the same ed25519 key as the account.\n",
    );
    out.push_str(&format!(
        "key_file = {:?}\n\n",
        key_file.display().to_string()
    ));
    out.push_str("# The node's CometBFT JSON-RPC.\n");
    out.push_str(&format!("node_rpc = {node_rpc:?}\n\n"));
    out.push_str("# The agent's own state: done steps, served payloads.\n");
    out.push_str("data_dir = \"agent-data\"\n\n");
    out.push_str("# libp2p: where to listen, and peers to dial first (with /p2p/PEERID).\n");
    out.push_str(&format!("listen = {listen:?}\n"));
    out.push_str("bootstrap = []\n");
    out.push_str("mdns = false\n\n");
    out.push_str("# Prometheus metrics at http://ADDR/metrics (remove to serve none).\n");
    match metrics {
        Some(m) => out.push_str(&format!("metrics = {m:?}\n\n")),
        None => out.push_str("# metrics = \"127.0.0.1:9100\"\n\n"),
    }
    out.push_str("# Roles: \"executor\" runs, proves and submits the steps assigned to it.\n");
    out.push_str("roles = [\"executor\"]\n\n");
    out.push_str("# Bond for RegisterAgent, sent at start when the key is not an agent yet.\n");
    out.push_str("bond = \"100syn\"\n\n");
    out.push_str("# How often to ask the node for new blocks (ms).\n");
    out.push_str("poll_ms = 500\n\n");
    out.push_str(
        "# The models served. A .synod-model file is proved with halo2 (zk steps):\n\
         #   [[model]]\n\
         #   kind = \"synod-model\"\n\
         #   path = \"mlp.synod-model\"\n\
         # An external command speaks JSON lines on stdin/stdout (optimistic only):\n\
         #   [[model]]\n\
         #   kind = \"command\"\n\
         #   id = \"<64 hex digits>\"\n\
         #   command = [\"python3\", \"model.py\"]\n\
         #   input_len = 64\n\
         #   output_len = 10\n",
    );
    for m in models {
        out.push_str(&format!(
            "\n[[model]]\nkind = \"synod-model\"\npath = {:?}\n",
            m.display().to_string()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_loads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = template(
            Path::new("keys/agent-0.json"),
            "http://127.0.0.1:26601",
            "/ip4/127.0.0.1/tcp/7000",
            &[PathBuf::from("/m/mlp.synod-model")],
            Some("127.0.0.1:9100"),
        );
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, text).expect("write");
        let c = Config::load(&path).expect("loads");
        assert_eq!(c.key_file, dir.path().join("keys/agent-0.json"));
        assert_eq!(c.roles, vec![Role::Executor]);
        assert_eq!(c.metrics.as_deref(), Some("127.0.0.1:9100"));
        assert_eq!(
            c.models,
            vec![ModelConfig::SynodModel {
                path: "/m/mlp.synod-model".into()
            }]
        );
    }

    #[test]
    fn unknown_fields_and_no_models_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "key_file='k'\nnode_rpc='x'\ndata_dir='d'\nlisten='l'\ncolour='red'\n",
        )
        .expect("write");
        let e = Config::load(&path).expect_err("unknown field");
        assert!(e.to_string().contains("colour"), "{e}");
        std::fs::write(
            &path,
            "key_file='k'\nnode_rpc='x'\ndata_dir='d'\nlisten='l'\n",
        )
        .expect("write");
        let e = Config::load(&path).expect_err("no model");
        assert!(e.to_string().contains("no [[model]]"), "{e}");
    }
}
