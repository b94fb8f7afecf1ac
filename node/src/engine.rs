//! The consensus engine wired to the ABCI app: Malachite drives heights and
//! rounds; this loop answers every message it sends (one `match`, one arm
//! per message, each saying what the protocol expects), turning proposals
//! into `PrepareProposal`, received blocks into `ProcessProposal`, and
//! decisions into `FinalizeBlock` + `Commit`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use malachitebft_app_channel::app::config::{
    ConsensusConfig, DiscoveryConfig, NodeConfig, P2pConfig, ValueSyncConfig,
};
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::core::{
    Context, ExtendedCommitCertificate, HeightParams, LinearTimeouts, Round, Validity,
    VoteExtensions,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{Keypair, LocallyProposedValue, PeerId, ProposedValue};
use malachitebft_app_channel::{
    AppMsg, Channels, ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, NetworkMsg,
    RequestContext, Signer, SyncContext, WalContext,
};
use malachitebft_signing_ed25519::{PrivateKey, PublicKey};
use tendermint_proto::{google::protobuf::Timestamp, v0_38::abci as pb};
use tokio::sync::{mpsc, oneshot};

use crate::{
    abci::AbciConnections,
    block::{check_block_time, BlockTime, CommitVote, DecidedBlock, Misbehavior},
    chain::{apply_decided_block, handshake, ChainError},
    codec::{decode_certificate, encode_certificate, SynodCodec},
    context::{
        BlockHash, BlockHeight, BlockRef, Ed25519Signer, Ed25519Verifier, ProposalPart,
        SynodContext, Validator, ValidatorAddress, ValidatorSet,
    },
    mempool::{Mempool, MempoolConfig, MempoolError, TxHash},
    store::BlockStore,
    streaming::{split_block, PartStreams, DEFAULT_CHUNK_BYTES},
};

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeSettings {
    pub home: PathBuf,
    pub moniker: String,
    pub consensus_key: [u8; 32],
    pub node_key: [u8; 32],
    pub listen_addr: Multiaddr,
    pub persistent_peers: Vec<Multiaddr>,
    /// Learn peers from the connected ones and dial them (CometBFT's
    /// `p2p.pex`), so a node that lists one peer still reaches every validator.
    pub peer_discovery: bool,
    pub abci_address: String,
    pub timeouts: LinearTimeouts,
    /// Target duration of a height (CometBFT's `timeout_commit`, roughly).
    pub target_block_time: Option<Duration>,
    pub mempool: MempoolConfig,
    /// Where the CometBFT-compatible JSON-RPC listens (CometBFT's `rpc.laddr`); `None`: off.
    pub rpc_address: Option<std::net::SocketAddr>,
    /// Where Prometheus metrics are served (`instrumentation.prometheus_listen_addr`); `None`: off.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The genesis document as read from `genesis.json`, served by the RPC's `genesis`.
    pub genesis_json: Option<String>,
    /// Mempool gossip between nodes; `None`: txs stay where they were sent.
    pub mempool_gossip: Option<crate::gossip::GossipSettings>,
    /// Deliberate faults, for tests and simulations only.
    pub faults: Faults,
}

/// Deliberately faulty behaviour, for tests and adversarial simulations.
/// Never set on a real validator: it gets slashed and tombstoned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sign and send a second, conflicting vote for every vote (equivocation).
    pub equivocate_votes: bool,
}

/// Why the node stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Abci(#[from] crate::abci::AbciError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("consensus engine: {0}")]
    Engine(String),
    #[error("invalid validator set from the app: {0}")]
    ValidatorSet(String),
    #[error("RPC server on {address}: {reason}")]
    Rpc { address: String, reason: String },
    #[error("metrics server on {address}: {reason}")]
    Metrics { address: String, reason: String },
    #[error("mempool gossip: {0}")]
    Gossip(String),
}

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

/// A transaction submitted to the node, with where to send the verdict.
pub type TxSubmission = (Vec<u8>, oneshot::Sender<Result<TxHash, MempoolError>>);

/// A block as committed: the block, its hash and the app's `FinalizeBlock` answer.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    pub block: DecidedBlock,
    pub hash: [u8; 32],
    pub results: pb::ResponseFinalizeBlock,
}

/// What the mempool holds, as the RPC's `unconfirmed_txs` reports it.
#[derive(Clone, Debug, Default)]
pub struct MempoolView {
    pub count: usize,
    pub bytes: usize,
    /// Up to the asked number of txs, in reap order.
    pub txs: Vec<Vec<u8>>,
}

/// Questions to the node's loop (which owns the mempool).
#[derive(Debug)]
pub enum NodeQuery {
    Mempool {
        limit: usize,
        reply: oneshot::Sender<MempoolView>,
    },
}

/// A running node.
pub struct NodeHandle {
    /// Submit transactions to the mempool.
    pub txs: mpsc::Sender<TxSubmission>,
    /// Heights as they are committed, with their app hash.
    pub committed: tokio::sync::broadcast::Sender<(u64, Vec<u8>)>,
    /// Every committed block with its results (what RPC subscriptions see).
    pub blocks: tokio::sync::broadcast::Sender<Arc<CommittedBlock>>,
    /// The RPC server's bound address, when it runs.
    pub rpc_address: Option<std::net::SocketAddr>,
    /// The metrics server's bound address, when it runs.
    pub metrics_address: Option<std::net::SocketAddr>,
    engine: EngineHandle,
    app: tokio::task::JoinHandle<Result<(), NodeError>>,
    app_finished: bool,
    rpc: Option<tokio::task::JoinHandle<()>>,
    metrics: Option<tokio::task::JoinHandle<()>>,
    gossip: Option<tokio::task::JoinHandle<()>>,
    checker: Option<tokio::task::JoinHandle<()>>,
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
            return NodeError::Engine("the node already stopped".into());
        }
        let why = match (&mut self.app).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => NodeError::Engine("consensus stopped".into()),
            Err(e) => NodeError::Engine(format!("the node loop failed: {e}")),
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
        for server in [self.rpc, self.metrics, self.gossip, self.checker]
            .into_iter()
            .flatten()
        {
            server.abort();
            let _ = server.await;
        }
    }
}

/// One ABCI validator update as a validator (power 0 means "remove").
fn validator_of(u: &pb::ValidatorUpdate) -> Result<Validator, NodeError> {
    use tendermint_proto::v0_38::crypto::public_key::Sum;
    let Some(Sum::Ed25519(bytes)) = u.pub_key.as_ref().and_then(|k| k.sum.clone()) else {
        return Err(NodeError::ValidatorSet(
            "only ed25519 consensus keys are supported".into(),
        ));
    };
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::ValidatorSet("ed25519 key is not 32 bytes".into()))?;
    let pk = PublicKey::from_bytes(key).map_err(|e| NodeError::ValidatorSet(e.to_string()))?;
    let power = u64::try_from(u.power)
        .map_err(|_| NodeError::ValidatorSet(format!("negative power {}", u.power)))?;
    Ok(Validator::new(pk, power))
}

fn validator_set_from(updates: &[pb::ValidatorUpdate]) -> Result<ValidatorSet, NodeError> {
    let validators = updates
        .iter()
        .map(validator_of)
        .collect::<Result<Vec<_>, _>>()?;
    ValidatorSet::new(validators).map_err(|e| NodeError::ValidatorSet(e.to_string()))
}

/// The set after applying the app's updates (new power, or 0 to remove).
fn apply_updates(
    set: &ValidatorSet,
    updates: &[pb::ValidatorUpdate],
) -> Result<ValidatorSet, NodeError> {
    let mut by_addr: BTreeMap<ValidatorAddress, Validator> = set
        .validators()
        .iter()
        .map(|v| (v.address, v.clone()))
        .collect();
    for u in updates {
        let v = validator_of(u)?;
        if v.voting_power == 0 {
            by_addr.remove(&v.address);
        } else {
            by_addr.insert(v.address, v);
        }
    }
    ValidatorSet::new(by_addr.into_values()).map_err(|e| NodeError::ValidatorSet(e.to_string()))
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
    let initial_height = u64::try_from(init_chain.initial_height).unwrap_or(1).max(1);
    let outcome = handshake(&abci, &store, || init_chain).await?;
    // The validator set: as saved after the last block; on a new chain the
    // app's answer to InitChain, or genesis' if the app accepted it.
    let validators = match store.validators()? {
        Some(saved) => ValidatorSet::new(saved.into_iter().filter_map(|(k, p)| {
            PublicKey::from_bytes(k)
                .ok()
                .map(|pk| Validator::new(pk, p))
        }))
        .map_err(|e| NodeError::ValidatorSet(e.to_string()))?,
        None if !outcome.init_validators.is_empty() => {
            validator_set_from(&outcome.init_validators)?
        }
        None => validator_set_from(&genesis_validators)?,
    };
    let next_height = match store.height()? {
        0 => initial_height,
        h => h + 1,
    };
    store.save_validators(next_height, &validators_to_save(&validators))?;

    let key = PrivateKey::from(settings.consensus_key);
    // Double-sign protection survives restarts: the last signed position is on disk.
    let signer = Ed25519Signer::with_state_file(
        chain_id.clone(),
        key.clone(),
        settings.home.join("data").join("priv_validator_state.json"),
    )
    .map_err(|e| NodeError::Engine(e.to_string()))?;
    let address = ValidatorAddress::of(&key.public_key());
    let keypair = Keypair::ed25519_from_bytes(settings.node_key)
        .map_err(|e| NodeError::Engine(e.to_string()))?;
    let peer_id = keypair.public().to_peer_id();
    let proof = signer
        .sign_validator_proof(key.public_key().as_bytes().to_vec(), peer_id.to_bytes())
        .await
        .map_err(|e| NodeError::Engine(e.to_string()))?;
    let proof_bytes =
        malachitebft_app_channel::app::types::codec::Codec::encode(&SynodCodec, &proof)
            .map_err(|e| NodeError::Engine(e.to_string()))?;
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
    let (channels, engine) = if settings.faults.equivocate_votes {
        tracing::warn!("FAULTY MODE: this validator equivocates on every vote (tests only)");
        // The proxy signs the conflicting votes with a signer that keeps no
        // double-sign guard: that is the fault.
        let byzantine = malachitebft_app_channel::ByzantineContext {
            identity,
            codec: SynodCodec,
            config: malachitebft_engine_byzantine::ByzantineConfig {
                equivocate_votes: malachitebft_engine_byzantine::Trigger::Always,
                ..Default::default()
            },
            signer: Box::new(Ed25519Signer::new(chain_id.clone(), key.clone())),
            address,
            conflicting_value_fn: None,
            conflicting_vote_value_fn: Some(Box::new(|v: Option<&BlockHash>| {
                let mut h = v.map_or([0xEE; 32], |h| h.0);
                h[31] ^= 0xFF;
                BlockHash(h)
            })),
        };
        malachitebft_app_channel::EngineBuilder::new(ctx.clone(), config)
            .with_default_wal(wal)
            .with_byzantine_network(byzantine)
            .await
            .map_err(|e| NodeError::Engine(format!("{e:?}")))?
            .with_default_sync(SyncContext::new(SynodCodec))
            .with_default_consensus(consensus)
            .with_default_request(RequestContext::new(100))
            .build()
            .await
            .map_err(|e| NodeError::Engine(format!("{e:?}")))?
    } else {
        malachitebft_app_channel::start_engine(
            ctx.clone(),
            config,
            wal,
            NetworkContext::new(identity, SynodCodec),
            consensus,
            SyncContext::new(SynodCodec),
            RequestContext::new(100),
        )
        .await
        .map_err(|e| NodeError::Engine(format!("{e:?}")))?
    };

    let (tx_in, tx_rx) = mpsc::channel(1024);
    let (query_in, query_rx) = mpsc::channel(64);
    let (committed, _) = tokio::sync::broadcast::channel(64);
    let (blocks, _) = tokio::sync::broadcast::channel(256);
    let metrics = crate::metrics::NodeMetrics::register(&settings.moniker);
    // Txs from peers come on their own channel: checked like any other,
    // but not published again (gossipsub forwards what we accept).
    let (gossip_in, gossip_rx) = mpsc::channel(4096);
    let (gossip_out, gossip_task) = match settings.mempool_gossip.clone() {
        Some(g) => {
            let (out, task) = crate::gossip::start(g, settings.node_key, &chain_id, gossip_in)?;
            (Some(out), Some(task))
        }
        None => (None, None),
    };
    metrics.height.set(store.height()? as i64);
    let last_block = match store.height()? {
        0 => None,
        h => store.block(h)?,
    };
    let last_block_time = last_block.as_ref().map(|b| b.time);
    // The next block records who signed the last one, also after a restart.
    let (last_commit, last_commit_round) = match &last_block {
        Some(b) => stored_last_commit(&store, b.height)?,
        None => (Vec::new(), 0),
    };
    let last_block_hash = last_block.as_ref().map_or([0; 32], DecidedBlock::hash);
    // Undecided proposals survive restarts: the consensus log may replay
    // votes for them, and we must propose our own again unchanged.
    let mut proposals = BTreeMap::new();
    let mut own_parts = BTreeMap::new();
    for (round, block) in store.proposals_from(next_height)? {
        let hash = block.hash_ref();
        if block.proposer_address == address.0 {
            own_parts.insert(
                hash,
                split_block(
                    &chain_id,
                    &key,
                    BlockHeight(block.height),
                    Round::new(round),
                    Round::Nil,
                    address,
                    &block.encode(),
                    DEFAULT_CHUNK_BYTES,
                ),
            );
        }
        proposals.insert(hash, (Round::new(round), block));
    }
    if !proposals.is_empty() {
        tracing::info!(count = proposals.len(), "recovered undecided proposals");
    }
    let validators_for_app = validators.clone();
    let mempool = Arc::new(tokio::sync::Mutex::new(Mempool::new(
        settings.mempool.clone(),
    )));
    let checker = tokio::spawn(check_txs(
        mempool.clone(),
        abci.clone(),
        tx_rx,
        gossip_rx,
        gossip_out.clone(),
        metrics.clone(),
    ));
    let app = AppLoop {
        ctx,
        chain_id,
        key,
        address,
        abci: abci.clone(),
        store: store.clone(),
        mempool: mempool.clone(),
        validators,
        timeouts: settings.timeouts,
        target: settings.target_block_time,
        height: BlockHeight(next_height),
        proposals,
        own_parts,
        streams: PartStreams::new(256, 64 << 20),
        last_commit,
        last_commit_round,
        last_block_time,
        last_block_hash,
        last_app_hash: outcome.app_hash.clone(),
        committed: committed.clone(),
        blocks: blocks.clone(),
        metrics: metrics.clone(),
        decided_validators: validators_for_app.clone(),
        evidence_pool: Vec::new(),
        evidence_done: Default::default(),
    };
    let metrics_server = match settings.metrics_address {
        Some(at) => {
            let (bound, server) =
                crate::metrics::serve(at, metrics, channels.net_requests.clone()).await?;
            tracing::info!(address = %bound, "metrics at /metrics");
            Some((bound, tokio::spawn(server)))
        }
        None => None,
    };
    let rpc = match settings.rpc_address {
        Some(at) => {
            let context = crate::rpc::RpcContext {
                chain_id: app.chain_id.clone(),
                moniker: settings.moniker.clone(),
                node_key: *PrivateKey::from(settings.node_key).public_key().as_bytes(),
                listen_addr: settings.listen_addr.to_string(),
                validator_key: *app.key.public_key().as_bytes(),
                store: store.clone(),
                abci: abci.clone(),
                txs: tx_in.clone(),
                queries: query_in.clone(),
                blocks: blocks.clone(),
                net_requests: channels.net_requests.clone(),
                genesis_json: settings.genesis_json.clone(),
            };
            let (bound, server) = crate::rpc::serve(at, context).await?;
            tracing::info!(address = %bound, "RPC listening");
            Some((bound, tokio::spawn(server)))
        }
        None => None,
    };
    let task = tokio::spawn(async move {
        let result = app.run(channels, query_rx).await;
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
    })
}

/// CheckTx for submitted txs (RPC, tests) and txs from peers, beside the
/// consensus loop: a tx waits for the app, consensus does not wait for it.
/// Locally submitted txs the app accepts go out to peers.
async fn check_txs(
    mempool: Arc<tokio::sync::Mutex<Mempool>>,
    abci: Arc<AbciConnections>,
    mut local: mpsc::Receiver<TxSubmission>,
    mut from_peers: mpsc::Receiver<TxSubmission>,
    gossip: Option<mpsc::Sender<Vec<u8>>>,
    metrics: crate::metrics::NodeMetrics,
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

/// Who signed a commit, in validator-set order, with their signatures.
fn commit_votes(
    set: impl Iterator<Item = ([u8; 20], u64)>,
    signatures: &BTreeMap<[u8; 20], [u8; 64]>,
) -> Vec<CommitVote> {
    set.map(|(address, power)| {
        let signature = signatures.get(&address).copied();
        CommitVote {
            address,
            power: power as i64,
            signed: signature.is_some(),
            signature,
        }
    })
    .collect()
}

/// What the node keeps of a decided certificate.
struct CertificateParts {
    /// The commit signatures by validator address.
    signatures: BTreeMap<[u8; 20], [u8; 64]>,
    round: u32,
    /// The stored encoding (with the vote extensions).
    bytes: Bytes,
}

fn certificate_parts(
    certificate: malachitebft_app_channel::app::types::core::CommitCertificate<SynodContext>,
    extensions: VoteExtensions<SynodContext>,
) -> Result<CertificateParts, NodeError> {
    let signatures = certificate
        .commit_signatures
        .iter()
        .map(|s| (s.address.0, s.signature.to_bytes()))
        .collect();
    let round = certificate.round.as_u32().unwrap_or(0);
    let extended =
        ExtendedCommitCertificate::from_commit_certificate_and_extensions(certificate, extensions);
    let bytes = encode_certificate(&extended).map_err(|e| NodeError::Engine(e.to_string()))?;
    Ok(CertificateParts {
        signatures,
        round,
        bytes,
    })
}

/// The last commit as the store holds it (after a restart): the set that
/// decided `height` and the signatures in its certificate.
fn stored_last_commit(
    store: &BlockStore,
    height: u64,
) -> Result<(Vec<CommitVote>, u32), NodeError> {
    let (Some(set), Some(cert)) = (store.validators_at(height)?, store.certificate(height)?) else {
        return Ok((Vec::new(), 0));
    };
    let cert = decode_certificate(&cert).map_err(|e| NodeError::Engine(e.to_string()))?;
    let signatures: BTreeMap<[u8; 20], [u8; 64]> = cert
        .commit_signatures
        .iter()
        .map(|s| (s.address.0, s.signature.to_bytes()))
        .collect();
    let members = set.iter().filter_map(|(k, p)| {
        PublicKey::from_bytes(*k)
            .ok()
            .map(|pk| (ValidatorAddress::of(&pk).0, *p))
    });
    Ok((
        commit_votes(members, &signatures),
        cert.round.as_u32().unwrap_or(0),
    ))
}

fn validators_to_save(set: &ValidatorSet) -> Vec<crate::store::StoredValidator> {
    set.validators()
        .iter()
        .map(|v| (*v.public_key.as_bytes(), v.voting_power))
        .collect()
}

struct AppLoop {
    ctx: SynodContext,
    chain_id: String,
    key: PrivateKey,
    address: ValidatorAddress,
    abci: Arc<AbciConnections>,
    store: Arc<BlockStore>,
    /// Shared with the CheckTx task, so checking txs never holds up consensus.
    mempool: Arc<tokio::sync::Mutex<Mempool>>,
    validators: ValidatorSet,
    timeouts: LinearTimeouts,
    target: Option<Duration>,
    height: BlockHeight,
    /// Blocks proposed or received and not yet decided, by hash.
    proposals: BTreeMap<BlockHash, (Round, DecidedBlock)>,
    /// Our own proposals' parts, to restream.
    own_parts: BTreeMap<BlockHash, Vec<StreamMessage<ProposalPart>>>,
    streams: PartStreams<PeerId>,
    last_commit: Vec<CommitVote>,
    last_commit_round: u32,
    /// Header time of the last committed block (block times must advance).
    last_block_time: Option<BlockTime>,
    /// Hash of the last committed block and the app hash after it: the next
    /// block's header carries both.
    last_block_hash: [u8; 32],
    last_app_hash: Vec<u8>,
    committed: tokio::sync::broadcast::Sender<(u64, Vec<u8>)>,
    blocks: tokio::sync::broadcast::Sender<Arc<CommittedBlock>>,
    metrics: crate::metrics::NodeMetrics,
    /// The validator set of the last decided height (evidence is weighed by it).
    decided_validators: ValidatorSet,
    /// Equivocation seen and not yet in a block; and what blocks already carried.
    evidence_pool: Vec<Misbehavior>,
    evidence_done: std::collections::BTreeSet<([u8; 20], u64)>,
}

/// Most equivocation records one block carries.
const MAX_EVIDENCE_PER_BLOCK: usize = 16;

/// How far ahead of our clock a proposed block's time may be.
const MAX_CLOCK_DRIFT: Duration = Duration::from_secs(10);

fn now() -> BlockTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    BlockTime {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

impl AppLoop {
    fn params(&self) -> HeightParams<SynodContext> {
        HeightParams::new(self.validators.clone(), self.timeouts, self.target)
    }

    async fn run(
        mut self,
        mut channels: Channels<SynodContext>,
        mut queries: mpsc::Receiver<NodeQuery>,
    ) -> Result<(), NodeError> {
        loop {
            tokio::select! {
                msg = channels.consensus.recv() => {
                    let Some(msg) = msg else { return Ok(()) };
                    self.handle(msg, &channels.network).await?;
                }
                Some(query) = queries.recv() => match query {
                    NodeQuery::Mempool { limit, reply } => {
                        let pool = self.mempool.lock().await;
                        let _ = reply.send(MempoolView {
                            count: pool.len(),
                            bytes: pool.bytes(),
                            txs: pool.reap(None).into_iter().take(limit).collect(),
                        });
                    }
                },
            }
        }
    }

    async fn handle(
        &mut self,
        msg: AppMsg<SynodContext>,
        network: &mpsc::Sender<NetworkMsg<SynodContext>>,
    ) -> Result<(), NodeError> {
        match msg {
            // Consensus is up: start at the height after the last stored block.
            AppMsg::ConsensusReady { reply } => {
                let _ = reply.send((self.height, self.params()));
            }
            // A round started: hand back any value we already hold for it (after a restart).
            AppMsg::StartedRound {
                height,
                round,
                reply_value,
                ..
            } => {
                self.height = height;
                self.metrics.round.set(round.as_i64());
                let known = self
                    .proposals
                    .iter()
                    .filter(|(_, (r, b))| *r == round && b.height == height.0)
                    .map(|(hash, (_, b))| ProposedValue {
                        height,
                        round,
                        valid_round: Round::Nil,
                        proposer: ValidatorAddress(b.proposer_address),
                        value: BlockRef { hash: *hash },
                        validity: Validity::Valid,
                    })
                    .collect();
                let _ = reply_value.send(known);
            }
            // We propose: the same block again if we already built one for
            // this round, else PrepareProposal over the mempool; then stream it.
            AppMsg::GetValue {
                height,
                round,
                reply,
                ..
            } => {
                let existing = self
                    .proposals
                    .iter()
                    .find(|(_, (r, b))| {
                        *r == round && b.height == height.0 && b.proposer_address == self.address.0
                    })
                    .map(|(h, _)| *h);
                let hash = match existing {
                    Some(h) => h,
                    None => self.build_block(height, round).await?,
                };
                let _ = reply.send(LocallyProposedValue::new(height, round, BlockRef { hash }));
                for part in self.own_parts.get(&hash).cloned().unwrap_or_default() {
                    let _ = network.send(NetworkMsg::PublishProposalPart(part)).await;
                }
            }
            // A part of someone's proposal: once the stream is whole, check
            // proposer, signature and hash, and let the app judge the block.
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from);
                let value = match self.streams.insert(publisher, part) {
                    Ok(Some(p)) => self.judge(p).await?,
                    Ok(None) => None,
                    Err(e) => {
                        tracing::warn!(%publisher, error = %e, "dropped a proposal stream");
                        None
                    }
                };
                let _ = reply.send(value);
            }
            // Consensus decided: execute and commit the block, then recheck the mempool.
            AppMsg::Decided {
                certificate,
                extensions,
                reply,
            } => {
                self.decide(certificate, extensions).await?;
                let _ = reply.send(());
            }
            // The height is over: start the next with the (possibly updated) validator set.
            AppMsg::Finalized {
                certificate,
                extensions,
                evidence,
                reply,
            } => {
                self.collect_evidence(certificate.height.0, &evidence);
                self.extend_last_commit(certificate, extensions)?;
                let _ = reply.send(Next::Start(self.height, self.params()));
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(BlockHeight(1));
            }
            // Serve sync: a contiguous run of stored blocks with their certificates.
            AppMsg::GetDecidedValues { range, reply } => {
                let mut out = Vec::new();
                let top = self.store.height()?;
                for h in range.start().0..=range.end().0.min(top) {
                    let (Some(block), Some(cert)) =
                        (self.store.block(h)?, self.store.certificate(h)?)
                    else {
                        break;
                    };
                    let Ok(certificate) = decode_certificate(&cert) else {
                        break;
                    };
                    out.push(RawDecidedValue::new(
                        Bytes::from(block.encode()),
                        certificate,
                    ));
                }
                let _ = reply.send(out);
            }
            // A block fetched by sync: the certificate proves the decision; check it decodes.
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = match DecidedBlock::decode(&value_bytes) {
                    Ok(block) if block.height == height.0 => {
                        let hash = block.hash_ref();
                        self.proposals.insert(hash, (round, block));
                        SyncedValueOutcome::Verdict(ProposedValue {
                            height,
                            round,
                            valid_round: Round::Nil,
                            proposer,
                            value: BlockRef { hash },
                            validity: Validity::Valid,
                        })
                    }
                    _ => SyncedValueOutcome::PeerFault,
                };
                let _ = reply.send(outcome);
            }
            // Re-publish our own proposal's original parts.
            AppMsg::RestreamProposal { value_id, .. } => {
                for part in self.own_parts.get(&value_id).cloned().unwrap_or_default() {
                    let _ = network.send(NetworkMsg::PublishProposalPart(part)).await;
                }
            }
            // Vote extensions are disabled (policy Disabled in every height).
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
            }
        }
        Ok(())
    }

    async fn build_block(
        &mut self,
        height: BlockHeight,
        round: Round,
    ) -> Result<BlockHash, NodeError> {
        // Block times strictly advance, even if this node's clock lags.
        let time = match self.last_block_time {
            Some(previous) => now().max(previous.plus(Duration::from_millis(1))),
            None => now(),
        };
        let candidates = self.mempool.lock().await.reap(Some(1 << 20));
        let prepared = self
            .abci
            .prepare_proposal(pb::RequestPrepareProposal {
                max_tx_bytes: 1 << 20,
                txs: candidates.into_iter().map(Into::into).collect(),
                local_last_commit: None,
                misbehavior: vec![],
                height: height.0 as i64,
                time: Some(Timestamp {
                    seconds: time.seconds,
                    nanos: time.nanos,
                }),
                next_validators_hash: vec![0; 32].into(),
                proposer_address: self.address.0.to_vec().into(),
            })
            .await?;
        let block = DecidedBlock {
            height: height.0,
            round: round.as_u32().unwrap_or(0),
            time,
            proposer_address: self.address.0,
            last_block_hash: self.last_block_hash,
            app_hash: self.last_app_hash.clone(),
            last_commit_round: self.last_commit_round,
            last_commit: self.last_commit.clone(),
            misbehavior: self
                .evidence_pool
                .iter()
                .take(MAX_EVIDENCE_PER_BLOCK)
                .cloned()
                .collect(),
            next_validators_hash: [0; 32],
            txs: prepared.txs.into_iter().map(|t| t.to_vec()).collect(),
        };
        let bytes = block.encode();
        let hash = block.hash_ref();
        let parts = split_block(
            &self.chain_id,
            &self.key,
            height,
            round,
            Round::Nil,
            self.address,
            &bytes,
            DEFAULT_CHUNK_BYTES,
        );
        self.store
            .save_proposal(round.as_u32().unwrap_or(0), &block)?;
        self.own_parts.insert(hash, parts);
        self.proposals.insert(hash, (round, block));
        Ok(hash)
    }

    async fn judge(
        &mut self,
        p: crate::streaming::ReceivedProposal,
    ) -> Result<Option<ProposedValue<SynodContext>>, NodeError> {
        if p.height != self.height {
            return Ok(None);
        }
        let expected = self
            .ctx
            .select_proposer(&self.validators, p.height, p.round);
        if expected.address != p.proposer || !p.verify(&self.chain_id, &expected.public_key) {
            tracing::warn!(proposer = %p.proposer, "proposal from the wrong proposer or with a bad signature");
            return Ok(None);
        }
        let hash = p.block_hash();
        let valid = match DecidedBlock::decode(&p.block_bytes) {
            Ok(block) if block.height == p.height.0 && block.proposer_address == p.proposer.0 => {
                if let Err(e) = self.check_proposed(&block) {
                    tracing::warn!(height = block.height, proposer = %p.proposer, error = %e, "rejecting a proposal");
                    return Ok(Some(ProposedValue {
                        height: p.height,
                        round: p.round,
                        valid_round: p.pol_round,
                        proposer: p.proposer,
                        value: BlockRef { hash },
                        validity: Validity::Invalid,
                    }));
                }
                let accepted = self
                    .abci
                    .process_proposal(pb::RequestProcessProposal {
                        txs: block.txs.iter().map(|t| t.clone().into()).collect(),
                        proposed_last_commit: None,
                        misbehavior: vec![],
                        hash: hash.0.to_vec().into(),
                        height: block.height as i64,
                        time: Some(Timestamp {
                            seconds: block.time.seconds,
                            nanos: block.time.nanos,
                        }),
                        next_validators_hash: vec![0; 32].into(),
                        proposer_address: block.proposer_address.to_vec().into(),
                    })
                    .await?;
                if accepted {
                    self.store
                        .save_proposal(p.round.as_u32().unwrap_or(0), &block)?;
                }
                self.proposals.insert(hash, (p.round, block));
                accepted
            }
            _ => false,
        };
        Ok(Some(ProposedValue {
            height: p.height,
            round: p.round,
            valid_round: p.pol_round,
            proposer: p.proposer,
            value: BlockRef { hash },
            validity: Validity::from_bool(valid),
        }))
    }

    async fn decide(
        &mut self,
        certificate: malachitebft_app_channel::app::types::core::CommitCertificate<SynodContext>,
        extensions: VoteExtensions<SynodContext>,
    ) -> Result<(), NodeError> {
        let hash = certificate.value_id;
        let Some((_, block)) = self.proposals.get(&hash).cloned() else {
            return Err(NodeError::Engine(format!(
                "decided block {hash} is unknown"
            )));
        };
        // A decided header whose parent or app hash differs from ours means
        // this node's app diverged from the network: stop rather than fork.
        if block.last_block_hash != self.last_block_hash || block.app_hash != self.last_app_hash {
            return Err(NodeError::Engine(format!(
                "the network decided block {} on app hash {} but this node's app is at {}: \
                 its state diverged at height {}; restore the app's data and resync",
                block.height,
                hex::encode(&block.app_hash),
                hex::encode(&self.last_app_hash),
                block.height.saturating_sub(1)
            )));
        }
        let CertificateParts {
            signatures,
            round,
            bytes: cert_bytes,
        } = certificate_parts(certificate, extensions)?;
        // As CometBFT does, no CheckTx runs from before Commit until the
        // recheck is over: the app's check state restarts from the new
        // committed state, and the remaining txs must be replayed first.
        let mut pool = self.mempool.lock().await;
        let results = apply_decided_block(&self.abci, &self.store, &block, &cert_bytes).await?;
        pool.update(&self.abci, &block.txs).await?;
        self.metrics.mempool_txs.set(pool.len() as i64);
        self.metrics.mempool_bytes.set(pool.bytes() as i64);
        drop(pool);
        self.last_commit = commit_votes(
            self.validators
                .validators()
                .iter()
                .map(|v| (v.address.0, v.voting_power)),
            &signatures,
        );
        self.last_commit_round = round;
        for m in &block.misbehavior {
            self.evidence_done.insert((m.address, m.height));
        }
        let done = &self.evidence_done;
        self.evidence_pool
            .retain(|m| !done.contains(&(m.address, m.height)));
        self.decided_validators = self.validators.clone();
        self.validators = apply_updates(&self.validators, &results.validator_updates)?;
        self.store
            .save_validators(block.height + 1, &validators_to_save(&self.validators))?;
        self.proposals.retain(|_, (_, b)| b.height > block.height);
        self.own_parts.retain(|h, _| self.proposals.contains_key(h));
        self.height = BlockHeight(block.height + 1);
        if let Some(previous) = self.last_block_time {
            let nanos = block.time.as_nanos() - previous.as_nanos();
            self.metrics
                .block_interval_seconds
                .observe(nanos as f64 / 1e9);
        }
        self.metrics.height.set(block.height as i64);
        self.metrics.txs_per_block.observe(block.txs.len() as f64);
        self.metrics.committed_txs.inc_by(block.txs.len() as u64);
        self.last_block_time = Some(block.time);
        self.last_block_hash = block.hash();
        self.last_app_hash = results.app_hash.to_vec();
        let _ = self
            .committed
            .send((block.height, results.app_hash.to_vec()));
        let hash = block.hash();
        let _ = self.blocks.send(Arc::new(CommittedBlock {
            block: block.clone(),
            hash,
            results: results.clone(),
        }));
        tracing::info!(height = block.height, txs = block.txs.len(), app_hash = %hex::encode(&results.app_hash), "committed");
        Ok(())
    }
}

impl AppLoop {
    /// Precommits that arrived between the decision and the height's target
    /// time join the last commit (CometBFT waits `timeout_commit` for them):
    /// a validator whose vote is never among the first two thirds still has
    /// its signature recorded, and the app credits it. The stored
    /// certificate grows with it, so a restart proposes the same last commit.
    fn extend_last_commit(
        &mut self,
        certificate: malachitebft_app_channel::app::types::core::CommitCertificate<SynodContext>,
        extensions: VoteExtensions<SynodContext>,
    ) -> Result<(), NodeError> {
        let height = certificate.height.0;
        if height != self.store.height()? {
            return Ok(());
        }
        let signed = self.last_commit.iter().filter(|v| v.signed).count();
        if certificate.commit_signatures.len() <= signed {
            return Ok(());
        }
        let CertificateParts {
            signatures,
            round,
            bytes: cert_bytes,
        } = certificate_parts(certificate, extensions)?;
        if round != self.last_commit_round {
            return Ok(());
        }
        self.store.extend_certificate(height, &cert_bytes)?;
        let before = signed;
        self.last_commit = commit_votes(
            self.decided_validators
                .validators()
                .iter()
                .map(|v| (v.address.0, v.voting_power)),
            &signatures,
        );
        tracing::debug!(
            height,
            before,
            after = signatures.len(),
            "late precommits joined the last commit"
        );
        Ok(())
    }

    /// Turns the double votes consensus saw at `height` into misbehavior
    /// records for the next blocks (one per validator and height).
    fn collect_evidence(
        &mut self,
        height: u64,
        evidence: &malachitebft_app_channel::app::types::MisbehaviorEvidence<SynodContext>,
    ) {
        if evidence.votes.is_empty() {
            return;
        }
        let set = &self.decided_validators;
        let total: u64 = set.validators().iter().map(|v| v.voting_power).sum();
        for v in set.validators() {
            let Some((a, b)) = evidence.votes.get(&v.address).and_then(|p| p.first()) else {
                continue;
            };
            let key = (v.address.0, height);
            if self.evidence_done.contains(&key)
                || self
                    .evidence_pool
                    .iter()
                    .any(|m| (m.address, m.height) == key)
            {
                continue;
            }
            tracing::warn!(validator = %v.address, height, "equivocation: evidence will go into the next block");
            self.evidence_pool.push(Misbehavior {
                address: v.address.0,
                power: v.voting_power as i64,
                height,
                time: self.last_block_time.unwrap_or_default(),
                total_voting_power: total as i64,
                votes: vec![
                    crate::evidence::EvidenceVote::of(a),
                    crate::evidence::EvidenceVote::of(b),
                ],
            });
        }
    }

    /// What this node checks in a proposed block before the app sees it:
    /// its header against our last block and app hash, its time, its record
    /// of the last commit, and its evidence.
    fn check_proposed(&self, block: &DecidedBlock) -> Result<(), String> {
        if block.last_block_hash != self.last_block_hash || block.app_hash != self.last_app_hash {
            return Err(format!(
                "the header disagrees with our last block or app hash (theirs {}, ours {})",
                hex::encode(&block.app_hash),
                hex::encode(&self.last_app_hash)
            ));
        }
        check_block_time(self.last_block_time, block.time, now(), MAX_CLOCK_DRIFT)
            .map_err(|e| e.to_string())?;
        self.check_last_commit(block)
            .map_err(|e| format!("bad last commit: {e}"))?;
        self.check_evidence(block)
            .map_err(|e| format!("bad evidence: {e}"))
    }

    /// A proposed block's record of the previous commit must be true: the
    /// previous height's validators in order with their powers, a valid
    /// precommit signature for every one marked as signed, and more than
    /// two thirds of the power signed. (It drives rewards and downtime
    /// jailing, so a proposer must not be able to invent it.)
    fn check_last_commit(&self, block: &DecidedBlock) -> Result<(), String> {
        if self.last_block_hash == [0; 32] {
            return if block.last_commit.is_empty() {
                Ok(())
            } else {
                Err("the first block cannot carry a last commit".into())
            };
        }
        let previous = block.height.saturating_sub(1);
        let set = self
            .store
            .validators_at(previous)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no validator set recorded for height {previous}"))?;
        crate::evidence::verify_last_commit(&self.chain_id, &set, block)
    }

    /// Every misbehavior record of a proposed block must prove itself: two
    /// conflicting votes signed by a validator of that height, with its power.
    fn check_evidence(&self, block: &DecidedBlock) -> Result<(), String> {
        if block.misbehavior.len() > MAX_EVIDENCE_PER_BLOCK {
            return Err(format!(
                "{} evidence records, at most {MAX_EVIDENCE_PER_BLOCK}",
                block.misbehavior.len()
            ));
        }
        for m in &block.misbehavior {
            if m.height >= block.height {
                return Err(format!(
                    "evidence from height {} is not in the past",
                    m.height
                ));
            }
            let [a, b] = m.votes.as_slice() else {
                return Err("evidence needs exactly two votes".into());
            };
            if a.validator != m.address || a.height != m.height {
                return Err("evidence votes do not match its validator and height".into());
            }
            let set = self
                .store
                .validators_at(m.height)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no validator set recorded for height {}", m.height))?;
            let total: u64 = set.iter().map(|(_, p)| p).sum();
            let (key, power) = set
                .iter()
                .find_map(|(k, p)| {
                    let pk = PublicKey::from_bytes(*k).ok()?;
                    (ValidatorAddress::of(&pk).0 == m.address).then_some((pk, *p))
                })
                .ok_or("evidence against someone who was not a validator")?;
            if m.power != power as i64 || m.total_voting_power != total as i64 {
                return Err("evidence misstates the validator's power".into());
            }
            crate::evidence::verify_double_vote(&self.chain_id, &key, a, b)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl DecidedBlock {
    /// The block's hash as the consensus value id.
    pub fn hash_ref(&self) -> BlockHash {
        BlockHash(self.hash())
    }
}
