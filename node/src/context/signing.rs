//! Signing and verifying consensus messages with ed25519 consensus keys.
//!
//! Sign bytes are a domain tag followed by the borsh encoding of the message's
//! fields and the chain id: canonical, so every node derives the same bytes,
//! and bound to the chain, so a signature cannot be replayed elsewhere.

use async_trait::async_trait;
use borsh::BorshSerialize;
use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error, VerificationResult};
use malachitebft_signing_ed25519::{PrivateKey, PublicKey, Signature};

use super::{Proposal, SynodContext, Vote};

fn round_number(r: Round) -> i64 {
    r.as_i64()
}

fn tagged(tag: &[u8], body: impl BorshSerialize) -> Vec<u8> {
    let mut out = tag.to_vec();
    // Writing borsh into a Vec cannot fail.
    let _ = body.serialize(&mut out);
    out
}

/// The bytes a validator signs for a vote.
pub fn vote_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    let kind: u8 = match vote.vote_type {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    };
    let value: Option<[u8; 32]> = match vote.value {
        NilOrVal::Nil => None,
        NilOrVal::Val(h) => Some(h.0),
    };
    tagged(
        b"synod-vote-v1\0",
        (
            chain_id,
            kind,
            vote.height.0,
            round_number(vote.round),
            value,
            vote.validator.0,
        ),
    )
}

/// The bytes a proposer signs for a proposal.
pub fn proposal_sign_bytes(chain_id: &str, p: &Proposal) -> Vec<u8> {
    tagged(
        b"synod-proposal-v1\0",
        (
            chain_id,
            p.height.0,
            round_number(p.round),
            p.value.hash.0,
            round_number(p.pol_round),
            p.proposer.0,
        ),
    )
}

/// The bytes a validator signs for a vote extension.
pub fn vote_extension_sign_bytes(
    chain_id: &str,
    scope: &VoteExtensionScope<SynodContext>,
    extension: &Bytes,
) -> Vec<u8> {
    tagged(
        b"synod-vote-extension-v1\0",
        (
            chain_id,
            scope.height.0,
            round_number(scope.round),
            scope.value_id.0,
            scope.validator_address.0,
            extension.as_ref(),
        ),
    )
}

/// Signs with this node's consensus key.
#[derive(Clone)]
pub struct Ed25519Signer {
    chain_id: String,
    key: PrivateKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("chain_id", &self.chain_id)
            .field("public_key", &self.key.public_key())
            .finish()
    }
}

impl Ed25519Signer {
    /// A signer for `chain_id` holding `key`.
    pub fn new(chain_id: impl Into<String>, key: PrivateKey) -> Ed25519Signer {
        Ed25519Signer {
            chain_id: chain_id.into(),
            key,
        }
    }

    /// The consensus public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

/// Verifies other validators' signatures.
#[derive(Clone, Debug)]
pub struct Ed25519Verifier {
    chain_id: String,
}

impl Ed25519Verifier {
    /// A verifier for `chain_id`.
    pub fn new(chain_id: impl Into<String>) -> Ed25519Verifier {
        Ed25519Verifier {
            chain_id: chain_id.into(),
        }
    }
}

fn check(key: &PublicKey, message: &[u8], signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(key.verify(message, signature).is_ok())
}

#[async_trait]
impl Signer<SynodContext> for Ed25519Signer {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<SynodContext, Vote>, Error> {
        let signature = self.key.sign(&vote_sign_bytes(&self.chain_id, &vote));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<SynodContext, Proposal>, Error> {
        let signature = self
            .key
            .sign(&proposal_sign_bytes(&self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<SynodContext>,
        extension: Bytes,
    ) -> Result<SignedMessage<SynodContext, Bytes>, Error> {
        let signature = self.key.sign(&vote_extension_sign_bytes(
            &self.chain_id,
            &scope,
            &extension,
        ));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<SynodContext>, Error> {
        let signature = self
            .key
            .sign(&ValidatorProof::<SynodContext>::signing_bytes(
                &public_key,
                &peer_id,
            ));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

#[async_trait]
impl Verifier<SynodContext> for Ed25519Verifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            key,
            &vote_sign_bytes(&self.chain_id, vote),
            signature,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            key,
            &proposal_sign_bytes(&self.chain_id, proposal),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<SynodContext>,
        extension: &Bytes,
        signature: &Signature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            key,
            &vote_extension_sign_bytes(&self.chain_id, scope, extension),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<SynodContext>,
    ) -> Result<VerificationResult, Error> {
        // A proof whose key does not decode is simply invalid, not an error of ours.
        match proof.decoded_public_key() {
            Ok(key) => Ok(check(&key, &proof.preimage(), &proof.signature)),
            Err(_) => Ok(VerificationResult::Invalid),
        }
    }
}
