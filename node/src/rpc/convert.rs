//! Stored blocks as CometBFT's block types ([`super::cometbft::block`]):
//! headers, block ids, commits and evidence filled from what the block
//! store holds. Every block carries its CometBFT header fields, and its id
//! is computed as consensus computed it ([`crate::header`]), so what the RPC
//! shows is what validators signed.

use std::collections::BTreeMap;

use super::cometbft::{
    block::{
        Block, BlockId, Commit, CommitSig, DuplicateVoteEvidence, Header, PartSetHeader, Vote,
    },
    node::PROTOCOL_BLOCK,
};
use crate::{
    block::{commit_votes, signatures_of, CommitVote, DecidedBlock, Misbehavior},
    codec::{decode_certificate, CodecError},
    context,
    header::HeaderError,
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
    /// A stored block has no CometBFT header.
    #[error("stored block: {0}")]
    Header(#[from] HeaderError),
}

/// A consensus block id in the RPC's form.
pub fn rpc_block_id(id: &context::BlockId) -> BlockId {
    if id.is_zero() {
        return BlockId::default();
    }
    BlockId {
        hash: id.hash.to_vec(),
        parts: PartSetHeader {
            total: id.parts.total,
            hash: id.parts.hash.to_vec(),
        },
    }
}

/// The id of a stored block: as consensus decided it (computed again only
/// for a block stored without it).
pub fn block_id(store: &BlockStore, b: &DecidedBlock) -> Result<BlockId, ConvertError> {
    let id = match store.block_id(b.height)? {
        Some(id) => id,
        None => b.id()?,
    };
    Ok(rpc_block_id(&id))
}

/// The header of a stored block, as it carries it.
pub fn header(b: &DecidedBlock) -> Header {
    let h = &b.hashes;
    Header {
        version_block: PROTOCOL_BLOCK,
        version_app: b.version_app,
        chain_id: b.chain_id.clone(),
        height: b.height,
        time: b.time,
        last_block_id: rpc_block_id(&b.last_block_id),
        last_commit_hash: h.last_commit.to_vec(),
        data_hash: h.data.to_vec(),
        validators_hash: h.validators.to_vec(),
        next_validators_hash: h.next_validators.to_vec(),
        consensus_hash: h.consensus.to_vec(),
        app_hash: b.app_hash.clone(),
        last_results_hash: h.last_results.to_vec(),
        evidence_hash: h.evidence.to_vec(),
        proposer_address: b.proposer_address,
    }
}

/// The commit signatures of `votes` (validator-set order), each with its
/// vote's time.
fn signatures(votes: &[CommitVote]) -> Vec<CommitSig> {
    votes
        .iter()
        .map(|v| match (v.signed, v.signature) {
            (true, Some(signature)) => CommitSig::Commit {
                validator_address: v.address,
                timestamp: v.timestamp,
                signature: signature.to_vec(),
            },
            _ => CommitSig::Absent,
        })
        .collect()
}

/// The previous block's commit as `b` records it: the signatures its
/// proposer put in (checked by every validator); the zero commit at the
/// chain's first height.
pub fn last_commit(b: &DecidedBlock) -> Commit {
    if b.last_block_id.is_zero() && b.last_commit.is_empty() {
        return Commit::default();
    }
    Commit {
        height: b.height.saturating_sub(1),
        round: b.last_commit_round,
        block_id: rpc_block_id(&b.last_block_id),
        signatures: signatures(&b.last_commit),
    }
}

/// The commit of height `h` and whether it is canonical: the one the next
/// block records (canonical), else, for the latest block, the precommits
/// this node gathered (its stored certificate, not canonical). `None` if
/// no block is stored at `h`.
pub fn commit(store: &BlockStore, h: u64) -> Result<Option<(Commit, bool)>, ConvertError> {
    if let Some(next) = store.block(h + 1)? {
        return Ok(Some((last_commit(&next), true)));
    }
    let Some(b) = store.block(h)? else {
        return Ok(None);
    };
    let (Some(set), Some(certificate)) = (store.validators_at(h)?, store.certificate(h)?) else {
        return Ok(Some((
            Commit {
                height: h,
                round: b.round,
                block_id: block_id(store, &b)?,
                signatures: Vec::new(),
            },
            false,
        )));
    };
    let certificate = decode_certificate(&certificate)
        .map_err(|source| ConvertError::Certificate { height: h, source })?;
    let signed = signatures_of(
        certificate
            .commit_signatures
            .iter()
            .map(|s| (&s.address, &s.signature)),
    );
    let votes = commit_votes(
        set.iter()
            .map(|(key, power)| (synod_consensus_config::keys::key_hash(key), *power)),
        &signed,
    );
    Ok(Some((
        Commit {
            height: h,
            round: certificate.round.as_u32().unwrap_or(b.round),
            block_id: block_id(store, &b)?,
            signatures: signatures(&votes),
        },
        false,
    )))
}

/// A block's evidence as `DuplicateVoteEvidence`: the two signed votes,
/// each with its own time, and the offender's index in the set of the
/// infraction's height.
fn evidence(m: &Misbehavior) -> Option<DuplicateVoteEvidence> {
    let [a, b] = m.votes.as_slice() else {
        return None;
    };
    let vote = |v: &crate::evidence::EvidenceVote| Vote {
        kind: v.kind,
        height: v.height,
        round: v.round,
        block_id: rpc_block_id(&v.value.unwrap_or_default()),
        timestamp: v.timestamp,
        validator_address: v.validator,
        validator_index: i32::try_from(m.validator_index).unwrap_or(-1),
        signature: v.signature.to_vec(),
    };
    Some(DuplicateVoteEvidence {
        vote_a: vote(a),
        vote_b: vote(b),
        total_voting_power: m.total_voting_power,
        validator_power: m.power,
        timestamp: m.time,
    })
}

/// A stored block as CometBFT's `Block`.
pub fn block(b: &DecidedBlock) -> Block {
    Block {
        header: header(b),
        txs: b.txs.clone(),
        evidence: b.misbehavior.iter().filter_map(evidence).collect(),
        last_commit: last_commit(b),
    }
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
