//! Parameters, keys and verification.
//!
//! IPA parameters depend only on `k` (`Params::new` hashes to the curve, no
//! trusted setup), so every node derives the same parameters and, from the
//! model, the same verifying key; [`vk_hash`] is what a model registry stores.

use std::sync::Arc;

use halo2_proofs::{
    pasta::{group::ff::FromUniformBytes, EqAffine, Fp},
    plonk::{
        keygen_pk, keygen_vk, verify_proof, ConstraintSystem, Error as PlonkError, ProvingKey,
        SingleVerifier, VerificationStrategy, VerifyingKey,
    },
    poly::commitment::{Guard, Params, MSM},
    transcript::{Blake2bRead, Challenge255, EncodedChallenge},
};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::config::ModelConfig;
use super::spec::{ModelCircuitSpec, SpecError};
use super::synth::{layout_rows, ModelCircuit};

/// Smallest `k` the circuit accepts: the byte table has 256 rows.
pub const MIN_K: u32 = 9;
/// Default cap on `k` (governance may lower it: verification cost grows with `2^k`).
pub const DEFAULT_MAX_K: u32 = 16;
/// Largest `k` halo2's parameter generation supports.
const HALO2_MAX_K: u32 = 31;

/// Why keys could not be derived for a model.
#[derive(Debug, Error)]
pub enum SetupError {
    /// The model itself is malformed.
    #[error("invalid model: {0}")]
    Spec(#[from] SpecError),
    /// The model needs more rows than the cap allows.
    #[error("the model needs k = {needed} (2^{needed} rows) but the cap is k = {max_k}; split the model or raise the cap")]
    TooLarge {
        /// Smallest `k` that fits the model.
        needed: u32,
        /// The cap.
        max_k: u32,
    },
    /// `k` is below what the model needs.
    #[error("k = {k} is too small for this model, which needs k >= {needed}")]
    KTooSmall {
        /// Requested `k`.
        k: u32,
        /// Smallest `k` that fits the model.
        needed: u32,
    },
    /// The parameters were made for another `k`.
    #[error("the parameters are for k = {params_k}, the key needs k = {k}")]
    ParamsMismatch {
        /// `k` of the given parameters.
        params_k: u32,
        /// `k` of the key.
        k: u32,
    },
    /// halo2 key generation failed.
    #[error("key generation failed: {0}")]
    Keygen(#[from] PlonkError),
}

/// Why a proof was not accepted.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The public input has the wrong length for this model.
    #[error("the model takes {expected} inputs, got {actual}")]
    InputLength {
        /// Model input length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// The public output has the wrong length for this model.
    #[error("the model produces {expected} outputs, got {actual}")]
    OutputLength {
        /// Model output length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// The parameters were made for another `k` than the key.
    #[error("the parameters are for k = {params_k}, the verifying key for k = {k}")]
    ParamsMismatch {
        /// `k` of the parameters.
        params_k: u32,
        /// `k` of the key.
        k: u32,
    },
    /// The proof bytes do not parse (truncated, not a point or scalar).
    #[error("proof {index} is malformed: {reason}")]
    Malformed {
        /// Position in the batch (0 for a single proof).
        index: usize,
        /// What the parser reported.
        reason: String,
    },
    /// The proof has bytes after its end.
    #[error("proof {index} has {extra} trailing bytes")]
    TrailingBytes {
        /// Position in the batch (0 for a single proof).
        index: usize,
        /// Number of unread bytes.
        extra: usize,
    },
    /// The proof does not prove this output for this input and model.
    #[error("the proof does not verify for this model, input and output")]
    Invalid,
    /// A batch in which some proof does not verify.
    #[error("the batch of {count} proofs does not verify (at least one is invalid)")]
    BatchInvalid {
        /// Number of proofs in the batch.
        count: usize,
    },
}

/// What a verifier needs for one model: the verifying key and the model's
/// public input and output lengths (a shorter instance would silently be
/// zero-padded by halo2, so lengths are checked here).
#[derive(Clone, Debug)]
pub struct VerifierKey {
    /// The halo2 verifying key (commits to the weights).
    pub vk: VerifyingKey<EqAffine>,
    /// Rows exponent the key was derived for.
    pub k: u32,
    /// Model input length.
    pub input_len: usize,
    /// Model output length.
    pub output_len: usize,
}

/// Everything a prover needs for one model.
#[derive(Debug)]
pub struct ProvingSetup {
    /// IPA parameters for `k`.
    pub params: Params<EqAffine>,
    /// The proving key.
    pub pk: ProvingKey<EqAffine>,
    /// The verifier's view (a copy of the key inside `pk`).
    pub verifier: VerifierKey,
    /// The model.
    pub spec: Arc<ModelCircuitSpec>,
}

impl ProvingSetup {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<EqAffine> {
        &self.verifier.vk
    }
}

/// Rows halo2 reserves at the end of the domain (blinding factors and more).
fn reserved_rows() -> usize {
    let mut cs = ConstraintSystem::<Fp>::default();
    ModelConfig::configure(&mut cs);
    cs.minimum_rows()
}

/// Smallest `k` whose `2^k` rows hold the model's layout, the byte table and
/// the public instance.
pub fn min_k(spec: &ModelCircuitSpec) -> Result<u32, SpecError> {
    let output_len = spec.validate()?;
    let rows = layout_rows(spec).max(256).max(spec.input_len + output_len) + reserved_rows();
    let mut k = MIN_K;
    while (1usize << k) < rows {
        k += 1;
    }
    Ok(k)
}

/// IPA parameters for `k` (deterministic: no trusted setup). Slow for large `k`;
/// derive once and share.
pub fn params(k: u32) -> Result<Params<EqAffine>, SetupError> {
    if k > HALO2_MAX_K {
        return Err(SetupError::TooLarge {
            needed: k,
            max_k: HALO2_MAX_K,
        });
    }
    Ok(Params::new(k))
}

fn check_k(spec: &ModelCircuitSpec, k: u32, max_k: u32) -> Result<usize, SetupError> {
    let output_len = spec.validate()?;
    let needed = min_k(spec)?;
    if needed > max_k.min(HALO2_MAX_K) {
        return Err(SetupError::TooLarge {
            needed,
            max_k: max_k.min(HALO2_MAX_K),
        });
    }
    if k < needed {
        return Err(SetupError::KTooSmall { k, needed });
    }
    if k > max_k {
        return Err(SetupError::TooLarge { needed: k, max_k });
    }
    Ok(output_len)
}

/// Derives the verifier's key for `spec` from `params` (whose `k` is used).
/// Every node gets the same key for the same model and `k`.
pub fn verifier_key(
    params: &Params<EqAffine>,
    spec: &ModelCircuitSpec,
    max_k: u32,
) -> Result<VerifierKey, SetupError> {
    let k = params.k();
    let output_len = check_k(spec, k, max_k)?;
    let circuit = ModelCircuit::new(Arc::new(spec.clone()), None);
    let vk = keygen_vk(params, &circuit)?;
    Ok(VerifierKey {
        vk,
        k,
        input_len: spec.input_len,
        output_len,
    })
}

/// Derives parameters and keys for proving `spec` with `2^k` rows.
pub fn setup(spec: &ModelCircuitSpec, k: u32, max_k: u32) -> Result<ProvingSetup, SetupError> {
    let output_len = check_k(spec, k, max_k)?;
    let params = params(k)?;
    let spec = Arc::new(spec.clone());
    let circuit = ModelCircuit::new(Arc::clone(&spec), None);
    let vk = keygen_vk(&params, &circuit)?;
    let pk = keygen_pk(&params, vk.clone(), &circuit)?;
    Ok(ProvingSetup {
        params,
        pk,
        verifier: VerifierKey {
            vk,
            k,
            input_len: spec.input_len,
            output_len,
        },
        spec,
    })
}

/// SHA-256 of the verifying key's pinned description (domain, constraint
/// system, fixed and permutation commitments: everything verification uses),
/// under a domain tag. Equal on every node for the same model and `k`.
pub fn vk_hash(vk: &VerifyingKey<EqAffine>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"synod-zkml/halo2-vk/v1");
    let pinned = format!("{:?}", vk.pinned());
    hasher.update((pinned.len() as u64).to_le_bytes());
    hasher.update(pinned.as_bytes());
    hasher.finalize().into()
}

fn instance_for(key: &VerifierKey, input: &[i8], output: &[i8]) -> Result<Vec<Fp>, VerifyError> {
    if input.len() != key.input_len {
        return Err(VerifyError::InputLength {
            expected: key.input_len,
            actual: input.len(),
        });
    }
    if output.len() != key.output_len {
        return Err(VerifyError::OutputLength {
            expected: key.output_len,
            actual: output.len(),
        });
    }
    Ok(ModelCircuit::instance(input, output))
}

fn check_params(params: &Params<EqAffine>, key: &VerifierKey) -> Result<(), VerifyError> {
    if params.k() != key.k {
        return Err(VerifyError::ParamsMismatch {
            params_k: params.k(),
            k: key.k,
        });
    }
    Ok(())
}

/// Maps a halo2 verifier error: transcript (parse) errors are malformed
/// bytes, everything else is an invalid proof.
fn verify_error(index: usize, e: PlonkError) -> VerifyError {
    match e {
        PlonkError::Transcript(io) => VerifyError::Malformed {
            index,
            reason: io.to_string(),
        },
        _ => VerifyError::Invalid,
    }
}

/// Checks that `proof` proves `output = model(input)` for the model `key`
/// was derived from.
pub fn verify(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    input: &[i8],
    output: &[i8],
    proof: &[u8],
) -> Result<(), VerifyError> {
    check_params(params, key)?;
    let instance = instance_for(key, input, output)?;
    let mut rest = proof;
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
    verify_proof(
        params,
        &key.vk,
        SingleVerifier::new(params),
        &[&[&instance[..]]],
        &mut transcript,
    )
    .map_err(|e| verify_error(0, e))?;
    if !rest.is_empty() {
        return Err(VerifyError::TrailingBytes {
            index: 0,
            extra: rest.len(),
        });
    }
    Ok(())
}

/// One proof of a batch.
#[derive(Clone, Debug)]
pub struct BatchItem<'a> {
    /// The public input.
    pub input: &'a [i8],
    /// The claimed output.
    pub output: &'a [i8],
    /// The proof bytes.
    pub proof: &'a [u8],
}

/// Keeps a proof's final multi-scalar multiplication instead of evaluating it.
struct DeferredMsm<'p> {
    msm: MSM<'p, EqAffine>,
}

impl<'p> VerificationStrategy<'p, EqAffine> for DeferredMsm<'p> {
    type Output = MSM<'p, EqAffine>;

    fn process<E: EncodedChallenge<EqAffine>>(
        self,
        f: impl FnOnce(MSM<'p, EqAffine>) -> Result<Guard<'p, EqAffine, E>, PlonkError>,
    ) -> Result<Self::Output, PlonkError> {
        Ok(f(self.msm)?.use_challenges())
    }
}

/// Verifies many proofs for one model with one final multi-scalar
/// multiplication (the `2^k`-sized part of IPA verification) for all of them.
///
/// Same accumulation as halo2's `BatchVerifier` (each proof's MSM scaled by a
/// random factor, then one `eval`), except that the factors are derived by
/// hashing the whole batch (the verifying key, every instance and proof), so
/// every node reaches the same verdict, and that each proof is parsed to its
/// exact end, so a malformed or padded proof is named.
pub fn verify_batch(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    items: &[BatchItem<'_>],
) -> Result<(), VerifyError> {
    check_params(params, key)?;
    let instances = items
        .iter()
        .map(|item| instance_for(key, item.input, item.output))
        .collect::<Result<Vec<_>, _>>()?;

    let mut seed = Sha256::new();
    seed.update(b"synod-zkml/batch/v1");
    seed.update(vk_hash(&key.vk));
    for item in items {
        for part in [item.input, item.output] {
            seed.update((part.len() as u64).to_le_bytes());
            seed.update(part.iter().map(|&v| v as u8).collect::<Vec<_>>());
        }
        seed.update((item.proof.len() as u64).to_le_bytes());
        seed.update(item.proof);
    }
    let seed: [u8; 32] = seed.finalize().into();

    let mut total = params.empty_msm();
    for (index, (item, instance)) in items.iter().zip(&instances).enumerate() {
        let mut rest = item.proof;
        let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
        let msm = verify_proof(
            params,
            &key.vk,
            DeferredMsm {
                msm: params.empty_msm(),
            },
            &[&[&instance[..]]],
            &mut transcript,
        )
        .map_err(|e| verify_error(index, e))?;
        if !rest.is_empty() {
            return Err(VerifyError::TrailingBytes {
                index,
                extra: rest.len(),
            });
        }
        total.scale(batch_factor(&seed, index));
        total.add_msm(&msm);
    }
    if total.eval() {
        Ok(())
    } else {
        Err(VerifyError::BatchInvalid { count: items.len() })
    }
}

/// The `index`-th random scaling factor of a batch, from the batch's hash.
fn batch_factor(seed: &[u8; 32], index: usize) -> Fp {
    let mut wide = [0u8; 64];
    for (half, chunk) in wide.chunks_mut(32).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update((index as u64).to_le_bytes());
        h.update([half as u8]);
        chunk.copy_from_slice(&h.finalize());
    }
    Fp::from_uniform_bytes(&wide)
}
