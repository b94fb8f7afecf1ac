//! What the rest of the node shares with the consensus loop without knowing
//! it: the error a node stops with, the messages the RPC and mempool gossip
//! send in (transactions, questions), the committed blocks they watch, and
//! the [`NodeHandle`] a caller of `node::start` holds. `rpc`,
//! `gossip` and `metrics` depend on this file, never on the loop.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use malachitebft_app_channel::EngineHandle;
use tendermint_proto::v0_38::abci as pb;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    abci::AbciError,
    block::DecidedBlock,
    chain::ChainError,
    codec::CodecError,
    context::{BlockId, SignRefused},
    mempool::{MempoolError, TxHash},
    store::StoreError,
    validators::ValidatorUpdateError,
};

/// Why the node stopped or could not start.
///
/// The texts of the consensus-engine variants start with "consensus engine:"
/// as the node has always logged them.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The app could not be brought to the store's height (handshake, replay).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// An ABCI request to the app failed.
    #[error(transparent)]
    Abci(#[from] AbciError),
    /// The block store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Malachite could not start. Its error is an `eyre` report, which this
    /// crate cannot name: it is kept boxed, and shown by its debug text,
    /// which lists the causes. It is deliberately not a `#[source]`, so a
    /// caller walking the chain does not print those causes twice.
    #[error("consensus engine: {0:?}")]
    ConsensusStart(Box<dyn std::error::Error + Send + Sync>),
    /// The engine closed its channel to the app loop: consensus is over.
    #[error("consensus engine: consensus stopped")]
    ConsensusStopped,
    /// [`NodeHandle::stopped`] was asked again after it reported why.
    #[error("consensus engine: the node already stopped")]
    AlreadyStopped,
    /// Settings ask for a deliberate fault, but this build has none.
    #[error("this synod-node was built without the `faults` feature: it cannot be made faulty (tests and simulations build it with `--features faults`)")]
    FaultsNotBuilt,
    /// The app loop's task panicked or was cancelled.
    #[error("consensus engine: the node loop failed: {0}")]
    LoopFailed(#[source] tokio::task::JoinError),
    /// The double-sign guard's state file cannot be read or written.
    #[error("consensus engine: {0}")]
    SignState(#[source] SignRefused),
    /// The node key (`node_key.json`) is not an ed25519 key.
    #[error("consensus engine: {0}")]
    NodeKey(#[source] libp2p::identity::DecodingError),
    /// The proof binding the consensus key to the p2p identity cannot be signed.
    #[error("consensus engine: {0}")]
    ValidatorProof(#[source] malachitebft_signing::Error),
    /// A commit certificate or validator proof cannot be encoded or decoded.
    #[error("consensus engine: {0}")]
    Codec(#[source] CodecError),
    /// Consensus decided a block this node never saw whole.
    #[error("consensus engine: decided block {hash} is unknown")]
    UnknownDecision {
        /// The decided value id.
        hash: BlockId,
    },
    /// The network decided a block built on another app hash than this
    /// node's app reached: this node's state diverged; it stops rather than fork.
    #[error(
        "consensus engine: the network decided block {height} on app hash {} but this node's app is at {}: \
         its state diverged at height {}; restore the app's data and resync",
        hex::encode(.network_app_hash),
        hex::encode(.local_app_hash),
        .height.saturating_sub(1)
    )]
    AppDiverged {
        /// Height of the decided block.
        height: u64,
        /// The app hash its header carries.
        network_app_hash: Vec<u8>,
        /// This node's app hash after the previous block.
        local_app_hash: Vec<u8>,
    },
    /// The app's validators (InitChain, genesis, an update, or the stored
    /// set) cannot form a consensus validator set.
    #[error("consensus engine: a block this node holds has no CometBFT header: {0}")]
    Header(#[from] crate::header::HeaderError),
    #[error("invalid validator set from the app: {0}")]
    InvalidValidatorSet(#[from] ValidatorUpdateError),
    /// The validator set to resume with after a restart cannot be known.
    #[error(transparent)]
    ResumeSet(#[from] crate::validators::ResumeSetError),
    /// The RPC server cannot start.
    #[error("RPC server on {address}: {source}")]
    Rpc {
        /// The address it was to listen on.
        address: SocketAddr,
        /// What failed.
        source: ServeError,
    },
    /// The metrics server cannot start.
    #[error("metrics server on {address}: {source}")]
    Metrics {
        /// The address it was to listen on.
        address: SocketAddr,
        /// What failed.
        source: ServeError,
    },
    /// The mempool gossip swarm cannot start.
    #[error("mempool gossip: {0}")]
    Gossip(#[source] GossipError),
}

/// Why an HTTP server of the node (RPC or metrics) cannot start. It lives
/// here, beside [`NodeError`], so `rpc` and `metrics` depend on this file
/// and this file on neither.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket cannot be bound, set non-blocking or asked for
    /// its bound address.
    #[error(transparent)]
    Socket(#[from] std::io::Error),
    /// hyper refused the bound socket.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// Why the mempool gossip swarm cannot start. It lives here, beside
/// [`NodeError`], so `gossip` depends on this file and not the other way.
#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    /// The node key is not an ed25519 secret key.
    #[error(transparent)]
    NodeKey(#[from] libp2p::identity::DecodingError),
    /// gossipsub refused the configuration.
    #[error(transparent)]
    Config(#[from] libp2p::gossipsub::ConfigBuilderError),
    /// The noise handshake cannot be set up with the node key.
    #[error(transparent)]
    Noise(#[from] libp2p::noise::Error),
    /// The gossipsub behaviour cannot be built.
    #[error(transparent)]
    Behaviour(#[from] libp2p::BehaviourBuilderError),
    /// The chain's mempool topic cannot be subscribed to.
    #[error(transparent)]
    Subscribe(#[from] libp2p::gossipsub::SubscriptionError),
    /// The swarm cannot listen on its address.
    #[error("listen on {address}: {source}")]
    Listen {
        /// The address it was to listen on.
        address: libp2p::Multiaddr,
        /// What the transport answered.
        source: libp2p::TransportError<std::io::Error>,
    },
}

/// A transaction submitted to the node, with where to send the verdict.
pub type TxSubmission = (Vec<u8>, oneshot::Sender<Result<TxHash, MempoolError>>);

/// A block as committed: the block, its hash and the app's `FinalizeBlock` answer.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    /// The block.
    pub block: DecidedBlock,
    /// Its id (header hash and part-set header).
    pub id: BlockId,
    /// What the app answered to its `FinalizeBlock`.
    pub results: pb::ResponseFinalizeBlock,
}

/// What the mempool holds, as the RPC's `unconfirmed_txs` reports it.
#[derive(Clone, Debug, Default)]
pub struct MempoolView {
    /// How many txs the mempool holds.
    pub count: usize,
    /// Their total size in bytes.
    pub bytes: usize,
    /// Up to the asked number of txs, in reap order.
    pub txs: Vec<Vec<u8>>,
}

/// Questions to the node's loop (which owns the mempool).
#[derive(Debug)]
pub enum NodeQuery {
    /// What the mempool holds, with up to `limit` of its txs.
    Mempool {
        /// Most txs to return.
        limit: usize,
        /// Where the answer goes.
        reply: oneshot::Sender<MempoolView>,
    },
}

/// How far this node's peers have got, as they announce it: each peer's
/// sync status carries the height it has committed (its tip). The network's
/// codec writes it (`peers`), the RPC's `status` reads it (`catching_up`).
/// It holds one height and when it was seen, so it stays bounded whatever
/// the network sends; a height not heard again for
/// [`PeerHeights::FRESH_FOR`] is forgotten, so a bogus one (a status is
/// counted as it is decoded, before the network checks its sender) fades.
#[derive(Clone, Debug, Default)]
pub struct PeerHeights(Arc<std::sync::Mutex<Option<PeerTip>>>);

/// The best committed height seen at a peer, and when.
#[derive(Clone, Copy, Debug)]
struct PeerTip {
    height: u64,
    seen: Instant,
}

impl PeerHeights {
    /// How long a seen height counts without being seen again.
    pub const FRESH_FOR: Duration = Duration::from_secs(30);

    fn tip(&self) -> std::sync::MutexGuard<'_, Option<PeerTip>> {
        // The data is a plain value: a panic elsewhere cannot leave it half-written.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A peer announced (at `now`) that it has committed height `committed`.
    pub fn saw_tip(&self, committed: u64, now: Instant) {
        let mut tip = self.tip();
        let keep = tip.is_some_and(|t| {
            t.height > committed && now.saturating_duration_since(t.seen) < Self::FRESH_FOR
        });
        if !keep {
            *tip = Some(PeerTip {
                height: committed,
                seen: now,
            });
        }
    }

    /// The highest height a peer has committed, if one was seen lately.
    pub fn best(&self, now: Instant) -> Option<u64> {
        self.tip()
            .filter(|t| now.saturating_duration_since(t.seen) < Self::FRESH_FOR)
            .map(|t| t.height)
    }

    /// Whether a node whose latest block is `latest` is catching up: more
    /// than one block behind the best peer it knows of.
    pub fn catching_up(&self, latest: u64, now: Instant) -> bool {
        self.best(now)
            .is_some_and(|peer| peer > latest.saturating_add(1))
    }
}

/// A running node.
pub struct NodeHandle {
    /// Submit transactions to the mempool.
    pub txs: mpsc::Sender<TxSubmission>,
    /// Heights as they are committed, with their app hash.
    pub committed: broadcast::Sender<(u64, Vec<u8>)>,
    /// Every committed block with its results (what RPC subscriptions see).
    pub blocks: broadcast::Sender<Arc<CommittedBlock>>,
    /// The RPC server's bound address, when it runs.
    pub rpc_address: Option<std::net::SocketAddr>,
    /// The metrics server's bound address, when it runs.
    pub metrics_address: Option<std::net::SocketAddr>,
    pub(crate) engine: EngineHandle,
    pub(crate) app: tokio::task::JoinHandle<Result<(), NodeError>>,
    pub(crate) app_finished: bool,
    pub(crate) rpc: Option<tokio::task::JoinHandle<()>>,
    pub(crate) metrics: Option<tokio::task::JoinHandle<()>>,
    pub(crate) gossip: Option<tokio::task::JoinHandle<()>>,
    pub(crate) checker: Option<tokio::task::JoinHandle<()>>,
    /// The task comparing the network's block pace with our timeout_commit (`peers`).
    pub(crate) pace_watch: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// Resolves when the node stops on its own (the app died, consensus
    /// failed, the store broke), with why. A running node never resolves.
    pub async fn stopped(&mut self) -> NodeError {
        if self.app_finished {
            return NodeError::AlreadyStopped;
        }
        let why = match (&mut self.app).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => NodeError::ConsensusStopped,
            Err(e) => NodeError::LoopFailed(e),
        };
        self.app_finished = true;
        why
    }

    /// Stops consensus and the app loop, and waits until both are gone (the
    /// WAL, the network port and the block store are released).
    pub async fn shutdown(self) {
        let _ = self
            .engine
            .actor
            .kill_and_wait(Some(Duration::from_secs(10)))
            .await;
        self.engine.handle.abort();
        let _ = self.engine.handle.await;
        if !self.app_finished {
            self.app.abort();
            let _ = self.app.await;
        }
        for server in [
            self.rpc,
            self.metrics,
            self.gossip,
            self.checker,
            self.pace_watch,
        ]
        .into_iter()
        .flatten()
        {
            server.abort();
            let _ = server.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_more_than_one_block_behind_its_peers_is_catching_up() {
        let peers = PeerHeights::default();
        let t0 = Instant::now();
        // Nothing heard: not catching up (a lone validator never is).
        assert!(!peers.catching_up(5, t0));
        // A peer has committed height 10.
        peers.saw_tip(10, t0);
        assert_eq!(peers.best(t0), Some(10));
        assert!(peers.catching_up(8, t0));
        // One block behind (the peers finished a height first) is in step.
        assert!(!peers.catching_up(9, t0));
        assert!(!peers.catching_up(10, t0));
        // A peer further behind does not lower what was seen.
        peers.saw_tip(4, t0);
        assert_eq!(peers.best(t0), Some(10));
        // Not seen again for a while: forgotten; a lower height then counts.
        let later = t0 + PeerHeights::FRESH_FOR;
        assert_eq!(peers.best(later), None);
        assert!(!peers.catching_up(0, later));
        peers.saw_tip(6, later);
        assert_eq!(peers.best(later), Some(6));
    }

    #[test]
    fn stop_reasons_read_as_the_node_always_logged_them() {
        let diverged = NodeError::AppDiverged {
            height: 5,
            network_app_hash: vec![0xab],
            local_app_hash: vec![0xcd],
        };
        assert_eq!(
            diverged.to_string(),
            "consensus engine: the network decided block 5 on app hash ab but this node's app \
             is at cd: its state diverged at height 4; restore the app's data and resync"
        );
        assert_eq!(
            NodeError::ConsensusStopped.to_string(),
            "consensus engine: consensus stopped"
        );
        assert_eq!(
            NodeError::from(ValidatorUpdateError::NegativePower(-1)).to_string(),
            "invalid validator set from the app: negative power -1"
        );
        let in_use = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        assert_eq!(
            NodeError::Rpc {
                address: SocketAddr::from(([127, 0, 0, 1], 26657)),
                source: in_use.into(),
            }
            .to_string(),
            "RPC server on 127.0.0.1:26657: address in use"
        );
    }
}
