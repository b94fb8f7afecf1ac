//! Wiring a node: the ABCI handshake with the app, the validator set, the
//! keys and identity, the Malachite engine, the CheckTx task, and the
//! optional RPC, metrics and mempool-gossip servers; then the consensus loop
//! (`app`) is spawned and the caller gets a [`NodeHandle`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use malachitebft_app_channel::app::config::{
    ConsensusConfig, DiscoveryConfig, NodeConfig, P2pConfig, Selector, ValueSyncConfig,
};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::{
    ConsensusContext, NetworkContext, NetworkIdentity, RequestContext, Signer, SyncContext,
    WalContext,
};
use malachitebft_signing_ed25519::PrivateKey;
use tendermint_proto::v0_38::abci as pb;
use tokio::sync::{broadcast, mpsc, Mutex};

use crate::{
    abci::AbciConnections,
    app::{self, AppState, Startup},
    block::BlockTime,
    chain::handshake,
    codec::SynodCodec,
    context::{Ed25519Signer, Ed25519Verifier, SynodContext, ValidatorAddress},
    gossip::{self, GossipSettings},
    handle::{NodeError, NodeHandle, PeerHeights, TxSubmission},
    mempool::{Mempool, MempoolConfig},
    metrics::{self, NodeMetrics},
    peers::{self, PeerWatchingCodec},
    rpc::{self, RpcContext},
    store::BlockStore,
    validators::{resume_set, validator_set_from, validator_set_from_stored, validators_to_save},
};

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeSettings {
    /// The node's home: `data/` (block store, sign state) and `wal/` live here.
    pub home: PathBuf,
    /// Human-readable name (logs, metrics labels, RPC `node_info`).
    pub moniker: String,
    /// The validator's ed25519 consensus key (`priv_validator_key.json`).
    pub consensus_key: [u8; 32],
    /// The node's ed25519 p2p key (`node_key.json`).
    pub node_key: [u8; 32],
    /// Where the consensus swarm listens.
    pub listen_addr: Multiaddr,
    /// Peers dialled at start and redialled while disconnected.
    pub persistent_peers: Vec<Multiaddr>,
    /// Learn peers from the connected ones and dial them (CometBFT's
    /// `p2p.pex`), so a node that lists one peer still reaches every validator.
    pub peer_discovery: bool,
    /// The app's ABCI address: `tcp://HOST:PORT` or `unix://PATH`.
    pub abci_address: String,
    /// Round timeouts.
    pub timeouts: LinearTimeouts,
    /// Target duration of a height (CometBFT's `timeout_commit`, roughly).
    pub target_block_time: Option<Duration>,
    /// Mempool bounds.
    pub mempool: MempoolConfig,
    /// Where the CometBFT-compatible JSON-RPC listens (CometBFT's `rpc.laddr`); `None`: off.
    pub rpc_address: Option<std::net::SocketAddr>,
    /// Bounds on RPC batches and websocket clients (`[rpc]`).
    pub rpc_limits: crate::rpc::RpcLimits,
    /// Where Prometheus metrics are served (`instrumentation.prometheus_listen_addr`); `None`: off.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The genesis document as read from `genesis.json`, served by the RPC's `genesis`.
    pub genesis_json: Option<String>,
    /// Mempool gossip between nodes; `None`: txs stay where they were sent.
    pub mempool_gossip: Option<GossipSettings>,
    /// Deliberate faults, for tests and simulations only.
    pub faults: Faults,
}

/// Deliberately faulty behaviour, for tests and adversarial simulations.
/// Never set on a real validator: it gets slashed and tombstoned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sign and send a second, conflicting vote for every vote (equivocation).
    pub equivocate_votes: bool,
    /// Propose only broken blocks, each in the next of
    /// `faults::MUTATIONS`' ways (needs the `faults` feature).
    pub mutate_proposals: bool,
}

/// Malachite's node configuration, as the engine reads it.
#[derive(Clone, Debug)]
struct Config {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for Config {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// CometBFT's largest block, what `block.max_bytes = -1` means (100 MiB).
pub const MAX_BLOCK_SIZE_BYTES: u64 = 104_857_600;

/// CometBFT's default `block.max_bytes` (21 MiB), for a genesis without one.
pub const DEFAULT_BLOCK_MAX_BYTES: u64 = 22_020_096;

/// The genesis' `consensus_params.block.max_bytes`: -1 is CometBFT's
/// maximum, a missing or non-positive value its default (genesis
/// validation refuses those before a node starts).
pub fn block_max_bytes(init_chain: &pb::RequestInitChain) -> u64 {
    match init_chain
        .consensus_params
        .as_ref()
        .and_then(|p| p.block.as_ref())
        .map(|b| b.max_bytes)
    {
        Some(-1) => MAX_BLOCK_SIZE_BYTES,
        Some(n) if n > 0 => (n as u64).min(MAX_BLOCK_SIZE_BYTES),
        _ => DEFAULT_BLOCK_MAX_BYTES,
    }
}

/// The hash of genesis' consensus params every header carries
/// (`HashedParams`: block max bytes and max gas, CometBFT's defaults when
/// genesis leaves them out).
pub fn consensus_params_hash(
    params: Option<&tendermint_proto::v0_38::types::ConsensusParams>,
) -> [u8; 32] {
    let block = params.and_then(|p| p.block.as_ref());
    crate::header::consensus_hash(
        block.map_or(DEFAULT_BLOCK_MAX_BYTES as i64, |b| b.max_bytes),
        block.map_or(-1, |b| b.max_gas),
    )
}

/// Starts a validator node: ABCI handshake with the app, then consensus.
pub async fn start(
    settings: NodeSettings,
    init_chain: pb::RequestInitChain,
) -> Result<NodeHandle, NodeError> {
    let chain_id = init_chain.chain_id.clone();
    let ctx = SynodContext::new(chain_id.clone());
    let abci =
        Arc::new(AbciConnections::connect(&settings.abci_address, Duration::from_secs(30)).await?);
    let store = Arc::new(BlockStore::open(
        &settings.home.join("data").join("blocks.db"),
    )?);
    let genesis_validators = init_chain.validators.clone();
    let consensus_params = init_chain.consensus_params.clone();
    let max_block_bytes = block_max_bytes(&init_chain);
    // The first block's header time (CometBFT: the genesis time).
    let genesis_time = init_chain
        .time
        .as_ref()
        .map_or(BlockTime::default(), |t| BlockTime {
            seconds: t.seconds,
            nanos: t.nanos,
        });
    let initial_height = u64::try_from(init_chain.initial_height).unwrap_or(1).max(1);
    let outcome = handshake(&abci, &store, || init_chain).await?;
    // The validator set: as saved after the last block; on a new chain the
    // app's answer to InitChain, or genesis' if the app accepted it.
    let next_height = match store.height()? {
        0 => initial_height,
        h => h + 1,
    };
    // The set for the next height: as saved (rebuilt from the last block's
    // results if the node stopped before saving it); on a new chain the
    // app's answer to InitChain, or genesis' if the app accepted it.
    let validators = match resume_set(&store, next_height)? {
        Some(set) => set,
        None => match store.validators()? {
            Some(saved) => validator_set_from_stored(saved)?,
            None if !outcome.init_validators.is_empty() => {
                validator_set_from(&outcome.init_validators)?
            }
            None => validator_set_from(&genesis_validators)?,
        },
    };
    store.save_validators(next_height, &validators_to_save(&validators))?;
    // The set after it: saved when the block before was decided; on a new
    // chain the same set (CometBFT's genesis state: next = current).
    let next_validators = match resume_set(&store, next_height + 1)? {
        Some(set) => set,
        None => validators.clone(),
    };
    store.save_validators(next_height + 1, &validators_to_save(&next_validators))?;
    let consensus_hash = consensus_params_hash(consensus_params.as_ref());
    // The app version headers carry: CometBFT takes the app's on a new
    // chain and keeps it (no consensus-param update changes it here).
    let version_app = match store.block(store.height()?)? {
        Some(last) => last.version_app,
        None => outcome.app_version,
    };

    let key = PrivateKey::from(settings.consensus_key);
    // Double-sign protection survives restarts: the last signed position is on disk.
    let signer = Ed25519Signer::with_state_file(
        chain_id.clone(),
        key.clone(),
        settings.home.join("data").join("priv_validator_state.json"),
    )
    .map_err(NodeError::SignState)?;
    let address = ValidatorAddress::of(&key.public_key());
    let keypair = Keypair::ed25519_from_bytes(settings.node_key).map_err(NodeError::NodeKey)?;
    let peer_id = keypair.public().to_peer_id();
    let proof = signer
        .sign_validator_proof(key.public_key().as_bytes().to_vec(), peer_id.to_bytes())
        .await
        .map_err(NodeError::ValidatorProof)?;
    let proof_bytes =
        malachitebft_app_channel::app::types::codec::Codec::encode(&SynodCodec, &proof)
            .map_err(NodeError::Codec)?;
    let identity = NetworkIdentity::new_validator(
        settings.moniker.clone(),
        keypair,
        address.to_string(),
        proof_bytes,
    );
    let config = Config {
        moniker: settings.moniker.clone(),
        consensus: ConsensusConfig {
            p2p: P2pConfig {
                listen_addr: settings.listen_addr.clone(),
                persistent_peers: settings.persistent_peers.clone(),
                discovery: DiscoveryConfig {
                    enabled: settings.peer_discovery,
                    // Malachite 0.8.2's Kademlia selector picks from the
                    // routing table, which keeps a peer after its last
                    // connection closed, while the exclusion list only
                    // covers identified peers: once a peer dies, repair
                    // selects it, finds it already requested, frees the
                    // slot and selects it again, a busy loop writing ~30k
                    // warnings a second on every node that knew it. The
                    // random selector draws from identified peers only.
                    selector: Selector::Random,
                    ..DiscoveryConfig::default()
                },
                ..P2pConfig::default()
            },
            ..ConsensusConfig::default()
        },
        value_sync: ValueSyncConfig::default(),
    };
    let wal = WalContext::new(settings.home.join("wal").join("consensus.wal"), SynodCodec);
    let consensus = ConsensusContext::new_validator(
        address,
        Box::new(Ed25519Verifier::new(chain_id.clone())),
        Box::new(signer),
    );
    // Malachite's errors are `eyre` reports, which this crate cannot name:
    // boxed as std errors (shown by their debug text, which lists the causes).
    let engine_err = |e: Box<dyn std::error::Error + Send + Sync>| NodeError::ConsensusStart(e);
    // Peers' heights, as their sync statuses announce them (noted by the
    // network's codec): the RPC's `catching_up`.
    let peer_heights = PeerHeights::default();
    let network_codec = PeerWatchingCodec(peer_heights.clone());
    let (channels, engine) = if settings.faults.equivocate_votes {
        start_faulty_engine(
            ctx.clone(),
            config,
            wal,
            NetworkContext::new(identity, network_codec),
            consensus,
            address,
            Ed25519Signer::new(chain_id.clone(), key.clone()),
        )
        .await?
    } else {
        malachitebft_app_channel::start_engine(
            ctx.clone(),
            config,
            wal,
            NetworkContext::new(identity, network_codec),
            consensus,
            SyncContext::new(SynodCodec),
            RequestContext::new(100),
        )
        .await
        .map_err(|e| engine_err(e.into()))?
    };

    let (tx_in, tx_rx) = mpsc::channel(1024);
    let (query_in, query_rx) = mpsc::channel(64);
    let (committed, _) = broadcast::channel(64);
    let (blocks, _) = broadcast::channel(256);
    // A network deciding faster than our timeout_commit: say so in the log.
    let pace_watch = tokio::spawn(peers::watch_pace(
        blocks.subscribe(),
        settings.target_block_time.unwrap_or_default(),
    ));
    let metrics = NodeMetrics::register(&settings.moniker);
    // Txs from peers come on their own channel: checked like any other,
    // but not published again (gossipsub forwards what we accept).
    let (gossip_in, gossip_rx) = mpsc::channel(4096);
    let (gossip_out, gossip_task) = match settings.mempool_gossip.clone() {
        Some(g) => {
            let (out, task) = gossip::start(g, settings.node_key, &chain_id, gossip_in)?;
            (Some(out), Some(task))
        }
        None => (None, None),
    };
    let mempool = Arc::new(Mutex::new(Mempool::new(settings.mempool.clone())));
    let validator_key = *key.public_key().as_bytes();
    let state = AppState::resume(Startup {
        ctx,
        key,
        abci: abci.clone(),
        store: store.clone(),
        mempool: mempool.clone(),
        validators,
        next_validators,
        consensus_hash,
        version_app,
        timeouts: settings.timeouts,
        target_block_time: settings.target_block_time,
        next_height,
        app_hash: outcome.app_hash.clone(),
        committed: committed.clone(),
        blocks: blocks.clone(),
        metrics: metrics.clone(),
        max_block_bytes,
        genesis_time,
        faults: settings.faults.clone(),
    })?;
    let checker = tokio::spawn(check_txs(
        mempool,
        abci.clone(),
        tx_rx,
        gossip_rx,
        gossip_out,
        metrics.clone(),
    ));
    let metrics_server = match settings.metrics_address {
        Some(at) => {
            let (bound, server) =
                metrics::serve(at, metrics, channels.net_requests.clone()).await?;
            tracing::info!(address = %bound, "metrics at /metrics");
            Some((bound, tokio::spawn(server)))
        }
        None => None,
    };
    let rpc = match settings.rpc_address {
        Some(at) => {
            let context = RpcContext {
                chain_id,
                moniker: settings.moniker.clone(),
                node_key: *PrivateKey::from(settings.node_key).public_key().as_bytes(),
                listen_addr: settings.listen_addr.to_string(),
                validator_key,
                store: store.clone(),
                abci: abci.clone(),
                txs: tx_in.clone(),
                queries: query_in.clone(),
                blocks: blocks.clone(),
                net_requests: channels.net_requests.clone(),
                genesis_json: settings.genesis_json.clone(),
                consensus_params,
                limits: settings.rpc_limits,
                peer_heights,
                consensus: crate::home::consensus_config(
                    &settings.timeouts,
                    settings.target_block_time,
                ),
            };
            let (bound, server) = rpc::serve(at, context).await?;
            tracing::info!(address = %bound, "RPC listening");
            Some((bound, tokio::spawn(server)))
        }
        None => None,
    };
    let task = tokio::spawn(async move {
        let result = app::run(state, channels, query_rx).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "the node's application loop stopped; consensus cannot go on");
        }
        result
    });
    let (rpc_address, rpc) = match rpc {
        Some((a, t)) => (Some(a), Some(t)),
        None => (None, None),
    };
    let (metrics_address, metrics) = match metrics_server {
        Some((a, t)) => (Some(a), Some(t)),
        None => (None, None),
    };
    Ok(NodeHandle {
        txs: tx_in,
        committed,
        blocks,
        rpc_address,
        metrics_address,
        engine,
        app: task,
        app_finished: false,
        rpc,
        metrics,
        gossip: gossip_task,
        checker: Some(checker),
        pace_watch: Some(pace_watch),
    })
}

/// CheckTx for submitted txs (RPC, tests) and txs from peers, beside the
/// consensus loop: a tx waits for the app, consensus does not wait for it.
/// Locally submitted txs the app accepts go out to peers.
async fn check_txs(
    mempool: Arc<Mutex<Mempool>>,
    abci: Arc<AbciConnections>,
    mut local: mpsc::Receiver<TxSubmission>,
    mut from_peers: mpsc::Receiver<TxSubmission>,
    gossip: Option<mpsc::Sender<Vec<u8>>>,
    metrics: NodeMetrics,
) {
    loop {
        let (tx, reply, is_local) = tokio::select! {
            Some((tx, reply)) = local.recv() => (tx, reply, true),
            Some((tx, reply)) = from_peers.recv() => (tx, reply, false),
            else => return,
        };
        let copy = (is_local && gossip.is_some()).then(|| tx.clone());
        let mut pool = mempool.lock().await;
        let r = pool.add(&abci, tx).await;
        metrics.mempool_txs.set(pool.len() as i64);
        metrics.mempool_bytes.set(pool.bytes() as i64);
        drop(pool);
        if let (Ok(_), Some(g), Some(tx)) = (&r, &gossip, copy) {
            // Peers that already have it drop it by hash.
            let _ = g.try_send(tx);
        }
        let _ = reply.send(r);
    }
}

/// Starts the engine with Malachite's Byzantine network proxy, which signs
/// and sends a conflicting second vote for every vote. Built only with the
/// `faults` feature (tests and simulations).
#[cfg(feature = "faults")]
async fn start_faulty_engine(
    ctx: SynodContext,
    config: Config,
    wal: WalContext<SynodCodec>,
    network: NetworkContext<PeerWatchingCodec>,
    consensus: ConsensusContext<SynodContext>,
    address: ValidatorAddress,
    conflicting_signer: Ed25519Signer,
) -> Result<
    (
        malachitebft_app_channel::Channels<SynodContext>,
        malachitebft_app_channel::EngineHandle,
    ),
    NodeError,
> {
    use crate::context::BlockId;
    let engine_err = |e: Box<dyn std::error::Error + Send + Sync>| NodeError::ConsensusStart(e);
    tracing::warn!("FAULTY MODE: this validator equivocates on every vote (tests only)");
    // The proxy signs the conflicting votes with a signer that keeps no
    // double-sign guard: that is the fault.
    let byzantine = malachitebft_app_channel::ByzantineContext {
        identity: network.identity,
        codec: network.codec,
        config: malachitebft_engine_byzantine::ByzantineConfig {
            equivocate_votes: malachitebft_engine_byzantine::Trigger::Always,
            ..Default::default()
        },
        signer: Box::new(conflicting_signer),
        address,
        conflicting_value_fn: None,
        conflicting_vote_value_fn: Some(Box::new(|v: Option<&BlockId>| {
            let mut id = v.copied().unwrap_or(BlockId {
                hash: [0xEE; 32],
                parts: Default::default(),
            });
            id.hash[31] ^= 0xFF;
            id
        })),
    };
    malachitebft_app_channel::EngineBuilder::new(ctx.clone(), config)
        .with_default_wal(wal)
        .with_byzantine_network(byzantine)
        .await
        .map_err(|e| engine_err(e.into()))?
        .with_default_sync(SyncContext::new(SynodCodec))
        .with_default_consensus(consensus)
        .with_default_request(RequestContext::new(100))
        .build()
        .await
        .map_err(|e| engine_err(e.into()))
}

/// Without the `faults` feature a node cannot be made to equivocate.
#[cfg(not(feature = "faults"))]
async fn start_faulty_engine(
    _ctx: SynodContext,
    _config: Config,
    _wal: WalContext<SynodCodec>,
    _network: NetworkContext<PeerWatchingCodec>,
    _consensus: ConsensusContext<SynodContext>,
    _address: ValidatorAddress,
    _conflicting_signer: Ed25519Signer,
) -> Result<
    (
        malachitebft_app_channel::Channels<SynodContext>,
        malachitebft_app_channel::EngineHandle,
    ),
    NodeError,
> {
    Err(NodeError::FaultsNotBuilt)
}
