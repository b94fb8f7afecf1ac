//! What every validator checks in a proposed block before its app sees it
//! (`ProcessProposal`): the header is for this chain and extends this node's
//! last block and app hash, every hash in it is the one this node computes
//! (validators, next validators, consensus params, last results from its
//! own state; last commit, data and evidence from the block's contents),
//! the record of the previous commit is true, the header time is the BFT
//! time of that record, and every piece of evidence proves itself.
//! A block that fails gets a nil vote, never a crash (DESIGN.md, trust
//! boundaries).

use malachitebft_app_channel::app::types::core::{NilOrVal, Round, VoteType};
use malachitebft_signing_ed25519::{PublicKey, Signature};

use crate::{
    block::{BlockTime, DecidedBlock},
    context::{vote_sign_bytes, BlockHeight, BlockId, ValidatorAddress, Vote},
    evidence::{verify_double_vote, EvidenceError},
    header::HeaderError,
    store::{BlockStore, StoreError, StoredValidator},
    time::bft_time,
};

/// Most equivocation records one block carries.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 16;

/// A boxed error from a crate this one cannot name (ed25519-consensus' key
/// error reaches us through Malachite's signing crate).
type KeyError = Box<dyn std::error::Error + Send + Sync>;

/// Why a proposed block is refused. The text is what the node logs with
/// "rejecting a proposal".
#[derive(Debug, thiserror::Error)]
pub enum InvalidBlock {
    /// The encoded block is larger than `consensus_params.block.max_bytes`.
    #[error("the block is {len} bytes, more than consensus_params.block.max_bytes = {max}")]
    TooLarge {
        /// Its encoded size.
        len: usize,
        /// The limit.
        max: u64,
    },
    /// The header names another app version than the chain's.
    #[error("the header's app version is {theirs}, the chain's is {ours}")]
    WrongAppVersion {
        /// The version the header carries.
        theirs: u64,
        /// The chain's.
        ours: u64,
    },
    /// The header is for another chain.
    #[error("the header is for chain {theirs:?}, not {ours:?}")]
    WrongChain {
        /// The chain id the header carries.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// The header names another parent block than ours.
    #[error("the header's last block id is {theirs}, ours is {ours}")]
    WrongLastBlock {
        /// The id the header carries.
        theirs: Box<BlockId>,
        /// The id of our last committed block.
        ours: Box<BlockId>,
    },
    /// The header names another app hash than ours.
    #[error(
        "the header's app hash is {}, this node's is {}",
        hex::encode(.theirs),
        hex::encode(.ours)
    )]
    WrongAppHash {
        /// The app hash the header carries.
        theirs: Vec<u8>,
        /// The app hash after our last committed block.
        ours: Vec<u8>,
    },
    /// A hash in the header is not the one this node computes.
    #[error(
        "the header's {field} is {}, this node computes {}",
        hex::encode(.theirs),
        hex::encode(.ours)
    )]
    WrongHash {
        /// The header field.
        field: &'static str,
        /// The hash the header carries.
        theirs: [u8; 32],
        /// The hash this node computes.
        ours: [u8; 32],
    },
    /// The block has no CometBFT header (and so no id to vote for).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The header time does not advance or runs ahead of our clock.
    #[error(transparent)]
    Time(#[from] BlockTimeError),
    /// The record of who signed the previous block is false or unprovable.
    #[error("bad last commit: {0}")]
    LastCommit(#[from] LastCommitError),
    /// A misbehavior record does not prove itself.
    #[error("bad evidence: {0}")]
    Evidence(#[from] InvalidEvidence),
    /// The app's ABCI layer could not read the request this block makes:
    /// every app that received it would stop.
    #[error("the app could not read this block's {request} request: {source}")]
    Unreadable {
        /// `ProcessProposal` or `FinalizeBlock`.
        request: &'static str,
        /// tendermint-rs' conversion error, as the app would meet it.
        source: tendermint::Error,
    },
}

/// Why a proposed block's time is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockTimeError {
    /// Every validator computes the header time from the block's record
    /// of the previous commit (BFT time); the proposer does not choose it.
    #[error("block time {got:?} is not the BFT time {expected:?} (the weighted median of the last commit's vote times)")]
    NotBftTime {
        /// The proposed block's time.
        got: BlockTime,
        /// The time computed from the block's last commit.
        expected: BlockTime,
    },
    /// Not a time the app's ABCI layer can read (nanoseconds outside
    /// `0..10^9`, a year outside 1..=9999).
    #[error("block time {got:?} is not a valid timestamp: {reason}")]
    OutOfRange {
        /// The proposed block's time.
        got: BlockTime,
        /// What tendermint-rs says is wrong with it.
        reason: String,
    },
}

/// Why a block's record of the previous commit is refused.
#[derive(Debug, thiserror::Error)]
pub enum LastCommitError {
    /// Nothing was committed before the chain's first block.
    #[error("the first block cannot carry a last commit")]
    OnFirstBlock,
    /// The store could not say who the previous validators were.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds no validator set for the previous height.
    #[error("no validator set recorded for height {height}")]
    NoValidatorSet {
        /// The previous height.
        height: u64,
    },
    /// The record lists more or fewer validators than the previous set.
    #[error("the last commit lists {listed} validators; height {height} had {expected}")]
    WrongLength {
        /// How many the block lists.
        listed: usize,
        /// The previous height.
        height: u64,
        /// How many validators that height had.
        expected: usize,
    },
    /// A stored consensus key is not an ed25519 key.
    #[error("{0}")]
    StoredKey(#[source] KeyError),
    /// The record's validators or powers differ from the previous set's.
    #[error("the last commit does not list height {height}'s validators in order")]
    NotInOrder {
        /// The previous height.
        height: u64,
    },
    /// A validator is marked as signed but no signature is given.
    #[error("{validator} is marked as signed without a signature")]
    MissingSignature {
        /// The validator marked as signed.
        validator: ValidatorAddress,
    },
    /// A precommit's time is not a valid timestamp.
    #[error("{validator}'s precommit time {time:?} is not a valid timestamp")]
    BadTime {
        /// The validator whose vote it is.
        validator: ValidatorAddress,
        /// The time given.
        time: BlockTime,
    },
    /// A precommit signature does not verify with the validator's key.
    #[error("{validator}'s precommit signature does not verify")]
    BadSignature {
        /// The validator whose signature fails.
        validator: ValidatorAddress,
    },
    /// Two thirds or less of the power signed: no commit at all.
    #[error("the last commit holds {signed} of {total} power: not more than two thirds")]
    NotEnoughPower {
        /// Power that signed.
        signed: u128,
        /// Power of the whole previous set.
        total: u128,
    },
}

/// Why a block's evidence is refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidEvidence {
    /// More records than one block may carry.
    #[error("{count} evidence records, at most {MAX_EVIDENCE_PER_BLOCK}")]
    TooMany {
        /// How many the block carries.
        count: usize,
    },
    /// Evidence can only be about heights before the block.
    #[error("evidence from height {height} is not in the past")]
    NotInThePast {
        /// The infraction's height.
        height: u64,
    },
    /// The record's time is not one the app's ABCI layer can read.
    #[error("evidence time {time:?} is not a valid timestamp: {reason}")]
    BadTime {
        /// The time the record carries.
        time: BlockTime,
        /// What tendermint-rs says is wrong with it.
        reason: String,
    },
    /// Equivocation is proven by exactly two votes.
    #[error("evidence needs exactly two votes")]
    NotTwoVotes,
    /// The votes are not the accused validator's at the accused height.
    #[error("evidence votes do not match its validator and height")]
    VotesMismatch,
    /// The store could not say who the validators were.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds no validator set for the infraction's height.
    #[error("no validator set recorded for height {height}")]
    NoValidatorSet {
        /// The infraction's height.
        height: u64,
    },
    /// The accused was not in the set of the infraction's height.
    #[error("evidence against someone who was not a validator")]
    NotAValidator,
    /// The record names another index in the set than the accused's.
    #[error("evidence names validator index {got}, the accused is at {expected}")]
    WrongIndex {
        /// The index the record names.
        got: u32,
        /// The accused's index in the set.
        expected: u32,
    },
    /// The record's power or total power differs from the stored set's.
    #[error("evidence misstates the validator's power")]
    WrongPower,
    /// The two votes do not prove equivocation.
    #[error(transparent)]
    DoubleVote(#[from] EvidenceError),
}

/// This node's view of the chain's tip, which a proposed block must extend,
/// and the hashes it expects in the next header.
#[derive(Clone, Copy, Debug)]
pub struct Tip<'a> {
    /// The chain id every signature is bound to.
    pub chain_id: &'a str,
    /// The app protocol version headers carry.
    pub version_app: u64,
    /// Id of our last committed block (zero before the first block).
    pub last_block_id: BlockId,
    /// Our app's hash after that block.
    pub last_app_hash: &'a [u8],
    /// Header time of our last committed block.
    pub last_block_time: Option<BlockTime>,
    /// The genesis time: the first block's header time.
    pub genesis_time: BlockTime,
    /// The hashes of the height's validators, the next height's, the
    /// consensus params and our last block's results.
    pub validators_hash: [u8; 32],
    pub next_validators_hash: [u8; 32],
    pub consensus_hash: [u8; 32],
    pub last_results_hash: [u8; 32],
}

/// What this node checks in a proposed block before the app sees it: its
/// header against our chain, last block, app hash and the hashes we
/// compute, its record of the last commit, its time, and its evidence.
pub fn check_proposed(
    tip: &Tip<'_>,
    store: &BlockStore,
    block: &DecidedBlock,
) -> Result<(), InvalidBlock> {
    check_header(tip, block)?;
    check_last_commit(tip, store, block)?;
    let expected = block_time_of(tip.genesis_time, tip.last_block_time, &block.last_commit);
    check_block_time(expected, block.time)?;
    check_evidence(tip.chain_id, store, block)?;
    check_readable(block)
}

/// Every header field of a proposed block that is not its own choice (its
/// time and txs are): the chain, the parent, the app hash, and each hash,
/// recomputed here. Each wrong one is named.
pub fn check_header(tip: &Tip<'_>, block: &DecidedBlock) -> Result<(), InvalidBlock> {
    if block.chain_id != tip.chain_id {
        return Err(InvalidBlock::WrongChain {
            theirs: block.chain_id.clone(),
            ours: tip.chain_id.to_owned(),
        });
    }
    if block.version_app != tip.version_app {
        return Err(InvalidBlock::WrongAppVersion {
            theirs: block.version_app,
            ours: tip.version_app,
        });
    }
    if block.last_block_id != tip.last_block_id {
        return Err(InvalidBlock::WrongLastBlock {
            theirs: Box::new(block.last_block_id),
            ours: Box::new(tip.last_block_id),
        });
    }
    if block.app_hash != tip.last_app_hash {
        return Err(InvalidBlock::WrongAppHash {
            theirs: block.app_hash.clone(),
            ours: tip.last_app_hash.to_vec(),
        });
    }
    let (last_commit, data, evidence) = block.content_hashes();
    let h = &block.hashes;
    for (field, theirs, ours) in [
        ("last_commit_hash", h.last_commit, last_commit),
        ("data_hash", h.data, data),
        ("validators_hash", h.validators, tip.validators_hash),
        (
            "next_validators_hash",
            h.next_validators,
            tip.next_validators_hash,
        ),
        ("consensus_hash", h.consensus, tip.consensus_hash),
        ("last_results_hash", h.last_results, tip.last_results_hash),
        ("evidence_hash", h.evidence, evidence),
    ] {
        if theirs != ours {
            return Err(InvalidBlock::WrongHash {
                field,
                theirs,
                ours,
            });
        }
    }
    Ok(())
}

/// A proposed block's encoded size against `block.max_bytes`: checked on
/// the bytes as received, before they are decoded.
pub fn check_size(len: usize, max_block_bytes: u64) -> Result<(), InvalidBlock> {
    if len as u64 > max_block_bytes {
        return Err(InvalidBlock::TooLarge {
            len,
            max: max_block_bytes,
        });
    }
    Ok(())
}

/// Node accepts, so the app can read: the requests this block makes of the
/// app go through the same conversion (tendermint-rs' domain types) that the
/// app's ABCI layer applies, so no field of a block this node votes for can
/// stop an app that executes it. The checks above give the clearer reasons;
/// this one catches whatever they do not name.
pub fn check_readable(block: &DecidedBlock) -> Result<(), InvalidBlock> {
    // The hash does not change whether a request reads; the block's id
    // may not even compute for a block refused here.
    let hash = block.digest();
    tendermint::abci::request::ProcessProposal::try_from(block.process_request(hash)).map_err(
        |source| InvalidBlock::Unreadable {
            request: "ProcessProposal",
            source,
        },
    )?;
    tendermint::abci::request::FinalizeBlock::try_from(block.finalize_request(hash)).map_err(
        |source| InvalidBlock::Unreadable {
            request: "FinalizeBlock",
            source,
        },
    )?;
    Ok(())
}

/// Checks a proposed block's header time: readable by the app, and the BFT
/// time of its last commit ([`bft_time`]).
pub fn check_block_time(expected: BlockTime, got: BlockTime) -> Result<(), BlockTimeError> {
    // Checked first and at every height, the first included: the app
    // cannot read any other time.
    if let Err(e) = got.to_tendermint() {
        return Err(BlockTimeError::OutOfRange {
            got,
            reason: e.to_string(),
        });
    }
    if got != expected {
        return Err(BlockTimeError::NotBftTime { got, expected });
    }
    Ok(())
}

/// The header time a block with `last_commit` must carry after a block at
/// `previous` (`None`: the chain's first block, which takes the genesis time).
pub fn block_time_of(
    genesis: BlockTime,
    previous: Option<BlockTime>,
    last_commit: &[crate::block::CommitVote],
) -> BlockTime {
    bft_time(
        genesis,
        previous,
        last_commit
            .iter()
            .filter(|v| v.signed)
            .map(|v| (v.timestamp, u64::try_from(v.power).unwrap_or(0))),
    )
}

/// A proposed block's record of the previous commit must be true: the
/// previous height's validators in order with their powers, a valid
/// precommit signature for every one marked as signed, and more than
/// two thirds of the power signed. (It drives rewards and downtime
/// jailing, so a proposer must not be able to invent it.)
fn check_last_commit(
    tip: &Tip<'_>,
    store: &BlockStore,
    block: &DecidedBlock,
) -> Result<(), LastCommitError> {
    if tip.last_block_id.is_zero() {
        return if block.last_commit.is_empty() {
            Ok(())
        } else {
            Err(LastCommitError::OnFirstBlock)
        };
    }
    let previous = block.height.saturating_sub(1);
    let set = store
        .validators_at(previous)?
        .ok_or(LastCommitError::NoValidatorSet { height: previous })?;
    verify_last_commit(tip.chain_id, &set, block)
}

/// Checks a block's record of the previous commit against the validator set
/// that decided the previous height: its validators in order with their
/// powers, a valid precommit signature for the previous block from every one
/// marked as signed, and more than two thirds of the power signed.
pub fn verify_last_commit(
    chain_id: &str,
    previous_set: &[StoredValidator],
    block: &DecidedBlock,
) -> Result<(), LastCommitError> {
    let previous = block.height.saturating_sub(1);
    if block.last_commit.len() != previous_set.len() {
        return Err(LastCommitError::WrongLength {
            listed: block.last_commit.len(),
            height: previous,
            expected: previous_set.len(),
        });
    }
    let mut total: u128 = 0;
    let mut signed: u128 = 0;
    for (v, (k, p)) in block.last_commit.iter().zip(previous_set) {
        let key = PublicKey::from_bytes(*k).map_err(|e| LastCommitError::StoredKey(e.into()))?;
        let address = ValidatorAddress::of(&key);
        if v.address != address.0 || v.power != *p as i64 {
            return Err(LastCommitError::NotInOrder { height: previous });
        }
        total += u128::from(*p);
        if !v.signed {
            continue;
        }
        let signature = v
            .signature
            .ok_or(LastCommitError::MissingSignature { validator: address })?;
        if v.timestamp.to_tendermint().is_err() {
            return Err(LastCommitError::BadTime {
                validator: address,
                time: v.timestamp,
            });
        }
        let vote = Vote {
            vote_type: VoteType::Precommit,
            height: BlockHeight(previous),
            round: Round::new(block.last_commit_round),
            value: NilOrVal::Val(block.last_block_id),
            validator: address,
            extension: None,
        };
        key.verify(
            &vote_sign_bytes(chain_id, &vote, v.timestamp),
            &Signature::from_bytes(signature),
        )
        .map_err(|_| LastCommitError::BadSignature { validator: address })?;
        signed += u128::from(*p);
    }
    if signed * 3 <= total * 2 {
        return Err(LastCommitError::NotEnoughPower { signed, total });
    }
    Ok(())
}

/// Every misbehavior record of a proposed block must prove itself: two
/// conflicting votes signed by a validator of that height, with its power.
fn check_evidence(
    chain_id: &str,
    store: &BlockStore,
    block: &DecidedBlock,
) -> Result<(), InvalidEvidence> {
    if block.misbehavior.len() > MAX_EVIDENCE_PER_BLOCK {
        return Err(InvalidEvidence::TooMany {
            count: block.misbehavior.len(),
        });
    }
    for m in &block.misbehavior {
        if m.height >= block.height {
            return Err(InvalidEvidence::NotInThePast { height: m.height });
        }
        if let Err(e) = m.time.to_tendermint() {
            return Err(InvalidEvidence::BadTime {
                time: m.time,
                reason: e.to_string(),
            });
        }
        let [a, b] = m.votes.as_slice() else {
            return Err(InvalidEvidence::NotTwoVotes);
        };
        if a.validator != m.address || a.height != m.height {
            return Err(InvalidEvidence::VotesMismatch);
        }
        for t in [a.timestamp, b.timestamp] {
            if let Err(e) = t.to_tendermint() {
                return Err(InvalidEvidence::BadTime {
                    time: t,
                    reason: e.to_string(),
                });
            }
        }
        let set = store
            .validators_at(m.height)?
            .ok_or(InvalidEvidence::NoValidatorSet { height: m.height })?;
        let total: u64 = set.iter().map(|(_, p)| p).sum();
        let (index, key, power) = set
            .iter()
            .enumerate()
            .find_map(|(i, (k, p))| {
                let pk = PublicKey::from_bytes(*k).ok()?;
                (ValidatorAddress::of(&pk).0 == m.address).then_some((i as u32, pk, *p))
            })
            .ok_or(InvalidEvidence::NotAValidator)?;
        if m.validator_index != index {
            return Err(InvalidEvidence::WrongIndex {
                got: m.validator_index,
                expected: index,
            });
        }
        if m.power != power as i64 || m.total_voting_power != total as i64 {
            return Err(InvalidEvidence::WrongPower);
        }
        verify_double_vote(chain_id, &key, a, b)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
