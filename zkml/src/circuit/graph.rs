//! The circuit's view of a model: the IR's nodes as circuit steps, with a
//! ReLU fused into the requantization before it where that is exact, and the
//! number of rows each step lays out.

use crate::ir::{ConvGeometry, ElementKind, Model, Op};

use super::config::{MAC_WIDTH, REQUANT_ROWS};
use super::spec::Requant;

/// Geometry of a MaxPool step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl PoolShape {
    /// Input indices of the window of output `(c, oy, ox)`.
    pub fn window(&self, c: usize, oy: usize, ox: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.kernel).flat_map(move |ky| {
            (0..self.kernel).map(move |kx| {
                (c * self.height + oy * self.stride + ky) * self.width + ox * self.stride + kx
            })
        })
    }
}

/// What one circuit step computes. Tensors are numbered as in the IR
/// (0 is the input, node `i` writes `i + 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op2 {
    Dense {
        input: usize,
        out: usize,
        inputs: usize,
        weights: Vec<i8>,
        bias: Vec<i32>,
        /// One per output.
        requant: Vec<Requant>,
        lower_bound: i8,
    },
    Conv {
        input: usize,
        geometry: ConvGeometry,
        /// The input's `[H, W]`.
        in_size: [usize; 2],
        /// The output's `[OH, OW]`.
        out_size: [usize; 2],
        input_zero_point: i8,
        weights: Vec<i8>,
        bias: Vec<i32>,
        /// One per output channel.
        requant: Vec<Requant>,
        lower_bound: i8,
    },
    Add {
        a: usize,
        b: usize,
        len: usize,
        a_zero_point: i8,
        b_zero_point: i8,
        a_multiplier: i32,
        b_multiplier: i32,
        shift: u8,
        zero_point: i8,
        lower_bound: i8,
    },
    Relu {
        input: usize,
        len: usize,
        zero_point: i8,
    },
    MaxPool {
        input: usize,
        shape: PoolShape,
    },
    Reshape {
        input: usize,
    },
    ArgMax {
        input: usize,
        len: usize,
    },
}

/// A step and the tensor it writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub op: Op2,
    pub output: usize,
}

/// A model compiled for the circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Graph {
    pub(crate) input_shape: Vec<u32>,
    pub(crate) output_shape: Vec<u32>,
    pub(crate) input_len: usize,
    pub(crate) output_len: usize,
    pub(crate) output_is_index: bool,
    /// Tensor holding the output.
    pub(crate) output: usize,
    pub(crate) tensors: usize,
    pub(crate) steps: Vec<Step>,
}

/// MAC rows of one neuron: enough for its taps and for the requantization
/// limbs of the neuron before it.
pub(crate) fn mac_rows(taps: usize) -> usize {
    taps.div_ceil(MAC_WIDTH).max(REQUANT_ROWS - 1)
}

fn neuron_rows(neurons: usize, taps: usize) -> usize {
    neurons
        .saturating_mul(mac_rows(taps) + 1)
        .saturating_add(REQUANT_ROWS - 1)
}

/// The requantization of each of `outputs` channels.
fn requant_of(
    r: &crate::ir::Requant,
    channels: &[crate::ir::ChannelRequant],
    outputs: u32,
) -> Vec<Requant> {
    (0..outputs as usize)
        .map(|o| {
            let r = r.for_channel(channels, o);
            Requant {
                multiplier: r.multiplier,
                shift: r.shift,
                zero_point: r.zero_point,
            }
        })
        .collect()
}

fn len_of(shape: &[u32]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

impl Graph {
    /// Compiles a model that passed [`Model::validate`] (whose tensor
    /// shapes are `shapes`, input first).
    pub(crate) fn from_ir(model: &Model, shapes: &[Vec<u32>], kinds: &[ElementKind]) -> Graph {
        let tensors = model.nodes.len() + 1;
        let mut reads = vec![0usize; tensors];
        for node in &model.nodes {
            for id in &node.inputs {
                reads[id.0 as usize] += 1;
            }
        }
        // A ReLU is fused into the requantization before it when it is the
        // only reader of that (non-output) tensor:
        // max(clamp(t, -128, 127), z) = clamp(t, z, 127) for any int8 z.
        let mut fused_into: Vec<Option<i8>> = vec![None; tensors];
        let mut skip = vec![false; model.nodes.len()];
        for (i, node) in model.nodes.iter().enumerate() {
            if let Op::Relu { zero_point } = node.op {
                let src = node.inputs[0].0 as usize;
                if src == 0 || reads[src] != 1 {
                    continue;
                }
                let producer = &model.nodes[src - 1].op;
                if matches!(
                    producer,
                    Op::Dense { .. } | Op::Conv2d { .. } | Op::Add { .. }
                ) {
                    fused_into[src] = Some(zero_point);
                    skip[i] = true;
                }
            }
        }
        // The tensor a fused ReLU writes is the one its producer writes.
        let mut alias: Vec<usize> = (0..tensors).collect();
        for (i, node) in model.nodes.iter().enumerate() {
            if skip[i] {
                alias[i + 1] = node.inputs[0].0 as usize;
            }
        }
        // Steps write the fused ReLU's tensor id directly: map producer -> relu.
        let mut written_as: Vec<usize> = (0..tensors).collect();
        for (i, &a) in alias.iter().enumerate() {
            if a != i {
                written_as[a] = i;
            }
        }
        let id = |t: &crate::ir::TensorId| written_as[alias[t.0 as usize]];
        let mut steps = Vec::new();
        for (i, node) in model.nodes.iter().enumerate() {
            if skip[i] {
                continue;
            }
            let output = written_as[i + 1];
            let lower_bound = fused_into[i + 1].unwrap_or(-128);
            let input = id(&node.inputs[0]);
            let in_shape = &shapes[node.inputs[0].0 as usize];
            let out_shape = &shapes[i + 1];
            let op = match &node.op {
                Op::Dense {
                    in_features,
                    out_features,
                    weights,
                    bias,
                    requant,
                    channels,
                } => Op2::Dense {
                    input,
                    out: *out_features as usize,
                    inputs: *in_features as usize,
                    weights: weights.clone(),
                    bias: bias.clone(),
                    requant: requant_of(requant, channels, *out_features),
                    lower_bound,
                },
                Op::Conv2d {
                    geometry,
                    input_zero_point,
                    weights,
                    bias,
                    requant,
                    channels,
                } => Op2::Conv {
                    input,
                    geometry: *geometry,
                    in_size: [in_shape[1] as usize, in_shape[2] as usize],
                    out_size: [out_shape[1] as usize, out_shape[2] as usize],
                    input_zero_point: *input_zero_point,
                    weights: weights.clone(),
                    bias: bias.clone(),
                    requant: requant_of(requant, channels, geometry.out_channels),
                    lower_bound,
                },
                Op::Add {
                    a_zero_point,
                    b_zero_point,
                    a_multiplier,
                    b_multiplier,
                    shift,
                    zero_point,
                } => Op2::Add {
                    a: input,
                    b: id(&node.inputs[1]),
                    len: len_of(in_shape),
                    a_zero_point: *a_zero_point,
                    b_zero_point: *b_zero_point,
                    a_multiplier: *a_multiplier,
                    b_multiplier: *b_multiplier,
                    shift: *shift,
                    zero_point: *zero_point,
                    lower_bound,
                },
                Op::Relu { zero_point } => Op2::Relu {
                    input,
                    len: len_of(in_shape),
                    zero_point: *zero_point,
                },
                Op::MaxPool { kernel, stride } => Op2::MaxPool {
                    input,
                    shape: PoolShape {
                        channels: in_shape[0] as usize,
                        height: in_shape[1] as usize,
                        width: in_shape[2] as usize,
                        kernel: *kernel as usize,
                        stride: *stride as usize,
                        out_h: out_shape[1] as usize,
                        out_w: out_shape[2] as usize,
                    },
                },
                Op::Reshape { .. } => Op2::Reshape { input },
                Op::ArgMax => Op2::ArgMax {
                    input,
                    len: len_of(in_shape),
                },
            };
            steps.push(Step { op, output });
        }
        let last = tensors - 1;
        Graph {
            input_shape: shapes[0].clone(),
            output_shape: shapes[last].clone(),
            input_len: len_of(&shapes[0]),
            output_len: len_of(&shapes[last]),
            output_is_index: matches!(kinds[last], ElementKind::Index),
            output: written_as[alias[last]],
            tensors,
            steps,
        }
    }

    /// `(biases, weights)`: the parameters of the Dense and Conv steps
    /// (what `synod-weights/v1` commits to).
    pub(crate) fn parameter_counts(&self) -> (usize, usize) {
        self.steps
            .iter()
            .fold((0, 0), |(biases, weights), s| match &s.op {
                Op2::Dense {
                    weights: w, bias, ..
                }
                | Op2::Conv {
                    weights: w, bias, ..
                } => (biases + bias.len(), weights + w.len()),
                _ => (biases, weights),
            })
    }

    /// Rows the layout uses (before halo2's reserved rows).
    pub(crate) fn rows(&self) -> usize {
        let steps: usize = self
            .steps
            .iter()
            .map(|s| match &s.op {
                Op2::Dense { out, inputs, .. } => neuron_rows(*out, *inputs),
                Op2::Conv {
                    geometry,
                    out_size: [out_h, out_w],
                    ..
                } => neuron_rows(
                    geometry.out_channels as usize * out_h * out_w,
                    geometry.fan_in() as usize,
                ),
                Op2::Add { len, .. } => neuron_rows(*len, 2),
                Op2::Relu { len, .. } => *len,
                Op2::MaxPool { shape, .. } => (shape.channels * shape.out_h * shape.out_w)
                    .saturating_mul(shape.kernel * shape.kernel + 1),
                Op2::Reshape { .. } => 0,
                Op2::ArgMax { len, .. } => len + 1,
            })
            .fold(0usize, usize::saturating_add);
        // A model whose output is its input copies the output into advice.
        let copy = if self.output == 0 {
            self.output_len.div_ceil(MAC_WIDTH)
        } else {
            0
        };
        steps.saturating_add(copy)
    }
}
