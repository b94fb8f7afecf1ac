//! What every RPC handler reads through: the node's context (store, app,
//! mempool, network) and the `node_info` the node reports about itself.

use std::{net::SocketAddr, sync::Arc};

use malachitebft_app_channel::NetworkRequest;
use synod_consensus_config::config::ConsensusConfig;
use tendermint_proto::v0_38::types as pbtypes;
use tokio::sync::{broadcast, mpsc};

use super::cometbft::node::{listen_addr, NodeInfo};
use crate::{
    abci::AbciConnections,
    handle::{CommittedBlock, NodeQuery, PeerHeights, TxSubmission},
    store::BlockStore,
};

/// What the RPC server reads and writes through.
pub struct RpcContext {
    /// The chain id (`node_info.network`).
    pub chain_id: String,
    /// The node's moniker.
    pub moniker: String,
    /// The node's p2p identity (ed25519 public key).
    pub node_key: [u8; 32],
    /// The consensus swarm's listen address (a libp2p multiaddr).
    pub listen_addr: String,
    /// The node's consensus public key.
    pub validator_key: [u8; 32],
    /// The block store.
    pub store: Arc<BlockStore>,
    /// The app (`abci_info`, `abci_query`, `check_tx`).
    pub abci: Arc<AbciConnections>,
    /// Where submitted txs go (CheckTx).
    pub txs: mpsc::Sender<TxSubmission>,
    /// Questions to the consensus loop (the mempool's content).
    pub queries: mpsc::Sender<NodeQuery>,
    /// Committed blocks, for `broadcast_tx_commit` and subscriptions.
    pub blocks: broadcast::Sender<Arc<CommittedBlock>>,
    /// Questions to the consensus network (`net_info`).
    pub net_requests: mpsc::Sender<NetworkRequest>,
    /// The genesis document, served by `genesis` and `genesis_chunked`.
    pub genesis_json: Option<String>,
    /// The genesis' consensus parameters (InitChain's), served by
    /// `consensus_params`; `None`: CometBFT's defaults.
    pub consensus_params: Option<pbtypes::ConsensusParams>,
    /// Bounds on what one client may ask at once.
    pub limits: RpcLimits,
    /// How far the peers have got (`status`'s `catching_up`).
    pub peer_heights: PeerHeights,
    /// The `[consensus]` timeouts the node runs with (`consensus_timeouts`).
    pub consensus: ConsensusConfig,
}

/// Bounds on what RPC clients may ask at once (CometBFT's `[rpc]` limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Most calls in one JSON-RPC batch (`rpc.max_request_batch_size`).
    pub max_batch_calls: usize,
    /// Most websocket clients at once (`rpc.max_subscription_clients`).
    pub max_websocket_clients: usize,
}

impl Default for RpcLimits {
    /// CometBFT's defaults: 10 calls a batch, 100 websocket clients.
    fn default() -> RpcLimits {
        RpcLimits {
            max_batch_calls: 10,
            max_websocket_clients: 100,
        }
    }
}

/// The CometBFT node id of an ed25519 key: hex of the first 20 bytes of its SHA-256.
pub fn node_id(public_key: &[u8; 32]) -> String {
    hex::encode(synod_consensus_config::keys::key_hash(public_key))
}

/// The version `node_info` reports: CometBFT's protocol line (clients such
/// as cosmjs pick their dialect by its `0.38.` prefix), then this node's.
pub const NODE_VERSION: &str = concat!("0.38.0+synod-node-", env!("CARGO_PKG_VERSION"));

/// The RPC server's shared state: one per node, behind an `Arc`.
pub(super) struct Server {
    pub(super) ctx: RpcContext,
    pub(super) node_info: NodeInfo,
    /// The consensus key's CometBFT address.
    pub(super) validator_address: [u8; 20],
    /// One permit per websocket client connected.
    pub(super) websocket_clients: Arc<tokio::sync::Semaphore>,
}

impl Server {
    /// The server of `ctx`, answering on `bound`.
    pub(super) fn new(ctx: RpcContext, bound: SocketAddr) -> Server {
        let node_info = NodeInfo {
            id: node_id(&ctx.node_key),
            listen_addr: listen_addr(&ctx.listen_addr),
            network: ctx.chain_id.clone(),
            version: NODE_VERSION.into(),
            channels: "40202122233038606100".into(),
            moniker: ctx.moniker.clone(),
            tx_index: "on".into(),
            rpc_address: format!("tcp://{bound}"),
        };
        let validator_address = synod_consensus_config::keys::key_hash(&ctx.validator_key);
        let websocket_clients = Arc::new(tokio::sync::Semaphore::new(
            ctx.limits.max_websocket_clients,
        ));
        Server {
            ctx,
            node_info,
            validator_address,
            websocket_clients,
        }
    }
}
