//! A node home in CometBFT 0.38's layout (see `synod-consensus-config`)
//! turned into what [`crate::node::start`] needs: the [`NodeSettings`] and
//! the `RequestInitChain` of its genesis. The same home runs under CometBFT.
//!
//! How `config.toml` maps onto the settings:
//!
//! | config.toml | NodeSettings |
//! |---|---|
//! | `moniker` | `moniker` |
//! | `priv_validator_key_file`, `node_key_file` | `consensus_key`, `node_key` (the 32-byte seeds) |
//! | `p2p.laddr` `tcp://HOST:PORT` | `listen_addr` `/ip4/HOST/tcp/PORT` |
//! | `p2p.persistent_peers` `id@HOST:PORT` or multiaddrs | `persistent_peers` (the CometBFT node id is dropped: libp2p peers authenticate themselves) |
//! | `p2p.pex` | `peer_discovery` (Malachite's discovery: dial the peers the connected ones know) |
//! | `proxy_app` `tcp://HOST:PORT` or `unix://PATH` (with `abci = "socket"`) | `abci_address` |
//! | `consensus.timeout_*` | `timeouts`; `rebroadcast` = propose + prevote + precommit, `max_timeout` = 12 times that, at least 60 s |
//! | `consensus.timeout_commit` | `target_block_time` (0: none) |
//! | `mempool.size`, `max_txs_bytes`, `max_tx_bytes`, `cache_size` | `mempool` |
//! | `rpc.laddr` (empty: off) | `rpc_address` |
//! | `rpc.max_request_batch_size`, `rpc.max_subscription_clients` | `rpc_limits` |
//! | `instrumentation.prometheus_listen_addr` when `prometheus = true` | `metrics_address` |
//! | `genesis_file` | `genesis_json` (its text) and the InitChain request |
//! | `p2p.laddr`, `p2p.persistent_peers` (when any) | `mempool_gossip`: the same hosts, ports + [`MEMPOOL_GOSSIP_PORT_OFFSET`] |
//!
//! Keys CometBFT alone uses (`db_backend`, `db_dir`, `priv_validator_state_file`,
//! ...) are ignored: the node keeps its block store, signer state and consensus
//! log under `HOME/data` and `HOME/wal`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use synod_consensus_config::{
    config::ConsensusConfig, home::CONFIG_FILE, load_home, tendermint, CometConfig, ConfigError,
    LoadedHome,
};
use tendermint_proto::v0_38::abci as pb;

use crate::{gossip::GossipSettings, mempool::MempoolConfig, node::NodeSettings};

/// Why a home cannot be turned into node settings. Each names the file and key.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A file of the home is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `abci` names a transport other than the ABCI socket protocol.
    #[error(
        "{}: key `abci`: {value:?} is not supported: synod-node talks to the app over the ABCI socket protocol only; set abci = \"socket\"",
        path.display()
    )]
    AbciTransport {
        /// The `config.toml`.
        path: PathBuf,
        /// The transport it names.
        value: String,
    },
    /// An address in `config.toml` that the embedded node cannot use.
    #[error("{}: key `{key}`: {source}", path.display())]
    Setting {
        /// The `config.toml`.
        path: PathBuf,
        /// The key holding the address.
        key: &'static str,
        /// What is wrong with it.
        source: AddressError,
    },
}

/// Why an address (from `config.toml` or the command line) cannot be used.
/// Each variant names the address as written.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// A unix socket where only TCP works.
    #[error("{address:?}: unix sockets are not supported here; use tcp://HOST:PORT")]
    UnixSocket {
        /// The address as written.
        address: String,
    },
    /// Not of the form `HOST:PORT`.
    #[error("{address:?} is not HOST:PORT")]
    NotHostPort {
        /// The address as written.
        address: String,
    },
    /// The part after the last `:` is not a port number.
    #[error("{address:?}: {port:?} is not a port number")]
    Port {
        /// The address as written.
        address: String,
        /// Its port part.
        port: String,
    },
    /// The host name cannot be resolved.
    #[error("{address:?}: cannot resolve {host:?}: {source}")]
    Resolve {
        /// The address as written.
        address: String,
        /// Its host part.
        host: String,
        /// What the resolver answered.
        source: std::io::Error,
    },
    /// The host name resolves to nothing.
    #[error("{address:?}: {host:?} resolves to no address")]
    Unresolved {
        /// The address as written.
        address: String,
        /// Its host part.
        host: String,
    },
    /// It starts with `/` but is not a multiaddr.
    #[error("{address:?} is not a multiaddr: {source}")]
    NotMultiaddr {
        /// The address as written.
        address: String,
        /// Why it does not parse.
        source: libp2p::multiaddr::Error,
    },
    /// A persistent peer's node id is not 40 hex digits.
    #[error("{peer:?}: {id:?} is not a CometBFT node id (40 hex digits)")]
    NodeId {
        /// The peer as written.
        peer: String,
        /// Its node id part.
        id: String,
    },
    /// A persistent peer's address cannot be used.
    #[error("peer {source}")]
    Peer {
        /// What is wrong with its `HOST:PORT`.
        source: Box<AddressError>,
    },
    /// `unix://` without a path.
    #[error("{address:?} names no socket path")]
    NoSocketPath {
        /// The address as written.
        address: String,
    },
    /// Neither `tcp://HOST:PORT` nor `unix://PATH` (a CometBFT built-in app name, say).
    #[error("{address:?} is not an app address: use tcp://HOST:PORT or unix://PATH (synod-node has no built-in apps)")]
    NotAppAddress {
        /// The address as written.
        address: String,
    },
    /// Mempool gossip needs a TCP port to sit beside, and the address has none.
    #[error("{address} has no TCP port")]
    NoTcpPort {
        /// The p2p address.
        address: Multiaddr,
    },
    /// The TCP port is 0 (chosen by the system) or too high to add the
    /// mempool gossip offset to.
    #[error(
        "{address}: mempool gossip needs a fixed TCP port of at most {} (it uses that port plus {offset})",
        u16::MAX - .offset
    )]
    GossipPort {
        /// The p2p address.
        address: Multiaddr,
        /// The offset of the gossip port.
        offset: u16,
    },
}

/// A home ready to start.
#[derive(Clone, Debug)]
pub struct NodeHome {
    /// The node's settings.
    pub settings: NodeSettings,
    /// The InitChain request for the genesis (sent only on a new chain).
    pub init_chain: pb::RequestInitChain,
    /// CometBFT node id of `node_key.json`.
    pub node_id: tendermint::node::Id,
    /// CometBFT validator address of `priv_validator_key.json`.
    pub validator_address: tendermint::account::Id,
}

/// Reads `home` and builds the node settings and InitChain request from it.
pub fn load(home: &Path) -> Result<NodeHome, HomeError> {
    let loaded = load_home(home)?;
    Ok(NodeHome {
        settings: settings_from(&loaded)?,
        init_chain: loaded.genesis.init_chain_request()?,
        node_id: loaded.node_key.node_id(),
        validator_address: loaded.validator_key.address(),
    })
}

/// The node settings of a loaded home (see the module docs for the mapping).
pub fn settings_from(loaded: &LoadedHome) -> Result<NodeSettings, HomeError> {
    let config = &loaded.config;
    let config_path = loaded.home.join(CONFIG_FILE);
    let setting = |key: &'static str| {
        let path = config_path.clone();
        move |source: AddressError| HomeError::Setting { path, key, source }
    };
    if !(config.abci.is_empty() || config.abci == "socket") {
        return Err(HomeError::AbciTransport {
            path: config_path,
            value: config.abci.clone(),
        });
    }
    let persistent_peers = config
        .p2p
        .persistent_peers
        .iter()
        .map(|peer| peer_multiaddr(peer))
        .collect::<Result<Vec<_>, _>>()
        .map_err(setting("p2p.persistent_peers"))?;
    let metrics_address = if config.instrumentation.prometheus {
        Some(socket_address(
            &config.instrumentation.prometheus_listen_addr,
        ))
        .transpose()
        .map_err(setting("instrumentation.prometheus_listen_addr"))?
    } else {
        None
    };
    let rpc_address = match config.rpc.laddr.trim() {
        "" => None,
        laddr => Some(socket_address(laddr).map_err(setting("rpc.laddr"))?),
    };
    Ok(NodeSettings {
        rpc_limits: crate::rpc::RpcLimits {
            max_batch_calls: config.rpc.max_request_batch_size,
            max_websocket_clients: config.rpc.max_subscription_clients,
        },
        home: loaded.home.clone(),
        moniker: config.moniker.clone(),
        consensus_key: loaded.validator_key.0.to_seed(),
        node_key: loaded.node_key.0.to_seed(),
        listen_addr: listen_multiaddr(&config.p2p.laddr).map_err(setting("p2p.laddr"))?,
        persistent_peers,
        peer_discovery: config.p2p.pex,
        abci_address: abci_address(&config.proxy_app).map_err(setting("proxy_app"))?,
        timeouts: timeouts(&config.consensus),
        target_block_time: Some(config.consensus.timeout_commit).filter(|d| !d.is_zero()),
        mempool: mempool(config),
        rpc_address,
        metrics_address,
        genesis_json: Some(loaded.genesis.text.clone()),
        mempool_gossip: mempool_gossip(config).map_err(setting("p2p.persistent_peers"))?,
        faults: Default::default(),
    })
}

/// The mempool gossip swarm listens beside the consensus one, on the p2p
/// port plus this offset, and dials each persistent peer's p2p port plus the
/// same offset. (CometBFT's default ports leave p2p + 5 free, and so does
/// `synod-consensus-config`'s port plan for generated networks.)
pub const MEMPOOL_GOSSIP_PORT_OFFSET: u16 = 5;

/// Mempool gossip for a node with persistent peers (a lone node has no one
/// to gossip with): see [`MEMPOOL_GOSSIP_PORT_OFFSET`].
pub fn mempool_gossip(config: &CometConfig) -> Result<Option<GossipSettings>, AddressError> {
    if config.p2p.persistent_peers.is_empty() {
        return Ok(None);
    }
    let beside = |address: Multiaddr| offset_tcp_port(&address, MEMPOOL_GOSSIP_PORT_OFFSET);
    let listen_addr = beside(listen_multiaddr(&config.p2p.laddr)?)?;
    let peers = config
        .p2p
        .persistent_peers
        .iter()
        .map(|peer| beside(peer_multiaddr(peer)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(GossipSettings {
        listen_addr,
        peers,
        max_tx_bytes: usize::try_from(config.mempool.max_tx_bytes).unwrap_or(usize::MAX),
        max_pending_checks: crate::gossip::DEFAULT_MAX_PENDING_CHECKS,
    }))
}

/// `address` with its (first) TCP port moved up by `offset`.
fn offset_tcp_port(address: &Multiaddr, offset: u16) -> Result<Multiaddr, AddressError> {
    let (at, port) = address
        .iter()
        .enumerate()
        .find_map(|(i, p)| match p {
            Protocol::Tcp(port) => Some((i, port)),
            _ => None,
        })
        .ok_or_else(|| AddressError::NoTcpPort {
            address: address.clone(),
        })?;
    let moved = Some(port)
        .filter(|&p| p != 0)
        .and_then(|p| p.checked_add(offset))
        .ok_or_else(|| AddressError::GossipPort {
            address: address.clone(),
            offset,
        })?;
    Ok(address
        .iter()
        .enumerate()
        .map(|(i, p)| if i == at { Protocol::Tcp(moved) } else { p })
        .collect())
}

/// CometBFT's round timeouts as Malachite's. CometBFT has no rebroadcast
/// timeout nor cap: rebroadcast after a full round's worth of base timeouts
/// (Malachite's own default relation), and cap the per-round growth at twelve
/// rounds' worth, never below Malachite's default of 60 s.
pub fn timeouts(consensus: &ConsensusConfig) -> LinearTimeouts {
    let round = consensus
        .timeout_propose
        .saturating_add(consensus.timeout_prevote)
        .saturating_add(consensus.timeout_precommit);
    LinearTimeouts {
        propose: consensus.timeout_propose,
        propose_delta: consensus.timeout_propose_delta,
        prevote: consensus.timeout_prevote,
        prevote_delta: consensus.timeout_prevote_delta,
        precommit: consensus.timeout_precommit,
        precommit_delta: consensus.timeout_precommit_delta,
        rebroadcast: round,
        max_timeout: round.saturating_mul(12).max(Duration::from_secs(60)),
    }
}

/// The `[consensus]` section a node runs with, back from its settings (the
/// inverse of [`timeouts`] and of `target_block_time`): what the RPC's
/// `consensus_timeouts` reports, so a new node can take the network's.
pub fn consensus_config(
    timeouts: &LinearTimeouts,
    target_block_time: Option<Duration>,
) -> ConsensusConfig {
    ConsensusConfig {
        timeout_propose: timeouts.propose,
        timeout_propose_delta: timeouts.propose_delta,
        timeout_prevote: timeouts.prevote,
        timeout_prevote_delta: timeouts.prevote_delta,
        timeout_precommit: timeouts.precommit,
        timeout_precommit_delta: timeouts.precommit_delta,
        timeout_commit: target_block_time.unwrap_or_default(),
    }
}

/// The mempool limits of `[mempool]`.
pub fn mempool(config: &CometConfig) -> MempoolConfig {
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    MempoolConfig {
        max_txs: size(config.mempool.size),
        max_bytes: size(config.mempool.max_txs_bytes),
        max_tx_bytes: size(config.mempool.max_tx_bytes),
        cache_size: size(config.mempool.cache_size),
    }
}

/// `HOST:PORT` (optionally `tcp://`) as a socket address; an empty host (`:PORT`,
/// as in CometBFT's `prometheus_listen_addr`) means every interface, and a
/// name is resolved.
pub fn socket_address(address: &str) -> Result<SocketAddr, AddressError> {
    let text = address.trim();
    if text.starts_with("unix://") {
        return Err(AddressError::UnixSocket {
            address: address.to_string(),
        });
    }
    let text = text.strip_prefix("tcp://").unwrap_or(text);
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| AddressError::NotHostPort {
            address: address.to_string(),
        })?;
    let port: u16 = port.parse().map_err(|_| AddressError::Port {
        address: address.to_string(),
        port: port.to_string(),
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut resolved = (host, port)
        .to_socket_addrs()
        .map_err(|source| AddressError::Resolve {
            address: address.to_string(),
            host: host.to_string(),
            source,
        })?
        .collect::<Vec<_>>();
    // Prefer IPv4, as CometBFT's defaults are IPv4.
    resolved.sort_by_key(|a| !a.is_ipv4());
    resolved
        .into_iter()
        .next()
        .ok_or_else(|| AddressError::Unresolved {
            address: address.to_string(),
            host: host.to_string(),
        })
}

/// `/ip4/HOST/tcp/PORT` (or `/ip6/...`) of a socket address.
fn multiaddr_of(address: SocketAddr) -> Multiaddr {
    Multiaddr::from(address.ip()).with(Protocol::Tcp(address.port()))
}

/// CometBFT's `p2p.laddr` (`tcp://HOST:PORT`) as a libp2p multiaddr
/// (`/ip4/HOST/tcp/PORT`); a multiaddr is taken as is.
pub fn listen_multiaddr(laddr: &str) -> Result<Multiaddr, AddressError> {
    let text = laddr.trim();
    if text.starts_with('/') {
        return text.parse().map_err(|source| AddressError::NotMultiaddr {
            address: laddr.to_string(),
            source,
        });
    }
    Ok(multiaddr_of(socket_address(text)?))
}

/// A peer as CometBFT lists it (`nodeid@HOST:PORT`) or as a multiaddr
/// (`/ip4/HOST/tcp/PORT`), as a multiaddr to dial.
pub fn peer_multiaddr(peer: &str) -> Result<Multiaddr, AddressError> {
    let text = peer.trim();
    if text.starts_with('/') {
        return listen_multiaddr(text);
    }
    let address = match text.split_once('@') {
        Some((id, address)) => {
            if id.len() != 40 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(AddressError::NodeId {
                    peer: peer.to_string(),
                    id: id.to_string(),
                });
            }
            address
        }
        None => text,
    };
    let address = socket_address(address).map_err(|e| AddressError::Peer {
        source: Box::new(e),
    })?;
    Ok(multiaddr_of(address))
}

/// CometBFT's `proxy_app` as the ABCI client's address: `tcp://HOST:PORT`
/// (or `HOST:PORT`) or `unix://PATH`. CometBFT's built-in app names
/// (`kvstore`, `noop`, ...) are refused.
pub fn abci_address(proxy_app: &str) -> Result<String, AddressError> {
    let text = proxy_app.trim();
    if let Some(path) = text.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(AddressError::NoSocketPath {
                address: proxy_app.to_string(),
            });
        }
        return Ok(text.to_string());
    }
    let host_port = text.strip_prefix("tcp://").unwrap_or(text);
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(format!("tcp://{host_port}"))
        }
        _ => Err(AddressError::NotAppAddress {
            address: proxy_app.to_string(),
        }),
    }
}

/// The CometBFT node id of a home's `node_key.json` (`show-node-id`).
pub fn node_id(home: &Path) -> Result<tendermint::node::Id, HomeError> {
    let config = CometConfig::read(&home.join(CONFIG_FILE))?;
    let path = CometConfig::resolve(home, &config.node_key_file);
    Ok(synod_consensus_config::NodeKey::read(&path)?.node_id())
}

/// A home's consensus public key as CometBFT prints it (`show-validator`):
/// `{"type":"tendermint/PubKeyEd25519","value":"<base64>"}`.
pub fn validator_public_key_json(home: &Path) -> Result<String, HomeError> {
    let config = CometConfig::read(&home.join(CONFIG_FILE))?;
    let path = CometConfig::resolve(home, &config.priv_validator_key_file);
    let key = synod_consensus_config::PrivValidatorKey::read(&path)?;
    Ok(synod_consensus_config::keys::public_key_json(&key.public()))
}

#[cfg(test)]
mod tests;
