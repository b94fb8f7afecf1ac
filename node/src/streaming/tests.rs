//! Proposal streams: reassembly in any order, and the limits on what unfinished streams may hold.

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
