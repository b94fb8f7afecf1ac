//! Synod's Malachite consensus context: what a height, an address, a
//! validator, a value, a proposal, a part and a vote are, and how proposers
//! are chosen. Blocks travel as proposal parts; consensus itself only agrees
//! on a [`BlockRef`] (the block hash).

mod signing;
mod types;

pub use signing::{
    proposal_sign_bytes, vote_extension_sign_bytes, vote_sign_bytes, Ed25519Signer,
    Ed25519Verifier, SignPosition, SignRefused,
};
pub use types::{
    BlockHash, BlockHeight, BlockRef, Proposal, ProposalPart, Validator, ValidatorAddress,
    ValidatorSet, ValidatorSetError, Vote,
};

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    Context, LinearTimeouts, NilOrVal, Round, ValidatorSet as _, VoteType,
};
use malachitebft_signing_ed25519::Ed25519;
use sha2::{Digest, Sha256};

/// The consensus context of one chain. Its chain id is bound into every
/// signature, so votes cannot be replayed on another chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynodContext {
    chain_id: String,
}

impl SynodContext {
    /// The context of chain `chain_id`.
    pub fn new(chain_id: impl Into<String>) -> SynodContext {
        SynodContext {
            chain_id: chain_id.into(),
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
}

impl Context for SynodContext {
    type Address = ValidatorAddress;
    type Height = BlockHeight;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockRef;
    type Vote = Vote;
    type Extension = Bytes;
    type SigningScheme = Ed25519;

    /// Stake-weighted and deterministic: a point in `[0, total power)` drawn
    /// from SHA-256(height, round) picks the validator whose cumulative power
    /// range holds it. Every node computes the same proposer.
    fn select_proposer<'a>(
        &self,
        set: &'a ValidatorSet,
        height: BlockHeight,
        round: Round,
    ) -> &'a Validator {
        let total = set.total_voting_power().max(1);
        let mut seed = Sha256::new();
        seed.update(b"synod-proposer\0");
        seed.update(height.0.to_be_bytes());
        seed.update(round.as_i64().to_be_bytes());
        let digest = seed.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let mut point = u64::from_be_bytes(first) % total;
        for v in set.validators() {
            if point < v.voting_power {
                return v;
            }
            point -= v.voting_power;
        }
        // Unreachable for a non-empty set; an empty set is refused when it is built.
        set.validators()
            .first()
            .unwrap_or_else(|| unreachable!("validator sets are never empty"))
    }

    fn new_proposal(
        &self,
        height: BlockHeight,
        round: Round,
        value: BlockRef,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}

#[cfg(test)]
mod tests;
