//! Stored blocks and results as the tendermint-rs types CometBFT's RPC
//! returns, so `tendermint-rpc` clients parse them unchanged.
//!
//! Synod's block hash is the SHA-256 of the block's canonical encoding (see
//! [`crate::block`]), not CometBFT's Merkle root of the header; it is the
//! same hash everywhere this node reports one.

use sha2::{Digest, Sha256};
use tendermint::{
    abci, account, block, block::header::Version, block::parts, chain, AppHash, Hash, Time,
};
use tendermint_proto::v0_38::abci as pb;

use crate::{
    block::BlockTime,
    block::DecidedBlock,
    store::{BlockStore, StoreError},
};

/// Why a stored record could not be shown as tendermint-rs types. The RPC
/// answers each as an internal error with this text.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The block store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A block time is out of tendermint's range.
    #[error("block time {time:?}: {source}")]
    Time {
        /// The stored time.
        time: BlockTime,
        /// What tendermint refused.
        source: tendermint::Error,
    },
    /// A height is out of tendermint's range.
    #[error("height {height}: {source}")]
    Height {
        /// The stored height.
        height: u64,
        /// What tendermint refused.
        source: tendermint::Error,
    },
    /// The node's chain id is not a valid tendermint chain id.
    #[error("{source}")]
    ChainId {
        /// The node's chain id.
        chain_id: String,
        /// What tendermint refused.
        source: tendermint::Error,
    },
    /// A stored app hash is not a valid tendermint app hash.
    #[error("{source}")]
    AppHash {
        /// The stored app hash.
        app_hash: Vec<u8>,
        /// What tendermint refused.
        source: tendermint::Error,
    },
    /// A stored commit round is out of tendermint's range.
    #[error("{source}")]
    Round {
        /// The stored round.
        round: u32,
        /// What tendermint refused.
        source: tendermint::Error,
    },
    /// The app's `FinalizeBlock` answer is not a valid tendermint response.
    #[error("{0}")]
    FinalizeBlock(#[source] tendermint::Error),
}

/// A block time as tendermint's `Time`.
pub fn time(t: BlockTime) -> Result<Time, ConvertError> {
    Time::from_unix_timestamp(t.seconds, t.nanos.max(0) as u32)
        .map_err(|source| ConvertError::Time { time: t, source })
}

/// A height as tendermint's `Height`.
pub fn height(h: u64) -> Result<block::Height, ConvertError> {
    block::Height::try_from(h).map_err(|source| ConvertError::Height { height: h, source })
}

/// A block hash as tendermint's block id (Synod has no part sets).
pub fn block_id(hash: [u8; 32]) -> block::Id {
    block::Id {
        hash: Hash::Sha256(hash),
        part_set_header: parts::Header::default(),
    }
}

/// SHA-256 of the validator set recorded for `h` (borsh of (key, power) pairs).
fn validators_hash(store: &BlockStore, h: u64) -> Result<Hash, ConvertError> {
    match store.validators_at(h)? {
        Some(set) => Ok(Hash::Sha256(
            Sha256::digest(borsh::to_vec(&set).unwrap_or_default()).into(),
        )),
        None => Ok(Hash::None),
    }
}

/// The header of a stored block.
pub fn header(
    store: &BlockStore,
    chain_id: &str,
    b: &DecidedBlock,
) -> Result<block::Header, ConvertError> {
    let data: Vec<u8> = b
        .txs
        .iter()
        .flat_map(|t| Sha256::digest(t).to_vec())
        .collect();
    Ok(block::Header {
        version: Version { block: 11, app: 0 },
        chain_id: chain::Id::try_from(chain_id.to_owned()).map_err(|source| {
            ConvertError::ChainId {
                chain_id: chain_id.to_owned(),
                source,
            }
        })?,
        height: height(b.height)?,
        time: time(b.time)?,
        last_block_id: (b.last_block_hash != [0; 32]).then(|| block_id(b.last_block_hash)),
        last_commit_hash: None,
        data_hash: Some(Hash::Sha256(Sha256::digest(data).into())),
        validators_hash: validators_hash(store, b.height)?,
        next_validators_hash: validators_hash(store, b.height + 1)?,
        consensus_hash: Hash::None,
        app_hash: AppHash::try_from(b.app_hash.clone()).map_err(|source| {
            ConvertError::AppHash {
                app_hash: b.app_hash.clone(),
                source,
            }
        })?,
        last_results_hash: None,
        evidence_hash: None,
        proposer_address: account::Id::new(b.proposer_address),
    })
}

/// The commit of height `h` as the next block records it: who signed, and
/// their precommit signatures.
pub fn commit(store: &BlockStore, h: u64) -> Result<Option<block::Commit>, ConvertError> {
    let (Some(decided), Some(next)) = (store.block(h)?, store.block(h + 1)?) else {
        return Ok(None);
    };
    let timestamp = time(next.time)?;
    let signatures = next
        .last_commit
        .iter()
        // The signatures are the ones the next block carries (its proposer's
        // certificate, checked by every validator), not this node's own
        // certificate, which may hold a different quorum of precommits.
        .map(|v| {
            match (
                v.signed,
                v.signature
                    .as_ref()
                    .map(|s| tendermint::Signature::try_from(s.as_slice())),
            ) {
                (true, Some(Ok(signature))) => block::CommitSig::BlockIdFlagCommit {
                    validator_address: account::Id::new(v.address),
                    timestamp,
                    signature: Some(signature),
                },
                _ => block::CommitSig::BlockIdFlagAbsent,
            }
        })
        .collect();
    Ok(Some(block::Commit {
        height: height(h)?,
        round: block::Round::try_from(next.last_commit_round).map_err(|source| {
            ConvertError::Round {
                round: next.last_commit_round,
                source,
            }
        })?,
        block_id: block_id(decided.hash()),
        signatures,
    }))
}

/// A stored block as tendermint's `Block`.
pub fn block(
    store: &BlockStore,
    chain_id: &str,
    b: &DecidedBlock,
) -> Result<tendermint::Block, ConvertError> {
    let last_commit = match b.height.checked_sub(1) {
        Some(prev) if prev > 0 => commit(store, prev)?,
        _ => None,
    };
    Ok(tendermint::Block::new(
        header(store, chain_id, b)?,
        b.txs.clone(),
        tendermint::evidence::List::default(),
        last_commit,
    ))
}

/// The app's `FinalizeBlock` answer as tendermint's domain type.
pub fn finalize_block(
    r: &pb::ResponseFinalizeBlock,
) -> Result<abci::response::FinalizeBlock, ConvertError> {
    abci::response::FinalizeBlock::try_from(r.clone()).map_err(ConvertError::FinalizeBlock)
}

/// The attributes of ABCI events, flattened as CometBFT indexes them:
/// `type.key` -> values.
pub fn proto_event_attributes(
    events: &[tendermint_proto::v0_38::abci::Event],
    into: &mut std::collections::BTreeMap<String, Vec<String>>,
) {
    for e in events {
        for a in &e.attributes {
            into.entry(format!("{}.{}", e.r#type, a.key))
                .or_default()
                .push(a.value.clone());
        }
    }
}

/// [`proto_event_attributes`] of the domain type's events.
pub fn event_attributes(
    events: &[abci::Event],
    into: &mut std::collections::BTreeMap<String, Vec<String>>,
) {
    for e in events {
        for a in &e.attributes {
            let (Ok(k), Ok(v)) = (a.key_str(), a.value_str()) else {
                continue;
            };
            into.entry(format!("{}.{}", e.kind, k))
                .or_default()
                .push(v.to_owned());
        }
    }
}
