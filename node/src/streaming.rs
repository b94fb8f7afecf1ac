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
    #[error("{publisher_streams} open streams from this publisher, the most one may have; dropping the new one")]
    TooManyFromPublisher { publisher_streams: usize },
    #[error("open streams would hold more than {max} bytes in all; dropping stream {stream}")]
    TooMuchBuffered { stream: String, max: usize },
    #[error("stream {stream} is for height {height}, outside {from}..={to}: not a proposal this node can use")]
    OutOfWindow {
        stream: String,
        height: u64,
        from: u64,
        to: u64,
    },
}

/// Bounds on what unfinished proposal streams may hold. A peer can open
/// streams and never finish them; these keep one peer from crowding out the
/// others and every peer together from exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Open streams in all.
    pub max_streams: usize,
    /// Open streams of one publisher (a proposer has one per round it proposes in).
    pub max_streams_per_publisher: usize,
    /// Bytes of one stream (its block).
    pub max_stream_bytes: usize,
    /// Bytes of all open streams together.
    pub max_total_bytes: usize,
    /// How many heights past the current one a stream may be for (a node a
    /// little behind still keeps the next proposals); older heights are dropped.
    pub heights_ahead: u64,
}

impl Default for StreamLimits {
    /// 256 streams, 8 per publisher, 64 MiB each and 256 MiB in all, for the
    /// current height and the next two.
    fn default() -> StreamLimits {
        StreamLimits {
            max_streams: 256,
            max_streams_per_publisher: 8,
            max_stream_bytes: 64 << 20,
            max_total_bytes: 256 << 20,
            heights_ahead: 2,
        }
    }
}

/// The height a proposal stream id names (see [`stream_id`]).
fn stream_height(id: &StreamId) -> Option<u64> {
    let bytes = id.to_bytes();
    if bytes.len() != 16 {
        return None;
    }
    bytes[..8].try_into().ok().map(u64::from_be_bytes)
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
    limits: StreamLimits,
    /// Bytes held by all open streams.
    total_bytes: usize,
    /// The current height: streams for lower heights are dropped.
    height: u64,
}

impl<P: Ord + Clone> PartStreams<P> {
    /// At most `max_streams` open streams of at most `max_stream_bytes` each,
    /// with no other limit (any height, any share per publisher).
    pub fn new(max_streams: usize, max_stream_bytes: usize) -> PartStreams<P> {
        PartStreams::with_limits(StreamLimits {
            max_streams,
            max_streams_per_publisher: max_streams,
            max_stream_bytes,
            max_total_bytes: usize::MAX,
            heights_ahead: u64::MAX,
        })
    }

    /// Streams under `limits`, for any height until [`PartStreams::advance`].
    pub fn with_limits(limits: StreamLimits) -> PartStreams<P> {
        PartStreams {
            streams: BTreeMap::new(),
            limits,
            total_bytes: 0,
            height: 0,
        }
    }

    /// Number of unfinished streams held.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Bytes the unfinished streams hold.
    pub fn buffered_bytes(&self) -> usize {
        self.total_bytes
    }

    /// Consensus is at `height`: drops every stream for a lower one (it can
    /// never be used), and refuses them from now on.
    pub fn advance(&mut self, height: u64) {
        self.height = height;
        let stale: Vec<(P, StreamId)> = self
            .streams
            .keys()
            .filter(|(_, id)| stream_height(id).is_none_or(|h| h < height))
            .cloned()
            .collect();
        for key in stale {
            if let Some(s) = self.streams.remove(&key) {
                self.total_bytes -= s.bytes;
            }
        }
    }

    fn remove(&mut self, key: &(P, StreamId)) -> Option<PartialStream> {
        let s = self.streams.remove(key)?;
        self.total_bytes -= s.bytes;
        Some(s)
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
        if !self.streams.contains_key(&key) {
            self.admit(&key, &name)?;
        }
        let stream = self.streams.entry(key.clone()).or_default();
        let before = stream.bytes;
        let result = Self::add(stream, msg, &name, self.limits.max_stream_bytes);
        let added = stream.bytes - before;
        self.total_bytes += added;
        if result.is_ok() && self.total_bytes > self.limits.max_total_bytes {
            self.remove(&key);
            return Err(StreamError::TooMuchBuffered {
                stream: name,
                max: self.limits.max_total_bytes,
            });
        }
        match result {
            Err(e) => {
                self.remove(&key);
                Err(e)
            }
            Ok(true) => {
                let stream = self.remove(&key).unwrap_or_default();
                Self::assemble(stream, &name).map(Some)
            }
            Ok(false) => Ok(None),
        }
    }

    /// Whether a new stream may open: for a height in the window, within
    /// the publisher's share and the total count.
    fn admit(&self, key: &(P, StreamId), name: &str) -> Result<(), StreamError> {
        let (publisher, id) = key;
        let to = self.height.saturating_add(self.limits.heights_ahead);
        match stream_height(id) {
            Some(height) if (self.height..=to).contains(&height) => {}
            Some(height) => {
                return Err(StreamError::OutOfWindow {
                    stream: name.to_string(),
                    height,
                    from: self.height,
                    to,
                })
            }
            None => {
                return Err(StreamError::Malformed {
                    stream: name.to_string(),
                    reason: "its id is not a height and a round",
                })
            }
        }
        let from_publisher = self
            .streams
            .range((publisher.clone(), StreamId::new(Bytes::new()))..)
            .take_while(|((p, _), _)| p == publisher)
            .count();
        if from_publisher >= self.limits.max_streams_per_publisher {
            return Err(StreamError::TooManyFromPublisher {
                publisher_streams: from_publisher,
            });
        }
        if self.streams.len() >= self.limits.max_streams {
            return Err(StreamError::TooManyStreams {
                max: self.limits.max_streams,
            });
        }
        Ok(())
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

    fn limits() -> StreamLimits {
        StreamLimits {
            max_streams: 6,
            max_streams_per_publisher: 2,
            max_stream_bytes: 1_000,
            max_total_bytes: 2_500,
            heights_ahead: 2,
        }
    }

    /// The first part of a stream for `height`, round `round`.
    fn opening(height: u64, round: u32) -> StreamMessage<ProposalPart> {
        StreamMessage::new(
            stream_id(BlockHeight(height), Round::new(round)),
            0,
            StreamContent::Data(ProposalPart::Init {
                height: BlockHeight(height),
                round: Round::new(round),
                pol_round: Round::Nil,
                proposer: me(),
            }),
        )
    }

    fn chunk(height: u64, round: u32, seq: u64, len: usize) -> StreamMessage<ProposalPart> {
        StreamMessage::new(
            stream_id(BlockHeight(height), Round::new(round)),
            seq,
            StreamContent::Data(ProposalPart::Chunk(Bytes::from(vec![1u8; len]))),
        )
    }

    #[test]
    fn one_publisher_cannot_crowd_out_the_others() {
        let mut streams = PartStreams::<u8>::with_limits(limits());
        streams.advance(10);
        assert_eq!(streams.insert(1, opening(10, 0)), Ok(None));
        assert_eq!(streams.insert(1, opening(10, 1)), Ok(None));
        // Its third unfinished stream is refused ...
        assert!(matches!(
            streams.insert(1, opening(10, 2)),
            Err(StreamError::TooManyFromPublisher {
                publisher_streams: 2
            })
        ));
        // ... while others still open theirs, and a finished stream frees a slot.
        assert_eq!(streams.insert(2, opening(10, 0)), Ok(None));
        // A whole stream (height 9) from a third publisher completes.
        let whole = stream(b"a block", 3);
        streams.advance(9);
        let mut done = None;
        for m in whole {
            done = streams.insert(3, m).unwrap();
        }
        assert!(done.is_some());
        assert_eq!(streams.open_streams(), 3);
    }

    #[test]
    fn streams_outside_the_height_window_are_refused_and_old_ones_dropped() {
        let mut streams = PartStreams::<u8>::with_limits(limits());
        streams.advance(10);
        for (height, ok) in [(9, false), (10, true), (12, true), (13, false)] {
            let r = streams.insert(u8::try_from(height).unwrap(), opening(height, 0));
            assert_eq!(r.is_ok(), ok, "height {height}: {r:?}");
        }
        assert!(matches!(
            streams.insert(1, opening(1_000_000, 0)),
            Err(StreamError::OutOfWindow {
                height: 1_000_000,
                ..
            })
        ));
        let odd = StreamMessage::new(
            StreamId::new(Bytes::from_static(b"short")),
            0,
            StreamContent::Fin,
        );
        assert!(matches!(
            streams.insert(1, odd),
            Err(StreamError::Malformed { .. })
        ));
        assert_eq!(streams.open_streams(), 2);
        streams.insert(10, chunk(10, 0, 1, 400)).unwrap();
        assert_eq!(streams.buffered_bytes(), 400);
        // Height 12 starts: the stream of height 10 can no longer be used.
        streams.advance(12);
        assert_eq!(streams.open_streams(), 1);
        assert_eq!(streams.buffered_bytes(), 0);
    }

    #[test]
    fn all_open_streams_together_stay_within_the_memory_bound() {
        let mut streams = PartStreams::<u8>::with_limits(limits());
        streams.advance(10);
        for p in 0..3u8 {
            streams.insert(p, opening(10, 0)).unwrap();
            streams.insert(p, chunk(10, 0, 1, 800)).unwrap();
        }
        assert_eq!(streams.buffered_bytes(), 2_400);
        // One more chunk would pass 2,500 bytes in all: that stream is dropped.
        assert!(matches!(
            streams.insert(0, chunk(10, 0, 2, 200)),
            Err(StreamError::TooMuchBuffered { max: 2_500, .. })
        ));
        assert_eq!(streams.buffered_bytes(), 1_600);
        assert_eq!(streams.open_streams(), 2);
        // And one stream alone stays within its own bound.
        assert!(matches!(
            streams.insert(1, chunk(10, 0, 2, 300)),
            Err(StreamError::TooLarge { max: 1_000, .. })
        ));
        assert_eq!(streams.buffered_bytes(), 800);
    }
}
