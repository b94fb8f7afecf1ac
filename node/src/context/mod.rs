//! Synod's Malachite consensus context: what a height, an address, a
//! validator, a value, a proposal, a part and a vote are, and how proposers
//! are chosen. Blocks travel as proposal parts; consensus itself only agrees
//! on a [`BlockRef`]: the block's CometBFT [`BlockId`]. Signatures carry the
//! time they were made ([`TimedEd25519`]), as CometBFT's votes do.

mod scheme;
mod signing;
mod types;

pub use scheme::{SignatureDecodingError, TimedEd25519, TimedSignature};

pub use signing::{
    proposal_sign_bytes, vote_extension_sign_bytes, vote_sign_bytes, Ed25519Signer,
    Ed25519Verifier, SignPosition, SignRefused, SignStateError, StateFileError,
};
pub use types::{
    BlockHeight, BlockId, BlockRef, PartSetHeader, Proposal, ProposalPart, SynodContext, Validator,
    ValidatorAddress, ValidatorSet, ValidatorSetError, Vote,
};

#[cfg(test)]
mod tests;
