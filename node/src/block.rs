//! Decided blocks as the node stores and replays them: exactly what
//! `FinalizeBlock` needs, in a canonical (borsh) encoding whose SHA-256 is the
//! block hash.

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};
use tendermint_proto::{google::protobuf::Timestamp, v0_38::abci as pb};

use crate::{context::BlockHash, evidence::EvidenceVote};

/// A header timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlockTime {
    pub seconds: i64,
    pub nanos: i32,
}

impl BlockTime {
    /// The local wall clock, for the blocks this node proposes and for the
    /// drift check on others' (never read by the app: it takes the header's).
    pub fn now() -> BlockTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        BlockTime {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The protobuf timestamp of this time, as ABCI carries it.
    pub fn timestamp(self) -> Timestamp {
        Timestamp {
            seconds: self.seconds,
            nanos: self.nanos,
        }
    }

    /// This time as the app's ABCI layer reads it (tendermint-rs' `Time`):
    /// refused, as there, unless `0 <= nanos < 10^9` and the date lies in
    /// the years 1 to 9999. A time the node lets through here but the app
    /// could not read would stop every app that receives the block.
    pub fn to_tendermint(self) -> Result<tendermint::Time, tendermint::Error> {
        tendermint::Time::try_from(self.timestamp())
    }

    /// This time plus `d`.
    pub fn plus(self, d: std::time::Duration) -> BlockTime {
        let total = self.as_nanos() + d.as_nanos() as i128;
        BlockTime {
            seconds: (total.div_euclid(1_000_000_000)) as i64,
            nanos: total.rem_euclid(1_000_000_000) as i32,
        }
    }
}

impl PartialOrd for BlockTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BlockTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_nanos().cmp(&other.as_nanos())
    }
}

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
}

/// Evidence of equivocation included in a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Misbehavior {
    pub address: [u8; 20],
    pub power: i64,
    /// Height of the infraction.
    pub height: u64,
    pub time: BlockTime,
    pub total_voting_power: i64,
    /// The two conflicting signed votes that prove it.
    pub votes: Vec<EvidenceVote>,
}

/// A block consensus decided.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DecidedBlock {
    pub height: u64,
    pub round: u32,
    pub time: BlockTime,
    pub proposer_address: [u8; 20],
    /// Hash of the previous block (zeros at the chain's first height).
    pub last_block_hash: [u8; 32],
    /// The app hash after the previous block (after InitChain at the first
    /// height): every validator checks it against its own app's.
    pub app_hash: Vec<u8>,
    /// Round of the previous block's commit and who signed it.
    pub last_commit_round: u32,
    pub last_commit: Vec<CommitVote>,
    pub misbehavior: Vec<Misbehavior>,
    pub next_validators_hash: [u8; 32],
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

    /// SHA-256 of the canonical encoding.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// The block's hash as the consensus value id.
    pub fn hash_ref(&self) -> BlockHash {
        BlockHash(self.hash())
    }

    /// The `ProcessProposal` request that asks the app to judge this block,
    /// proposed under `hash`.
    pub fn process_request(&self, hash: BlockHash) -> pb::RequestProcessProposal {
        pb::RequestProcessProposal {
            txs: self.txs.iter().map(|t| t.clone().into()).collect(),
            proposed_last_commit: None,
            misbehavior: vec![],
            hash: hash.0.to_vec().into(),
            height: self.height as i64,
            time: Some(self.time.timestamp()),
            next_validators_hash: vec![0; 32].into(),
            proposer_address: self.proposer_address.to_vec().into(),
        }
    }

    /// The `FinalizeBlock` request that executes this block.
    pub fn finalize_request(&self) -> pb::RequestFinalizeBlock {
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
            hash: self.hash().to_vec().into(),
            height: self.height as i64,
            time: ts(self.time),
            next_validators_hash: self.next_validators_hash.to_vec().into(),
            proposer_address: self.proposer_address.to_vec().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(seconds: i64, nanos: i32) -> BlockTime {
        BlockTime { seconds, nanos }
    }

    #[test]
    fn adding_durations_carries_nanoseconds() {
        assert_eq!(
            t(1, 900_000_000).plus(Duration::from_millis(200)),
            t(2, 100_000_000)
        );
    }
}
