//! Proposals: building ours (`PrepareProposal` over the mempool) and judging
//! others' (our checks, then `ProcessProposal`).

use malachitebft_app_channel::app::types::core::{Context, Round, Validity};
use malachitebft_app_channel::app::types::ProposedValue;
use tendermint_proto::{google::protobuf::Timestamp, v0_38::abci as pb};

use super::state::AppState;
use crate::{
    block::{DecidedBlock, HeaderHashes},
    context::{BlockHeight, BlockId, BlockRef, SynodContext},
    handle::NodeError,
    streaming::{split_block, ReceivedProposal, DEFAULT_CHUNK_BYTES},
    validity::{block_time_of, check_proposed, check_size, MAX_EVIDENCE_PER_BLOCK},
};

impl AppState {
    /// Builds our block for `height` and `round`: the app picks the txs
    /// (`PrepareProposal`), we add the header, the last commit and pending
    /// evidence, save it (a restart proposes it again unchanged) and split it
    /// into the parts we stream.
    pub(super) async fn build_block(
        &mut self,
        height: BlockHeight,
        round: Round,
    ) -> Result<BlockId, NodeError> {
        // BFT time: from the last commit's vote times, as every validator
        // computes it (the genesis time for the first block).
        let time = block_time_of(self.genesis_time, self.last_block_time, &self.last_commit);
        let evidence: Vec<_> = self
            .evidence_pool
            .iter()
            .take(MAX_EVIDENCE_PER_BLOCK)
            .cloned()
            .collect();
        let tip = self.tip()?;
        let mut block = DecidedBlock {
            version_app: self.version_app,
            chain_id: self.chain_id.clone(),
            height: height.0,
            round: round.as_u32().unwrap_or(0),
            time,
            proposer_address: self.address.0,
            last_block_id: self.last_block_id,
            app_hash: self.last_app_hash.clone(),
            hashes: HeaderHashes {
                validators: tip.validators_hash,
                next_validators: tip.next_validators_hash,
                consensus: tip.consensus_hash,
                last_results: tip.last_results_hash,
                ..HeaderHashes::default()
            },
            last_commit_round: self.last_commit_round,
            last_commit: self.last_commit.clone(),
            misbehavior: evidence,
            txs: Vec::new(),
        };
        // What the txs may take: the block's limit less the block without
        // them. The app counts each tx with 11 bytes of framing, more than
        // the 4 our encoding adds, so what it keeps always fits.
        let max_tx_bytes = self
            .max_block_bytes
            .saturating_sub(block.encode().len() as u64 + 8);
        let candidates = self
            .mempool
            .lock()
            .await
            .reap(Some(usize::try_from(max_tx_bytes).unwrap_or(usize::MAX)));
        let prepared = self
            .abci
            .prepare_proposal(pb::RequestPrepareProposal {
                max_tx_bytes: i64::try_from(max_tx_bytes).unwrap_or(i64::MAX),
                txs: candidates.into_iter().map(Into::into).collect(),
                local_last_commit: None,
                misbehavior: vec![],
                height: height.0 as i64,
                time: Some(Timestamp {
                    seconds: time.seconds,
                    nanos: time.nanos,
                }),
                next_validators_hash: block.hashes.next_validators.to_vec().into(),
                proposer_address: self.address.0.to_vec().into(),
            })
            .await?;
        block.txs = prepared.txs.into_iter().map(|t| t.to_vec()).collect();
        block.seal();
        #[cfg(feature = "faults")]
        if self.mutate_proposals {
            self.mutate_proposal(&mut block);
        }
        // An app that kept more than asked must not make us propose a block
        // every other validator refuses: drop txs from the end until it fits.
        let mut bytes = block.encode();
        #[cfg(feature = "faults")]
        let trim = !self.mutate_proposals;
        #[cfg(not(feature = "faults"))]
        let trim = true;
        if trim && bytes.len() as u64 > self.max_block_bytes {
            tracing::warn!(
                len = bytes.len(),
                max = self.max_block_bytes,
                "PrepareProposal kept more than fits in a block; dropping txs from its end"
            );
            let mut over = bytes.len() as u64 - self.max_block_bytes;
            while over > 0 {
                match block.txs.pop() {
                    Some(tx) => over = over.saturating_sub(tx.len() as u64 + 4),
                    None => break,
                }
            }
            block.seal();
            bytes = block.encode();
            while bytes.len() as u64 > self.max_block_bytes && block.txs.pop().is_some() {
                block.seal();
                bytes = block.encode();
            }
        }
        let hash = self.id_of_own(&block)?;
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

    /// The id of a block this node built. Only a deliberately broken block
    /// (the `faults` feature) can lack one; it is proposed under a made-up
    /// id that no other node computes, so they never vote for it.
    fn id_of_own(&self, block: &DecidedBlock) -> Result<BlockId, NodeError> {
        match block.id() {
            Ok(id) => Ok(id),
            #[cfg(feature = "faults")]
            Err(_) if self.mutate_proposals => Ok(BlockId {
                hash: block.digest(),
                parts: Default::default(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Judges a whole proposal from a peer: `None` if it is not for this
    /// height or not from the round's proposer with a good signature;
    /// otherwise a verdict, invalid if our checks or the app refuse it.
    pub(super) async fn judge(
        &mut self,
        p: ReceivedProposal,
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
        // The value is the block's id, computed from the block: a stream
        // that is no block, or a block without a CometBFT header, has none
        // to vote for (consensus then times out and prevotes nil).
        let block = match DecidedBlock::decode(&p.block_bytes) {
            Ok(block) if block.height == p.height.0 && block.proposer_address == p.proposer.0 => {
                block
            }
            Ok(_) => {
                tracing::warn!(proposer = %p.proposer, "rejecting a proposal: its block is for another height or proposer");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(proposer = %p.proposer, error = %e, "rejecting a proposal: its block does not decode");
                return Ok(None);
            }
        };
        let hash = match block.id() {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(proposer = %p.proposer, error = %e, "rejecting a proposal: it has no CometBFT header");
                return Ok(None);
            }
        };
        let invalid = ProposedValue {
            height: p.height,
            round: p.round,
            valid_round: p.pol_round,
            proposer: p.proposer,
            value: BlockRef { id: hash },
            validity: Validity::Invalid,
        };
        if let Err(e) = check_size(p.block_bytes.len(), self.max_block_bytes) {
            tracing::warn!(proposer = %p.proposer, error = %e, "rejecting a proposal");
            return Ok(Some(invalid));
        }
        if let Err(e) = check_proposed(&self.tip()?, &self.store, &block) {
            tracing::warn!(height = block.height, proposer = %p.proposer, error = %e, "rejecting a proposal");
            return Ok(Some(invalid));
        }
        let valid = self
            .abci
            .process_proposal(block.process_request(hash.hash))
            .await?;
        if valid {
            self.store
                .save_proposal(p.round.as_u32().unwrap_or(0), &block)?;
        } else {
            tracing::warn!(height = block.height, proposer = %p.proposer, "the app refused the proposal (ProcessProposal)");
        }
        self.proposals.insert(hash, (p.round, block));
        Ok(Some(ProposedValue {
            validity: Validity::from_bool(valid),
            ..invalid
        }))
    }
}
