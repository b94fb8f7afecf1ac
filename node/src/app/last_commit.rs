//! The last commit as the next block records it (who signed the previous
//! block, with their signatures), read from a commit certificate: one just
//! decided, or one the store kept from before a restart.

use std::collections::BTreeMap;

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, VoteExtensions,
};
use malachitebft_signing_ed25519::PublicKey;

use crate::{
    block::{BlockTime, CommitVote},
    codec::{decode_certificate, encode_certificate},
    context::{SynodContext, TimedSignature, ValidatorAddress},
    handle::NodeError,
    store::BlockStore,
};

/// Commit signatures by validator address: the signature and its vote's time.
pub(crate) type SignaturesByAddress = BTreeMap<[u8; 20], ([u8; 64], BlockTime)>;

/// Signatures by validator address, from (address, signature) pairs.
pub(crate) fn signatures_of<'a>(
    signatures: impl Iterator<Item = (&'a ValidatorAddress, &'a TimedSignature)>,
) -> SignaturesByAddress {
    signatures
        .map(|(a, s)| (a.0, (s.signature.to_bytes(), s.timestamp)))
        .collect()
}

/// Who signed a commit, in validator-set order, with their signatures.
pub(crate) fn commit_votes(
    set: impl Iterator<Item = ([u8; 20], u64)>,
    signatures: &SignaturesByAddress,
) -> Vec<CommitVote> {
    set.map(|(address, power)| {
        let signed = signatures.get(&address).copied();
        CommitVote {
            address,
            power: power as i64,
            signed: signed.is_some(),
            signature: signed.map(|(s, _)| s),
            timestamp: signed.map_or(BlockTime::GO_ZERO, |(_, t)| t),
        }
    })
    .collect()
}

/// What the node keeps of a decided certificate.
pub(super) struct CertificateParts {
    /// The commit signatures by validator address.
    pub(super) signatures: SignaturesByAddress,
    pub(super) round: u32,
    /// The stored encoding (with the vote extensions).
    pub(super) bytes: Bytes,
}

/// Splits a certificate the engine handed over (with its vote extensions)
/// into the signatures, the round and the bytes the store keeps.
pub(super) fn certificate_parts(
    certificate: CommitCertificate<SynodContext>,
    extensions: VoteExtensions<SynodContext>,
) -> Result<CertificateParts, NodeError> {
    let signatures = signatures_of(
        certificate
            .commit_signatures
            .iter()
            .map(|s| (&s.address, &s.signature)),
    );
    let round = certificate.round.as_u32().unwrap_or(0);
    let extended =
        ExtendedCommitCertificate::from_commit_certificate_and_extensions(certificate, extensions);
    let bytes = encode_certificate(&extended).map_err(NodeError::Codec)?;
    Ok(CertificateParts {
        signatures,
        round,
        bytes,
    })
}

/// The last commit as the store holds it (after a restart): the set that
/// decided `height` and the signatures in its certificate.
pub(super) fn stored_last_commit(
    store: &BlockStore,
    height: u64,
) -> Result<(Vec<CommitVote>, u32), NodeError> {
    let (Some(set), Some(cert)) = (store.validators_at(height)?, store.certificate(height)?) else {
        return Ok((Vec::new(), 0));
    };
    let cert = decode_certificate(&cert).map_err(NodeError::Codec)?;
    let signatures = signatures_of(
        cert.commit_signatures
            .iter()
            .map(|s| (&s.address, &s.signature)),
    );
    let members = set.iter().filter_map(|(k, p)| {
        PublicKey::from_bytes(*k)
            .ok()
            .map(|pk| (ValidatorAddress::of(&pk).0, *p))
    });
    Ok((
        commit_votes(members, &signatures),
        cert.round.as_u32().unwrap_or(0),
    ))
}
