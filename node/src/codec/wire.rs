//! The wire's mirror types: every Malachite message as a local borsh type
//! (`W*`), with the conversions both ways. The WAL persists these bytes, so
//! this layout is the WAL format: change it only with a new WAL format.

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, VoteType,
};
use malachitebft_signing_ed25519::Signature;

use crate::context::{
    BlockHeight, BlockId, BlockRef, Proposal, ProposalPart, SynodContext, TimedSignature,
    ValidatorAddress, Vote,
};
use crate::time::BlockTime;

/// Why bytes did not decode into a message.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not the borsh encoding of the expected wire type (or,
    /// encoding, borsh refused the value): borsh's own error.
    #[error("undecodable message: {0}")]
    Undecodable(#[source] std::io::Error),
    /// The bytes decode but a field is out of range (named).
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// A signature with its time: (ed25519 signature, seconds, nanoseconds).
pub(super) type Sig = ([u8; 64], i64, i32);

pub(super) fn sig(s: &TimedSignature) -> Sig {
    (
        s.signature.to_bytes(),
        s.timestamp.seconds,
        s.timestamp.nanos,
    )
}

pub(super) fn unsig((signature, seconds, nanos): Sig) -> TimedSignature {
    TimedSignature {
        signature: Signature::from_bytes(signature),
        timestamp: BlockTime { seconds, nanos },
    }
}

pub(super) fn round_of(r: i64) -> Result<Round, CodecError> {
    match r {
        -1 => Ok(Round::Nil),
        n => u32::try_from(n)
            .map(Round::new)
            .map_err(|_| CodecError::Invalid("round out of range")),
    }
}

pub(super) fn vote_type_code(t: VoteType) -> u8 {
    match t {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    }
}

pub(super) fn vote_type_of(c: u8) -> Result<VoteType, CodecError> {
    match c {
        1 => Ok(VoteType::Prevote),
        2 => Ok(VoteType::Precommit),
        _ => Err(CodecError::Invalid("unknown vote type")),
    }
}

pub(super) fn nil_or(v: &NilOrVal<BlockId>) -> Option<BlockId> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(*id),
    }
}

pub(super) fn nil_or_of(v: Option<BlockId>) -> NilOrVal<BlockId> {
    v.map_or(NilOrVal::Nil, NilOrVal::Val)
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WExt {
    pub(super) extension: Vec<u8>,
    pub(super) signature: Sig,
}

pub(super) type SignedExt = SignedMessage<SynodContext, Bytes>;

impl WExt {
    pub(super) fn from(e: &SignedExt) -> WExt {
        WExt {
            extension: e.message.to_vec(),
            signature: sig(&e.signature),
        }
    }
    pub(super) fn into_ext(self) -> SignedExt {
        SignedMessage::new(Bytes::from(self.extension), unsig(self.signature))
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WVote {
    pub(super) vote_type: u8,
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) value: Option<BlockId>,
    pub(super) validator: [u8; 20],
    pub(super) extension: Option<WExt>,
}

impl WVote {
    pub(super) fn from(v: &Vote) -> WVote {
        WVote {
            vote_type: vote_type_code(v.vote_type),
            height: v.height.0,
            round: v.round.as_i64(),
            value: nil_or(&v.value),
            validator: v.validator.0,
            extension: v.extension.as_ref().map(WExt::from),
        }
    }
    pub(super) fn into_vote(self) -> Result<Vote, CodecError> {
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
pub(super) struct WProposal {
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) value: BlockId,
    pub(super) pol_round: i64,
    pub(super) proposer: [u8; 20],
}

impl WProposal {
    pub(super) fn from(p: &Proposal) -> WProposal {
        WProposal {
            height: p.height.0,
            round: p.round.as_i64(),
            value: p.value.id,
            pol_round: p.pol_round.as_i64(),
            proposer: p.proposer.0,
        }
    }
    pub(super) fn into_proposal(self) -> Result<Proposal, CodecError> {
        Ok(Proposal {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value: BlockRef { id: self.value },
            pol_round: round_of(self.pol_round)?,
            proposer: ValidatorAddress(self.proposer),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) enum WConsensus {
    Vote(WVote, Sig),
    Proposal(WProposal, Sig),
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WPolka {
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) value: BlockId,
    pub(super) signatures: Vec<([u8; 20], Sig)>,
}

impl WPolka {
    pub(super) fn from(c: &PolkaCertificate<SynodContext>) -> WPolka {
        WPolka {
            height: c.height.0,
            round: c.round.as_i64(),
            value: c.value_id,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| (s.address.0, sig(&s.signature)))
                .collect(),
        }
    }
    pub(super) fn into_cert(self) -> Result<PolkaCertificate<SynodContext>, CodecError> {
        Ok(PolkaCertificate {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value_id: self.value,
            polka_signatures: self
                .signatures
                .into_iter()
                .map(|(a, s)| PolkaSignature::new(ValidatorAddress(a), unsig(s)))
                .collect(),
        })
    }
}

/// (vote type, voted value or nil, validator, signature).
pub(super) type WRoundSignature = (u8, Option<BlockId>, [u8; 20], Sig);

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WRoundCert {
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) skip: bool,
    pub(super) signatures: Vec<WRoundSignature>,
}

impl WRoundCert {
    pub(super) fn from(c: &RoundCertificate<SynodContext>) -> WRoundCert {
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
    pub(super) fn into_cert(self) -> Result<RoundCertificate<SynodContext>, CodecError> {
        let mut round_signatures = Vec::with_capacity(self.signatures.len());
        for (t, v, a, s) in self.signatures {
            round_signatures.push(RoundSignature::new(
                vote_type_of(t)?,
                nil_or_of(v),
                ValidatorAddress(a),
                unsig(s),
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
pub(super) enum WLiveness {
    Vote(WVote, Sig),
    Polka(WPolka),
    SkipRound(WRoundCert),
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) enum WPart {
    Init {
        height: u64,
        round: i64,
        pol_round: i64,
        proposer: [u8; 20],
    },
    Chunk(Vec<u8>),
    Fin([u8; 64]),
}

impl WPart {
    pub(super) fn from(p: &ProposalPart) -> WPart {
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
            ProposalPart::Fin { signature } => WPart::Fin(signature.to_bytes()),
        }
    }
    pub(super) fn into_part(self) -> Result<ProposalPart, CodecError> {
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
pub(super) struct WStream {
    pub(super) stream_id: Vec<u8>,
    pub(super) sequence: u64,
    /// `None` is the stream's end marker.
    pub(super) part: Option<WPart>,
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WExtCert {
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) value: BlockId,
    pub(super) signatures: Vec<([u8; 20], Sig, Option<WExt>)>,
}

impl WExtCert {
    pub(super) fn from(c: &ExtendedCommitCertificate<SynodContext>) -> WExtCert {
        WExtCert {
            height: c.height.0,
            round: c.round.as_i64(),
            value: c.value_id,
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
    pub(super) fn into_cert(self) -> Result<ExtendedCommitCertificate<SynodContext>, CodecError> {
        Ok(ExtendedCommitCertificate {
            height: BlockHeight(self.height),
            round: round_of(self.round)?,
            value_id: self.value,
            commit_signatures: self
                .signatures
                .into_iter()
                .map(|(a, s, e)| {
                    ExtendedCommitSignature::new(
                        ValidatorAddress(a),
                        unsig(s),
                        e.map(WExt::into_ext),
                    )
                })
                .collect(),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WResponse {
    pub(super) start_height: u64,
    pub(super) values: Vec<(Vec<u8>, WExtCert)>,
}

#[derive(BorshSerialize, BorshDeserialize)]
pub(super) struct WProposedValue {
    pub(super) height: u64,
    pub(super) round: i64,
    pub(super) valid_round: i64,
    pub(super) proposer: [u8; 20],
    pub(super) value: BlockId,
    pub(super) valid: bool,
}

pub(super) fn to_bytes<W: BorshSerialize>(w: &W) -> Result<Bytes, CodecError> {
    borsh::to_vec(w)
        .map(Bytes::from)
        .map_err(CodecError::Undecodable)
}

pub(super) fn from_bytes<W: BorshDeserialize>(b: &[u8]) -> Result<W, CodecError> {
    borsh::from_slice(b).map_err(CodecError::Undecodable)
}
