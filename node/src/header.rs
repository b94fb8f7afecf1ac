//! CometBFT's view of a decided block, computed as CometBFT v0.38 computes
//! it: the header (tendermint-rs' `Header`, whose `hash()` is the block
//! hash), the protobuf `Block` (cut into 64 KiB parts for the part-set
//! header), the block id consensus votes on, and every hash a header
//! carries. A block's id depends only on its own fields, so every node, the
//! RPC and a light client compute the same one.

use prost::Message;
use sha2::{Digest, Sha256};
use tendermint::{block, crypto::default::Sha256 as MerkleSha256, merkle, Hash};
use tendermint_proto::v0_38::{abci as pb, types as pbt};

use crate::{
    block::{BlockTime, CommitVote, DecidedBlock, Misbehavior},
    context::{BlockId, PartSetHeader, ValidatorSet},
    evidence::EvidenceVote,
    mempool::tx_hash,
};

/// Bytes of one block part (CometBFT's `BlockPartSizeBytes`).
pub const BLOCK_PART_SIZE_BYTES: usize = 65_536;

/// The block protocol version a header carries (CometBFT 0.38's).
pub const BLOCK_PROTOCOL: u64 = 11;

/// Why a block has no CometBFT header: a field no CometBFT header can hold.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// Heights are signed 64-bit in CometBFT.
    #[error("height {0} does not fit a CometBFT header")]
    Height(u64),
    /// Not a time tendermint-rs reads (nanoseconds outside `0..10^9`, a year
    /// outside 1..=9999).
    #[error("block time {time:?} is not a valid timestamp: {source}")]
    Time {
        /// The block's time.
        time: BlockTime,
        /// What tendermint-rs says.
        source: tendermint::Error,
    },
    /// Not a CometBFT chain id.
    #[error("chain id {chain_id:?}: {source}")]
    ChainId {
        /// The block's chain id.
        chain_id: String,
        /// What tendermint-rs says.
        source: tendermint::Error,
    },
    /// The previous block's id is not a CometBFT block id (a part count
    /// without a part hash or the reverse).
    #[error("last block id {id}: {source}")]
    LastBlockId {
        /// The id the block names.
        id: BlockId,
        /// What tendermint-rs says.
        source: tendermint::Error,
    },
}

/// The Merkle root of `items` (CometBFT's `merkle.HashFromByteSlices`).
pub fn merkle_root<T: AsRef<[u8]>>(items: &[T]) -> [u8; 32] {
    merkle::simple_hash_from_byte_vectors::<MerkleSha256>(items)
}

/// The part-set header of a block's protobuf encoding: its 64 KiB parts
/// and their Merkle root.
pub fn part_set_header(block_proto: &[u8]) -> PartSetHeader {
    let parts: Vec<&[u8]> = block_proto.chunks(BLOCK_PART_SIZE_BYTES).collect();
    PartSetHeader {
        total: parts.len() as u32,
        hash: merkle_root(&parts),
    }
}

/// CometBFT's data hash: the Merkle root of the txs' SHA-256.
pub fn data_hash(txs: &[Vec<u8>]) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = txs.iter().map(|t| tx_hash(t)).collect();
    merkle_root(&hashes)
}

/// CometBFT's `ValidatorSet.Hash()`: the Merkle root of the validators'
/// `SimpleValidator{pub_key, voting_power}` protos, in set order. Keys are
/// ed25519 and powers fit an i64 in every set this node builds; a validator
/// that would not is left out (so the hash then matches no honest node's).
pub fn validators_hash(set: &ValidatorSet) -> [u8; 32] {
    let infos = set
        .validators()
        .iter()
        .filter_map(|v| {
            let key = tendermint::PublicKey::from_raw_ed25519(v.public_key.as_bytes())?;
            let power = tendermint::vote::Power::try_from(v.voting_power).ok()?;
            Some(tendermint::validator::Info::new(key, power))
        })
        .collect();
    match tendermint::validator::Set::without_proposer(infos).hash() {
        Hash::Sha256(h) => h,
        Hash::None => [0; 32],
    }
}

/// CometBFT's `ConsensusParams.Hash()`: SHA-256 of the `HashedParams`
/// proto (the block's max bytes and max gas, as the params state them).
pub fn consensus_hash(block_max_bytes: i64, block_max_gas: i64) -> [u8; 32] {
    let params = pbt::HashedParams {
        block_max_bytes,
        block_max_gas,
    };
    Sha256::digest(params.encode_to_vec()).into()
}

/// CometBFT's `ABCIResults.Hash()`: the Merkle root of the deterministic
/// part of each tx result (`code`, `data`, `gas_wanted`, `gas_used`).
pub fn results_hash(results: &[pb::ExecTxResult]) -> [u8; 32] {
    let leaves: Vec<Vec<u8>> = results
        .iter()
        .map(|r| {
            pb::ExecTxResult {
                code: r.code,
                data: r.data.clone(),
                gas_wanted: r.gas_wanted,
                gas_used: r.gas_used,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect();
    merkle_root(&leaves)
}

/// A block id as CometBFT's proto (the zero id: empty hash and part set).
pub fn block_id_proto(id: &BlockId) -> pbt::BlockId {
    if id.is_zero() {
        return pbt::BlockId {
            hash: Vec::new(),
            part_set_header: Some(pbt::PartSetHeader::default()),
        };
    }
    pbt::BlockId {
        hash: id.hash.to_vec(),
        part_set_header: Some(pbt::PartSetHeader {
            total: id.parts.total,
            hash: id.parts.hash.to_vec(),
        }),
    }
}

/// One validator's `CommitSig` in a commit.
pub fn commit_sig_proto(v: &CommitVote) -> pbt::CommitSig {
    match (v.signed, v.signature) {
        (true, Some(signature)) => pbt::CommitSig {
            block_id_flag: pbt::BlockIdFlag::Commit as i32,
            validator_address: v.address.to_vec(),
            timestamp: Some(v.timestamp.timestamp()),
            signature: signature.to_vec(),
        },
        _ => pbt::CommitSig {
            block_id_flag: pbt::BlockIdFlag::Absent as i32,
            validator_address: Vec::new(),
            timestamp: Some(BlockTime::GO_ZERO.timestamp()),
            signature: Vec::new(),
        },
    }
}

/// A `Commit` of `height` and `round` for `block_id` with these votes (in
/// validator-set order).
pub fn commit_proto(
    height: u64,
    round: u32,
    block_id: &BlockId,
    votes: &[CommitVote],
) -> pbt::Commit {
    pbt::Commit {
        height: i64::try_from(height).unwrap_or(i64::MAX),
        round: i32::try_from(round).unwrap_or(i32::MAX),
        block_id: Some(block_id_proto(block_id)),
        signatures: votes.iter().map(commit_sig_proto).collect(),
    }
}

/// CometBFT's `Commit.Hash()`: the Merkle root of its `CommitSig` protos.
pub fn commit_hash(commit: &pbt::Commit) -> [u8; 32] {
    let leaves: Vec<Vec<u8>> = commit
        .signatures
        .iter()
        .map(Message::encode_to_vec)
        .collect();
    merkle_root(&leaves)
}

/// One evidence vote as CometBFT's `Vote`.
fn vote_proto(v: &EvidenceVote, validator_index: u32) -> pbt::Vote {
    pbt::Vote {
        r#type: i32::from(v.kind),
        height: i64::try_from(v.height).unwrap_or(i64::MAX),
        round: i32::try_from(v.round).unwrap_or(i32::MAX),
        block_id: Some(block_id_proto(&v.value.unwrap_or_default())),
        timestamp: Some(v.timestamp.timestamp()),
        validator_address: v.validator.to_vec(),
        validator_index: i32::try_from(validator_index).unwrap_or(i32::MAX),
        signature: v.signature.to_vec(),
        extension: Vec::new(),
        extension_signature: Vec::new(),
    }
}

/// A misbehavior record as CometBFT's `DuplicateVoteEvidence`.
pub fn duplicate_vote_proto(m: &Misbehavior) -> pbt::DuplicateVoteEvidence {
    let vote = |i: usize| m.votes.get(i).map(|v| vote_proto(v, m.validator_index));
    pbt::DuplicateVoteEvidence {
        vote_a: vote(0),
        vote_b: vote(1),
        total_voting_power: m.total_voting_power,
        validator_power: m.power,
        timestamp: Some(m.time.timestamp()),
    }
}

/// CometBFT's `EvidenceList.Hash()`: the Merkle root of each evidence's
/// own proto.
pub fn evidence_hash(misbehavior: &[Misbehavior]) -> [u8; 32] {
    let leaves: Vec<Vec<u8>> = misbehavior
        .iter()
        .map(|m| duplicate_vote_proto(m).encode_to_vec())
        .collect();
    merkle_root(&leaves)
}

impl DecidedBlock {
    /// The commit of the previous block this block records.
    pub fn last_commit_proto(&self) -> pbt::Commit {
        if self.last_block_id.is_zero() && self.last_commit.is_empty() {
            // CometBFT's first block records an empty commit.
            return commit_proto(0, 0, &BlockId::default(), &[]);
        }
        commit_proto(
            self.height.saturating_sub(1),
            self.last_commit_round,
            &self.last_block_id,
            &self.last_commit,
        )
    }

    /// The hashes of the block's own contents (last commit, txs, evidence),
    /// as its header must carry them.
    pub fn content_hashes(&self) -> ([u8; 32], [u8; 32], [u8; 32]) {
        (
            commit_hash(&self.last_commit_proto()),
            data_hash(&self.txs),
            evidence_hash(&self.misbehavior),
        )
    }

    /// Sets the header's hashes of the block's own contents: what a
    /// proposer does once its txs, last commit and evidence are final.
    pub fn seal(&mut self) {
        let (last_commit, data, evidence) = self.content_hashes();
        self.hashes.last_commit = last_commit;
        self.hashes.data = data;
        self.hashes.evidence = evidence;
    }

    /// The block's CometBFT header, from its fields as they are (checked
    /// against this node's state by `validity`).
    pub fn header(&self) -> Result<block::Header, HeaderError> {
        let height = i64::try_from(self.height)
            .ok()
            .and_then(|h| block::Height::try_from(h).ok())
            .ok_or(HeaderError::Height(self.height))?;
        let time = self
            .time
            .to_tendermint()
            .map_err(|source| HeaderError::Time {
                time: self.time,
                source,
            })?;
        let chain_id =
            tendermint::chain::Id::try_from(self.chain_id.clone()).map_err(|source| {
                HeaderError::ChainId {
                    chain_id: self.chain_id.clone(),
                    source,
                }
            })?;
        let last_block_id = if self.last_block_id.is_zero() {
            None
        } else {
            let parts = block::parts::Header::new(
                self.last_block_id.parts.total,
                Hash::Sha256(self.last_block_id.parts.hash),
            )
            .map_err(|source| HeaderError::LastBlockId {
                id: self.last_block_id,
                source,
            })?;
            Some(block::Id {
                hash: Hash::Sha256(self.last_block_id.hash),
                part_set_header: parts,
            })
        };
        let h = &self.hashes;
        Ok(block::Header {
            version: block::header::Version {
                block: BLOCK_PROTOCOL,
                app: self.version_app,
            },
            chain_id,
            height,
            time,
            last_block_id,
            last_commit_hash: Some(Hash::Sha256(h.last_commit)),
            data_hash: Some(Hash::Sha256(h.data)),
            validators_hash: Hash::Sha256(h.validators),
            next_validators_hash: Hash::Sha256(h.next_validators),
            consensus_hash: Hash::Sha256(h.consensus),
            app_hash: tendermint::AppHash::try_from(self.app_hash.clone()).unwrap_or_default(),
            last_results_hash: Some(Hash::Sha256(h.last_results)),
            evidence_hash: Some(Hash::Sha256(h.evidence)),
            proposer_address: tendermint::account::Id::new(self.proposer_address),
        })
    }

    /// The block as CometBFT's protobuf `Block`, with every non-nullable
    /// field present as Go's encoder writes it.
    pub fn to_proto(&self) -> Result<pbt::Block, HeaderError> {
        let mut header = pbt::Header::from(self.header()?);
        header.last_block_id = Some(block_id_proto(&self.last_block_id));
        Ok(pbt::Block {
            header: Some(header),
            data: Some(pbt::Data {
                txs: self.txs.clone(),
            }),
            evidence: Some(pbt::EvidenceList {
                evidence: self
                    .misbehavior
                    .iter()
                    .map(|m| pbt::Evidence {
                        sum: Some(pbt::evidence::Sum::DuplicateVoteEvidence(
                            duplicate_vote_proto(m),
                        )),
                    })
                    .collect(),
            }),
            last_commit: Some(self.last_commit_proto()),
        })
    }

    /// The block's id: its header hash and the part-set header of its
    /// protobuf encoding. What validators vote on.
    pub fn id(&self) -> Result<BlockId, HeaderError> {
        let hash = match self.header()?.hash() {
            Hash::Sha256(h) => h,
            Hash::None => [0; 32],
        };
        Ok(BlockId {
            hash,
            parts: part_set_header(&self.to_proto()?.encode_to_vec()),
        })
    }
}

#[cfg(test)]
mod tests;
