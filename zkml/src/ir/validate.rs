//! Validation of a model against the arithmetic contract
//! (`docs/zkml-arithmetic.md`) and the IR's limits: per-op parameter checks,
//! shape inference, zero-point agreement, and the model's size figures.

use super::{
    window_count, ChannelRequant, ElementKind, IrError, Model, ModelInfo, Node, Op, Requant,
    TensorId, TensorMeta, MAX_KERNEL, MAX_NAME_BYTES, MAX_NODES, MAX_POOL_KERNEL, MAX_RANK,
    MAX_SHIFT, MAX_TENSOR_ELEMENTS,
};

/// What is wrong with one node.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NodeProblem {
    #[error("reads {got} tensors, expected {expected}")]
    Arity { expected: usize, got: usize },
    #[error("reads {input}, which is not written before this node")]
    InputNotEarlier { input: TensorId },
    #[error("reads {input}, the index written by an ArgMax, not an int8 tensor")]
    ReadsIndex { input: TensorId },
    #[error("expected {expected}, got an input of shape {got:?}")]
    InputShape { expected: String, got: Vec<u32> },
    #[error("adds tensors of different shapes {a:?} and {b:?}")]
    ShapesDiffer { a: Vec<u32>, b: Vec<u32> },
    #[error("{what} must be at least 1")]
    Zero { what: &'static str },
    #[error("weights hold {got} values, expected {expected} ({dims})")]
    WeightCount {
        expected: u64,
        got: usize,
        dims: String,
    },
    #[error("bias holds {got} values, expected {expected}")]
    BiasCount { expected: u64, got: usize },
    #[error("kernel {kernel_h}x{kernel_w} exceeds the largest allowed side {max}")]
    KernelTooLarge {
        kernel_h: u32,
        kernel_w: u32,
        max: u32,
    },
    #[error("padding {padding} exceeds the largest allowed {max}")]
    PaddingTooLarge { padding: u32, max: u32 },
    #[error("window {window_h}x{window_w} does not fit the (padded) input {h}x{w}")]
    WindowTooLarge {
        window_h: u32,
        window_w: u32,
        h: u64,
        w: u64,
    },
    #[error("{what} multiplier {multiplier} is outside 1..2^31")]
    Multiplier { what: &'static str, multiplier: i32 },
    #[error("shift {shift} is outside 1..={max}", max = MAX_SHIFT)]
    Shift { shift: u8 },
    #[error(
        "output {output} may overflow the i32 accumulator: |bias| {bias} + 128*128*{fan_in} exceeds {max}",
        max = i32::MAX
    )]
    AccumulatorOverflow {
        output: usize,
        bias: i32,
        fan_in: u64,
    },
    #[error("states {what} zero point {stated}, but the tensor read has zero point {actual}")]
    ZeroPoint {
        what: &'static str,
        stated: i8,
        actual: i8,
    },
    #[error("reshape to {shape:?} ({to} values) of a tensor of {from} values")]
    Reshape { shape: Vec<u32>, from: u64, to: u64 },
    #[error("shape {shape:?} is not allowed: {reason}")]
    BadShape { shape: Vec<u32>, reason: String },
    #[error("has {got} per-channel requantizations, expected none or one per output ({expected})")]
    ChannelCount { got: usize, expected: u32 },
    #[error("per-channel requantizations must be written in the one canonical form: {reason}")]
    ChannelForm { reason: &'static str },
}

impl Op {
    /// Checks the op's own parameters against the contract (counts, ranges,
    /// kernel limits, no possible accumulator overflow), independent of inputs.
    pub fn check_params(&self) -> Result<(), NodeProblem> {
        match self {
            Op::Dense {
                in_features,
                out_features,
                weights,
                bias,
                requant,
                channels,
            } => {
                nonzero(*in_features, "in_features")?;
                nonzero(*out_features, "out_features")?;
                let expected = u64::from(*in_features) * u64::from(*out_features);
                let dims = format!("{out_features}x{in_features}");
                check_weights(weights, bias, expected, *out_features, dims)?;
                check_requant(requant, channels, *out_features)?;
                check_accumulators(bias, u64::from(*in_features))
            }
            Op::Conv2d {
                geometry: g,
                weights,
                bias,
                requant,
                channels,
                ..
            } => {
                nonzero(g.in_channels, "in_channels")?;
                nonzero(g.out_channels, "out_channels")?;
                nonzero(g.kernel_h, "kernel_h")?;
                nonzero(g.kernel_w, "kernel_w")?;
                nonzero(g.stride, "stride")?;
                if g.kernel_h > MAX_KERNEL || g.kernel_w > MAX_KERNEL {
                    return Err(NodeProblem::KernelTooLarge {
                        kernel_h: g.kernel_h,
                        kernel_w: g.kernel_w,
                        max: MAX_KERNEL,
                    });
                }
                if g.padding >= MAX_KERNEL {
                    return Err(NodeProblem::PaddingTooLarge {
                        padding: g.padding,
                        max: MAX_KERNEL - 1,
                    });
                }
                let dims = format!(
                    "{}x{}x{}x{}",
                    g.out_channels, g.in_channels, g.kernel_h, g.kernel_w
                );
                check_weights(weights, bias, g.weight_count(), g.out_channels, dims)?;
                check_requant(requant, channels, g.out_channels)?;
                check_accumulators(bias, g.fan_in())
            }
            Op::Add {
                a_multiplier,
                b_multiplier,
                shift,
                ..
            } => {
                check_multiplier("a", *a_multiplier)?;
                check_multiplier("b", *b_multiplier)?;
                check_shift(*shift)
            }
            Op::MaxPool { kernel, stride } => {
                nonzero(*kernel, "kernel")?;
                nonzero(*stride, "stride")?;
                if *kernel > MAX_POOL_KERNEL {
                    return Err(NodeProblem::KernelTooLarge {
                        kernel_h: *kernel,
                        kernel_w: *kernel,
                        max: MAX_POOL_KERNEL,
                    });
                }
                Ok(())
            }
            Op::Reshape { shape } => check_shape(shape).map(|_| ()),
            Op::Relu { .. } | Op::ArgMax => Ok(()),
        }
    }

    /// The output shape for inputs of these shapes (call [`Op::check_params`] first).
    pub fn output_shape(&self, inputs: &[&[u32]]) -> Result<Vec<u32>, NodeProblem> {
        if inputs.len() != self.arity() {
            return Err(NodeProblem::Arity {
                expected: self.arity(),
                got: inputs.len(),
            });
        }
        for input in inputs {
            check_shape(input)?;
        }
        let x = inputs[0];
        let shape = match self {
            Op::Dense {
                in_features,
                out_features,
                ..
            } => {
                if x != [*in_features] {
                    return Err(NodeProblem::InputShape {
                        expected: format!("a 1-D tensor [{in_features}]"),
                        got: x.to_vec(),
                    });
                }
                vec![*out_features]
            }
            Op::Conv2d { geometry: g, .. } => {
                let [_, h, w] = chw(x, g.in_channels)?;
                let Some([oh, ow]) = g.output_size([h, w]) else {
                    let [h, w] = g.padded_size([h, w]);
                    return Err(NodeProblem::WindowTooLarge {
                        window_h: g.kernel_h,
                        window_w: g.kernel_w,
                        h,
                        w,
                    });
                };
                vec![g.out_channels, oh, ow]
            }
            Op::MaxPool { kernel, stride } => {
                let [c, h, w] = chw(x, 0)?;
                let (h, w) = (u64::from(h), u64::from(w));
                let oh = window_count(h, *kernel, *stride);
                let ow = window_count(w, *kernel, *stride);
                let (Some(oh), Some(ow)) = (oh, ow) else {
                    return Err(NodeProblem::WindowTooLarge {
                        window_h: *kernel,
                        window_w: *kernel,
                        h,
                        w,
                    });
                };
                vec![c, oh, ow]
            }
            Op::Add { .. } => {
                if inputs[0] != inputs[1] {
                    return Err(NodeProblem::ShapesDiffer {
                        a: inputs[0].to_vec(),
                        b: inputs[1].to_vec(),
                    });
                }
                x.to_vec()
            }
            Op::Relu { .. } => x.to_vec(),
            Op::Reshape { shape } => {
                let from = element_count(x);
                let to = check_shape(shape)?;
                if from != to {
                    return Err(NodeProblem::Reshape {
                        shape: shape.clone(),
                        from,
                        to,
                    });
                }
                shape.clone()
            }
            Op::ArgMax => {
                if x.len() != 1 {
                    return Err(NodeProblem::InputShape {
                        expected: "a 1-D tensor".to_owned(),
                        got: x.to_vec(),
                    });
                }
                vec![1]
            }
        };
        check_shape(&shape)?;
        Ok(shape)
    }

    /// Multiply-accumulates of this op producing `output`.
    fn mac_count(&self, output: &[u32]) -> u64 {
        let fan_in = match self {
            Op::Dense { in_features, .. } => u64::from(*in_features),
            Op::Conv2d { geometry, .. } => geometry.fan_in(),
            _ => return 0,
        };
        element_count(output) * fan_in
    }
}

fn nonzero(value: u32, what: &'static str) -> Result<(), NodeProblem> {
    if value == 0 {
        return Err(NodeProblem::Zero { what });
    }
    Ok(())
}

fn check_weights(
    weights: &[i8],
    bias: &[i32],
    expected: u64,
    outputs: u32,
    dims: String,
) -> Result<(), NodeProblem> {
    if weights.len() as u64 != expected {
        return Err(NodeProblem::WeightCount {
            expected,
            got: weights.len(),
            dims,
        });
    }
    if bias.len() as u64 != u64::from(outputs) {
        return Err(NodeProblem::BiasCount {
            expected: u64::from(outputs),
            got: bias.len(),
        });
    }
    Ok(())
}

fn check_multiplier(what: &'static str, multiplier: i32) -> Result<(), NodeProblem> {
    if multiplier < 1 {
        return Err(NodeProblem::Multiplier { what, multiplier });
    }
    Ok(())
}

fn check_shift(shift: u8) -> Result<(), NodeProblem> {
    if !(1..=MAX_SHIFT).contains(&shift) {
        return Err(NodeProblem::Shift { shift });
    }
    Ok(())
}

fn check_requant(
    requant: &Requant,
    channels: &[ChannelRequant],
    outputs: u32,
) -> Result<(), NodeProblem> {
    check_multiplier("requant", requant.multiplier)?;
    check_shift(requant.shift)?;
    if !channels.is_empty() && channels.len() as u64 != u64::from(outputs) {
        return Err(NodeProblem::ChannelCount {
            got: channels.len(),
            expected: outputs,
        });
    }
    for c in channels {
        check_multiplier("channel requant", c.multiplier)?;
        check_shift(c.shift)?;
    }
    // One model, one encoding (its id): equal channels are per-tensor, and
    // the layer's own multiplier and shift are those of channel 0.
    if let Some(first) = channels.first() {
        if channels.iter().all(|c| c == first) {
            return Err(NodeProblem::ChannelForm {
                reason: "all channels are equal; write one per-tensor requantization instead",
            });
        }
        if (requant.multiplier, requant.shift) != (first.multiplier, first.shift) {
            return Err(NodeProblem::ChannelForm {
                reason: "the layer's multiplier and shift must equal channel 0's",
            });
        }
    }
    Ok(())
}

/// The contract's overflow rule: `|bias| + 128 * 128 * fan_in <= i32::MAX`.
fn check_accumulators(bias: &[i32], fan_in: u64) -> Result<(), NodeProblem> {
    let products = fan_in.saturating_mul(128 * 128);
    for (output, b) in bias.iter().enumerate() {
        if u64::from(b.unsigned_abs()).saturating_add(products) > i32::MAX as u64 {
            return Err(NodeProblem::AccumulatorOverflow {
                output,
                bias: *b,
                fan_in,
            });
        }
    }
    Ok(())
}

/// The element count of a shape, or the reason it is not an allowed shape.
fn check_shape(shape: &[u32]) -> Result<u64, NodeProblem> {
    let bad = |reason: String| NodeProblem::BadShape {
        shape: shape.to_vec(),
        reason,
    };
    if shape.is_empty() || shape.len() > MAX_RANK {
        return Err(bad(format!("the rank must be 1..={MAX_RANK}")));
    }
    if shape.contains(&0) {
        return Err(bad("every dimension must be at least 1".to_owned()));
    }
    let count = element_count(shape);
    if count > MAX_TENSOR_ELEMENTS {
        return Err(bad(format!(
            "{count} elements exceed the limit of {MAX_TENSOR_ELEMENTS}"
        )));
    }
    Ok(count)
}

/// The product of the dimensions, saturating (shapes are checked before use).
pub(crate) fn element_count(shape: &[u32]) -> u64 {
    shape
        .iter()
        .fold(1u64, |n, d| n.saturating_mul(u64::from(*d)))
}

/// `[C, H, W]` of a rank-3 shape; `channels` 0 accepts any channel count.
fn chw(x: &[u32], channels: u32) -> Result<[u32; 3], NodeProblem> {
    match x {
        [c, h, w] if channels == 0 || *c == channels => Ok([*c, *h, *w]),
        _ => Err(NodeProblem::InputShape {
            expected: if channels == 0 {
                "a [C, H, W] tensor".to_owned()
            } else {
                format!("a [{channels}, H, W] tensor")
            },
            got: x.to_vec(),
        }),
    }
}

impl Model {
    pub fn validate(&self) -> Result<ModelInfo, IrError> {
        if self.name.len() > MAX_NAME_BYTES {
            return Err(IrError::NameTooLong {
                len: self.name.len(),
            });
        }
        check_shape(&self.input.shape).map_err(IrError::Input)?;
        if self.input.scale.multiplier == 0 {
            return Err(IrError::InputScale);
        }
        if self.nodes.is_empty() {
            return Err(IrError::NoNodes);
        }
        if self.nodes.len() > MAX_NODES {
            return Err(IrError::TooManyNodes {
                count: self.nodes.len(),
            });
        }
        let mut tensors = Vec::with_capacity(self.nodes.len() + 1);
        tensors.push(TensorMeta {
            shape: self.input.shape.clone(),
            kind: ElementKind::Int8 {
                zero_point: self.input.zero_point,
            },
        });
        let (mut parameter_count, mut mac_count) = (0u64, 0u64);
        for (index, node) in self.nodes.iter().enumerate() {
            let at_node = |problem| IrError::Node {
                index,
                kind: node.op.kind(),
                problem,
            };
            let output = infer_node(node, &tensors).map_err(at_node)?;
            parameter_count = parameter_count.saturating_add(node.op.parameter_count());
            mac_count = mac_count.saturating_add(node.op.mac_count(&output.shape));
            tensors.push(output);
        }
        Ok(ModelInfo {
            tensors,
            parameter_count,
            mac_count,
        })
    }
}

/// Infers node's output from the tensors before it, checking everything the
/// contract asks of the node in this model.
fn infer_node(node: &Node, tensors: &[TensorMeta]) -> Result<TensorMeta, NodeProblem> {
    let op = &node.op;
    if node.inputs.len() != op.arity() {
        return Err(NodeProblem::Arity {
            expected: op.arity(),
            got: node.inputs.len(),
        });
    }
    let mut zero_points = Vec::with_capacity(node.inputs.len());
    for &input in &node.inputs {
        let meta = tensors
            .get(input.0 as usize)
            .ok_or(NodeProblem::InputNotEarlier { input })?;
        match meta.kind {
            ElementKind::Int8 { zero_point } => zero_points.push(zero_point),
            ElementKind::Index => return Err(NodeProblem::ReadsIndex { input }),
        }
    }
    op.check_params()?;
    let shapes: Vec<&[u32]> = node
        .inputs
        .iter()
        .map(|id| tensors[id.0 as usize].shape.as_slice())
        .collect();
    let shape = op.output_shape(&shapes)?;
    let stated = |what, stated: i8, actual: i8| {
        if stated == actual {
            Ok(())
        } else {
            Err(NodeProblem::ZeroPoint {
                what,
                stated,
                actual,
            })
        }
    };
    let input_zp = zero_points[0];
    let kind = match op {
        Op::Dense { requant, .. } => ElementKind::Int8 {
            zero_point: requant.zero_point,
        },
        Op::Conv2d {
            input_zero_point,
            requant,
            ..
        } => {
            stated("the input", *input_zero_point, input_zp)?;
            ElementKind::Int8 {
                zero_point: requant.zero_point,
            }
        }
        Op::Add {
            a_zero_point,
            b_zero_point,
            zero_point,
            ..
        } => {
            stated("the a", *a_zero_point, input_zp)?;
            stated("the b", *b_zero_point, zero_points[1])?;
            ElementKind::Int8 {
                zero_point: *zero_point,
            }
        }
        Op::Relu { zero_point } => {
            stated("the input", *zero_point, input_zp)?;
            ElementKind::Int8 {
                zero_point: *zero_point,
            }
        }
        Op::MaxPool { .. } | Op::Reshape { .. } => ElementKind::Int8 {
            zero_point: input_zp,
        },
        Op::ArgMax => ElementKind::Index,
    };
    Ok(TensorMeta { shape, kind })
}
