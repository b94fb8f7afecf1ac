//! The node itself: `status`, `net_info`, `genesis` and (Synod's own)
//! `consensus_timeouts`.

use std::time::{Duration, Instant};

use malachitebft_app_channel::NetworkRequest;
use serde_json::{json, Value};
use tendermint::{node, validator, Hash};
use tendermint_rpc::endpoint;

use crate::rpc::{
    convert,
    jsonrpc::RpcError,
    server::{node_id, Server},
};

impl Server {
    /// `status`: node info, the earliest and latest blocks, and our voting power.
    pub(in crate::rpc) fn status(&self) -> Result<endpoint::status::Response, RpcError> {
        let store = &self.ctx.store;
        let h = self.latest_height()?;
        let edge = |h: u64| -> Result<(Hash, tendermint::AppHash, tendermint::Time), RpcError> {
            let Some(b) = store.block(h).map_err(RpcError::internal)? else {
                return Ok((
                    Hash::None,
                    tendermint::AppHash::default(),
                    tendermint::Time::unix_epoch(),
                ));
            };
            let app_hash = store
                .results(h)
                .map_err(RpcError::internal)?
                .map(|r| r.app_hash.to_vec())
                .unwrap_or_default();
            Ok((
                Hash::Sha256(b.hash()),
                tendermint::AppHash::try_from(app_hash).map_err(RpcError::internal)?,
                convert::time(b.time).map_err(RpcError::internal)?,
            ))
        };
        let earliest = self.earliest_height()?;
        let (eh, ea, et) = edge(earliest)?;
        let (lh, la, lt) = edge(h)?;
        let power = self
            .validator_set(h + 1)?
            .into_iter()
            .find(|(k, _)| *k == self.ctx.validator_key)
            .map_or(0, |(_, p)| p);
        let pub_key = tendermint::PublicKey::from_raw_ed25519(&self.ctx.validator_key)
            .ok_or_else(|| RpcError::internal("bad consensus key"))?;
        Ok(endpoint::status::Response {
            node_info: self.node_info.clone(),
            sync_info: endpoint::status::SyncInfo {
                earliest_block_hash: eh,
                earliest_app_hash: ea,
                earliest_block_height: convert::height(earliest).map_err(RpcError::internal)?,
                earliest_block_time: et,
                latest_block_hash: lh,
                latest_app_hash: la,
                latest_block_height: convert::height(h).map_err(RpcError::internal)?,
                latest_block_time: lt,
                // More than one block behind the best height a peer was seen at.
                catching_up: self.ctx.peer_heights.catching_up(h, Instant::now()),
            },
            validator_info: validator::Info::new(
                pub_key,
                power.try_into().map_err(RpcError::internal)?,
            ),
        })
    }

    /// `net_info`: the consensus peers this node is connected to.
    pub(in crate::rpc) async fn net_info(&self) -> Result<Value, RpcError> {
        let dump = NetworkRequest::dump_state(&self.ctx.net_requests)
            .await
            .map_err(|e| RpcError::internal(format!("network: {e}")))?;
        let mut peers = Vec::new();
        for (peer_id, info) in dump.map(|d| d.peers).unwrap_or_default() {
            // An ed25519 PeerId embeds the key: its last 32 bytes.
            let bytes = peer_id.to_bytes();
            let key: [u8; 32] = match bytes.get(bytes.len().saturating_sub(32)..) {
                Some(k) if bytes.len() >= 32 => k.try_into().unwrap_or([0; 32]),
                _ => [0; 32],
            };
            let address = info.address.to_string();
            let parts: Vec<&str> = address.split('/').collect();
            let remote_ip = parts
                .windows(2)
                .find(|w| w[0] == "ip4" || w[0] == "ip6")
                .and_then(|w| w[1].parse().ok())
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            let node_info: node::Info = serde_json::from_value(json!({
                "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
                "id": node_id(&key),
                "listen_addr": info.address.to_string(),
                "network": self.ctx.chain_id,
                "version": "",
                "channels": "",
                "moniker": info.moniker,
                "other": {"tx_index": "on", "rpc_address": ""},
            }))
            .map_err(RpcError::internal)?;
            let monitor = endpoint::net_info::Monitor {
                active: true,
                start: tendermint::Time::unix_epoch(),
                duration: Duration::ZERO,
                idle: Duration::ZERO,
                bytes: 0,
                samples: 0,
                inst_rate: 0,
                cur_rate: 0,
                avg_rate: 0,
                peak_rate: 0,
                bytes_rem: 0,
                time_rem: 0,
                progress: 0,
            };
            peers.push(endpoint::net_info::PeerInfo {
                node_info,
                is_outbound: format!("{:?}", info.connection_direction).contains("Outbound"),
                connection_status: endpoint::net_info::ConnectionStatus {
                    duration: Duration::ZERO,
                    send_monitor: monitor.clone(),
                    recv_monitor: monitor,
                    channels: vec![],
                },
                remote_ip,
            });
        }
        Ok(json!({
            "listening": true,
            "listeners": [self.ctx.listen_addr],
            "n_peers": peers.len().to_string(),
            "peers": serde_json::to_value(&peers).map_err(RpcError::internal)?,
        }))
    }

    /// `consensus_timeouts` (Synod's, not CometBFT's): the `[consensus]`
    /// timeouts this node runs with, keys and durations as in `config.toml`
    /// (`{"timeout_propose": "2s", ..., "timeout_commit": "500ms"}`), so a
    /// new node can take the network's (`synod-node init --from-node URL`)
    /// and a status tool can see nodes that differ. Read-only, from settings.
    pub(in crate::rpc) fn consensus_timeouts(&self) -> Result<Value, RpcError> {
        serde_json::to_value(&self.ctx.consensus).map_err(RpcError::internal)
    }

    /// `genesis`: the genesis document the node was started with.
    pub(in crate::rpc) fn genesis(&self) -> Result<Value, RpcError> {
        let text = self.ctx.genesis_json.as_deref().ok_or_else(|| {
            RpcError::internal("this node was started without a genesis document")
        })?;
        let genesis: Value = serde_json::from_str(text).map_err(RpcError::internal)?;
        Ok(json!({ "genesis": genesis }))
    }
}
