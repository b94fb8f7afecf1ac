//! CometBFT's block types (`types/block.go`, `types/vote.go`,
//! `types/evidence.go`) as the RPC fills them from Synod's stored blocks,
//! each with the JSON CometBFT writes for it.

use serde_json::{json, Value};

use super::json::{base64, hex, int, time, zero_time};
use crate::block::BlockTime;

/// A `PartSetHeader`: how many 64 KiB parts the block was split into and
/// their Merkle root. The zero value (`{"total": 0, "hash": ""}`) is an
/// absent part set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartSetHeader {
    pub total: u32,
    pub hash: Vec<u8>,
}

/// A `BlockID`: the block hash and its part-set header. The zero value is
/// an absent id (a first block's `last_block_id`, a nil vote's block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockId {
    pub hash: Vec<u8>,
    pub parts: PartSetHeader,
}

impl BlockId {
    pub fn to_json(&self) -> Value {
        json!({
            "hash": hex(&self.hash),
            "parts": {"total": self.parts.total, "hash": hex(&self.parts.hash)},
        })
    }
}

/// A block `Header`. Hashes Synod does not compute yet are empty (`""`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub version_block: u64,
    pub version_app: u64,
    pub chain_id: String,
    pub height: u64,
    pub time: BlockTime,
    pub last_block_id: BlockId,
    pub last_commit_hash: Vec<u8>,
    pub data_hash: Vec<u8>,
    pub validators_hash: Vec<u8>,
    pub next_validators_hash: Vec<u8>,
    pub consensus_hash: Vec<u8>,
    pub app_hash: Vec<u8>,
    pub last_results_hash: Vec<u8>,
    pub evidence_hash: Vec<u8>,
    pub proposer_address: [u8; 20],
}

impl Header {
    pub fn to_json(&self) -> Value {
        json!({
            "version": {"block": int(self.version_block), "app": int(self.version_app)},
            "chain_id": self.chain_id,
            "height": int(self.height),
            "time": time(self.time),
            "last_block_id": self.last_block_id.to_json(),
            "last_commit_hash": hex(&self.last_commit_hash),
            "data_hash": hex(&self.data_hash),
            "validators_hash": hex(&self.validators_hash),
            "next_validators_hash": hex(&self.next_validators_hash),
            "consensus_hash": hex(&self.consensus_hash),
            "app_hash": hex(&self.app_hash),
            "last_results_hash": hex(&self.last_results_hash),
            "evidence_hash": hex(&self.evidence_hash),
            "proposer_address": hex(&self.proposer_address),
        })
    }
}

/// One validator's entry in a `Commit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitSig {
    /// No precommit from this validator (`block_id_flag` 1): empty address,
    /// zero time, null signature.
    Absent,
    /// A precommit for the block (`block_id_flag` 2).
    Commit {
        validator_address: [u8; 20],
        timestamp: BlockTime,
        signature: Vec<u8>,
    },
}

impl CommitSig {
    pub fn to_json(&self) -> Value {
        match self {
            CommitSig::Absent => json!({
                "block_id_flag": 1,
                "validator_address": "",
                "timestamp": zero_time(),
                "signature": null,
            }),
            CommitSig::Commit {
                validator_address,
                timestamp,
                signature,
            } => json!({
                "block_id_flag": 2,
                "validator_address": hex(validator_address),
                "timestamp": time(*timestamp),
                "signature": base64(signature),
            }),
        }
    }
}

/// A `Commit`: the precommits that decided a block. The zero value (height
/// 0, no signatures) is the last commit of a chain's first block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    pub height: u64,
    pub round: u32,
    pub block_id: BlockId,
    pub signatures: Vec<CommitSig>,
}

impl Commit {
    pub fn to_json(&self) -> Value {
        json!({
            "height": int(self.height),
            "round": self.round,
            "block_id": self.block_id.to_json(),
            "signatures": self.signatures.iter().map(CommitSig::to_json).collect::<Vec<_>>(),
        })
    }
}

/// A signed `Vote`, as duplicate-vote evidence carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// 1 prevote, 2 precommit.
    pub kind: u8,
    pub height: u64,
    pub round: u32,
    /// The zero id for a vote for nil.
    pub block_id: BlockId,
    pub timestamp: BlockTime,
    pub validator_address: [u8; 20],
    /// The validator's index in the set; -1 when the set is not known.
    pub validator_index: i32,
    pub signature: Vec<u8>,
}

impl Vote {
    pub fn to_json(&self) -> Value {
        json!({
            "type": self.kind,
            "height": int(self.height),
            "round": self.round,
            "block_id": self.block_id.to_json(),
            "timestamp": time(self.timestamp),
            "validator_address": hex(&self.validator_address),
            "validator_index": self.validator_index,
            "signature": base64(&self.signature),
            "extension": null,
            "extension_signature": null,
        })
    }
}

/// `DuplicateVoteEvidence`: two conflicting votes of one validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateVoteEvidence {
    pub vote_a: Vote,
    pub vote_b: Vote,
    pub total_voting_power: i64,
    pub validator_power: i64,
    pub timestamp: BlockTime,
}

impl DuplicateVoteEvidence {
    /// Wrapped in its registered type name, as the `Evidence` interface is.
    pub fn to_json(&self) -> Value {
        json!({
            "type": "tendermint/DuplicateVoteEvidence",
            "value": {
                "vote_a": self.vote_a.to_json(),
                "vote_b": self.vote_b.to_json(),
                "TotalVotingPower": int(self.total_voting_power),
                "ValidatorPower": int(self.validator_power),
                "Timestamp": time(self.timestamp),
            },
        })
    }
}

/// A `Block`: header, txs, evidence and the previous block's commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<Vec<u8>>,
    pub evidence: Vec<DuplicateVoteEvidence>,
    pub last_commit: Commit,
}

impl Block {
    pub fn to_json(&self) -> Value {
        json!({
            "header": self.header.to_json(),
            "data": {"txs": self.txs.iter().map(|t| base64(t)).collect::<Vec<_>>()},
            "evidence": {
                "evidence": self.evidence.iter().map(DuplicateVoteEvidence::to_json).collect::<Vec<_>>(),
            },
            "last_commit": self.last_commit.to_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_ids_and_commits_have_cometbfts_zero_shapes() {
        assert_eq!(
            BlockId::default().to_json(),
            json!({"hash": "", "parts": {"total": 0, "hash": ""}})
        );
        assert_eq!(
            Commit::default().to_json(),
            json!({"height": "0", "round": 0,
                   "block_id": {"hash": "", "parts": {"total": 0, "hash": ""}},
                   "signatures": []})
        );
        assert_eq!(
            CommitSig::Absent.to_json(),
            json!({"block_id_flag": 1, "validator_address": "",
                   "timestamp": "0001-01-01T00:00:00Z", "signature": null})
        );
    }
}
