//! Synod's Malachite consensus context: what a height, an address, a
//! validator, a value, a proposal, a part and a vote are, and how proposers
//! are chosen. Blocks travel as proposal parts; consensus itself only agrees
//! on a [`BlockRef`] (the block hash).

mod signing;
mod types;

pub use signing::{
    proposal_sign_bytes, vote_extension_sign_bytes, vote_sign_bytes, Ed25519Signer,
    Ed25519Verifier, SignPosition, SignRefused, SignStateError, StateFileError,
};
pub use types::{
    BlockHash, BlockHeight, BlockRef, Proposal, ProposalPart, SynodContext, Validator,
    ValidatorAddress, ValidatorSet, ValidatorSetError, Vote,
};

#[cfg(test)]
mod tests;
