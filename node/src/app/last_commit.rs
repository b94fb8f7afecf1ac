//! The last commit as the next block records it (who signed the previous
//! block, with their signatures), read from a commit certificate: one just
//! decided, or one the store kept from before a restart.

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, VoteExtensions,
};
use malachitebft_signing_ed25519::PublicKey;

use crate::{
    block::{commit_votes, signatures_of, CommitVote, SignaturesByAddress},
    codec::{decode_certificate, encode_certificate},
    context::{SynodContext, ValidatorAddress},
    handle::NodeError,
    store::BlockStore,
};

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
