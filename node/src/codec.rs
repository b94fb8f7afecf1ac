//! The one wire codec of the node: every Malachite message the network, the
//! WAL and sync carry, encoded as borsh over local mirror types (Malachite's
//! types are foreign, and its own borsh support misses some of them). The WAL
//! persists these bytes, so the layout is versioned by the `W*` types here:
//! change them only with a new WAL format.

use std::ops::RangeInclusive;

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::engine::util::streaming::StreamContent;
use malachitebft_app_channel::app::streaming::{StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use malachitebft_signing_ed25519::Signature;

use crate::context::{
    BlockHash, BlockHeight, BlockRef, Proposal, ProposalPart, SynodContext, ValidatorAddress, Vote,
};

/// Why bytes did not decode into a message.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("undecodable message: {0}")]
    Undecodable(String),
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// Synod's codec for network, WAL and sync messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct SynodCodec;

type Sig = [u8; 64];

fn sig(s: &Signature) -> Sig {
    s.to_bytes()
}

fn round_of(r: i64) -> Result<Round, CodecError> {
    match r {
        -1 => Ok(Round::Nil),
        n => u32::try_from(n)
            .map(Round::new)
            .map_err(|_| CodecError::Invalid("round out of range")),
    }
}

fn vote_type_code(t: VoteType) -> u8 {
    match t {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    }
}

fn vote_type_of(c: u8) -> Result<VoteType, CodecError> {
    match c {
        1 => Ok(VoteType::Prevote),
        2 => Ok(VoteType::Precommit),
        _ => Err(CodecError::Invalid("unknown vote type")),
    }
}

fn nil_or(v: &NilOrVal<BlockHash>) -> Option<[u8; 32]> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(h) => Some(h.0),
    }
}

fn nil_or_of(v: Option<[u8; 32]>) -> NilOrVal<BlockHash> {
    v.map_or(NilOrVal::Nil, |h| NilOrVal::Val(BlockHash(h)))
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WExt {
    extension: Vec<u8>,
    signature: Sig,
}

type SignedExt = SignedMessage<SynodContext, Bytes>;

impl WExt {
    fn from(e: &SignedExt) -> WExt {
        WExt {
            extension: e.message.to_vec(),
            signature: sig(&e.signature),
        }
    }
    fn into_ext(self) -> SignedExt {
        SignedMessage::new(
            Bytes::from(self.extension),
            Signature::from_bytes(self.signature),
        )
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WVote {
    vote_type: u8,
    height: u64,
    round: i64,
    value: Option<[u8; 32]>,
    validator: [u8; 20],
    extension: Option<WExt>,
}

impl WVote {
    fn from(v: &Vote) -> WVote {
        WVote {
            vote_type: vote_type_code(v.vote_type),
            height: v.height.0,
            round: v.round.as_i64(),
            value: nil_or(&v.value),
            validator: v.validator.0,
            extension: v.extension.as_ref().map(WExt::from),
        }
    }
    fn into_vote(self) -> Result<Vote, CodecError> {
        Ok(Vote {
            vote_type: vote_type_of(self.vote_type)?,
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value: nil_or_of(self.value),
            validator: ValidatorAddress(self.validator),
            extension: self.extension.map(WExt::into_ext),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WProposal {
    height: u64,
    round: i64,
    value: [u8; 32],
    pol_round: i64,
    proposer: [u8; 20],
}

impl WProposal {
    fn from(p: &Proposal) -> WProposal {
        WProposal {
            height: p.height.0,
            round: p.round.as_i64(),
            value: p.value.hash.0,
            pol_round: p.pol_round.as_i64(),
            proposer: p.proposer.0,
        }
    }
    fn into_proposal(self) -> Result<Proposal, CodecError> {
        Ok(Proposal {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value: BlockRef {
                hash: BlockHash(self.value),
            },
            pol_round: round_of(self.pol_round)?,
            proposer: ValidatorAddress(self.proposer),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
enum WConsensus {
    Vote(WVote, Sig),
    Proposal(WProposal, Sig),
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WPolka {
    height: u64,
    round: i64,
    value: [u8; 32],
    signatures: Vec<([u8; 20], Sig)>,
}

impl WPolka {
    fn from(c: &PolkaCertificate<SynodContext>) -> WPolka {
        WPolka {
            height: c.height.0,
            round: c.round.as_i64(),
            value: c.value_id.0,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| (s.address.0, sig(&s.signature)))
                .collect(),
        }
    }
    fn into_cert(self) -> Result<PolkaCertificate<SynodContext>, CodecError> {
        Ok(PolkaCertificate {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value_id: BlockHash(self.value),
            polka_signatures: self
                .signatures
                .into_iter()
                .map(|(a, s)| PolkaSignature::new(ValidatorAddress(a), Signature::from_bytes(s)))
                .collect(),
        })
    }
}

/// (vote type, voted value or nil, validator, signature).
type WRoundSignature = (u8, Option<[u8; 32]>, [u8; 20], Sig);

#[derive(BorshSerialize, BorshDeserialize)]
struct WRoundCert {
    height: u64,
    round: i64,
    skip: bool,
    signatures: Vec<WRoundSignature>,
}

impl WRoundCert {
    fn from(c: &RoundCertificate<SynodContext>) -> WRoundCert {
        WRoundCert {
            height: c.height.0,
            round: c.round.as_i64(),
            skip: matches!(c.cert_type, RoundCertificateType::Skip),
            signatures: c
                .round_signatures
                .iter()
                .map(|s| {
                    (
                        vote_type_code(s.vote_type),
                        nil_or(&s.value_id),
                        s.address.0,
                        sig(&s.signature),
                    )
                })
                .collect(),
        }
    }
    fn into_cert(self) -> Result<RoundCertificate<SynodContext>, CodecError> {
        let mut round_signatures = Vec::with_capacity(self.signatures.len());
        for (t, v, a, s) in self.signatures {
            round_signatures.push(RoundSignature::new(
                vote_type_of(t)?,
                nil_or_of(v),
                ValidatorAddress(a),
                Signature::from_bytes(s),
            ));
        }
        Ok(RoundCertificate {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            cert_type: if self.skip {
                RoundCertificateType::Skip
            } else {
                RoundCertificateType::Precommit
            },
            round_signatures,
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
enum WLiveness {
    Vote(WVote, Sig),
    Polka(WPolka),
    SkipRound(WRoundCert),
}

#[derive(BorshSerialize, BorshDeserialize)]
enum WPart {
    Init {
        height: u64,
        round: i64,
        pol_round: i64,
        proposer: [u8; 20],
    },
    Chunk(Vec<u8>),
    Fin(Sig),
}

impl WPart {
    fn from(p: &ProposalPart) -> WPart {
        match p {
            ProposalPart::Init {
                height,
                round,
                pol_round,
                proposer,
            } => WPart::Init {
                height: height.0,
                round: round.as_i64(),
                pol_round: pol_round.as_i64(),
                proposer: proposer.0,
            },
            ProposalPart::Chunk(c) => WPart::Chunk(c.to_vec()),
            ProposalPart::Fin { signature } => WPart::Fin(sig(signature)),
        }
    }
    fn into_part(self) -> Result<ProposalPart, CodecError> {
        Ok(match self {
            WPart::Init {
                height,
                round,
                pol_round,
                proposer,
            } => ProposalPart::Init {
                height: BlockHeight(height),
                round: round_of(round)?,
                pol_round: round_of(pol_round)?,
                proposer: ValidatorAddress(proposer),
            },
            WPart::Chunk(c) => ProposalPart::Chunk(Bytes::from(c)),
            WPart::Fin(s) => ProposalPart::Fin {
                signature: Signature::from_bytes(s),
            },
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WStream {
    stream_id: Vec<u8>,
    sequence: u64,
    /// `None` is the stream's end marker.
    part: Option<WPart>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WExtCert {
    height: u64,
    round: i64,
    value: [u8; 32],
    signatures: Vec<([u8; 20], Sig, Option<WExt>)>,
}

impl WExtCert {
    fn from(c: &ExtendedCommitCertificate<SynodContext>) -> WExtCert {
        WExtCert {
            height: c.height.0,
            round: c.round.as_i64(),
            value: c.value_id.0,
            signatures: c
                .commit_signatures
                .iter()
                .map(|s| {
                    (
                        s.address.0,
                        sig(&s.signature),
                        s.extension.as_ref().map(WExt::from),
                    )
                })
                .collect(),
        }
    }
    fn into_cert(self) -> Result<ExtendedCommitCertificate<SynodContext>, CodecError> {
        Ok(ExtendedCommitCertificate {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value_id: BlockHash(self.value),
            commit_signatures: self
                .signatures
                .into_iter()
                .map(|(a, s, e)| {
                    ExtendedCommitSignature::new(
                        ValidatorAddress(a),
                        Signature::from_bytes(s),
                        e.map(WExt::into_ext),
                    )
                })
                .collect(),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WResponse {
    start_height: u64,
    values: Vec<(Vec<u8>, WExtCert)>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WProposedValue {
    height: u64,
    round: i64,
    valid_round: i64,
    proposer: [u8; 20],
    value: [u8; 32],
    valid: bool,
}

fn to_bytes<W: BorshSerialize>(w: &W) -> Result<Bytes, CodecError> {
    borsh::to_vec(w)
        .map(Bytes::from)
        .map_err(|e| CodecError::Undecodable(e.to_string()))
}

fn from_bytes<W: BorshDeserialize>(b: &[u8]) -> Result<W, CodecError> {
    borsh::from_slice(b).map_err(|e| CodecError::Undecodable(e.to_string()))
}

macro_rules! codec {
    ($t:ty, |$m:ident| $enc:expr, |$b:ident| $dec:expr) => {
        impl Codec<$t> for SynodCodec {
            type Error = CodecError;
            fn decode(&self, $b: Bytes) -> Result<$t, CodecError> {
                $dec
            }
            fn encode(&self, $m: &$t) -> Result<Bytes, CodecError> {
                $enc
            }
        }
    };
}

codec!(ProposalPart, |m| to_bytes(&WPart::from(m)), |b| {
    from_bytes::<WPart>(&b)?.into_part()
});

codec!(
    SignedConsensusMsg<SynodContext>,
    |m| to_bytes(&match m {
        SignedConsensusMsg::Vote(v) => WConsensus::Vote(WVote::from(&v.message), sig(&v.signature)),
        SignedConsensusMsg::Proposal(p) =>
            WConsensus::Proposal(WProposal::from(&p.message), sig(&p.signature)),
    }),
    |b| Ok(match from_bytes::<WConsensus>(&b)? {
        WConsensus::Vote(v, s) =>
            SignedConsensusMsg::Vote(SignedMessage::new(v.into_vote()?, Signature::from_bytes(s))),
        WConsensus::Proposal(p, s) => {
            SignedConsensusMsg::Proposal(SignedMessage::new(
                p.into_proposal()?,
                Signature::from_bytes(s),
            ))
        }
    })
);

codec!(
    LivenessMsg<SynodContext>,
    |m| to_bytes(&match m {
        LivenessMsg::Vote(v) => WLiveness::Vote(WVote::from(&v.message), sig(&v.signature)),
        LivenessMsg::PolkaCertificate(c) => WLiveness::Polka(WPolka::from(c)),
        LivenessMsg::SkipRoundCertificate(c) => WLiveness::SkipRound(WRoundCert::from(c)),
    }),
    |b| Ok(match from_bytes::<WLiveness>(&b)? {
        WLiveness::Vote(v, s) =>
            LivenessMsg::Vote(SignedMessage::new(v.into_vote()?, Signature::from_bytes(s))),
        WLiveness::Polka(c) => LivenessMsg::PolkaCertificate(c.into_cert()?),
        WLiveness::SkipRound(c) => LivenessMsg::SkipRoundCertificate(c.into_cert()?),
    })
);

codec!(
    StreamMessage<ProposalPart>,
    |m| to_bytes(&WStream {
        stream_id: m.stream_id.to_bytes().to_vec(),
        sequence: m.sequence,
        part: m.content.as_data().map(WPart::from),
    }),
    |b| {
        let w = from_bytes::<WStream>(&b)?;
        let content = match w.part {
            Some(p) => StreamContent::Data(p.into_part()?),
            None => StreamContent::Fin,
        };
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(w.stream_id)),
            w.sequence,
            content,
        ))
    }
);

codec!(
    ValidatorProof<SynodContext>,
    |m| to_bytes(&(m.public_key.clone(), m.peer_id.clone(), sig(&m.signature))),
    |b| {
        let (pk, peer, s) = from_bytes::<(Vec<u8>, Vec<u8>, Sig)>(&b)?;
        Ok(ValidatorProof::new(pk, peer, Signature::from_bytes(s)))
    }
);

codec!(
    PolkaCertificate<SynodContext>,
    |m| to_bytes(&WPolka::from(m)),
    |b| from_bytes::<WPolka>(&b)?.into_cert()
);

codec!(
    ProposedValue<SynodContext>,
    |m| to_bytes(&WProposedValue {
        height: m.height.0,
        round: m.round.as_i64(),
        valid_round: m.valid_round.as_i64(),
        proposer: m.proposer.0,
        value: m.value.hash.0,
        valid: m.validity.is_valid(),
    }),
    |b| {
        let w = from_bytes::<WProposedValue>(&b)?;
        Ok(ProposedValue {
            height: BlockHeight(w.height),
            round: round_of(w.round)?,
            valid_round: round_of(w.valid_round)?,
            proposer: ValidatorAddress(w.proposer),
            value: BlockRef {
                hash: BlockHash(w.value),
            },
            validity: Validity::from_bool(w.valid),
        })
    }
);

codec!(
    Status<SynodContext>,
    |m| to_bytes(&(m.peer_id.to_bytes(), m.tip_height.0, m.history_min_height.0)),
    |b| {
        let (peer, tip, min) = from_bytes::<(Vec<u8>, u64, u64)>(&b)?;
        let peer_id = PeerId::from_bytes(&peer).map_err(|_| CodecError::Invalid("bad peer id"))?;
        Ok(Status {
            peer_id,
            tip_height: BlockHeight(tip),
            history_min_height: BlockHeight(min),
        })
    }
);

codec!(
    Request<SynodContext>,
    |m| match m {
        Request::ValueRequest(r) => to_bytes(&(r.range.start().0, r.range.end().0)),
    },
    |b| {
        let (start, end) = from_bytes::<(u64, u64)>(&b)?;
        let range: RangeInclusive<BlockHeight> = BlockHeight(start)..=BlockHeight(end);
        Ok(Request::ValueRequest(malachitebft_sync::ValueRequest::new(
            range,
        )))
    }
);

fn response_wire(m: &Response<SynodContext>) -> WResponse {
    match m {
        Response::ValueResponse(r) => WResponse {
            start_height: r.start_height.0,
            values: r
                .values
                .iter()
                .map(|v| (v.value_bytes.to_vec(), WExtCert::from(&v.certificate)))
                .collect(),
        },
    }
}

codec!(
    Response<SynodContext>,
    |m| to_bytes(&response_wire(m)),
    |b| {
        let w = from_bytes::<WResponse>(&b)?;
        let mut values = Vec::with_capacity(w.values.len());
        for (bytes, cert) in w.values {
            values.push(RawDecidedValue::new(Bytes::from(bytes), cert.into_cert()?));
        }
        Ok(Response::ValueResponse(
            malachitebft_sync::ValueResponse::new(BlockHeight(w.start_height), values),
        ))
    }
);

/// Encodes a decided block's certificate for the block store.
pub fn encode_certificate(
    cert: &ExtendedCommitCertificate<SynodContext>,
) -> Result<Bytes, CodecError> {
    to_bytes(&WExtCert::from(cert))
}

/// Decodes a certificate saved by [`encode_certificate`].
pub fn decode_certificate(
    bytes: &[u8],
) -> Result<ExtendedCommitCertificate<SynodContext>, CodecError> {
    from_bytes::<WExtCert>(bytes)?.into_cert()
}

impl HasEncodedLen<Response<SynodContext>> for SynodCodec {
    fn encoded_len(&self, msg: &Response<SynodContext>) -> Result<usize, CodecError> {
        borsh::object_length(&response_wire(msg))
            .map_err(|e| CodecError::Undecodable(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
