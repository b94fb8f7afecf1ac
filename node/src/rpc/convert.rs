//! Stored blocks as CometBFT's block types ([`super::cometbft::block`]):
//! headers, block ids, commits and evidence filled from what the block
//! store holds.
//!
//! What is real and what is not yet (docs/rpc.md, "Known gaps"): the block
//! hash is Synod's (SHA-256 of the block's canonical encoding, the same
//! everywhere this node reports one), the part-set header is CometBFT's
//! split of *that* encoding into 64 KiB parts with their Merkle root, the
//! data hash is CometBFT's (the Merkle root of the txs' SHA-256, so `tx`
//! proofs verify against it), the app hash is the app's; the validators
//! hash is Synod's digest of the set, and the last-commit, consensus,
//! results and evidence hashes are left empty (`""`, CometBFT's absent
//! value) until headers carry CometBFT's own hashes.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{
    cometbft::{
        block::{
            Block, BlockId, Commit, CommitSig, DuplicateVoteEvidence, Header, PartSetHeader, Vote,
        },
        node::PROTOCOL_BLOCK,
    },
    merkle,
};
use crate::{
    block::{BlockTime, CommitVote, DecidedBlock, Misbehavior},
    codec::{decode_certificate, CodecError},
    mempool::tx_hash,
    store::{BlockStore, StoreError},
};

/// Why a stored record could not be shown. The RPC answers each as an
/// internal error with this text.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The block store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored commit certificate does not decode.
    #[error("commit certificate of height {height}: {source}")]
    Certificate {
        /// The certified height.
        height: u64,
        /// What the codec refused.
        source: CodecError,
    },
}

/// Bytes of one block part (CometBFT's `BlockPartSizeBytes`).
const BLOCK_PART_SIZE_BYTES: usize = 65_536;

/// The part-set header of a block: its encoding in 64 KiB parts and their
/// Merkle root.
pub fn part_set_header(b: &DecidedBlock) -> PartSetHeader {
    let bytes = b.encode();
    let parts: Vec<&[u8]> = bytes.chunks(BLOCK_PART_SIZE_BYTES).collect();
    PartSetHeader {
        total: parts.len() as u32,
        hash: merkle::root(&parts).to_vec(),
    }
}

/// The id of a block: its hash and part-set header.
pub fn block_id(b: &DecidedBlock) -> BlockId {
    BlockId {
        hash: b.hash().to_vec(),
        parts: part_set_header(b),
    }
}

/// CometBFT's data hash: the Merkle root of the txs' SHA-256.
pub fn data_hash(txs: &[Vec<u8>]) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = txs.iter().map(|t| tx_hash(t)).collect();
    merkle::root(&hashes)
}

/// The id of the block `b` builds on: zero at the chain's first height; the
/// hash alone (no part set) if that block is not stored here.
fn last_block_id(store: &BlockStore, b: &DecidedBlock) -> Result<BlockId, ConvertError> {
    if b.last_block_hash == [0; 32] {
        return Ok(BlockId::default());
    }
    let previous = match b.height.checked_sub(1) {
        Some(h) => store.block(h)?,
        None => None,
    };
    Ok(match previous {
        Some(p) if p.hash() == b.last_block_hash => block_id(&p),
        _ => BlockId {
            hash: b.last_block_hash.to_vec(),
            parts: PartSetHeader::default(),
        },
    })
}

/// SHA-256 of the validator set recorded for `h` (borsh of (key, power)
/// pairs); empty when none is recorded.
fn validators_hash(store: &BlockStore, h: u64) -> Result<Vec<u8>, ConvertError> {
    Ok(match store.validators_at(h)? {
        Some(set) => Sha256::digest(borsh::to_vec(&set).unwrap_or_default()).to_vec(),
        None => Vec::new(),
    })
}

/// The header of a stored block.
pub fn header(
    store: &BlockStore,
    chain_id: &str,
    b: &DecidedBlock,
) -> Result<Header, ConvertError> {
    Ok(Header {
        version_block: PROTOCOL_BLOCK,
        version_app: 0,
        chain_id: chain_id.to_owned(),
        height: b.height,
        time: b.time,
        last_block_id: last_block_id(store, b)?,
        last_commit_hash: Vec::new(),
        data_hash: data_hash(&b.txs).to_vec(),
        validators_hash: validators_hash(store, b.height)?,
        next_validators_hash: validators_hash(store, b.height + 1)?,
        consensus_hash: Vec::new(),
        app_hash: b.app_hash.clone(),
        last_results_hash: Vec::new(),
        evidence_hash: Vec::new(),
        proposer_address: b.proposer_address,
    })
}

/// The commit signatures of `votes` (validator-set order), stamped `time`.
fn signatures(votes: &[CommitVote], time: BlockTime) -> Vec<CommitSig> {
    votes
        .iter()
        .map(|v| match (v.signed, v.signature) {
            (true, Some(signature)) => CommitSig::Commit {
                validator_address: v.address,
                timestamp: time,
                signature: signature.to_vec(),
            },
            _ => CommitSig::Absent,
        })
        .collect()
}

/// The previous block's commit as `b` records it: the signatures its
/// proposer put in (checked by every validator), stamped with `b`'s time;
/// the zero commit at the chain's first height.
pub fn last_commit(store: &BlockStore, b: &DecidedBlock) -> Result<Commit, ConvertError> {
    if b.last_block_hash == [0; 32] && b.last_commit.is_empty() {
        return Ok(Commit::default());
    }
    Ok(Commit {
        height: b.height.saturating_sub(1),
        round: b.last_commit_round,
        block_id: last_block_id(store, b)?,
        signatures: signatures(&b.last_commit, b.time),
    })
}

/// The commit of height `h` and whether it is canonical: the one the next
/// block records (canonical), else, for the latest block, the precommits
/// this node gathered (its stored certificate, not canonical). `None` if
/// no block is stored at `h`.
pub fn commit(store: &BlockStore, h: u64) -> Result<Option<(Commit, bool)>, ConvertError> {
    if let Some(next) = store.block(h + 1)? {
        return Ok(Some((last_commit(store, &next)?, true)));
    }
    let Some(b) = store.block(h)? else {
        return Ok(None);
    };
    let (Some(set), Some(certificate)) = (store.validators_at(h)?, store.certificate(h)?) else {
        return Ok(Some((
            Commit {
                height: h,
                round: b.round,
                block_id: block_id(&b),
                signatures: Vec::new(),
            },
            false,
        )));
    };
    let certificate = decode_certificate(&certificate)
        .map_err(|source| ConvertError::Certificate { height: h, source })?;
    let signed: BTreeMap<[u8; 20], [u8; 64]> = certificate
        .commit_signatures
        .iter()
        .map(|s| (s.address.0, s.signature.to_bytes()))
        .collect();
    let votes: Vec<CommitVote> = set
        .iter()
        .map(|(key, power)| {
            let address = synod_consensus_config::keys::key_hash(key);
            let signature = signed.get(&address).copied();
            CommitVote {
                address,
                power: *power as i64,
                signed: signature.is_some(),
                signature,
            }
        })
        .collect();
    Ok(Some((
        Commit {
            height: h,
            round: certificate.round.as_u32().unwrap_or(b.round),
            block_id: block_id(&b),
            signatures: signatures(&votes, b.time),
        },
        false,
    )))
}

/// A block's evidence as `DuplicateVoteEvidence`: the two signed votes, the
/// offender's index in the set of the infraction's height (-1 when that set
/// is not recorded), and the infraction's block time as the vote times.
fn evidence(
    store: &BlockStore,
    m: &Misbehavior,
) -> Result<Option<DuplicateVoteEvidence>, ConvertError> {
    let [a, b] = m.votes.as_slice() else {
        return Ok(None);
    };
    let index = store
        .validators_at(m.height)?
        .and_then(|set| {
            set.iter()
                .position(|(k, _)| synod_consensus_config::keys::key_hash(k) == m.address)
        })
        .map_or(-1, |i| i as i32);
    let vote = |v: &crate::evidence::EvidenceVote| Vote {
        kind: v.kind,
        height: v.height,
        round: v.round,
        block_id: v
            .value
            .map(|hash| BlockId {
                hash: hash.to_vec(),
                parts: PartSetHeader::default(),
            })
            .unwrap_or_default(),
        timestamp: m.time,
        validator_address: v.validator,
        validator_index: index,
        signature: v.signature.to_vec(),
    };
    Ok(Some(DuplicateVoteEvidence {
        vote_a: vote(a),
        vote_b: vote(b),
        total_voting_power: m.total_voting_power,
        validator_power: m.power,
        timestamp: m.time,
    }))
}

/// A stored block as CometBFT's `Block`.
pub fn block(store: &BlockStore, chain_id: &str, b: &DecidedBlock) -> Result<Block, ConvertError> {
    let mut evidence_list = Vec::with_capacity(b.misbehavior.len());
    for m in &b.misbehavior {
        evidence_list.extend(evidence(store, m)?);
    }
    Ok(Block {
        header: header(store, chain_id, b)?,
        txs: b.txs.clone(),
        evidence: evidence_list,
        last_commit: last_commit(store, b)?,
    })
}

/// The attributes of ABCI events, flattened as CometBFT indexes them:
/// `type.key` -> values.
pub fn event_attributes(
    events: &[tendermint_proto::v0_38::abci::Event],
    into: &mut BTreeMap<String, Vec<String>>,
) {
    for e in events {
        for a in &e.attributes {
            into.entry(format!("{}.{}", e.r#type, a.key))
                .or_default()
                .push(a.value.clone());
        }
    }
}
