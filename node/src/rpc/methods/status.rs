//! The node itself: `status`, `net_info`, `genesis`, `genesis_chunked` and
//! (Synod's own) `consensus_timeouts`.

use std::time::Instant;

use malachitebft_app_channel::NetworkRequest;
use serde_json::{json, Map, Value};

use crate::{
    block::BlockTime,
    rpc::{
        cometbft::{
            json::{base64, hex, int, time},
            node::{
                consensus_params, default_consensus_params, idle_connection_status, listen_addr,
                validator_info, NodeInfo,
            },
        },
        convert,
        jsonrpc::RpcError,
        params::Params,
        server::{node_id, Server},
    },
};

/// Size of one `genesis_chunked` chunk (CometBFT's `genesisChunkSize`, 16 MiB).
const GENESIS_CHUNK_BYTES: usize = 16 * 1024 * 1024;

impl Server {
    /// `status`: node info, the earliest and latest blocks (their hash, the
    /// app hash their header carries, their time), and our voting power at
    /// the next height.
    pub(in crate::rpc) fn status(&self) -> Result<Value, RpcError> {
        let store = &self.ctx.store;
        let latest = self.latest_height()?;
        let earliest = self.earliest_height()?;
        let edge = |h: u64| -> Result<(Value, Value, Value), RpcError> {
            match store.block(h).map_err(RpcError::internal)? {
                Some(b) if h > 0 => {
                    let id = convert::block_id(store, &b).map_err(RpcError::internal)?;
                    Ok((hex(&id.hash), hex(&b.app_hash), time(b.time)))
                }
                // CometBFT's answer before the first block: empty hashes, the Unix epoch.
                _ => Ok((hex(&[]), hex(&[]), time(BlockTime::default()))),
            }
        };
        let (earliest_hash, earliest_app_hash, earliest_time) = edge(earliest)?;
        let (latest_hash, latest_app_hash, latest_time) = edge(latest)?;
        let power = self
            .validator_set(latest + 1)?
            .into_iter()
            .find(|(k, _)| *k == self.ctx.validator_key)
            .map_or(0, |(_, p)| p);
        Ok(json!({
            "node_info": self.node_info.to_json(),
            "sync_info": {
                "latest_block_hash": latest_hash,
                "latest_app_hash": latest_app_hash,
                "latest_block_height": int(latest),
                "latest_block_time": latest_time,
                "earliest_block_hash": earliest_hash,
                "earliest_app_hash": earliest_app_hash,
                "earliest_block_height": int(earliest),
                "earliest_block_time": earliest_time,
                // More than one block behind the best height a peer was seen at.
                "catching_up": self.ctx.peer_heights.catching_up(latest, Instant::now()),
            },
            "validator_info": validator_info(&self.validator_address, &self.ctx.validator_key, power),
        }))
    }

    /// `net_info`: the consensus peers this node is connected to. The
    /// consensus network keeps no traffic figures, so each connection's
    /// monitors read zero.
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
                .map_or_else(String::new, |w| w[1].to_owned());
            let node_info = NodeInfo {
                id: node_id(&key),
                listen_addr: listen_addr(&address),
                network: self.ctx.chain_id.clone(),
                version: String::new(),
                channels: String::new(),
                moniker: info.moniker.clone(),
                tx_index: "on".into(),
                rpc_address: String::new(),
            };
            peers.push(json!({
                "node_info": node_info.to_json(),
                "is_outbound": format!("{:?}", info.connection_direction).contains("Outbound"),
                "connection_status": idle_connection_status(),
                "remote_ip": remote_ip,
            }));
        }
        let listener = listen_addr(&self.ctx.listen_addr);
        Ok(json!({
            "listening": true,
            "listeners": [format!("Listener(@{})", listener.trim_start_matches("tcp://"))],
            "n_peers": int(peers.len()),
            "peers": peers,
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

    /// `genesis`: the genesis document the node was started with, as
    /// CometBFT writes its `GenesisDoc` (refused, as there, when it is over
    /// one 16 MiB chunk: `genesis_chunked` serves those).
    pub(in crate::rpc) fn genesis(&self) -> Result<Value, RpcError> {
        let genesis = self.genesis_doc()?;
        if genesis.to_string().len() > GENESIS_CHUNK_BYTES {
            return Err(RpcError::internal(
                "genesis response is large, please use the genesis_chunked API instead",
            ));
        }
        Ok(json!({ "genesis": genesis }))
    }

    /// `genesis_chunked`: chunk `chunk` of the genesis document's JSON, in
    /// base64, and how many chunks there are.
    pub(in crate::rpc) fn genesis_chunked(&self, params: &Params) -> Result<Value, RpcError> {
        let id = params.int("chunk")?.unwrap_or(0);
        let text = self.genesis_doc()?.to_string();
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(GENESIS_CHUNK_BYTES).collect();
        let chunk = usize::try_from(id)
            .ok()
            .and_then(|i| chunks.get(i))
            .ok_or_else(|| {
                RpcError::internal(format!(
                    "there are {} chunks, {id} is invalid",
                    chunks.len().saturating_sub(1)
                ))
            })?;
        Ok(json!({"chunk": int(id), "total": int(chunks.len()), "data": base64(chunk)}))
    }

    /// The genesis document as CometBFT writes its `GenesisDoc`: its fields
    /// in order, a missing `initial_height` as 1, the consensus parameters
    /// in full, `app_state` only when there is one.
    fn genesis_doc(&self) -> Result<Value, RpcError> {
        let text = self.ctx.genesis_json.as_deref().ok_or_else(|| {
            RpcError::internal("this node was started without a genesis document")
        })?;
        let doc: Map<String, Value> = serde_json::from_str(text).map_err(RpcError::internal)?;
        let field = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
        let params = self
            .ctx
            .consensus_params
            .clone()
            .unwrap_or_else(default_consensus_params);
        let mut out = Map::new();
        out.insert("genesis_time".into(), field("genesis_time"));
        out.insert("chain_id".into(), field("chain_id"));
        out.insert(
            "initial_height".into(),
            doc.get("initial_height").cloned().unwrap_or(json!("1")),
        );
        out.insert("consensus_params".into(), consensus_params(&params));
        out.insert("validators".into(), field("validators"));
        out.insert(
            "app_hash".into(),
            doc.get("app_hash").cloned().unwrap_or(json!("")),
        );
        if let Some(state) = doc.get("app_state").filter(|s| !s.is_null()) {
            out.insert("app_state".into(), state.clone());
        }
        Ok(Value::Object(out))
    }
}
