//! Tensor commitments and proof contexts: the values a proof's public
//! instance carries when a tensor is `committed` rather than public, and the
//! context that binds a proof to one chain, submitter and purpose.
//!
//! These are the native (out-of-circuit) functions; the circuit computes the
//! same [`TensorCommitment`] with halo2_gadgets' Poseidon chip, so a chain or
//! a client can check that step `i`'s output commitment is step `i + 1`'s
//! input commitment without seeing either tensor.
//!
//! # Scheme `synod-tensor/v1`
//!
//! `P(a, b)` is Poseidon (`P128Pow5T3`: width 3, rate 2, x^5 S-box, 8 full
//! and 56 partial rounds) over the Pallas base field `Fp` (the field of the
//! proof's public instance), used as halo2's `ConstantLength<2>` hash (the
//! capacity element is `2 * 2^64`). For a tensor of `n >= 1` int8 values
//! `v[0..n]` (row-major, the shape is the model's and not hashed):
//!
//! 1. bytes: `b[i] = v[i] + 128` (`0..=255`);
//! 2. chunks: `c[j]` is the big-endian integer of the
//!    [`CHUNK_BYTES`] = 28 bytes `b[28 j .. 28 j + 28]`, the last chunk
//!    filled up with zero bytes (`< 2^224 < p`, so a chunk is one field
//!    element and the map from bytes to chunks is one to one);
//! 3. `h[0] = P(TENSOR_DOMAIN, n)`: [`TENSOR_DOMAIN`] separates this use of
//!    Poseidon from any other, and `n` makes tensors of different lengths
//!    (which the zero fill could otherwise make equal) hash apart;
//! 4. `h[j + 1] = P(h[j], c[j])` for each chunk; the commitment is `h[m]`
//!    for `m = ceil(n / 28)` chunks.
//!
//! The commitment binds the tensor (finding two tensors with one commitment
//! means a Poseidon collision) but does not hide a tensor an observer can
//! guess: it is a hash, not a blinded commitment.
//!
//! # Proof context `synod-context/v1`
//!
//! [`ProofContext::derive`] hashes the chain id, the submitter's address and
//! a caller tag (e.g. run and step) with SHA-256 under a domain tag, each
//! field length-prefixed, and keeps the first 31 bytes as a little-endian
//! integer (`< 2^248 < p`, so every digest maps to one field element).

use std::fmt;

use halo2_gadgets::poseidon::primitives::{ConstantLength, Hash as PoseidonHash, P128Pow5T3};
use halo2_proofs::pasta::{group::ff::PrimeField, Fp};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Version of the tensor commitment scheme described in this module.
pub const TENSOR_COMMITMENT_SCHEME: &str = "synod-tensor/v1";
/// Bytes (int8 values) packed into one field element.
pub const CHUNK_BYTES: usize = 28;
/// Domain separator of `h[0]`: the ASCII bytes of `synod-tensor/v1` as a
/// little-endian integer.
pub const TENSOR_DOMAIN: u128 = ascii_le(TENSOR_COMMITMENT_SCHEME.as_bytes());
/// Domain tag of [`ProofContext::derive`].
pub const CONTEXT_SCHEME: &str = "synod-context/v1";

const fn ascii_le(bytes: &[u8]) -> u128 {
    let mut v = 0u128;
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        v = (v << 8) | bytes[i] as u128;
    }
    v
}

/// Poseidon over two field elements (`ConstantLength<2>`), the one
/// compression step of the scheme.
pub(crate) fn poseidon2(a: Fp, b: Fp) -> Fp {
    PoseidonHash::<Fp, P128Pow5T3, ConstantLength<2>, 3, 2>::init().hash([a, b])
}

/// `h[0]` of a tensor of `len` values: a constant of the circuit.
pub(crate) fn initial_digest(len: usize) -> Fp {
    poseidon2(Fp::from_u128(TENSOR_DOMAIN), Fp::from(len as u64))
}

/// The chunks of a tensor (step 2 of the scheme).
pub(crate) fn chunks(values: &[i8]) -> Vec<Fp> {
    values
        .chunks(CHUNK_BYTES)
        .map(|chunk| {
            let mut be = [0u8; 32];
            for (i, &v) in chunk.iter().enumerate() {
                be[32 - CHUNK_BYTES + i] = offset_byte(v);
            }
            be.reverse();
            // 28 bytes below 2^224: always a canonical field element.
            Fp::from_repr(be).unwrap_or(Fp::zero())
        })
        .collect()
}

/// `v + 128`, the byte of an int8 value.
pub(crate) fn offset_byte(v: i8) -> u8 {
    (i16::from(v) + 128) as u8
}

/// Why bytes are not a commitment or a context.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommitmentError {
    /// The 32 bytes are not a canonical encoding of a field element.
    #[error("{what} {hex} is not a canonical Pallas base field element (little-endian, below the modulus)")]
    NotCanonical {
        /// `"tensor commitment"` or `"proof context"`.
        what: &'static str,
        /// The bytes, hex.
        hex: String,
    },
    /// A tensor with no values.
    #[error("cannot commit to an empty tensor")]
    Empty,
}

fn from_bytes(what: &'static str, bytes: [u8; 32]) -> Result<Fp, CommitmentError> {
    Option::from(Fp::from_repr(bytes)).ok_or_else(|| CommitmentError::NotCanonical {
        what,
        hex: hex::encode(bytes),
    })
}

/// The commitment to one int8 tensor under `synod-tensor/v1`: a public
/// instance value of a proof whose tensor is `committed`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TensorCommitment(Fp);

impl TensorCommitment {
    /// Commits to `values` (row-major); [`CommitmentError::Empty`] for none.
    pub fn of(values: &[i8]) -> Result<TensorCommitment, CommitmentError> {
        if values.is_empty() {
            return Err(CommitmentError::Empty);
        }
        let digest = chunks(values)
            .into_iter()
            .fold(initial_digest(values.len()), poseidon2);
        Ok(TensorCommitment(digest))
    }

    /// The field element (the public instance value).
    pub fn to_field(self) -> Fp {
        self.0
    }

    /// Canonical bytes: the field element, little-endian.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0.to_repr()
    }

    /// Reads canonical bytes (refuses a value at or above the modulus).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<TensorCommitment, CommitmentError> {
        from_bytes("tensor commitment", bytes).map(TensorCommitment)
    }
}

impl fmt::Display for TensorCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

impl fmt::Debug for TensorCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TensorCommitment({self})")
    }
}

/// A value bound into a proof's public instance so that the proof is valid
/// only for it: verifying with another context fails.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProofContext(Fp);

impl ProofContext {
    /// The context of a submission under `synod-context/v1`: `chain_id`,
    /// the submitter's address bytes and a caller tag (e.g. run and step).
    pub fn derive(chain_id: &str, submitter: &[u8], tag: &[u8]) -> ProofContext {
        let mut hasher = Sha256::new();
        hasher.update(CONTEXT_SCHEME.as_bytes());
        for field in [chain_id.as_bytes(), submitter, tag] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let mut repr = [0u8; 32];
        repr[..31].copy_from_slice(&digest[..31]);
        // Below 2^248: always canonical.
        ProofContext(Fp::from_repr(repr).unwrap_or(Fp::zero()))
    }

    /// The field element (the public instance value).
    pub fn to_field(self) -> Fp {
        self.0
    }

    /// Canonical bytes: the field element, little-endian.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0.to_repr()
    }

    /// Reads canonical bytes (refuses a value at or above the modulus).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<ProofContext, CommitmentError> {
        from_bytes("proof context", bytes).map(ProofContext)
    }
}

impl fmt::Display for ProofContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

impl fmt::Debug for ProofContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProofContext({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_the_ascii_of_the_scheme_name() {
        assert_eq!(TENSOR_DOMAIN.to_le_bytes()[..15], *b"synod-tensor/v1");
        assert_eq!(TENSOR_DOMAIN >> 120, 0);
    }

    #[test]
    fn chunks_are_big_endian_offset_bytes_filled_with_zeros() {
        let values: Vec<i8> = (0..30i16).map(|i| (i - 128) as i8).collect();
        let c = chunks(&values);
        assert_eq!(c.len(), 2);
        // b = 0, 1, ..., 27 then 28, 29 and 26 zero bytes.
        let first = (0..28u128).fold(Fp::zero(), |acc, b| acc * Fp::from(256) + Fp::from_u128(b));
        assert_eq!(c[0], first);
        let shift = (0..26).fold(Fp::one(), |acc, _| acc * Fp::from(256));
        let second = Fp::from(28 * 256 + 29) * shift;
        assert_eq!(c[1], second);
    }

    #[test]
    fn a_commitment_changes_with_any_value_and_with_the_length() {
        let base = vec![5i8; 40];
        let c = TensorCommitment::of(&base).expect("commits");
        for i in [0, 27, 28, 39] {
            let mut other = base.clone();
            other[i] = 6;
            assert_ne!(
                TensorCommitment::of(&other).expect("commits"),
                c,
                "value {i}"
            );
        }
        // A trailing -128 is a zero byte, like the fill: the length tells them apart.
        let mut longer = base.clone();
        longer.push(-128);
        assert_ne!(TensorCommitment::of(&longer).expect("commits"), c);
        assert_eq!(TensorCommitment::of(&[]), Err(CommitmentError::Empty));
    }

    #[test]
    fn bytes_round_trip_and_non_canonical_bytes_are_refused() {
        let c = TensorCommitment::of(&[1, 2, 3]).expect("commits");
        assert_eq!(TensorCommitment::from_bytes(c.to_bytes()), Ok(c));
        let ctx = ProofContext::derive("synod-1", &[7; 20], b"run 1 step 0");
        assert_eq!(ProofContext::from_bytes(ctx.to_bytes()), Ok(ctx));
        assert!(matches!(
            TensorCommitment::from_bytes([0xff; 32]),
            Err(CommitmentError::NotCanonical { .. })
        ));
    }

    #[test]
    fn contexts_differ_by_each_field_and_by_where_fields_split() {
        let base = ProofContext::derive("synod-1", &[7; 20], b"tag");
        assert_ne!(ProofContext::derive("synod-2", &[7; 20], b"tag"), base);
        assert_ne!(ProofContext::derive("synod-1", &[8; 20], b"tag"), base);
        assert_ne!(ProofContext::derive("synod-1", &[7; 20], b"tah"), base);
        assert_ne!(
            ProofContext::derive("ab", b"c", b""),
            ProofContext::derive("a", b"bc", b"")
        );
    }
}
