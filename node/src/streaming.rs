//! Blocks as streams of proposal parts: the proposer splits the encoded block
//! into `Init`, `Chunk`s and a signed `Fin`; receivers reassemble each stream
//! (parts may arrive in any order), then check the proposer's signature over
//! the whole before anyone executes the block.

use std::collections::BTreeMap;

use borsh::BorshSerialize;
use bytes::Bytes;
use malachitebft_app_channel::app::engine::util::streaming::StreamContent;
use malachitebft_app_channel::app::streaming::{StreamId, StreamMessage};
use malachitebft_app_channel::app::types::core::Round;
use malachitebft_signing_ed25519::{PrivateKey, PublicKey, Signature};
use sha2::{Digest, Sha256};

use crate::context::{BlockHash, BlockHeight, ProposalPart, ValidatorAddress};

/// Default size of a block chunk.
pub const DEFAULT_CHUNK_BYTES: usize = 64 * 1024;

/// A fully received proposal, not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedProposal {
    pub height: BlockHeight,
    pub round: Round,
    pub pol_round: Round,
    pub proposer: ValidatorAddress,
    pub block_bytes: Vec<u8>,
    pub signature: Signature,
}

impl ReceivedProposal {
    /// SHA-256 of the block bytes: the consensus value id.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash(Sha256::digest(&self.block_bytes).into())
    }

    /// Whether `key` (the proposer's consensus key) signed exactly these parts.
    pub fn verify(&self, chain_id: &str, key: &PublicKey) -> bool {
        let msg = fin_sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.pol_round,
            self.proposer,
            &self.block_hash(),
        );
        key.verify(&msg, &self.signature).is_ok()
    }
}

/// The bytes a proposer signs in the `Fin` part.
pub fn fin_sign_bytes(
    chain_id: &str,
    height: BlockHeight,
    round: Round,
    pol_round: Round,
    proposer: ValidatorAddress,
    block: &BlockHash,
) -> Vec<u8> {
    let mut out = b"synod-proposal-parts-v1\0".to_vec();
    let _ = (
        chain_id,
        height.0,
        round.as_i64(),
        pol_round.as_i64(),
        proposer.0,
        block.0,
    )
        .serialize(&mut out);
    out
}

/// The stream id of a proposal: height and round, big-endian.
pub fn stream_id(height: BlockHeight, round: Round) -> StreamId {
    let mut id = height.0.to_be_bytes().to_vec();
    id.extend_from_slice(&round.as_i64().to_be_bytes());
    StreamId::new(Bytes::from(id))
}

/// Splits an encoded block into the stream the proposer publishes.
#[allow(clippy::too_many_arguments)]
pub fn split_block(
    chain_id: &str,
    key: &PrivateKey,
    height: BlockHeight,
    round: Round,
    pol_round: Round,
    proposer: ValidatorAddress,
    block_bytes: &[u8],
    chunk_bytes: usize,
) -> Vec<StreamMessage<ProposalPart>> {
    let id = stream_id(height, round);
    let mut parts = vec![ProposalPart::Init {
        height,
        round,
        pol_round,
        proposer,
    }];
    parts.extend(
        block_bytes
            .chunks(chunk_bytes.max(1))
            .map(|c| ProposalPart::Chunk(Bytes::copy_from_slice(c))),
    );
    let hash = BlockHash(Sha256::digest(block_bytes).into());
    let signature = key.sign(&fin_sign_bytes(
        chain_id, height, round, pol_round, proposer, &hash,
    ));
    parts.push(ProposalPart::Fin { signature });
    let mut out: Vec<StreamMessage<ProposalPart>> = parts
        .into_iter()
        .enumerate()
        .map(|(seq, part)| StreamMessage::new(id.clone(), seq as u64, StreamContent::Data(part)))
        .collect();
    out.push(StreamMessage::new(id, out.len() as u64, StreamContent::Fin));
    out
}

/// Why a stream was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StreamError {
    #[error("stream {stream} sent sequence {sequence} twice with different content")]
    Conflicting { stream: String, sequence: u64 },
    #[error("stream {stream} exceeds {max} bytes")]
    TooLarge { stream: String, max: usize },
    #[error("stream {stream} is malformed: {reason}")]
    Malformed {
        stream: String,
        reason: &'static str,
    },
    #[error("too many open streams ({max}); dropping the new one")]
    TooManyStreams { max: usize },
}

#[derive(Debug, Default)]
struct PartialStream {
    parts: BTreeMap<u64, ProposalPart>,
    end: Option<u64>,
    bytes: usize,
}

/// Reassembles proposal streams from many publishers, in any order.
#[derive(Debug)]
pub struct PartStreams<P: Ord + Clone> {
    streams: BTreeMap<(P, StreamId), PartialStream>,
    max_streams: usize,
    max_stream_bytes: usize,
}

impl<P: Ord + Clone> PartStreams<P> {
    /// At most `max_streams` open streams of at most `max_stream_bytes` each.
    pub fn new(max_streams: usize, max_stream_bytes: usize) -> PartStreams<P> {
        PartStreams {
            streams: BTreeMap::new(),
            max_streams,
            max_stream_bytes,
        }
    }

    /// Number of unfinished streams held.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Adds one message; returns the proposal once its stream is complete.
    /// A malformed or oversized stream is dropped with the reason.
    pub fn insert(
        &mut self,
        publisher: P,
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<ReceivedProposal>, StreamError> {
        let key = (publisher, msg.stream_id.clone());
        let name = msg.stream_id.to_string();
        if !self.streams.contains_key(&key) && self.streams.len() >= self.max_streams {
            return Err(StreamError::TooManyStreams {
                max: self.max_streams,
            });
        }
        let stream = self.streams.entry(key.clone()).or_default();
        let result = Self::add(stream, msg, &name, self.max_stream_bytes);
        match result {
            Err(e) => {
                self.streams.remove(&key);
                Err(e)
            }
            Ok(true) => {
                let stream = self.streams.remove(&key).unwrap_or_default();
                Self::assemble(stream, &name).map(Some)
            }
            Ok(false) => Ok(None),
        }
    }

    /// Adds a message to a stream; `true` once every sequence up to the end is in.
    fn add(
        stream: &mut PartialStream,
        msg: StreamMessage<ProposalPart>,
        name: &str,
        max: usize,
    ) -> Result<bool, StreamError> {
        let malformed = |reason| StreamError::Malformed {
            stream: name.to_string(),
            reason,
        };
        match msg.content {
            StreamContent::Fin => {
                if stream.end.is_some_and(|e| e != msg.sequence) {
                    return Err(malformed("two different ends"));
                }
                if stream
                    .parts
                    .keys()
                    .next_back()
                    .is_some_and(|last| *last >= msg.sequence)
                {
                    return Err(malformed("a part after the end"));
                }
                stream.end = Some(msg.sequence);
            }
            StreamContent::Data(part) => {
                if stream.end.is_some_and(|e| msg.sequence >= e) {
                    return Err(malformed("a part after the end"));
                }
                if let Some(existing) = stream.parts.get(&msg.sequence) {
                    if existing != &part {
                        return Err(StreamError::Conflicting {
                            stream: name.to_string(),
                            sequence: msg.sequence,
                        });
                    }
                    return Ok(false);
                }
                if let ProposalPart::Chunk(c) = &part {
                    stream.bytes += c.len();
                    if stream.bytes > max {
                        return Err(StreamError::TooLarge {
                            stream: name.to_string(),
                            max,
                        });
                    }
                }
                stream.parts.insert(msg.sequence, part);
            }
        }
        Ok(stream.end.is_some_and(|e| stream.parts.len() as u64 == e))
    }

    fn assemble(stream: PartialStream, name: &str) -> Result<ReceivedProposal, StreamError> {
        let malformed = |reason| StreamError::Malformed {
            stream: name.to_string(),
            reason,
        };
        let mut parts = stream.parts.into_values();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = parts.next()
        else {
            return Err(malformed("does not start with Init"));
        };
        let mut block_bytes = Vec::with_capacity(stream.bytes);
        let mut signature = None;
        for part in parts {
            match (part, &signature) {
                (ProposalPart::Chunk(c), None) => block_bytes.extend_from_slice(&c),
                (ProposalPart::Fin { signature: s }, None) => signature = Some(s),
                (ProposalPart::Init { .. }, _) => return Err(malformed("a second Init")),
                (_, Some(_)) => return Err(malformed("a part after the signed Fin")),
            }
        }
        let signature = signature.ok_or_else(|| malformed("no signed Fin part"))?;
        Ok(ReceivedProposal {
            height,
            round,
            pol_round,
            proposer,
            block_bytes,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> PrivateKey {
        PrivateKey::from([7u8; 32])
    }

    fn me() -> ValidatorAddress {
        ValidatorAddress::of(&key().public_key())
    }

    fn stream(block: &[u8], chunk: usize) -> Vec<StreamMessage<ProposalPart>> {
        split_block(
            "synod-test",
            &key(),
            BlockHeight(9),
            Round::new(2),
            Round::Nil,
            me(),
            block,
            chunk,
        )
    }

    proptest! {
        #[test]
        fn a_stream_delivered_in_any_order_reassembles_once_and_verifies(
            block in proptest::collection::vec(any::<u8>(), 0..2_000),
            chunk in 1usize..300,
            order in any::<u64>(),
        ) {
            let mut msgs = stream(&block, chunk);
            // A deterministic shuffle from `order`.
            let mut s = order | 1;
            for i in (1..msgs.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                msgs.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let mut streams = PartStreams::<u8>::new(4, 1 << 20);
            let mut done = Vec::new();
            for m in msgs {
                if let Some(p) = streams.insert(1, m).unwrap() {
                    done.push(p);
                }
            }
            prop_assert_eq!(done.len(), 1);
            let p = &done[0];
            prop_assert_eq!(&p.block_bytes, &block);
            prop_assert_eq!((p.height, p.round, p.proposer), (BlockHeight(9), Round::new(2), me()));
            prop_assert!(p.verify("synod-test", &key().public_key()));
            prop_assert!(!p.verify("other-chain", &key().public_key()));
            prop_assert_eq!(streams.open_streams(), 0);
        }
    }

    #[test]
    fn a_tampered_chunk_fails_the_signature_check() {
        let mut msgs = stream(b"the real block bytes", 4);
        msgs[2] = StreamMessage::new(
            msgs[2].stream_id.clone(),
            2,
            StreamContent::Data(ProposalPart::Chunk(Bytes::from_static(b"EVIL"))),
        );
        let mut streams = PartStreams::<u8>::new(4, 1 << 20);
        let p = msgs
            .into_iter()
            .find_map(|m| streams.insert(1, m).unwrap())
            .unwrap();
        assert!(!p.verify("synod-test", &key().public_key()));
        let stranger = PrivateKey::from([8u8; 32]).public_key();
        assert!(
            !p.verify("synod-test", &stranger),
            "another key did not sign it"
        );
    }

    #[test]
    fn conflicting_oversized_and_headless_streams_are_dropped_with_a_reason() {
        let msgs = stream(&[1u8; 100], 10);
        let mut streams = PartStreams::<u8>::new(4, 50);
        let mut err = None;
        for m in msgs.clone() {
            if let Err(e) = streams.insert(1, m) {
                err = Some(e);
                break;
            }
        }
        assert!(matches!(err, Some(StreamError::TooLarge { max: 50, .. })));
        assert_eq!(streams.open_streams(), 0, "a dropped stream frees its room");

        let mut streams = PartStreams::<u8>::new(4, 1 << 20);
        streams.insert(1, msgs[1].clone()).unwrap();
        let clash = StreamMessage::new(
            msgs[1].stream_id.clone(),
            1,
            StreamContent::Data(ProposalPart::Chunk(Bytes::from_static(b"other"))),
        );
        assert!(matches!(
            streams.insert(1, clash),
            Err(StreamError::Conflicting { sequence: 1, .. })
        ));

        // Without Init: every sequence present but the first is a chunk.
        let mut streams = PartStreams::<u8>::new(4, 1 << 20);
        let mut headless = msgs.clone();
        headless[0] = StreamMessage::new(
            msgs[0].stream_id.clone(),
            0,
            StreamContent::Data(ProposalPart::Chunk(Bytes::from_static(b"x"))),
        );
        let last = headless
            .into_iter()
            .map(|m| streams.insert(1, m))
            .last()
            .unwrap();
        assert!(matches!(
            last,
            Err(StreamError::Malformed {
                reason: "does not start with Init",
                ..
            })
        ));

        // The same stream id from two publishers are two streams; the limit counts them.
        let mut streams = PartStreams::<u8>::new(1, 1 << 20);
        streams.insert(1, msgs[1].clone()).unwrap();
        assert!(matches!(
            streams.insert(2, msgs[1].clone()),
            Err(StreamError::TooManyStreams { max: 1 })
        ));
    }
}
