//! Why keys could not be derived, and why a proof was not accepted.

use halo2_proofs::plonk::Error as PlonkError;
use thiserror::Error;

use super::spec::SpecError;
use super::visibility::Visibility;
use crate::ir::{IrError, OpKind};

/// Why keys could not be derived for a model.
#[derive(Debug, Error)]
pub enum SetupError {
    /// The model itself is malformed.
    #[error("invalid model: {0}")]
    Spec(#[from] SpecError),
    /// The IR model does not validate.
    #[error("invalid model: {0}")]
    Model(#[from] IrError),
    /// A node the circuit cannot prove.
    #[error("node {index} ({op}) cannot be proved: {reason}")]
    Unsupported {
        /// Node index.
        index: usize,
        /// Its op.
        op: OpKind,
        /// Why.
        reason: String,
    },
    /// The model needs more rows than the cap allows.
    #[error("the model needs k = {needed} (2^{needed} rows) but the cap is k = {max_k}; split the model or raise the cap")]
    TooLarge {
        /// Smallest `k` that fits the model.
        needed: u32,
        /// The cap.
        max_k: u32,
    },
    /// Committed weights for a model without any (no Dense or Conv2d).
    #[error("the model has no weights to commit (no Dense or Conv2d node); use weights=fixed")]
    NoWeights,
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
    /// A tensor with the right number of values but the wrong shape.
    #[error("the {what} has shape {actual:?}, the model's is {expected:?}")]
    Shape {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// The model's shape.
        expected: Vec<u32>,
        /// The given shape.
        actual: Vec<u32>,
    },
    /// A value outside int8 (or a negative ArgMax index).
    #[error("{what} value {value} at position {position} is out of range")]
    ValueOutOfRange {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// Position in the tensor.
        position: usize,
        /// The value.
        value: i32,
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
    /// The statement's visibility is not the key's (a proof is made for
    /// one visibility; see `verify_statement` for the others).
    #[error("the verifying key is for visibility {key}, the statement is {statement}")]
    Visibility {
        /// The key's visibility.
        key: Visibility,
        /// The statement's.
        statement: Visibility,
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
