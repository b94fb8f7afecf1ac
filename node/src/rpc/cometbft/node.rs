//! CometBFT's node-level types (`p2p.DefaultNodeInfo`, `types.Validator`,
//! `types.ConsensusParams`, `p2p.ConnectionStatus`) with their JSON.

use serde_json::{json, Value};
use tendermint_proto::v0_38::types as pbtypes;

use super::json::{hex, int, pub_key, zero_time};

/// The p2p, block and app protocol versions CometBFT 0.38 reports.
const PROTOCOL_P2P: u64 = 8;
/// The block protocol (`version.block` of every header).
pub const PROTOCOL_BLOCK: u64 = 11;

/// `p2p.DefaultNodeInfo`: who a node is, as `status` and `net_info` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node id: lower-case hex of its p2p key's address.
    pub id: String,
    /// Where it listens for peers, as CometBFT writes it (`tcp://host:port`).
    pub listen_addr: String,
    /// The chain id.
    pub network: String,
    /// The software version (`0.38.x...`: clients pick their dialect by it).
    pub version: String,
    /// The reactor channels, upper-case hex.
    pub channels: String,
    pub moniker: String,
    /// `other.tx_index` (`on`: `tx` and `tx_search` work).
    pub tx_index: String,
    /// `other.rpc_address`.
    pub rpc_address: String,
}

impl NodeInfo {
    pub fn to_json(&self) -> Value {
        json!({
            "protocol_version": {"p2p": int(PROTOCOL_P2P), "block": int(PROTOCOL_BLOCK), "app": int(0)},
            "id": self.id,
            "listen_addr": self.listen_addr,
            "network": self.network,
            "version": self.version,
            "channels": self.channels,
            "moniker": self.moniker,
            "other": {"tx_index": self.tx_index, "rpc_address": self.rpc_address},
        })
    }
}

/// A libp2p multiaddr (`/ip4/1.2.3.4/tcp/26656`) as CometBFT writes a
/// listen address (`tcp://1.2.3.4:26656`); anything else unchanged.
pub fn listen_addr(multiaddr: &str) -> String {
    let parts: Vec<&str> = multiaddr.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["ip4" | "dns" | "dns4" | "dns6", host, "tcp", port, ..] => format!("tcp://{host}:{port}"),
        ["ip6", host, "tcp", port, ..] => format!("tcp://[{host}]:{port}"),
        _ => multiaddr.to_owned(),
    }
}

/// A `types.Validator`: address, key, voting power and proposer priority.
pub fn validator(address: &[u8; 20], key: &[u8; 32], power: u64, priority: i64) -> Value {
    json!({
        "address": hex(address),
        "pub_key": pub_key(key),
        "voting_power": int(power),
        "proposer_priority": int(priority),
    })
}

/// `status`'s `ValidatorInfo`: this node's consensus key and voting power.
pub fn validator_info(address: &[u8; 20], key: &[u8; 32], power: u64) -> Value {
    json!({"address": hex(address), "pub_key": pub_key(key), "voting_power": int(power)})
}

/// `types.ConsensusParams` (every section and field written; the evidence
/// age in nanoseconds), from the protobuf params; a missing section reads
/// as its zero value, as CometBFT's conversion leaves it.
pub fn consensus_params(p: &pbtypes::ConsensusParams) -> Value {
    let block = p.block.unwrap_or_default();
    let evidence = p.evidence.unwrap_or_default();
    let age = evidence.max_age_duration.map_or(0i128, |d| {
        i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos)
    });
    let key_types = p
        .validator
        .as_ref()
        .map(|v| v.pub_key_types.clone())
        .filter(|t| !t.is_empty());
    json!({
        "block": {"max_bytes": int(block.max_bytes), "max_gas": int(block.max_gas)},
        "evidence": {
            "max_age_num_blocks": int(evidence.max_age_num_blocks),
            "max_age_duration": int(age),
            "max_bytes": int(evidence.max_bytes),
        },
        "validator": {"pub_key_types": key_types},
        "version": {"app": int(p.version.as_ref().map_or(0, |v| v.app))},
        "abci": {
            "vote_extensions_enable_height":
                int(p.abci.as_ref().map_or(0, |a| a.vote_extensions_enable_height)),
        },
    })
}

/// CometBFT's `DefaultConsensusParams()`: what a genesis without
/// `consensus_params` runs with.
pub fn default_consensus_params() -> pbtypes::ConsensusParams {
    pbtypes::ConsensusParams {
        block: Some(pbtypes::BlockParams {
            max_bytes: 22_020_096,
            max_gas: -1,
        }),
        evidence: Some(pbtypes::EvidenceParams {
            max_age_num_blocks: 100_000,
            max_age_duration: Some(tendermint_proto::google::protobuf::Duration {
                seconds: 172_800,
                nanos: 0,
            }),
            max_bytes: 1_048_576,
        }),
        validator: Some(pbtypes::ValidatorParams {
            pub_key_types: vec!["ed25519".into()],
        }),
        version: Some(pbtypes::VersionParams { app: 0 }),
        abci: Some(pbtypes::AbciParams {
            vote_extensions_enable_height: 0,
        }),
    }
}

/// A peer's `p2p.ConnectionStatus` with no traffic figures (the consensus
/// network does not measure them): zero durations, idle monitors, no channels.
pub fn idle_connection_status() -> Value {
    let monitor = json!({
        "Start": zero_time(), "Bytes": int(0), "Samples": int(0), "InstRate": int(0),
        "CurRate": int(0), "AvgRate": int(0), "PeakRate": int(0), "BytesRem": int(0),
        "Duration": int(0), "Idle": int(0), "TimeRem": int(0), "Progress": 0, "Active": false,
    });
    json!({
        "Duration": int(0),
        "SendMonitor": monitor,
        "RecvMonitor": monitor,
        "Channels": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_read_as_cometbft_listen_addresses() {
        assert_eq!(
            listen_addr("/ip4/127.0.0.1/tcp/26656"),
            "tcp://127.0.0.1:26656"
        );
        assert_eq!(listen_addr("/ip6/::1/tcp/26656"), "tcp://[::1]:26656");
        assert_eq!(
            listen_addr("/dns4/node0.example/tcp/1"),
            "tcp://node0.example:1"
        );
        assert_eq!(listen_addr("/memory/5"), "/memory/5");
    }

    #[test]
    fn default_params_read_as_cometbft_writes_them() {
        assert_eq!(
            consensus_params(&default_consensus_params()),
            json!({
                "block": {"max_bytes": "22020096", "max_gas": "-1"},
                "evidence": {"max_age_num_blocks": "100000",
                             "max_age_duration": "172800000000000", "max_bytes": "1048576"},
                "validator": {"pub_key_types": ["ed25519"]},
                "version": {"app": "0"},
                "abci": {"vote_extensions_enable_height": "0"},
            })
        );
    }
}
