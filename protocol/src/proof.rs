//! Merkle proofs of state values against an app hash.
//!
//! The chain's state is a Jellyfish Merkle Tree over SHA-256; a query with
//! `prove=true` returns, per state key, a borsh-encoded `jmt`
//! `SparseMerkleProof` (ABCI proof-op type [`crate::query::JMT_PROOF_OP`]).
//! This is the check a client runs; it needs no node and no storage.

use std::panic::{catch_unwind, AssertUnwindSafe};

use jmt::{proof::SparseMerkleProof, KeyHash, RootHash};
use sha2::Sha256;

/// Why a proof did not convince.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("malformed Merkle proof: {reason}")]
    Malformed { reason: String },
    #[error("Merkle proof for key {key} rejected: {reason}")]
    Rejected { key: String, reason: String },
}

/// Checks that under `root`, state key `key` holds `value` (`None`: that the
/// key is absent), given proof bytes from a query answer.
pub fn verify_state_proof(
    root: [u8; 32],
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), ProofError> {
    let proof: SparseMerkleProof<Sha256> =
        borsh::from_slice(proof).map_err(|e| ProofError::Malformed {
            reason: e.to_string(),
        })?;
    let rejected = |reason: String| ProofError::Rejected {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    };
    // jmt asserts on some malformed proofs; a proof from the network must never panic us.
    match catch_unwind(AssertUnwindSafe(|| {
        proof.verify(RootHash(root), KeyHash::with::<Sha256>(key), value)
    })) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(rejected(format!("{e:#}"))),
        Err(panic) => Err(rejected(
            panic
                .downcast_ref::<&str>()
                .map(|m| (*m).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the proof is inconsistent".to_owned()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn garbage_proofs_are_rejected_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(verify_state_proof([0; 32], b"k", Some(b"v"), &bytes).is_err());
        }
    }
}
