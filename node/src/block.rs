//! Decided blocks as the node streams, stores and replays them: a CometBFT
//! block's header fields, last commit (with each signature's vote time),
//! evidence and txs, in a canonical (borsh) encoding. The block's CometBFT
//! header, protobuf form and id are computed from these fields (`header`).

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};
use tendermint_proto::v0_38::abci as pb;

pub use crate::time::BlockTime;
use crate::{
    context::{BlockId, TimedSignature, ValidatorAddress},
    evidence::EvidenceVote,
};

/// One validator's vote in the previous block's commit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitVote {
    /// CometBFT address of the validator's consensus key.
    pub address: [u8; 20],
    pub power: i64,
    /// `true` if its precommit for the block is in the certificate.
    pub signed: bool,
    /// The precommit's signature when `signed`: every validator checks it.
    pub signature: Option<[u8; 64]>,
    /// The precommit's own time (signed with it); ignored when not `signed`.
    pub timestamp: BlockTime,
}

/// Commit signatures by validator address: the signature and its vote's time.
pub type SignaturesByAddress = BTreeMap<[u8; 20], ([u8; 64], BlockTime)>;

/// Signatures by validator address, from (address, signature) pairs.
pub fn signatures_of<'a>(
    signatures: impl Iterator<Item = (&'a ValidatorAddress, &'a TimedSignature)>,
) -> SignaturesByAddress {
    signatures
        .map(|(a, s)| (a.0, (s.signature.to_bytes(), s.timestamp)))
        .collect()
}

/// Who signed a commit, in validator-set order, with their signatures.
pub fn commit_votes(
    set: impl Iterator<Item = ([u8; 20], u64)>,
    signatures: &SignaturesByAddress,
) -> Vec<CommitVote> {
    set.map(|(address, power)| {
        let signed = signatures.get(&address).copied();
        CommitVote {
            address,
            power: power as i64,
            signed: signed.is_some(),
            signature: signed.map(|(s, _)| s),
            timestamp: signed.map_or(BlockTime::GO_ZERO, |(_, t)| t),
        }
    })
    .collect()
}

/// Evidence of equivocation included in a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Misbehavior {
    pub address: [u8; 20],
    /// The offender's index in the validator set of the infraction's height.
    pub validator_index: u32,
    pub power: i64,
    /// Height of the infraction.
    pub height: u64,
    pub time: BlockTime,
    pub total_voting_power: i64,
    /// The two conflicting signed votes that prove it.
    pub votes: Vec<EvidenceVote>,
}

/// The hashes a CometBFT header carries besides the app hash. Every
/// validator recomputes each one before it votes for a block.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HeaderHashes {
    /// Merkle root of the last commit's `CommitSig` protos.
    pub last_commit: [u8; 32],
    /// Merkle root of the txs' SHA-256.
    pub data: [u8; 32],
    /// Merkle root of this height's validators (`SimpleValidator` protos).
    pub validators: [u8; 32],
    /// The same for the next height's validators.
    pub next_validators: [u8; 32],
    /// SHA-256 of `HashedParams` (block max bytes and max gas).
    pub consensus: [u8; 32],
    /// Merkle root of the previous block's deterministic `ExecTxResult`s.
    pub last_results: [u8; 32],
    /// Merkle root of the evidence protos.
    pub evidence: [u8; 32],
}

/// A block consensus decided.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DecidedBlock {
    /// The app protocol version the header carries (`version.app`).
    pub version_app: u64,
    pub chain_id: String,
    pub height: u64,
    /// The round it was proposed in (not part of CometBFT's block).
    pub round: u32,
    pub time: BlockTime,
    pub proposer_address: [u8; 20],
    /// Id of the previous block (zero at the chain's first height).
    pub last_block_id: BlockId,
    /// The app hash after the previous block (after InitChain at the first
    /// height): every validator checks it against its own app's.
    pub app_hash: Vec<u8>,
    pub hashes: HeaderHashes,
    /// Round of the previous block's commit and who signed it.
    pub last_commit_round: u32,
    pub last_commit: Vec<CommitVote>,
    pub misbehavior: Vec<Misbehavior>,
    pub txs: Vec<Vec<u8>>,
}

impl DecidedBlock {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Decodes a stored or received block.
    pub fn decode(bytes: &[u8]) -> Result<DecidedBlock, std::io::Error> {
        borsh::from_slice(bytes)
    }

    /// SHA-256 of the canonical encoding: a key for the store's undecided
    /// proposals, not the block's hash (that is its header's, `header`).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// The `ProcessProposal` request that asks the app to judge this block,
    /// whose header hash is `hash`.
    pub fn process_request(&self, hash: [u8; 32]) -> pb::RequestProcessProposal {
        pb::RequestProcessProposal {
            txs: self.txs.iter().map(|t| t.clone().into()).collect(),
            proposed_last_commit: None,
            misbehavior: vec![],
            hash: hash.to_vec().into(),
            height: self.height as i64,
            time: Some(self.time.timestamp()),
            next_validators_hash: self.hashes.next_validators.to_vec().into(),
            proposer_address: self.proposer_address.to_vec().into(),
        }
    }

    /// The `FinalizeBlock` request that executes this block, whose header
    /// hash is `hash`.
    pub fn finalize_request(&self, hash: [u8; 32]) -> pb::RequestFinalizeBlock {
        let ts = |t: BlockTime| Some(t.timestamp());
        pb::RequestFinalizeBlock {
            txs: self.txs.iter().map(|t| t.clone().into()).collect(),
            decided_last_commit: Some(pb::CommitInfo {
                round: self.last_commit_round as i32,
                votes: self
                    .last_commit
                    .iter()
                    .map(|v| pb::VoteInfo {
                        validator: Some(pb::Validator {
                            address: v.address.to_vec().into(),
                            power: v.power,
                        }),
                        // BlockIdFlag: 1 = absent, 2 = commit.
                        block_id_flag: if v.signed { 2 } else { 1 },
                    })
                    .collect(),
            }),
            misbehavior: self
                .misbehavior
                .iter()
                .map(|m| pb::Misbehavior {
                    r#type: pb::MisbehaviorType::DuplicateVote as i32,
                    validator: Some(pb::Validator {
                        address: m.address.to_vec().into(),
                        power: m.power,
                    }),
                    height: m.height as i64,
                    time: ts(m.time),
                    total_voting_power: m.total_voting_power,
                })
                .collect(),
            hash: hash.to_vec().into(),
            height: self.height as i64,
            time: ts(self.time),
            next_validators_hash: self.hashes.next_validators.to_vec().into(),
            proposer_address: self.proposer_address.to_vec().into(),
        }
    }
}
