//! `stream`: a sequence of proposal-stream messages from several peers, as
//! the node reassembles them into proposals (`streaming::PartStreams`).

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::Round;
use malachitebft_signing_ed25519::PublicKey;
use synod_node::{
    block::DecidedBlock,
    codec::SynodCodec,
    context::{BlockHeight, ProposalPart},
    streaming::{split_block, PartStreams, StreamLimits},
};

use super::{block::decided_blocks, nothing_to_prepare, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `stream` target.
pub const TARGET: Target = Target {
    name: "stream",
    about: "framed StreamMessage<ProposalPart>s from several peers into PartStreams (limits hold, complete proposals decode)",
    run: stream,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

/// Small limits, so a fuzz input can reach every one of them.
const LIMITS: StreamLimits = StreamLimits {
    max_streams: 4,
    max_streams_per_publisher: 2,
    max_stream_bytes: 8 * 1024,
    max_total_bytes: 12 * 1024,
    heights_ahead: 2,
};

/// The frame tag that moves consensus to the height in the frame's first
/// eight bytes (little-endian) instead of carrying a message.
const ADVANCE: u8 = 0xff;

/// One frame of the input: a message from peer `publisher` (its first byte
/// modulo 4; 0xff: consensus moves to another height), then a length (u16
/// little-endian) and that many bytes.
fn frames(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&tag, rest) = data.split_first()?;
        let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        let body = rest.get(2..2 + len)?;
        data = &rest[2 + len..];
        Some((tag, body))
    })
}

/// Encodes messages as the frames [`stream`] reads.
fn framed(messages: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, body) in messages {
        out.push(*tag);
        out.extend_from_slice(&(body.len().min(usize::from(u16::MAX)) as u16).to_le_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// Feeds each framed message to one `PartStreams` (at height 1 under
/// [`LIMITS`]): after every message the open streams and their bytes stay
/// within the limits; a completed proposal holds at most a stream's bytes,
/// its signature check never panics, and its block, if it decodes,
/// encodes to exactly those bytes.
pub fn stream(data: &[u8]) {
    let mut streams = PartStreams::<u8>::with_limits(LIMITS);
    streams.advance(1);
    for (tag, body) in frames(data) {
        if tag == ADVANCE {
            let mut height = [0u8; 8];
            let n = body.len().min(8);
            height[..n].copy_from_slice(&body[..n]);
            streams.advance(u64::from_le_bytes(height));
            continue;
        }
        let Ok(message) = <SynodCodec as Codec<StreamMessage<ProposalPart>>>::decode(
            &SynodCodec,
            Bytes::from(body.to_vec()),
        ) else {
            continue;
        };
        let received = streams.insert(tag % 4, message);
        assert!(
            streams.open_streams() <= LIMITS.max_streams,
            "{} open streams",
            streams.open_streams()
        );
        assert!(
            streams.buffered_bytes() <= LIMITS.max_total_bytes,
            "{} bytes buffered",
            streams.buffered_bytes()
        );
        let Ok(Some(proposal)) = received else {
            continue;
        };
        assert!(
            proposal.block_bytes.len() <= LIMITS.max_stream_bytes,
            "a proposal of {} bytes",
            proposal.block_bytes.len()
        );
        for (key, _) in fixtures::validator_set() {
            if let Ok(key) = PublicKey::from_bytes(*key) {
                let _ = proposal.verify(fixtures::CHAIN_ID, &key);
            }
        }
        if let Ok(block) = DecidedBlock::decode(&proposal.block_bytes) {
            assert_eq!(
                block.encode(),
                proposal.block_bytes,
                "a streamed block encodes to other bytes"
            );
        }
    }
}

/// The streams of real blocks: each in order, one out of order and
/// repeated, two interleaved from two peers, and one for a later height
/// after consensus moved on.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let fail = |reason: String| FuzzError::Seed {
        target: "stream",
        reason,
    };
    let blocks = decided_blocks()?;
    let mut streams = Vec::new();
    for block in &blocks {
        let proposer = block.height as usize % fixtures::VALIDATORS;
        let messages = split_block(
            fixtures::CHAIN_ID,
            &fixtures::consensus_key(proposer),
            BlockHeight(block.height),
            Round::new(block.round),
            Round::Nil,
            fixtures::consensus_address(proposer),
            &block.encode(),
            128,
        );
        let encoded = messages
            .iter()
            .map(|m| SynodCodec.encode(m).map(|b| b.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        streams.push((proposer as u8, encoded));
    }
    let in_order = |(peer, messages): &(u8, Vec<Vec<u8>>)| -> Vec<(u8, Vec<u8>)> {
        messages.iter().map(|m| (*peer, m.clone())).collect()
    };
    let mut seeds = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        seeds.push((
            format!("block_{}_in_order.bin", i + 1),
            framed(&in_order(s)),
        ));
    }
    let (peer, first) = &streams[0];
    let mut shuffled: Vec<(u8, Vec<u8>)> = first.iter().rev().map(|m| (*peer, m.clone())).collect();
    shuffled.extend(first.iter().take(2).map(|m| (*peer, m.clone())));
    seeds.push((
        "block_1_reversed_with_repeats.bin".to_owned(),
        framed(&shuffled),
    ));
    let (other_peer, second) = &streams[1];
    let mut interleaved = Vec::new();
    for i in 0..first.len().max(second.len()) {
        if let Some(m) = first.get(i) {
            interleaved.push((*peer, m.clone()));
        }
        if let Some(m) = second.get(i) {
            interleaved.push((*other_peer, m.clone()));
        }
    }
    seeds.push((
        "blocks_1_and_2_interleaved.bin".to_owned(),
        framed(&interleaved),
    ));
    let mut moved_on = vec![(ADVANCE, 3u64.to_le_bytes().to_vec())];
    moved_on.extend(in_order(&streams[2]));
    moved_on.extend(in_order(&streams[0]));
    seeds.push((
        "advance_then_blocks_3_and_1.bin".to_owned(),
        framed(&moved_on),
    ));
    Ok(seeds)
}
