//! What the consensus loop keeps between two messages of the engine, and how
//! it is rebuilt from the block store after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::core::{HeightParams, LinearTimeouts, Round};
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_signing_ed25519::PrivateKey;
use tokio::sync::{broadcast, Mutex};

use super::last_commit::stored_last_commit;
use crate::{
    abci::AbciConnections,
    block::{BlockTime, CommitVote, DecidedBlock, Misbehavior},
    context::{BlockHeight, BlockId, ProposalPart, SynodContext, ValidatorAddress, ValidatorSet},
    handle::{CommittedBlock, NodeError},
    header::{results_hash, validators_hash},
    mempool::Mempool,
    metrics::NodeMetrics,
    store::BlockStore,
    streaming::{split_block, PartStreams, StreamLimits, DEFAULT_CHUNK_BYTES},
    validity::Tip,
};

/// What the loop starts from, as `node::start` gathered it.
pub(crate) struct Startup {
    /// The consensus context (chain id, proposer selection).
    pub ctx: SynodContext,
    /// This validator's consensus key: signs the proposal parts it streams.
    pub key: PrivateKey,
    /// The app.
    pub abci: Arc<AbciConnections>,
    /// The block store.
    pub store: Arc<BlockStore>,
    /// The mempool, shared with the CheckTx task.
    pub mempool: Arc<Mutex<Mempool>>,
    /// The validator set of the height consensus starts at.
    pub validators: ValidatorSet,
    /// The set of the height after it (CometBFT's next validators: the
    /// app's updates take effect two heights after the block that made them).
    pub next_validators: ValidatorSet,
    /// Hash of the consensus params every header carries.
    pub consensus_hash: [u8; 32],
    /// The app version headers carry: the last block's, or on a new chain
    /// the app's `Info.app_version` (as CometBFT's handshake sets it).
    pub version_app: u64,
    /// Round timeouts.
    pub timeouts: LinearTimeouts,
    /// Target duration of a height.
    pub target_block_time: Option<Duration>,
    /// The height consensus starts at.
    pub next_height: u64,
    /// The app hash after the last committed block (or after InitChain).
    pub app_hash: Vec<u8>,
    /// Where committed heights are announced.
    pub committed: broadcast::Sender<(u64, Vec<u8>)>,
    /// Where committed blocks are announced (RPC subscriptions).
    pub blocks: broadcast::Sender<Arc<CommittedBlock>>,
    /// The node's metrics.
    pub metrics: NodeMetrics,
    /// Largest encoded block (`consensus_params.block.max_bytes`).
    pub max_block_bytes: u64,
    /// The genesis time: the first block's header time.
    pub genesis_time: BlockTime,
    /// Deliberate faults (tests only).
    pub faults: crate::node::Faults,
}

/// The consensus loop's state: the chain's tip, the blocks in flight and the
/// evidence waiting for a block.
pub(crate) struct AppState {
    pub(super) ctx: SynodContext,
    pub(super) chain_id: String,
    pub(super) key: PrivateKey,
    pub(super) address: ValidatorAddress,
    pub(super) abci: Arc<AbciConnections>,
    pub(super) store: Arc<BlockStore>,
    /// Shared with the CheckTx task, so checking txs never holds up consensus.
    pub(super) mempool: Arc<Mutex<Mempool>>,
    /// This height's validators, and the next height's.
    pub(super) validators: ValidatorSet,
    pub(super) next_validators: ValidatorSet,
    pub(super) consensus_hash: [u8; 32],
    pub(super) version_app: u64,
    pub(super) timeouts: LinearTimeouts,
    pub(super) target: Option<Duration>,
    pub(super) height: BlockHeight,
    /// Blocks proposed or received and not yet decided, by id.
    pub(super) proposals: BTreeMap<BlockId, (Round, DecidedBlock)>,
    /// Our own proposals' parts, to restream.
    pub(super) own_parts: BTreeMap<BlockId, Vec<StreamMessage<ProposalPart>>>,
    pub(super) streams: PartStreams<PeerId>,
    pub(super) last_commit: Vec<CommitVote>,
    pub(super) last_commit_round: u32,
    /// Header time of the last committed block (block times must advance).
    pub(super) last_block_time: Option<BlockTime>,
    /// The first block's header time.
    pub(super) genesis_time: BlockTime,
    /// Id of the last committed block and the app hash after it: the next
    /// block's header carries both.
    pub(super) last_block_id: BlockId,
    pub(super) last_app_hash: Vec<u8>,
    pub(super) committed: broadcast::Sender<(u64, Vec<u8>)>,
    pub(super) blocks: broadcast::Sender<Arc<CommittedBlock>>,
    pub(super) metrics: NodeMetrics,
    /// The validator set of the last decided height (evidence is weighed by it).
    pub(super) decided_validators: ValidatorSet,
    /// Equivocation seen and not yet in a block; and what blocks already carried.
    pub(super) evidence_pool: Vec<Misbehavior>,
    pub(super) evidence_done: BTreeSet<([u8; 20], u64)>,
    /// Largest encoded block this node proposes or accepts
    /// (`consensus_params.block.max_bytes`).
    pub(super) max_block_bytes: u64,
    /// Propose broken blocks (the `faults` feature's Byzantine proposer).
    #[cfg(feature = "faults")]
    pub(super) mutate_proposals: bool,
    /// How many broken blocks this node has proposed.
    #[cfg(feature = "faults")]
    pub(super) mutations: u64,
}

impl AppState {
    /// The loop's state at `startup.next_height`, with what the store kept
    /// from before a restart: the last block's time, hash and commit, and the
    /// undecided proposals.
    pub(crate) fn resume(startup: Startup) -> Result<AppState, NodeError> {
        let Startup {
            ctx,
            key,
            abci,
            store,
            mempool,
            validators,
            next_validators,
            consensus_hash,
            version_app,
            timeouts,
            target_block_time,
            next_height,
            app_hash,
            committed,
            blocks,
            metrics,
            max_block_bytes,
            genesis_time,
            faults,
        } = startup;
        if faults.mutate_proposals && !cfg!(feature = "faults") {
            return Err(NodeError::FaultsNotBuilt);
        }
        let chain_id = ctx.chain_id().to_owned();
        let address = ValidatorAddress::of(&key.public_key());
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
        let last_block_id = match &last_block {
            Some(b) => match store.block_id(b.height)? {
                Some(id) => id,
                None => b.id()?,
            },
            None => BlockId::default(),
        };
        // Undecided proposals survive restarts: the consensus log may replay
        // votes for them, and we must propose our own again unchanged.
        let mut proposals = BTreeMap::new();
        let mut own_parts = BTreeMap::new();
        for (round, block) in store.proposals_from(next_height)? {
            // Saved proposals were checked (or built) here, so their ids compute.
            let Ok(hash) = block.id() else { continue };
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
        Ok(AppState {
            ctx,
            chain_id,
            key,
            address,
            abci,
            store,
            mempool,
            decided_validators: validators.clone(),
            validators,
            next_validators,
            consensus_hash,
            version_app,
            timeouts,
            target: target_block_time,
            height: BlockHeight(next_height),
            proposals,
            own_parts,
            streams: PartStreams::with_limits(StreamLimits::for_blocks_of(max_block_bytes)),
            last_commit,
            last_commit_round,
            last_block_time,
            genesis_time,
            last_block_id,
            last_app_hash: app_hash,
            committed,
            blocks,
            metrics,
            evidence_pool: Vec::new(),
            evidence_done: BTreeSet::new(),
            max_block_bytes,
            #[cfg(feature = "faults")]
            mutate_proposals: faults.mutate_proposals,
            #[cfg(feature = "faults")]
            mutations: 0,
        })
    }

    /// The tip a block of the height in progress must extend, with the
    /// hashes its header must carry.
    pub(super) fn tip(&self) -> Result<Tip<'_>, NodeError> {
        let last_results = match self.height.0.checked_sub(1) {
            Some(h) if h > 0 => self.store.results(h)?,
            _ => None,
        };
        Ok(Tip {
            chain_id: &self.chain_id,
            version_app: self.version_app,
            last_block_id: self.last_block_id,
            last_app_hash: &self.last_app_hash,
            last_block_time: self.last_block_time,
            genesis_time: self.genesis_time,
            validators_hash: validators_hash(&self.validators),
            next_validators_hash: validators_hash(&self.next_validators),
            consensus_hash: self.consensus_hash,
            last_results_hash: results_hash(
                last_results.as_ref().map_or(&[][..], |r| &r.tx_results),
            ),
        })
    }

    /// The parameters of the height in progress.
    pub(super) fn params(&self) -> HeightParams<SynodContext> {
        HeightParams::new(self.validators.clone(), self.timeouts, self.target)
    }
}
