//! The deterministic integer interpreter: exactly the arithmetic of
//! `docs/zkml-arithmetic.md`, with no floating point, no threads and no
//! platform-dependent behaviour, so every machine computes the same bits.
//!
//! [`Interpreter`] validates a model once and runs it many times;
//! [`execute_node`] runs one node alone on given input tensors, checking
//! everything itself (the on-chain step of an optimistic dispute).

use serde::{Deserialize, Serialize};

use crate::ir::{
    element_count, ChannelRequant, ConvGeometry, IrError, Model, ModelInfo, Node, NodeProblem, Op,
    OpKind, Requant,
};

/// A tensor: a row-major array of i32 values with a shape. Activations hold
/// int8 values; the ArgMax output holds an index. Always
/// `values.len() == product(shape)`, also after deserialization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TensorParts")]
pub struct Tensor {
    shape: Vec<u32>,
    values: Vec<i32>,
}

#[derive(Deserialize)]
struct TensorParts {
    shape: Vec<u32>,
    values: Vec<i32>,
}

impl TryFrom<TensorParts> for Tensor {
    type Error = InterpError;

    fn try_from(parts: TensorParts) -> Result<Tensor, InterpError> {
        Tensor::new(parts.shape, parts.values)
    }
}

/// Why an execution could not run.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("a tensor of shape {shape:?} holds {expected} values, got {got}")]
    ValueCount {
        shape: Vec<u32>,
        expected: u64,
        got: usize,
    },
    #[error("invalid model: {0}")]
    Model(#[from] IrError),
    #[error("input has shape {got:?}, the model expects {expected:?}")]
    InputShape { expected: Vec<u32>, got: Vec<u32> },
    #[error("input value {value} at position {position} is outside int8 -128..=127")]
    InputOutOfRange { position: usize, value: i32 },
    #[error("node {index} ({kind}): {problem}")]
    Node {
        index: usize,
        kind: OpKind,
        problem: NodeProblem,
    },
    #[error(
        "node {index} ({kind}): input {input} holds {value} at position {position}, outside int8 -128..=127"
    )]
    NodeInputOutOfRange {
        index: usize,
        kind: OpKind,
        input: usize,
        position: usize,
        value: i32,
    },
}

impl Tensor {
    /// A tensor from its shape and row-major values.
    pub fn new(shape: Vec<u32>, values: Vec<i32>) -> Result<Tensor, InterpError> {
        let expected = element_count(&shape);
        if values.len() as u64 != expected {
            return Err(InterpError::ValueCount {
                shape,
                expected,
                got: values.len(),
            });
        }
        Ok(Tensor { shape, values })
    }

    /// A tensor of int8 values (already quantized with the input's zero point and scale).
    pub fn from_i8(shape: Vec<u32>, values: &[i8]) -> Result<Tensor, InterpError> {
        Tensor::new(shape, values.iter().map(|&v| i32::from(v)).collect())
    }

    /// The shape.
    pub fn shape(&self) -> &[u32] {
        &self.shape
    }

    /// The row-major values.
    pub fn values(&self) -> &[i32] {
        &self.values
    }

    /// The values, consuming the tensor.
    pub fn into_values(self) -> Vec<i32> {
        self.values
    }

    /// The first value outside int8, if any: `(position, value)`.
    fn first_non_int8(&self) -> Option<(usize, i32)> {
        self.values
            .iter()
            .position(|v| i8::try_from(*v).is_err())
            .map(|p| (p, self.values[p]))
    }
}

/// A validated model, ready to run many times.
#[derive(Clone, Debug)]
pub struct Interpreter<'m> {
    model: &'m Model,
    info: ModelInfo,
}

impl<'m> Interpreter<'m> {
    /// Validates `model` (see [`Model::validate`]).
    pub fn new(model: &'m Model) -> Result<Interpreter<'m>, InterpError> {
        let info = model.validate()?;
        Ok(Interpreter { model, info })
    }

    /// What validation learned about the model.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Runs the model; returns the output tensor.
    pub fn run(&self, input: &Tensor) -> Result<Tensor, InterpError> {
        let mut tensors = self.run_all(input)?;
        // run_all returns the input plus one tensor per node, and a model has nodes.
        Ok(tensors.pop().unwrap_or_else(|| input.clone()))
    }

    /// Runs the model; returns every tensor: the input, then each node's output.
    pub fn run_all(&self, input: &Tensor) -> Result<Vec<Tensor>, InterpError> {
        let expected = &self.info.tensors[0].shape;
        if input.shape() != expected.as_slice() {
            return Err(InterpError::InputShape {
                expected: expected.clone(),
                got: input.shape.clone(),
            });
        }
        if let Some((position, value)) = input.first_non_int8() {
            return Err(InterpError::InputOutOfRange { position, value });
        }
        let mut tensors = Vec::with_capacity(self.model.nodes.len() + 1);
        tensors.push(input.clone());
        for (node, meta) in self.model.nodes.iter().zip(&self.info.tensors[1..]) {
            // Validation proved the ids earlier, the shapes right and the
            // values int8, so the unchecked apply cannot fail or overflow.
            let inputs: Vec<&Tensor> = node
                .inputs
                .iter()
                .map(|id| &tensors[id.0 as usize])
                .collect();
            let output = apply(&node.op, &inputs, meta.shape.clone());
            tensors.push(output);
        }
        Ok(tensors)
    }
}

/// Validates `model` and runs it on `input`.
pub fn run(model: &Model, input: &Tensor) -> Result<Tensor, InterpError> {
    Interpreter::new(model)?.run(input)
}

/// Runs node `index` alone on `inputs`, checking the node's parameters, the
/// input count, shapes and int8 range first. The input zero points the
/// arithmetic needs are stated in the node itself (validation of the model
/// made them agree with the tensors).
pub fn execute_node(index: usize, node: &Node, inputs: &[&Tensor]) -> Result<Tensor, InterpError> {
    let kind = node.op.kind();
    let at_node = |problem| InterpError::Node {
        index,
        kind,
        problem,
    };
    node.op.check_params().map_err(at_node)?;
    let shapes: Vec<&[u32]> = inputs.iter().map(|t| t.shape()).collect();
    let shape = node.op.output_shape(&shapes).map_err(at_node)?;
    for (input, tensor) in inputs.iter().enumerate() {
        if let Some((position, value)) = tensor.first_non_int8() {
            return Err(InterpError::NodeInputOutOfRange {
                index,
                kind,
                input,
                position,
                value,
            });
        }
    }
    Ok(apply(&node.op, inputs, shape))
}

/// `(v + 2^(shift-1)) >> shift`: round half up, arithmetic shift. `shift` in 1..=62.
fn round_shift(v: i64, shift: u8) -> i64 {
    (v + (1i64 << (shift - 1))) >> shift
}

fn clamp_i8(v: i64) -> i32 {
    v.clamp(-128, 127) as i32
}

/// Requantizes an i32 accumulator to int8 (the contract's formula; |acc * m| < 2^62).
fn requantize(acc: i32, r: &Requant) -> i32 {
    let scaled = round_shift(i64::from(acc) * i64::from(r.multiplier), r.shift);
    clamp_i8(scaled + i64::from(r.zero_point))
}

/// Computes the op on checked inputs into a tensor of the checked output shape.
fn apply(op: &Op, inputs: &[&Tensor], shape: Vec<u32>) -> Tensor {
    let x = inputs[0];
    let values = match op {
        Op::Dense {
            in_features,
            weights,
            bias,
            requant,
            channels,
            ..
        } => dense(
            x.values(),
            *in_features as usize,
            weights,
            bias,
            requant,
            channels,
        ),
        Op::Conv2d {
            geometry,
            input_zero_point,
            weights,
            bias,
            requant,
            channels,
        } => conv2d(
            x,
            &shape,
            geometry,
            i32::from(*input_zero_point),
            weights,
            bias,
            &per_channel(requant, channels, bias.len()),
        ),
        Op::Add {
            a_zero_point,
            b_zero_point,
            a_multiplier,
            b_multiplier,
            shift,
            zero_point,
        } => {
            let (za, zb) = (i64::from(*a_zero_point), i64::from(*b_zero_point));
            let (ma, mb) = (i64::from(*a_multiplier), i64::from(*b_multiplier));
            x.values()
                .iter()
                .zip(inputs[1].values())
                .map(|(&a, &b)| {
                    let sum = (i64::from(a) - za) * ma + (i64::from(b) - zb) * mb;
                    clamp_i8(round_shift(sum, *shift) + i64::from(*zero_point))
                })
                .collect()
        }
        Op::Relu { zero_point } => {
            let z = i32::from(*zero_point);
            x.values().iter().map(|&v| v.max(z)).collect()
        }
        Op::MaxPool { kernel, stride } => max_pool(x, &shape, *kernel as usize, *stride as usize),
        Op::Reshape { .. } => x.values().to_vec(),
        Op::ArgMax => {
            // The first maximum: ties go to the lowest index.
            let mut best = 0usize;
            for (i, &v) in x.values().iter().enumerate() {
                if v > x.values()[best] {
                    best = i;
                }
            }
            vec![best as i32]
        }
    };
    Tensor { shape, values }
}

fn dense(
    x: &[i32],
    in_features: usize,
    weights: &[i8],
    bias: &[i32],
    requant: &Requant,
    channels: &[ChannelRequant],
) -> Vec<i32> {
    weights
        .chunks_exact(in_features)
        .zip(bias)
        .enumerate()
        .map(|(o, (row, &b))| {
            let dot: i32 = x.iter().zip(row).map(|(&v, &w)| v * i32::from(w)).sum();
            requantize(b + dot, &requant.for_channel(channels, o))
        })
        .collect()
}

/// The requantization of each of `outputs` channels.
fn per_channel(requant: &Requant, channels: &[ChannelRequant], outputs: usize) -> Vec<Requant> {
    (0..outputs)
        .map(|o| requant.for_channel(channels, o))
        .collect()
}

fn conv2d(
    x: &Tensor,
    out_shape: &[u32],
    g: &ConvGeometry,
    pad_value: i32,
    weights: &[i8],
    bias: &[i32],
    requants: &[Requant],
) -> Vec<i32> {
    let [c, h, w] = [x.shape[0], x.shape[1], x.shape[2]].map(|d| d as usize);
    let [oh, ow] = [out_shape[1], out_shape[2]].map(|d| d as usize);
    let [kernel_h, kernel_w, stride, padding] =
        [g.kernel_h, g.kernel_w, g.stride, g.padding].map(|v| v as usize);
    // Pad once with the input zero point, then every window is a plain slice
    // (faster than walking `ConvGeometry::taps`, with the same sums).
    let [ph, pw] = g.padded_size([x.shape[1], x.shape[2]]).map(|d| d as usize);
    let mut padded = vec![pad_value; c * ph * pw];
    for (ci, channel) in x.values().chunks_exact(h * w).enumerate() {
        for (y, row) in channel.chunks_exact(w).enumerate() {
            let at = (ci * ph + y + padding) * pw + padding;
            padded[at..at + w].copy_from_slice(row);
        }
    }
    let per_output = g.fan_in() as usize;
    let mut out = Vec::with_capacity(bias.len() * oh * ow);
    for (o, (filter, &b)) in weights.chunks_exact(per_output).zip(bias).enumerate() {
        let requant = requants[o];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = b;
                for (ci, channel_filter) in filter.chunks_exact(kernel_h * kernel_w).enumerate() {
                    for (ky, filter_row) in channel_filter.chunks_exact(kernel_w).enumerate() {
                        let at = (ci * ph + oy * stride + ky) * pw + ox * stride;
                        let window = &padded[at..at + kernel_w];
                        acc += window
                            .iter()
                            .zip(filter_row)
                            .map(|(&v, &wv)| v * i32::from(wv))
                            .sum::<i32>();
                    }
                }
                out.push(requantize(acc, &requant));
            }
        }
    }
    out
}

fn max_pool(x: &Tensor, out_shape: &[u32], kernel: usize, stride: usize) -> Vec<i32> {
    let [c, h, w] = [x.shape[0], x.shape[1], x.shape[2]].map(|d| d as usize);
    let [oh, ow] = [out_shape[1], out_shape[2]].map(|d| d as usize);
    let xs = x.values();
    let mut out = Vec::with_capacity(c * oh * ow);
    for ci in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = i32::MIN;
                for ky in 0..kernel {
                    let row = (ci * h + oy * stride + ky) * w + ox * stride;
                    for &v in &xs[row..row + kernel] {
                        best = best.max(v);
                    }
                }
                out.push(best);
            }
        }
    }
    out
}
