//! Private models: the weights' commitment a proof with committed weights
//! exposes, and the architecture a verifier derives the key from.
//!
//! # Scheme `synod-weights/v1`
//!
//! The parameters of a model are the biases and weights of its `Dense` and
//! `Conv2d` nodes (the requantization constants, zero points and `Add`
//! multipliers are part of the architecture and stay in the verifying key).
//! They are laid out as one int8 tensor, the *parameter tensor*:
//!
//! 1. every bias, in node order then output order, as the four big-endian
//!    bytes of `b + 2^31` (an unsigned 32-bit integer), each byte `B`
//!    written as the int8 value `B - 128`;
//! 2. then every weight, in node order, in the IR's row-major order.
//!
//! The commitment is the tensor commitment `synod-tensor/v1`
//! ([`TensorCommitment::of`]) of that tensor: the circuit packs it with the
//! same chip as a committed input, and checks that each bias's four bytes
//! (one packing row each, since the biases come first) are the bias its
//! neurons add.
//!
//! The commitment binds the parameters but does not hide weights an
//! observer can guess; the architecture, the requantization constants and
//! the parameter count are public.

use crate::commitment::{CommitmentError, TensorCommitment};
use crate::ir::{Model, Op};

/// Version of the weight commitment scheme described in this module.
pub const WEIGHTS_COMMITMENT_SCHEME: &str = "synod-weights/v1";

/// The four int8 values of a bias in the parameter tensor.
pub fn bias_bytes(bias: i32) -> [i8; 4] {
    let unsigned = (i64::from(bias) + (1i64 << 31)) as u32;
    unsigned.to_be_bytes().map(|b| (i16::from(b) - 128) as i8)
}

/// The biases and weights of `model`'s parameterized nodes, in node order:
/// `(biases, weights)`.
pub fn parameters(model: &Model) -> (Vec<i32>, Vec<i8>) {
    let mut biases = Vec::new();
    let mut weights = Vec::new();
    for node in &model.nodes {
        match &node.op {
            Op::Dense {
                weights: w,
                bias: b,
                ..
            }
            | Op::Conv2d {
                weights: w,
                bias: b,
                ..
            } => {
                biases.extend_from_slice(b);
                weights.extend_from_slice(w);
            }
            _ => {}
        }
    }
    (biases, weights)
}

/// The parameter tensor of `synod-weights/v1` (module docs).
pub fn parameter_tensor(model: &Model) -> Vec<i8> {
    let (biases, weights) = parameters(model);
    let mut out = Vec::with_capacity(biases.len() * 4 + weights.len());
    for b in biases {
        out.extend_from_slice(&bias_bytes(b));
    }
    out.extend_from_slice(&weights);
    out
}

/// The weights' commitment of `model` (`synod-weights/v1`); refused for a
/// model without parameters ([`CommitmentError::Empty`]).
pub fn weights_commitment(model: &Model) -> Result<TensorCommitment, CommitmentError> {
    TensorCommitment::of(&parameter_tensor(model))
}

/// `model` with every weight and bias set to zero: what a verifier of a
/// private model holds, and all the verifying key of committed weights
/// depends on. Two models with one architecture (and one requantization)
/// have the same architecture model, whatever their weights.
pub fn architecture(model: &Model) -> Model {
    let mut out = model.clone();
    for node in &mut out.nodes {
        match &mut node.op {
            Op::Dense { weights, bias, .. } | Op::Conv2d { weights, bias, .. } => {
                weights.iter_mut().for_each(|w| *w = 0);
                bias.iter_mut().for_each(|b| *b = 0);
            }
            _ => {}
        }
    }
    out
}

/// Whether every weight and bias of `model` is zero (an architecture, as
/// [`architecture`] makes it).
pub fn is_architecture(model: &Model) -> bool {
    let (biases, weights) = parameters(model);
    biases.iter().all(|&b| b == 0) && weights.iter().all(|&w| w == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_bytes_are_the_offset_big_endian_bytes() {
        assert_eq!(bias_bytes(0), [0, -128, -128, -128]);
        assert_eq!(bias_bytes(i32::MIN), [-128; 4]);
        assert_eq!(bias_bytes(i32::MAX), [127; 4]);
        assert_eq!(bias_bytes(-1), [-1, 127, 127, 127]);
        // Distinct biases give distinct bytes.
        assert_ne!(bias_bytes(256), bias_bytes(1));
    }
}
