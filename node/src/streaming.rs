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

use crate::context::{BlockHeight, ProposalPart, ValidatorAddress};

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
    /// SHA-256 of the block bytes, which the proposer signs (the
    /// consensus value is the block's id, computed once it is decoded).
    pub fn block_digest(&self) -> [u8; 32] {
        Sha256::digest(&self.block_bytes).into()
    }

    /// Whether `key` (the proposer's consensus key) signed exactly these parts.
    pub fn verify(&self, chain_id: &str, key: &PublicKey) -> bool {
        let msg = fin_sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.pol_round,
            self.proposer,
            &self.block_digest(),
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
    block_digest: &[u8; 32],
) -> Vec<u8> {
    let mut out = b"synod-proposal-parts-v1\0".to_vec();
    let _ = (
        chain_id,
        height.0,
        round.as_i64(),
        pol_round.as_i64(),
        proposer.0,
        block_digest,
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
    let digest: [u8; 32] = Sha256::digest(block_bytes).into();
    let signature = key.sign(&fin_sign_bytes(
        chain_id, height, round, pol_round, proposer, &digest,
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

impl StreamLimits {
    /// The default limits, with room in one stream for a block of
    /// `max_block_bytes` (and its parts' framing) and in all streams for
    /// at least two such blocks.
    pub fn for_blocks_of(max_block_bytes: u64) -> StreamLimits {
        let d = StreamLimits::default();
        let stream = usize::try_from(max_block_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 16);
        StreamLimits {
            max_stream_bytes: stream,
            max_total_bytes: d.max_total_bytes.max(stream.saturating_mul(2)),
            ..d
        }
    }
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
mod tests;
