//! The identity of a verifying key: [`vk_hash_with`], the value a model
//! registry stores, over canonical bytes (scheme `synod-zkml/vk/v2`).
//!
//! halo2_proofs 0.4.1 (zcash) has no `VerifyingKey::write` and no public
//! accessor for the key's fixed or permutation commitments or its
//! constraint system. What it exposes is the evaluation domain and the key's
//! transcript representative: the scalar every proof's Fiat–Shamir transcript
//! absorbs first, halo2's own digest (BLAKE2b) of the pinned key (domain,
//! constraint system, fixed and permutation commitments). Two keys with
//! different representatives never accept each other's proofs, so the
//! representative is the key's identity as far as verification is concerned;
//! it is read through [`VerifyingKey::hash_into`] and encoded as its
//! canonical 32-byte field representation, never formatted as text here.
//!
//! Encoding (every integer big-endian, every field element its canonical
//! little-endian `to_repr`):
//!
//! | bytes | field |
//! |---|---|
//! | 14 | tag `synod-zkml/vk` and a zero byte |
//! | 2 | scheme version, 2 |
//! | 1 + 15 | proof system, length-prefixed: `halo2-ipa/vesta` |
//! | 8 | extended domain size (`2^extended_k`) |
//! | 8 | quotient polynomial degree |
//! | 32 | `omega`, the generator of the `2^k` domain (fixes `k`) |
//! | 4 | visibility: input, output, weights, context (see [`visibility_bytes`]) |
//! | 32 | the key's transcript representative |
//!
//! v1 hashed halo2's `Debug` text of the pinned key; its values are gone
//! with it (no chain stored them beyond test fixtures).

use halo2_proofs::{
    pasta::{group::ff::PrimeField, EqAffine, Fp},
    plonk::VerifyingKey,
    transcript::{Challenge255, EncodedChallenge, Transcript},
};
use sha2::{Digest, Sha256};

use super::visibility::{ContextBinding, TensorVisibility, Visibility, WeightVisibility};

/// Domain tag of the encoding (with its terminating zero byte).
const TAG: &[u8] = b"synod-zkml/vk\0";
/// Version of the encoding; a change of layout takes a new one.
const VERSION: u16 = 2;
/// The proof system and curve the key belongs to.
const SYSTEM: &[u8] = b"halo2-ipa/vesta";

/// SHA-256 of [`vk_bytes`]: the verifying key's identity under
/// `visibility`. Equal on every node for the same model, visibility and `k`;
/// pinned for the shipped models by `tests/vk_golden.rs`.
pub fn vk_hash_with(vk: &VerifyingKey<EqAffine>, visibility: Visibility) -> [u8; 32] {
    Sha256::digest(vk_bytes(vk, visibility)).into()
}

/// [`vk_hash_with`] for [`Visibility::PUBLIC`]: the hash every model
/// registered so far stores (a public-visibility key).
pub fn vk_hash(vk: &VerifyingKey<EqAffine>) -> [u8; 32] {
    vk_hash_with(vk, Visibility::PUBLIC)
}

/// The canonical bytes [`vk_hash_with`] hashes (layout in the module docs).
pub fn vk_bytes(vk: &VerifyingKey<EqAffine>, visibility: Visibility) -> Vec<u8> {
    let domain = vk.get_domain();
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(TAG);
    out.extend_from_slice(&VERSION.to_be_bytes());
    // SYSTEM is a short constant: its length fits a byte.
    out.push(SYSTEM.len() as u8);
    out.extend_from_slice(SYSTEM);
    out.extend_from_slice(&(domain.extended_len() as u64).to_be_bytes());
    out.extend_from_slice(&(domain.get_quotient_poly_degree() as u64).to_be_bytes());
    out.extend_from_slice(&domain.get_omega().to_repr());
    out.extend_from_slice(&visibility_bytes(visibility));
    out.extend_from_slice(&transcript_repr(vk).to_repr());
    out
}

/// One byte per choice: input and output 0 public, 1 committed; weights 0
/// fixed, 1 committed; context 0 none, 1 bound.
pub fn visibility_bytes(v: Visibility) -> [u8; 4] {
    let tensor = |t: TensorVisibility| match t {
        TensorVisibility::Public => 0,
        TensorVisibility::Committed => 1,
    };
    let weights = match v.weights {
        WeightVisibility::Fixed => 0,
        WeightVisibility::Committed => 1,
    };
    let context = match v.context {
        ContextBinding::Unbound => 0,
        ContextBinding::Bound => 1,
    };
    [tensor(v.input), tensor(v.output), weights, context]
}

/// The scalar `vk.hash_into` writes to a transcript.
fn transcript_repr(vk: &VerifyingKey<EqAffine>) -> Fp {
    let mut recorder = ReprRecorder::default();
    // The recorder never fails a write; hash_into writes exactly one scalar.
    if vk.hash_into(&mut recorder).is_err() {
        unreachable!("the recording transcript accepts every scalar");
    }
    recorder.scalars.first().copied().unwrap_or_else(Fp::zero)
}

/// A transcript that only records the common scalars written to it.
#[derive(Default)]
struct ReprRecorder {
    scalars: Vec<Fp>,
}

impl Transcript<EqAffine, Challenge255<EqAffine>> for ReprRecorder {
    fn squeeze_challenge(&mut self) -> Challenge255<EqAffine> {
        // hash_into never squeezes; a fixed challenge keeps this total.
        Challenge255::new(&[0u8; 64])
    }

    fn common_point(&mut self, _point: EqAffine) -> std::io::Result<()> {
        Ok(())
    }

    fn common_scalar(&mut self, scalar: Fp) -> std::io::Result<()> {
        self.scalars.push(scalar);
        Ok(())
    }
}
