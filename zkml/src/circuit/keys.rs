//! Parameters, keys and verification.
//!
//! IPA parameters depend only on `k` (`Params::new` hashes to the curve, no
//! trusted setup), so every node derives the same parameters and, from the
//! model, the same verifying key; its `vk_hash` is what a model registry stores.

use std::sync::Arc;

use halo2_proofs::{
    pasta::{EqAffine, Fp},
    plonk::{
        keygen_pk, keygen_vk, verify_proof, ConstraintSystem, Error as PlonkError, ProvingKey,
        SingleVerifier, VerifyingKey,
    },
    poly::commitment::Params,
    transcript::{Blake2bRead, Challenge255},
};

use super::bound::{bound_rows, BoundModelCircuit, PrivateModelCircuit};
use super::config::ModelConfig;
pub use super::errors::{SetupError, VerifyError};
use super::graph::Graph;
use super::synth::ModelCircuit;
use super::visibility::{Visibility, WeightVisibility};
use super::vk_identity::vk_hash_with;
use crate::interp::Tensor;
use crate::ir::{Model, ModelId};

/// Smallest `k` the circuit accepts: the byte table has 256 rows.
pub const MIN_K: u32 = 9;
/// Default cap on `k` (governance may lower it: verification cost grows with `2^k`).
pub const DEFAULT_MAX_K: u32 = 16;
/// Largest `k` halo2's parameter generation supports.
const HALO2_MAX_K: u32 = 31;

/// What a verifier needs for one model: the verifying key and the model's
/// public input and output shapes (a shorter instance would silently be
/// zero-padded by halo2, so shapes are checked here).
#[derive(Clone, Debug)]
pub struct VerifierKey {
    /// The halo2 verifying key (commits to the weights). Derive it with
    /// [`ZkModel::verifier_key`]; replacing it by hand leaves
    /// [`VerifierKey::vk_hash`] describing the old key.
    pub vk: VerifyingKey<EqAffine>,
    /// Rows exponent the key was derived for.
    pub k: u32,
    /// What the instance shows of each tensor (part of the key: each
    /// visibility has its own).
    pub visibility: Visibility,
    /// Model input length.
    pub input_len: usize,
    /// Model output length.
    pub output_len: usize,
    /// Model input shape.
    pub input_shape: Vec<u32>,
    /// Model output shape.
    pub output_shape: Vec<u32>,
    /// The output is an ArgMax index, not int8 values.
    pub output_is_index: bool,
    /// [`vk_hash_with`] of `vk` and `visibility`, computed once when the
    /// key is derived.
    vk_hash: [u8; 32],
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
    pub model: ZkModel,
}

impl ProvingSetup {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<EqAffine> {
        &self.verifier.vk
    }
}

/// A validated IR model compiled for the circuit, with the smallest `k`
/// that holds it.
#[derive(Clone, Debug)]
pub struct ZkModel {
    model: Arc<Model>,
    graph: Arc<Graph>,
    id: ModelId,
    k: u32,
    rows: usize,
    visibility: Visibility,
}

/// Rows halo2 reserves at the end of the domain (blinding factors and more).
fn reserved_rows() -> usize {
    let mut cs = ConstraintSystem::<Fp>::default();
    ModelConfig::configure(&mut cs);
    cs.minimum_rows()
}

/// Rows of the constants column: every distinct pinned value (int8 padding
/// values, 0 and 1).
const CONSTANT_ROWS: usize = 258;

impl ZkModel {
    /// Validates `model`, maps every node to the circuit and picks the
    /// smallest `k` that fits; [`SetupError::TooLarge`] past `max_k`. All
    /// tensors public, no context ([`Visibility::PUBLIC`]).
    pub fn from_ir(model: &Model, max_k: u32) -> Result<ZkModel, SetupError> {
        Self::from_ir_with(model, max_k, Visibility::PUBLIC)
    }

    /// [`ZkModel::from_ir`] for a proof under `visibility`: committed
    /// tensors add their packing and hashing rows, so `k` may grow.
    pub fn from_ir_with(
        model: &Model,
        max_k: u32,
        visibility: Visibility,
    ) -> Result<ZkModel, SetupError> {
        let info = model.validate()?;
        let shapes: Vec<Vec<u32>> = info.tensors.iter().map(|t| t.shape.clone()).collect();
        let kinds: Vec<_> = info.tensors.iter().map(|t| t.kind).collect();
        let graph = Graph::from_ir(model, &shapes, &kinds);
        if visibility.weights == WeightVisibility::Committed && graph.parameter_counts() == (0, 0) {
            return Err(SetupError::NoWeights);
        }
        let rows = if visibility.is_public() {
            graph
                .rows()
                .max(256)
                .max(CONSTANT_ROWS)
                .max(graph.input_len.saturating_add(graph.output_len))
                .saturating_add(reserved_rows())
        } else {
            bound_rows(&graph, &visibility, CONSTANT_ROWS)
        };
        let mut k = MIN_K;
        while k < usize::BITS - 1 && (1usize << k) < rows {
            k += 1;
        }
        let cap = max_k.min(HALO2_MAX_K);
        if k > cap {
            return Err(SetupError::TooLarge {
                needed: k,
                max_k: cap,
            });
        }
        Ok(ZkModel {
            model: Arc::new(model.clone()),
            graph: Arc::new(graph),
            id: ModelId::of(model),
            k,
            rows,
            visibility,
        })
    }

    /// Rows the circuit needs (halo2's reserved rows included): `2^k` is
    /// the smallest power of two at or above it.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// What a proof of this circuit shows of each tensor.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }

    /// Rows exponent of the circuit.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// The IR model's id.
    pub fn model_id(&self) -> ModelId {
        self.id
    }

    /// The IR model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The circuit for `input` (the keygen circuit without one).
    pub(crate) fn model_circuit(&self, input: Option<&[i8]>) -> ModelCircuit {
        ModelCircuit::new(Arc::clone(&self.graph), input.map(<[i8]>::to_vec))
    }

    /// The bound circuit (visibility other than public) for `input` and
    /// `context` (the keygen circuit without an input).
    pub(crate) fn bound_circuit(
        &self,
        input: Option<&[i8]>,
        context: Option<Fp>,
    ) -> BoundModelCircuit {
        let context = match (input, context) {
            (Some(_), Some(c)) => halo2_proofs::circuit::Value::known(c),
            // The context row is unused without a bound context.
            (Some(_), None) => halo2_proofs::circuit::Value::known(Fp::zero()),
            (None, _) => halo2_proofs::circuit::Value::unknown(),
        };
        BoundModelCircuit::new(self.model_circuit(input), self.visibility, context)
    }

    /// The circuit of committed weights for `input` and `context` (the
    /// keygen circuit without an input).
    pub(crate) fn private_circuit(
        &self,
        input: Option<&[i8]>,
        context: Option<Fp>,
    ) -> PrivateModelCircuit {
        let bound = self.bound_circuit(input, context);
        let (model, visibility, context) = bound.into_parts();
        PrivateModelCircuit::new(model, visibility, context)
    }

    /// Whether the weights are committed (the circuit is
    /// [`PrivateModelCircuit`]).
    fn weights_committed(&self) -> bool {
        self.visibility.weights == WeightVisibility::Committed
    }

    /// The bound circuit, for tests that run halo2's MockProver.
    #[cfg(feature = "testkit")]
    pub fn circuit_with_context(
        &self,
        input: Option<&[i8]>,
        context: Option<Fp>,
    ) -> BoundModelCircuit {
        self.bound_circuit(input, context)
    }

    /// The circuit of committed weights, for tests that run halo2's
    /// MockProver.
    #[cfg(feature = "testkit")]
    pub fn private_circuit_with_context(
        &self,
        input: Option<&[i8]>,
        context: Option<Fp>,
    ) -> PrivateModelCircuit {
        self.private_circuit(input, context)
    }

    /// The circuit for `input` (the keygen circuit without one), for tests
    /// that run halo2's MockProver or make the circuit lie (see
    /// [`ModelCircuit::with`]).
    #[cfg(feature = "testkit")]
    pub fn circuit(&self, input: Option<&[i8]>) -> ModelCircuit {
        self.model_circuit(input)
    }

    fn check_params(&self, params: &Params<EqAffine>) -> Result<(), SetupError> {
        if params.k() != self.k {
            return Err(SetupError::ParamsMismatch {
                params_k: params.k(),
                k: self.k,
            });
        }
        Ok(())
    }

    fn key(&self, vk: VerifyingKey<EqAffine>) -> VerifierKey {
        VerifierKey {
            vk_hash: vk_hash_with(&vk, self.visibility),
            vk,
            k: self.k,
            visibility: self.visibility,
            input_len: self.graph.input_len,
            output_len: self.graph.output_len,
            input_shape: self.graph.input_shape.clone(),
            output_shape: self.graph.output_shape.clone(),
            output_is_index: self.graph.output_is_index,
        }
    }

    /// The verifier's key, derived from `params` (of this model's `k`).
    /// Deterministic: every node derives the same key for the same model.
    pub fn verifier_key(&self, params: &Params<EqAffine>) -> Result<VerifierKey, SetupError> {
        self.check_params(params)?;
        let vk = if self.visibility.is_public() {
            keygen_vk(params, &self.model_circuit(None))?
        } else if self.weights_committed() {
            keygen_vk(params, &self.private_circuit(None, None))?
        } else {
            keygen_vk(params, &self.bound_circuit(None, None))?
        };
        Ok(self.key(vk))
    }

    /// The prover's keys (and a copy of `params`).
    pub fn setup(&self, params: &Params<EqAffine>) -> Result<ProvingSetup, SetupError> {
        self.check_params(params)?;
        let (vk, pk) = if self.visibility.is_public() {
            let circuit = self.model_circuit(None);
            let vk = keygen_vk(params, &circuit)?;
            (vk.clone(), keygen_pk(params, vk, &circuit)?)
        } else if self.weights_committed() {
            let circuit = self.private_circuit(None, None);
            let vk = keygen_vk(params, &circuit)?;
            (vk.clone(), keygen_pk(params, vk, &circuit)?)
        } else {
            let circuit = self.bound_circuit(None, None);
            let vk = keygen_vk(params, &circuit)?;
            (vk.clone(), keygen_pk(params, vk, &circuit)?)
        };
        Ok(ProvingSetup {
            params: params.clone(),
            pk,
            verifier: self.key(vk),
            model: self.clone(),
        })
    }

    /// The public instance of an inference (inputs, then outputs), after
    /// checking shapes and ranges against this model, for tests that run
    /// halo2's MockProver.
    #[cfg(feature = "testkit")]
    pub fn instance(&self, input: &Tensor, output: &Tensor) -> Result<Vec<Fp>, VerifyError> {
        // A key is only needed for its shapes here.
        instance_for(
            &Shapes {
                input: &self.graph.input_shape,
                output: &self.graph.output_shape,
                output_is_index: self.graph.output_is_index,
            },
            input,
            output,
        )
    }
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

pub(super) struct Shapes<'a> {
    input: &'a [u32],
    output: &'a [u32],
    output_is_index: bool,
}

impl VerifierKey {
    /// [`vk_hash_with`] of the key and its visibility, computed when the key
    /// was derived (the value a model registry stores).
    pub fn vk_hash(&self) -> [u8; 32] {
        self.vk_hash
    }

    /// [`VerifyError::Visibility`] unless the key is for
    /// [`Visibility::PUBLIC`] (what `verify_inference` and batches check).
    pub(super) fn require_public(&self) -> Result<(), VerifyError> {
        if self.visibility.is_public() {
            Ok(())
        } else {
            Err(VerifyError::Visibility {
                key: self.visibility,
                statement: Visibility::PUBLIC,
            })
        }
    }

    pub(super) fn shapes(&self) -> Shapes<'_> {
        Shapes {
            input: &self.input_shape,
            output: &self.output_shape,
            output_is_index: self.output_is_index,
        }
    }
}

pub(super) fn check_tensor(
    what: &'static str,
    expected: &[u32],
    t: &Tensor,
    index: bool,
) -> Result<(), VerifyError> {
    if t.shape() != expected {
        let expected_len: usize = expected.iter().map(|&d| d as usize).product();
        if t.values().len() != expected_len {
            return Err(if what == "input" {
                VerifyError::InputLength {
                    expected: expected_len,
                    actual: t.values().len(),
                }
            } else {
                VerifyError::OutputLength {
                    expected: expected_len,
                    actual: t.values().len(),
                }
            });
        }
        return Err(VerifyError::Shape {
            what,
            expected: expected.to_vec(),
            actual: t.shape().to_vec(),
        });
    }
    let bad = |v: &i32| {
        if index {
            *v < 0
        } else {
            i8::try_from(*v).is_err()
        }
    };
    if let Some(position) = t.values().iter().position(bad) {
        return Err(VerifyError::ValueOutOfRange {
            what,
            position,
            value: t.values()[position],
        });
    }
    Ok(())
}

pub(super) fn instance_for(
    shapes: &Shapes<'_>,
    input: &Tensor,
    output: &Tensor,
) -> Result<Vec<Fp>, VerifyError> {
    check_tensor("input", shapes.input, input, false)?;
    check_tensor("output", shapes.output, output, shapes.output_is_index)?;
    Ok(ModelCircuit::instance(input.values(), output.values()))
}

pub(super) fn check_params(
    params: &Params<EqAffine>,
    key: &VerifierKey,
) -> Result<(), VerifyError> {
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
pub(super) fn verify_error(index: usize, e: PlonkError) -> VerifyError {
    match e {
        PlonkError::Transcript(io) => VerifyError::Malformed {
            index,
            reason: io.to_string(),
        },
        _ => VerifyError::Invalid,
    }
}

/// Checks that `proof` proves `output = model(input)` for the model `key`
/// was derived from. Wrong shapes and out-of-range values are errors.
pub fn verify_inference(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    input: &Tensor,
    output: &Tensor,
    proof: &[u8],
) -> Result<(), VerifyError> {
    check_params(params, key)?;
    key.require_public()?;
    let instance = instance_for(&key.shapes(), input, output)?;
    verify_instance(params, key, &instance, proof)
}

/// Checks `proof` against the key and a complete public instance.
pub(super) fn verify_instance(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    instance: &[Fp],
    proof: &[u8],
) -> Result<(), VerifyError> {
    let mut rest = proof;
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
    verify_proof(
        params,
        &key.vk,
        SingleVerifier::new(params),
        &[&[instance]],
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
