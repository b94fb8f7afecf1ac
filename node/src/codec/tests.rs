use std::fmt::Debug;

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    Context, ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate,
    PolkaSignature, Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage,
    ValidatorProof, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use malachitebft_signing_ed25519::PrivateKey;
use proptest::prelude::*;

use super::{CodecError, SynodCodec};
use crate::context::{
    BlockHeight, BlockId, BlockRef, PartSetHeader, SynodContext, TimedSignature, ValidatorAddress,
};
use crate::streaming::split_block;
use crate::time::BlockTime;

fn round_trip<T: Debug + PartialEq>(value: T)
where
    SynodCodec: Codec<T, Error = CodecError>,
{
    let bytes = SynodCodec.encode(&value).unwrap();
    assert_eq!(SynodCodec.decode(bytes).unwrap(), value);
}

fn sig(i: u8) -> TimedSignature {
    TimedSignature {
        signature: PrivateKey::from([i; 32]).sign(b"m"),
        timestamp: BlockTime {
            seconds: 1_700_000_000 + i64::from(i),
            nanos: i32::from(i),
        },
    }
}

fn bid(i: u8) -> BlockId {
    BlockId {
        hash: [i; 32],
        parts: PartSetHeader {
            total: u32::from(i),
            hash: [i.wrapping_add(1); 32],
        },
    }
}

fn addr(i: u8) -> ValidatorAddress {
    ValidatorAddress([i; 20])
}

fn ctx() -> SynodContext {
    SynodContext::new("synod-test")
}

#[test]
fn consensus_messages_round_trip() {
    let mut vote = ctx().new_precommit(
        BlockHeight(7),
        Round::new(3),
        NilOrVal::Val(bid(1)),
        addr(1),
    );
    vote.extension = Some(SignedMessage::new(Bytes::from_static(b"ext"), sig(2)));
    round_trip(SignedConsensusMsg::<SynodContext>::Vote(
        SignedMessage::new(vote.clone(), sig(1)),
    ));
    let nil = ctx().new_prevote(BlockHeight(7), Round::new(0), NilOrVal::Nil, addr(2));
    round_trip(SignedConsensusMsg::<SynodContext>::Vote(
        SignedMessage::new(nil.clone(), sig(3)),
    ));
    let proposal = ctx().new_proposal(
        BlockHeight(7),
        Round::new(1),
        BlockRef { id: bid(4) },
        Round::Nil,
        addr(3),
    );
    round_trip(SignedConsensusMsg::<SynodContext>::Proposal(
        SignedMessage::new(proposal, sig(4)),
    ));

    round_trip(LivenessMsg::<SynodContext>::Vote(SignedMessage::new(
        nil,
        sig(5),
    )));
    round_trip(LivenessMsg::<SynodContext>::PolkaCertificate(
        PolkaCertificate {
            height: BlockHeight(7),
            round: Round::new(2),
            value_id: bid(9),
            polka_signatures: vec![
                PolkaSignature::new(addr(1), sig(6)),
                PolkaSignature::new(addr(2), sig(7)),
            ],
        },
    ));
    let skip = RoundCertificate::<SynodContext> {
        height: BlockHeight(7),
        round: Round::new(4),
        cert_type: RoundCertificateType::Skip,
        round_signatures: vec![
            RoundSignature::new(VoteType::Prevote, NilOrVal::Nil, addr(1), sig(8)),
            RoundSignature::new(VoteType::Precommit, NilOrVal::Val(bid(2)), addr(2), sig(9)),
        ],
    };
    round_trip(LivenessMsg::<SynodContext>::SkipRoundCertificate(skip));
    round_trip(ValidatorProof::<SynodContext>::new(
        vec![1; 32],
        b"peer".to_vec(),
        sig(10),
    ));
    round_trip(ProposedValue::<SynodContext> {
        height: BlockHeight(7),
        round: Round::new(0),
        valid_round: Round::Nil,
        proposer: addr(4),
        value: BlockRef { id: bid(5) },
        validity: Validity::Invalid,
    });
}

#[test]
fn sync_messages_round_trip_and_report_their_length() {
    let peer = PeerId::from_bytes(&libp2p_peer_bytes()).unwrap();
    round_trip(Status::<SynodContext> {
        peer_id: peer,
        tip_height: BlockHeight(50),
        history_min_height: BlockHeight(1),
    });
    round_trip(Request::<SynodContext>::ValueRequest(
        malachitebft_sync::ValueRequest::new(BlockHeight(3)..=BlockHeight(9)),
    ));
    let cert = ExtendedCommitCertificate::<SynodContext> {
        height: BlockHeight(3),
        round: Round::new(0),
        value_id: bid(3),
        commit_signatures: vec![
            ExtendedCommitSignature::new(addr(1), sig(1), None),
            ExtendedCommitSignature::new(
                addr(2),
                sig(2),
                Some(SignedMessage::new(Bytes::from_static(b"e"), sig(3))),
            ),
        ],
    };
    let response = Response::<SynodContext>::ValueResponse(malachitebft_sync::ValueResponse::new(
        BlockHeight(3),
        vec![RawDecidedValue::new(
            Bytes::from_static(b"block bytes"),
            cert,
        )],
    ));
    let encoded = SynodCodec.encode(&response).unwrap();
    assert_eq!(SynodCodec.encoded_len(&response).unwrap(), encoded.len());
    round_trip(response);
}

fn libp2p_peer_bytes() -> Vec<u8> {
    // identity multihash (0x00), length 36, protobuf ed25519 public key (type 1, 32 bytes).
    let mut out = vec![0x00, 36, 0x08, 0x01, 0x12, 0x20];
    out.extend_from_slice(&[7u8; 32]);
    out
}

#[test]
fn the_codec_serves_network_wal_and_sync() {
    use malachitebft_app_channel::app::types::codec::{ConsensusCodec, SyncCodec, WalCodec};
    fn all<C: ConsensusCodec<SynodContext> + SyncCodec<SynodContext> + WalCodec<SynodContext>>(
        _: C,
    ) {
    }
    all(SynodCodec);
}

#[test]
fn streamed_parts_round_trip() {
    let key = PrivateKey::from([1u8; 32]);
    let proposer = ValidatorAddress::of(&key.public_key());
    for msg in split_block(
        "synod-test",
        &key,
        BlockHeight(2),
        Round::new(0),
        Round::Nil,
        proposer,
        &[9u8; 300],
        128,
    ) {
        round_trip(
            msg.content
                .as_data()
                .cloned()
                .unwrap_or(crate::context::ProposalPart::Chunk(Bytes::new())),
        );
        round_trip(msg);
    }
}

proptest! {
    #[test]
    fn garbage_never_panics_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let b = Bytes::from(bytes);
        let _ = <SynodCodec as Codec<SignedConsensusMsg<SynodContext>>>::decode(&SynodCodec, b.clone());
        let _ = <SynodCodec as Codec<LivenessMsg<SynodContext>>>::decode(&SynodCodec, b.clone());
        let _ = <SynodCodec as Codec<crate::context::ProposalPart>>::decode(&SynodCodec, b.clone());
        let _ = <SynodCodec as Codec<Status<SynodContext>>>::decode(&SynodCodec, b.clone());
        let _ = <SynodCodec as Codec<Response<SynodContext>>>::decode(&SynodCodec, b.clone());
        let _ = <SynodCodec as Codec<ProposedValue<SynodContext>>>::decode(&SynodCodec, b);
    }
}

#[test]
fn an_out_of_range_round_is_invalid_not_a_panic() {
    // A Vote with round -5: borsh of the mirror type with a bad round.
    let bytes = borsh::to_vec(&(
        0u8,
        (
            1u8,
            7u64,
            -5i64,
            None::<BlockId>,
            [0u8; 20],
            None::<(Vec<u8>, ([u8; 64], i64, i32))>,
        ),
        ([0u8; 64], 0i64, 0i32),
    ))
    .unwrap();
    let r = <SynodCodec as Codec<SignedConsensusMsg<SynodContext>>>::decode(
        &SynodCodec,
        Bytes::from(bytes),
    );
    assert!(matches!(r, Err(CodecError::Invalid(_))), "{r:?}");
}
