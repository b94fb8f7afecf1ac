//! The one wire codec of the node: every Malachite message the network, the
//! WAL and sync carry, encoded as borsh over local mirror types (Malachite's
//! types are foreign, and its own borsh support misses some of them). The WAL
//! persists these bytes, so the layout is versioned by the `W*` types in
//! `wire`: change them only with a new WAL format.

use std::ops::RangeInclusive;

use crate::context::{BlockHeight, BlockRef, ProposalPart, SynodContext, ValidatorAddress};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::engine::util::streaming::StreamContent;
use malachitebft_app_channel::app::streaming::{StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, PolkaCertificate, SignedMessage, ValidatorProof, Validity,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};

mod wire;

pub use wire::CodecError;
use wire::{
    from_bytes, round_of, sig, to_bytes, unsig, Sig, WConsensus, WExtCert, WLiveness, WPart,
    WPolka, WProposal, WProposedValue, WResponse, WRoundCert, WStream, WVote,
};

/// Synod's codec for network, WAL and sync messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct SynodCodec;

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
            SignedConsensusMsg::Vote(SignedMessage::new(v.into_vote()?, unsig(s))),
        WConsensus::Proposal(p, s) => {
            SignedConsensusMsg::Proposal(SignedMessage::new(p.into_proposal()?, unsig(s)))
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
        WLiveness::Vote(v, s) => LivenessMsg::Vote(SignedMessage::new(v.into_vote()?, unsig(s))),
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
        Ok(ValidatorProof::new(pk, peer, unsig(s)))
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
        value: m.value.id,
        valid: m.validity.is_valid(),
    }),
    |b| {
        let w = from_bytes::<WProposedValue>(&b)?;
        Ok(ProposedValue {
            height: BlockHeight(w.height),
            round: round_of(w.round)?,
            valid_round: round_of(w.valid_round)?,
            proposer: ValidatorAddress(w.proposer),
            value: BlockRef { id: w.value },
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
        borsh::object_length(&response_wire(msg)).map_err(CodecError::Undecodable)
    }
}

#[cfg(test)]
mod tests;
