//! `block`: what consensus peers send and the block store reads back:
//! decided blocks (a proposal's reassembled bytes, a synced block), commit
//! certificates, and every message of the node's wire codec (votes,
//! proposals, proposal parts, stream messages, liveness certificates,
//! sync requests and answers).

use std::any::type_name;

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::engine::util::streaming::StreamContent;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use malachitebft_signing_ed25519::{PublicKey, Signature};
use synod_node::{
    block::{BlockTime, CommitVote, DecidedBlock, HeaderHashes, Misbehavior},
    codec::{decode_certificate, encode_certificate, CodecError, SynodCodec},
    context::{
        proposal_sign_bytes, vote_sign_bytes, BlockHeight, BlockId, BlockRef, Proposal,
        ProposalPart, SynodContext, TimedSignature, ValidatorAddress, Vote,
    },
    evidence::{verify_double_vote, EvidenceVote},
    streaming::split_block,
    validity::{block_time_of, check_block_time, check_readable, verify_last_commit},
};

use super::{nothing_to_prepare, tx::signed_txs, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `block` target.
pub const TARGET: Target = Target {
    name: "block",
    about: "DecidedBlock::decode and the proposal checks, decode_certificate, and every SynodCodec message (canonical round trips)",
    run: block,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: &[],
    max_len: 64 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

/// A proposer's clock for the time check: just after the seed blocks.
const NOW: BlockTime = BlockTime {
    seconds: 1_700_000_010,
    nanos: 0,
};

/// Decodes `data` as a decided block, a stored certificate and each wire
/// message. Whatever decodes encodes to exactly `data` again (a block's
/// hash is the hash of its bytes); a decoded block goes through the checks
/// a proposed block gets before the app sees it (readable by the app, its
/// time, its last commit against the test net's validators, its evidence)
/// and into the requests sent to the app, without a panic.
pub fn block(data: &[u8]) {
    if let Ok(b) = DecidedBlock::decode(data) {
        assert_eq!(b.encode(), data, "a decoded block encodes to other bytes");
        check_proposed_block(&b);
    }
    if let Ok(cert) = decode_certificate(data) {
        let again = encode_certificate(&cert)
            .unwrap_or_else(|e| panic!("a decoded certificate does not encode: {e}"));
        assert_eq!(
            &again[..],
            data,
            "a decoded certificate encodes to other bytes"
        );
    }
    wire_round_trip::<ProposalPart>(data);
    wire_round_trip::<StreamMessage<ProposalPart>>(data);
    wire_round_trip::<SignedConsensusMsg<SynodContext>>(data);
    wire_round_trip::<LivenessMsg<SynodContext>>(data);
    wire_round_trip::<ValidatorProof<SynodContext>>(data);
    wire_round_trip::<PolkaCertificate<SynodContext>>(data);
    wire_round_trip::<ProposedValue<SynodContext>>(data);
    wire_round_trip::<Status<SynodContext>>(data);
    wire_round_trip::<Request<SynodContext>>(data);
    wire_round_trip::<Response<SynodContext>>(data);
    if let Ok(response) = <SynodCodec as Codec<Response<SynodContext>>>::decode(
        &SynodCodec,
        Bytes::from(data.to_vec()),
    ) {
        let len = SynodCodec
            .encoded_len(&response)
            .unwrap_or_else(|e| panic!("a decoded sync response has no length: {e}"));
        assert_eq!(len, data.len(), "a sync response states another length");
    }
}

/// The checks of `validity::check_proposed` that need no block store, with
/// the test net's set as the previous height's validators.
fn check_proposed_block(b: &DecidedBlock) {
    let _ = check_readable(b);
    let expected = block_time_of(
        NOW,
        Some(BlockTime {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        &b.last_commit,
    );
    let _ = check_block_time(expected, b.time);
    let _ = verify_last_commit(fixtures::CHAIN_ID, fixtures::validator_set(), b);
    for m in &b.misbehavior {
        let [first, second] = m.votes.as_slice() else {
            continue;
        };
        let accused = fixtures::validator_set().iter().find_map(|(k, _)| {
            let key = PublicKey::from_bytes(*k).ok()?;
            (ValidatorAddress::of(&key).0 == m.address).then_some(key)
        });
        if let Some(key) = accused {
            let _ = verify_double_vote(fixtures::CHAIN_ID, &key, first, second);
        }
    }
    let _ = b.process_request(b.digest());
    let _ = b.finalize_request(b.digest());
    // The CometBFT header, protobuf block and id of any decoded block.
    let _ = b.id();
    let _ = b.content_hashes();
}

fn wire_round_trip<T>(data: &[u8])
where
    SynodCodec: Codec<T, Error = CodecError>,
{
    if let Ok(message) = SynodCodec.decode(Bytes::from(data.to_vec())) {
        let again = SynodCodec
            .encode(&message)
            .unwrap_or_else(|e| panic!("a decoded {} does not encode: {e}", type_name::<T>()));
        assert_eq!(
            &again[..],
            data,
            "a decoded {} encodes to other bytes",
            type_name::<T>()
        );
    }
}

/// Three decided blocks of the test net: the first (no last commit), one
/// every validator signed the commit of, one with an absent validator and
/// evidence of a double vote. Their txs are real.
pub fn decided_blocks() -> Result<Vec<DecidedBlock>, FuzzError> {
    let txs: Vec<Vec<u8>> = signed_txs()?.into_iter().map(|(_, bytes)| bytes).collect();
    let time = |h: u64| BlockTime {
        seconds: 1_700_000_000 + h as i64,
        nanos: 250_000_000,
    };
    let proposer = |h: u64| fixtures::consensus_address(h as usize % fixtures::VALIDATORS).0;
    let hashes = HeaderHashes {
        validators: [3; 32],
        next_validators: [3; 32],
        ..HeaderHashes::default()
    };
    let mut first = DecidedBlock {
        version_app: 0,
        chain_id: fixtures::CHAIN_ID.into(),
        height: 1,
        round: 0,
        time: time(1),
        proposer_address: proposer(1),
        last_block_id: BlockId::default(),
        app_hash: vec![],
        hashes: hashes.clone(),
        last_commit_round: 0,
        last_commit: vec![],
        misbehavior: vec![],
        txs: txs.iter().take(3).cloned().collect(),
    };
    first.seal();
    let commit = |height: u64, block: BlockId, absent: Option<usize>| -> Vec<CommitVote> {
        (0..fixtures::VALIDATORS)
            .map(|i| {
                let signed = absent != Some(i);
                CommitVote {
                    address: fixtures::consensus_address(i).0,
                    power: fixtures::POWER as i64,
                    signed,
                    signature: signed.then(|| fixtures::precommit(i, height, 0, block)),
                    timestamp: fixtures::VOTE_TIME,
                }
            })
            .collect()
    };
    let first_id = id(&first)?;
    let mut second = DecidedBlock {
        version_app: 0,
        chain_id: fixtures::CHAIN_ID.into(),
        height: 2,
        round: 1,
        time: time(2),
        proposer_address: proposer(2),
        last_block_id: first_id,
        app_hash: vec![7; 32],
        hashes: hashes.clone(),
        last_commit_round: 0,
        last_commit: commit(1, first_id, None),
        misbehavior: vec![],
        txs: txs.iter().skip(3).take(1).cloned().collect(),
    };
    second.seal();
    let double_vote = |value: Option<BlockId>| {
        let mut v = EvidenceVote {
            kind: 1,
            height: 1,
            round: 0,
            value,
            validator: fixtures::consensus_address(2).0,
            signature: [0; 64],
            timestamp: fixtures::VOTE_TIME,
        };
        let vote = Vote {
            vote_type: VoteType::Prevote,
            height: BlockHeight(1),
            round: Round::new(0),
            value: value.map_or(NilOrVal::Nil, NilOrVal::Val),
            validator: fixtures::consensus_address(2),
            extension: None,
        };
        v.signature = fixtures::consensus_key(2)
            .sign(&vote_sign_bytes(
                fixtures::CHAIN_ID,
                &vote,
                fixtures::VOTE_TIME,
            ))
            .to_bytes();
        v
    };
    let accused = fixtures::consensus_address(2);
    let accused_index = fixtures::validator_set()
        .iter()
        .position(|(k, _)| {
            PublicKey::from_bytes(*k).is_ok_and(|key| ValidatorAddress::of(&key) == accused)
        })
        .unwrap_or(0);
    let second_id = id(&second)?;
    let mut third = DecidedBlock {
        version_app: 0,
        chain_id: fixtures::CHAIN_ID.into(),
        height: 3,
        round: 0,
        time: time(3),
        proposer_address: proposer(3),
        last_block_id: second_id,
        app_hash: vec![8; 32],
        hashes,
        last_commit_round: 1,
        last_commit: commit(2, second_id, Some(3)),
        misbehavior: vec![Misbehavior {
            address: accused.0,
            validator_index: accused_index as u32,
            power: fixtures::POWER as i64,
            height: 1,
            time: time(1),
            total_voting_power: (fixtures::POWER * fixtures::VALIDATORS as u64) as i64,
            // CometBFT's order: the vote with the smaller block id (nil) first.
            votes: vec![double_vote(None), double_vote(Some(first_id))],
        }],
        txs: vec![],
    };
    third.seal();
    Ok(vec![first, second, third])
}

/// The id of a seed block.
fn id(block: &DecidedBlock) -> Result<BlockId, FuzzError> {
    block.id().map_err(|e| FuzzError::Seed {
        target: "block",
        reason: format!("block {}: {e}", block.height),
    })
}

/// A signature over a message without a time.
fn signature(i: usize, message: &[u8]) -> TimedSignature {
    TimedSignature::untimed(fixtures::consensus_key(i).sign(message))
}

/// Validator `i`'s signature of `vote`, made at the seeds' vote time.
fn vote_signature(i: usize, vote: &Vote) -> TimedSignature {
    TimedSignature {
        signature: fixtures::consensus_key(i).sign(&vote_sign_bytes(
            fixtures::CHAIN_ID,
            vote,
            fixtures::VOTE_TIME,
        )),
        timestamp: fixtures::VOTE_TIME,
    }
}

fn certificate(block: &DecidedBlock) -> Result<ExtendedCommitCertificate<SynodContext>, FuzzError> {
    let value_id = id(block)?;
    Ok(ExtendedCommitCertificate {
        height: BlockHeight(block.height),
        round: Round::new(block.round),
        value_id,
        commit_signatures: (0..fixtures::VALIDATORS)
            .map(|i| {
                let sig = fixtures::precommit(i, block.height, block.round, value_id);
                let extension = (i == 0).then(|| {
                    SignedMessage::new(Bytes::from_static(b"extension"), signature(i, b"ext"))
                });
                ExtendedCommitSignature::new(
                    fixtures::consensus_address(i),
                    TimedSignature {
                        signature: Signature::from_bytes(sig),
                        timestamp: fixtures::VOTE_TIME,
                    },
                    extension,
                )
            })
            .collect(),
    })
}

/// A libp2p peer id: the identity multihash of a protobuf ed25519 key.
fn peer_id() -> Result<PeerId, FuzzError> {
    let mut bytes = vec![0x00, 36, 0x08, 0x01, 0x12, 0x20];
    bytes.extend_from_slice(&fixtures::consensus_key(0).public_key().as_bytes()[..]);
    PeerId::from_bytes(&bytes).map_err(|e| FuzzError::Seed {
        target: "block",
        reason: format!("peer id: {e}"),
    })
}

fn encode<T>(name: &str, message: &T) -> Result<Seed, FuzzError>
where
    SynodCodec: Codec<T, Error = CodecError>,
{
    let bytes = SynodCodec.encode(message).map_err(|e| FuzzError::Seed {
        target: "block",
        reason: format!("{name}: {e}"),
    })?;
    Ok((format!("{name}.bin"), bytes.to_vec()))
}

/// Real blocks, a certificate, and one of every wire message.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let blocks = decided_blocks()?;
    let mut seeds: Vec<Seed> = blocks
        .iter()
        .map(|b| (format!("decided_block_{}.bin", b.height), b.encode()))
        .collect();
    let second = &blocks[1];
    let cert = certificate(second)?;
    let second_id = id(second)?;
    let bytes = encode_certificate(&cert).map_err(|e| FuzzError::Seed {
        target: "block",
        reason: format!("certificate: {e}"),
    })?;
    seeds.push(("certificate.bin".to_owned(), bytes.to_vec()));

    let ctx_vote = |vote_type, value, i: usize| Vote {
        vote_type,
        height: BlockHeight(2),
        round: Round::new(1),
        value,
        validator: fixtures::consensus_address(i),
        extension: None,
    };
    let signed_vote = |vote: Vote, i: usize| {
        let sig = vote_signature(i, &vote);
        SignedMessage::new(vote, sig)
    };
    let prevote = ctx_vote(VoteType::Prevote, NilOrVal::Val(second_id), 1);
    let mut precommit = ctx_vote(VoteType::Precommit, NilOrVal::Val(second_id), 2);
    precommit.extension = Some(SignedMessage::new(
        Bytes::from_static(b"vote extension"),
        signature(2, b"vote extension"),
    ));
    let nil = ctx_vote(VoteType::Prevote, NilOrVal::Nil, 3);
    let proposal = Proposal {
        height: BlockHeight(2),
        round: Round::new(1),
        value: BlockRef { id: second_id },
        pol_round: Round::new(0),
        proposer: fixtures::consensus_address(2),
    };
    let proposal_sig = signature(2, &proposal_sign_bytes(fixtures::CHAIN_ID, &proposal));
    seeds.push(encode(
        "vote_prevote",
        &SignedConsensusMsg::<SynodContext>::Vote(signed_vote(prevote.clone(), 1)),
    )?);
    seeds.push(encode(
        "vote_precommit_extended",
        &SignedConsensusMsg::<SynodContext>::Vote(signed_vote(precommit, 2)),
    )?);
    seeds.push(encode(
        "proposal",
        &SignedConsensusMsg::<SynodContext>::Proposal(SignedMessage::new(proposal, proposal_sig)),
    )?);
    seeds.push(encode(
        "liveness_vote",
        &LivenessMsg::<SynodContext>::Vote(signed_vote(nil.clone(), 3)),
    )?);
    let polka = PolkaCertificate::<SynodContext> {
        height: BlockHeight(2),
        round: Round::new(1),
        value_id: second_id,
        polka_signatures: (0..3)
            .map(|i| {
                let vote = ctx_vote(VoteType::Prevote, NilOrVal::Val(second_id), i);
                PolkaSignature::new(fixtures::consensus_address(i), vote_signature(i, &vote))
            })
            .collect(),
    };
    seeds.push(encode("polka_certificate", &polka)?);
    seeds.push(encode(
        "liveness_polka",
        &LivenessMsg::<SynodContext>::PolkaCertificate(polka),
    )?);
    let skip = RoundCertificate::<SynodContext> {
        height: BlockHeight(2),
        round: Round::new(2),
        cert_type: RoundCertificateType::Skip,
        round_signatures: vec![
            RoundSignature::new(
                VoteType::Prevote,
                NilOrVal::Nil,
                fixtures::consensus_address(3),
                vote_signature(3, &nil),
            ),
            RoundSignature::new(
                VoteType::Prevote,
                NilOrVal::Val(second_id),
                fixtures::consensus_address(1),
                vote_signature(1, &prevote),
            ),
        ],
    };
    seeds.push(encode(
        "liveness_skip_round",
        &LivenessMsg::<SynodContext>::SkipRoundCertificate(skip),
    )?);
    let stream = split_block(
        fixtures::CHAIN_ID,
        &fixtures::consensus_key(2),
        BlockHeight(2),
        Round::new(1),
        Round::Nil,
        fixtures::consensus_address(2),
        &second.encode(),
        1024,
    );
    for (i, message) in stream.iter().enumerate() {
        let kind = match &message.content {
            StreamContent::Data(ProposalPart::Init { .. }) => "init",
            StreamContent::Data(ProposalPart::Chunk(_)) => "chunk",
            StreamContent::Data(ProposalPart::Fin { .. }) => "fin",
            StreamContent::Fin => "end",
        };
        // The first chunk and the rest stand for every chunk.
        if kind == "chunk" && i > 1 {
            continue;
        }
        seeds.push(encode(&format!("stream_{i}_{kind}"), message)?);
        if let Some(part) = message.content.as_data() {
            seeds.push(encode(&format!("part_{kind}"), part)?);
        }
    }
    let public_key = fixtures::consensus_key(1).public_key();
    seeds.push(encode(
        "validator_proof",
        &ValidatorProof::<SynodContext>::new(
            public_key.as_bytes().to_vec(),
            peer_id()?.to_bytes(),
            signature(1, b"validator proof"),
        ),
    )?);
    seeds.push(encode(
        "proposed_value",
        &ProposedValue::<SynodContext> {
            height: BlockHeight(2),
            round: Round::new(1),
            valid_round: Round::Nil,
            proposer: fixtures::consensus_address(2),
            value: BlockRef { id: second_id },
            validity: Validity::Valid,
        },
    )?);
    seeds.push(encode(
        "sync_status",
        &Status::<SynodContext> {
            peer_id: peer_id()?,
            tip_height: BlockHeight(3),
            history_min_height: BlockHeight(1),
        },
    )?);
    seeds.push(encode(
        "sync_request",
        &Request::<SynodContext>::ValueRequest(malachitebft_sync::ValueRequest::new(
            BlockHeight(1)..=BlockHeight(3),
        )),
    )?);
    seeds.push(encode(
        "sync_response",
        &Response::<SynodContext>::ValueResponse(malachitebft_sync::ValueResponse::new(
            BlockHeight(2),
            vec![RawDecidedValue::new(Bytes::from(second.encode()), cert)],
        )),
    )?);
    Ok(seeds)
}
