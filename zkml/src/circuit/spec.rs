//! The model a circuit proves: a sequence of int8 layers, and a plain
//! reference evaluation of it that follows `docs/zkml-arithmetic.md`
//! formula for formula (the circuit's tests compare against it).

use thiserror::Error;

/// Requantization of an exact accumulator to int8:
/// `y = clamp(((acc * multiplier + 2^(shift-1)) >> shift) + zero_point, -128, 127)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// `m`, with `1 <= m < 2^31`.
    pub multiplier: i32,
    /// `s`, with `1 <= s <= 62`.
    pub shift: u8,
    /// Output zero point `zy`.
    pub zero_point: i8,
}

/// One layer of a [`ModelCircuitSpec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CircuitLayer {
    /// Fully connected layer: `acc[o] = bias[o] + sum_i x[i] * w[o][i]`,
    /// then requantized (the input zero point is already folded into `bias`).
    Dense {
        /// Output length.
        out: usize,
        /// Input length (must equal the previous layer's output length).
        inputs: usize,
        /// Row-major `[out][inputs]` int8 weights.
        weights: Vec<i8>,
        /// One i32 bias per output.
        bias: Vec<i32>,
        /// How the accumulators are brought back to int8.
        requant: Requant,
    },
    /// `y = max(x, zero_point)`, elementwise.
    Relu {
        /// Zero point of the tensor (unchanged by ReLU).
        zero_point: i8,
    },
}

/// A model as the circuit sees it: an int8 input vector of `input_len`
/// values, then `layers` in order; the output is the last layer's int8 vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelCircuitSpec {
    /// Length of the int8 input vector.
    pub input_len: usize,
    /// The layers, applied in order.
    pub layers: Vec<CircuitLayer>,
}

/// Why a [`ModelCircuitSpec`] or an input for it is not acceptable.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// The model has no layers or a zero-length input.
    #[error("the model is empty (input length {input_len}, {layers} layers)")]
    Empty {
        /// Declared input length.
        input_len: usize,
        /// Number of layers.
        layers: usize,
    },
    /// A dense layer's `inputs` differs from the length flowing into it.
    #[error("layer {layer}: dense layer expects {expected} inputs but receives {actual}")]
    ShapeMismatch {
        /// Layer index.
        layer: usize,
        /// The layer's declared input length.
        expected: usize,
        /// The length produced by the previous layer.
        actual: usize,
    },
    /// Weight or bias vector of the wrong length.
    #[error("layer {layer}: {what} has {actual} entries, expected {expected}")]
    ParameterLength {
        /// Layer index.
        layer: usize,
        /// `"weights"` or `"bias"`.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// A zero-sized dense layer.
    #[error("layer {layer}: dense layer with zero inputs or outputs")]
    ZeroSized {
        /// Layer index.
        layer: usize,
    },
    /// Requantization parameters outside the contract's ranges.
    #[error("layer {layer}: requantization multiplier {multiplier} must be in 1..2^31 and shift {shift} in 1..=62")]
    Requant {
        /// Layer index.
        layer: usize,
        /// Given multiplier.
        multiplier: i32,
        /// Given shift.
        shift: u8,
    },
    /// `|bias| + 128 * 128 * fan_in` does not fit in i32.
    #[error("layer {layer}, output {output}: the accumulator could overflow i32 (bias {bias}, fan-in {fan_in})")]
    AccumulatorOverflow {
        /// Layer index.
        layer: usize,
        /// Output index.
        output: usize,
        /// Its bias.
        bias: i32,
        /// The layer's fan-in.
        fan_in: usize,
    },
    /// An input vector of the wrong length.
    #[error("the model takes {expected} inputs, got {actual}")]
    InputLength {
        /// Model input length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
}

impl ModelCircuitSpec {
    /// Checks shapes, parameter lengths and the contract's ranges; returns
    /// the output length.
    pub fn validate(&self) -> Result<usize, SpecError> {
        if self.input_len == 0 || self.layers.is_empty() {
            return Err(SpecError::Empty {
                input_len: self.input_len,
                layers: self.layers.len(),
            });
        }
        let mut len = self.input_len;
        for (layer, l) in self.layers.iter().enumerate() {
            if let CircuitLayer::Dense {
                out,
                inputs,
                weights,
                bias,
                requant,
            } = l
            {
                if *out == 0 || *inputs == 0 {
                    return Err(SpecError::ZeroSized { layer });
                }
                if *inputs != len {
                    return Err(SpecError::ShapeMismatch {
                        layer,
                        expected: *inputs,
                        actual: len,
                    });
                }
                let expected = out
                    .checked_mul(*inputs)
                    .ok_or(SpecError::ZeroSized { layer })?;
                if weights.len() != expected {
                    return Err(SpecError::ParameterLength {
                        layer,
                        what: "weights",
                        expected,
                        actual: weights.len(),
                    });
                }
                if bias.len() != *out {
                    return Err(SpecError::ParameterLength {
                        layer,
                        what: "bias",
                        expected: *out,
                        actual: bias.len(),
                    });
                }
                if requant.multiplier < 1 || !(1..=62).contains(&requant.shift) {
                    return Err(SpecError::Requant {
                        layer,
                        multiplier: requant.multiplier,
                        shift: requant.shift,
                    });
                }
                for (output, &b) in bias.iter().enumerate() {
                    let bound = i128::from(b).abs() + 128 * 128 * (*inputs as i128);
                    if bound > i128::from(i32::MAX) {
                        return Err(SpecError::AccumulatorOverflow {
                            layer,
                            output,
                            bias: b,
                            fan_in: *inputs,
                        });
                    }
                }
                len = *out;
            }
        }
        Ok(len)
    }

    /// Number of weights and biases.
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                CircuitLayer::Dense { weights, bias, .. } => weights.len() + bias.len(),
                CircuitLayer::Relu { .. } => 0,
            })
            .sum()
    }

    /// Runs the model on `input` with the contract's integer arithmetic.
    /// This is the reference the circuit is tested against, not the
    /// interpreter of `crate::interp`.
    pub fn evaluate(&self, input: &[i8]) -> Result<Vec<i8>, SpecError> {
        self.validate()?;
        if input.len() != self.input_len {
            return Err(SpecError::InputLength {
                expected: self.input_len,
                actual: input.len(),
            });
        }
        let mut x = input.to_vec();
        for layer in &self.layers {
            x = match layer {
                CircuitLayer::Dense {
                    out,
                    inputs,
                    weights,
                    bias,
                    requant,
                } => (0..*out)
                    .map(|o| {
                        let row = &weights[o * inputs..(o + 1) * inputs];
                        let acc = i64::from(bias[o])
                            + row
                                .iter()
                                .zip(&x)
                                .map(|(&w, &v)| i64::from(w) * i64::from(v))
                                .sum::<i64>();
                        requantize(acc, *requant)
                    })
                    .collect(),
                CircuitLayer::Relu { zero_point } => {
                    x.iter().map(|&v| v.max(*zero_point)).collect()
                }
            };
        }
        Ok(x)
    }
}

/// `clamp(((acc * m + 2^(s-1)) >> s) + zy, -128, 127)` on exact integers.
pub(crate) fn requantize(acc: i64, r: Requant) -> i8 {
    let v = i128::from(acc) * i128::from(r.multiplier) + (1i128 << (r.shift - 1));
    let q = (v >> r.shift) + i128::from(r.zero_point);
    q.clamp(-128, 127) as i8
}

impl ModelCircuitSpec {
    /// The same model as an IR model (input shape `[input_len]`, zero point
    /// that of a leading ReLU, else 0; layer `l` reads tensor `l`).
    pub fn to_ir(&self) -> crate::ir::Model {
        use crate::ir::{Node, Op, Scale, TensorId, TensorInfo};
        let zero_point = match self.layers.first() {
            Some(CircuitLayer::Relu { zero_point }) => *zero_point,
            _ => 0,
        };
        let nodes = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| Node {
                inputs: vec![TensorId(l as u32)],
                op: match layer {
                    CircuitLayer::Dense {
                        out,
                        inputs,
                        weights,
                        bias,
                        requant,
                    } => Op::Dense {
                        in_features: *inputs as u32,
                        out_features: *out as u32,
                        weights: weights.clone(),
                        bias: bias.clone(),
                        requant: crate::ir::Requant {
                            multiplier: requant.multiplier,
                            shift: requant.shift,
                            zero_point: requant.zero_point,
                        },
                        channels: Vec::new(),
                    },
                    CircuitLayer::Relu { zero_point } => Op::Relu {
                        zero_point: *zero_point,
                    },
                },
            })
            .collect();
        crate::ir::Model {
            name: "spec".to_owned(),
            input: TensorInfo {
                shape: vec![self.input_len as u32],
                zero_point,
                scale: Scale {
                    multiplier: 1,
                    shift: 0,
                },
            },
            nodes,
        }
    }
}
