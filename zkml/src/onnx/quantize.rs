//! From the [`LayerGraph`] to the int8 IR: activation ranges from
//! calibration (or as the ONNX file states them), weights and biases
//! quantized, input zero points folded into the biases, and requantization
//! multipliers computed from the scale ratios.
//!
//! The scheme (the same as `zkml/scripts/make_models.py`'s int8 reference):
//!
//! - **Activations**: asymmetric int8 from the calibration minimum and
//!   maximum over all tensors that share parameters, the range widened to
//!   include 0: `scale = (max - min) / 255`,
//!   `zero_point = clamp(round_half_up(-128 - min / scale), -128, 127)`.
//! - **Weights**: symmetric per tensor, `scale = max|w| / 127`,
//!   `q = clamp(round_half_up(w / scale), -127, 127)`.
//! - **Biases**: i32 at the accumulator scale `s_in * s_w`,
//!   `q = round_half_up(b / (s_in * s_w))`, then the input zero point folded
//!   in: `q' = q - z_in * sum_i w[o][i]` (docs/zkml-arithmetic.md).
//! - **Requantization** by [`requant_multiplier`] of `s_in * s_w / s_out`.
//! - **ReLU after a Dense / Conv2d / Add** whose output nothing else reads is
//!   folded: the layer's output takes the ReLU's range, which starts at 0,
//!   so its zero point is -128 and the int8 clamp is the ReLU (exact). Other
//!   ReLUs stay IR `Relu` nodes with their input's zero point.

use crate::interp::Tensor;
use crate::ir::{ChannelRequant, Model, Node, Op, OpKind, Requant, Scale, TensorId, TensorInfo};

use super::layers::{Bias, LayerGraph, LayerOp, QuantParams, Weights};
use super::reference::FloatReference;
use super::report::{ActivationReport, LayerReport, ParamSource, RequantReport};
use super::OnnxError;

/// Round half up (towards +infinity), as the integer contract does.
fn round_half_up(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// The integer multiplier and shift of a positive real ratio:
/// `multiplier / 2^shift ~= real`, with `multiplier` in `[2^30, 2^31)` and
/// `shift` in `1..=62`.
///
/// Exact rounding: `shift` is the one for which `real * 2^shift` lies in
/// `[2^30, 2^31)` (found by doubling or halving, which is exact in f64), and
/// `multiplier = floor(real * 2^shift + 0.5)` (round half up); if that
/// rounds up to `2^31`, it becomes `2^30` with `shift - 1`. A ratio below
/// `2^-32` keeps `shift = 62` and a smaller multiplier (at least 1). Returns
/// `None` for a ratio that is not positive and finite, at least `2^30`, or
/// below `2^-63` (multiplier 0).
pub fn requant_multiplier(real: f64) -> Option<(i32, u8)> {
    if !(real.is_finite() && real > 0.0) {
        return None;
    }
    let (low, high) = (f64::from(1u32 << 30), f64::from(1u32 << 31) * 1.0);
    let mut shift: i32 = 0;
    let mut scaled = real;
    while scaled >= high {
        scaled /= 2.0;
        shift -= 1;
    }
    while scaled < low && shift < i32::from(crate::ir::MAX_SHIFT) {
        scaled *= 2.0;
        shift += 1;
    }
    let mut multiplier = round_half_up(scaled);
    if multiplier >= high {
        multiplier /= 2.0;
        shift -= 1;
    }
    if shift < 1 || multiplier < 1.0 {
        return None;
    }
    Some((multiplier as i32, shift as u8))
}

/// The multipliers of an Add: `a_multiplier / 2^shift ~= ratio_a` and
/// `b_multiplier / 2^shift ~= ratio_b` with one shift, chosen by
/// [`requant_multiplier`] for the larger ratio; the smaller one is rounded
/// half up at that shift and must be at least 1.
pub fn add_multipliers(ratio_a: f64, ratio_b: f64) -> Option<(i32, i32, u8)> {
    let (big, small, a_is_big) = if ratio_a >= ratio_b {
        (ratio_a, ratio_b, true)
    } else {
        (ratio_b, ratio_a, false)
    };
    let (m_big, shift) = requant_multiplier(big)?;
    let m_small = round_half_up(small * 2f64.powi(i32::from(shift)));
    if !(1.0..f64::from(1u32 << 31)).contains(&m_small) {
        return None;
    }
    let m_small = m_small as i32;
    Some(if a_is_big {
        (m_big, m_small, shift)
    } else {
        (m_small, m_big, shift)
    })
}

/// A positive scale as the IR's exact fraction `multiplier / 2^shift`, with
/// `multiplier` in `[2^31, 2^32)` (rounded half up), so relative error below
/// `2^-31`. `None` for scales not positive and finite, at least `2^32`, or
/// below `2^-223`.
pub fn scale_fraction(scale: f64) -> Option<Scale> {
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let (low, high) = (2f64.powi(31), 2f64.powi(32));
    let mut shift: i32 = 0;
    let mut scaled = scale;
    if scaled >= high {
        return None;
    }
    while scaled < low {
        scaled *= 2.0;
        shift += 1;
    }
    let mut multiplier = round_half_up(scaled);
    if multiplier >= high {
        multiplier /= 2.0;
        shift -= 1;
    }
    let shift = u8::try_from(shift).ok()?;
    Some(Scale {
        multiplier: multiplier as u32,
        shift,
    })
}

/// The real value of an IR scale.
pub fn scale_value(scale: &Scale) -> f64 {
    f64::from(scale.multiplier) / 2f64.powi(i32::from(scale.shift))
}

/// Quantizes float values for a tensor described by `info` (the model's
/// input): `q = clamp(round_half_up(x / scale) + zero_point, -128, 127)`;
/// NaN becomes the zero point.
pub fn quantize_input(info: &TensorInfo, values: &[f32]) -> Result<Tensor, OnnxError> {
    let expected = info.shape.iter().map(|&d| d as usize).product::<usize>();
    if values.len() != expected {
        return Err(OnnxError::InputLength {
            expected,
            got: values.len(),
        });
    }
    let scale = scale_value(&info.scale);
    let zero_point = f64::from(info.zero_point);
    let q: Vec<i32> = values
        .iter()
        .map(|&x| {
            let x = f64::from(x);
            let q = if x.is_nan() {
                0.0
            } else {
                round_half_up(x / scale)
            };
            (q + zero_point).clamp(-128.0, 127.0) as i32
        })
        .collect();
    Tensor::new(info.shape.clone(), q).map_err(|e| OnnxError::Interp(e.to_string()))
}

/// The real values of an int8 tensor described by `info` (the logits):
/// `scale * (q - zero_point)`.
pub fn dequantize_output(info: &TensorInfo, tensor: &Tensor) -> Vec<f32> {
    let scale = scale_value(&info.scale);
    tensor
        .values()
        .iter()
        .map(|&q| (scale * f64::from(q - i32::from(info.zero_point))) as f32)
        .collect()
}

/// The activation parameters of a `[min, max]` range (widened to include 0).
pub fn params_from_range(min: f64, max: f64) -> QuantParams {
    let (min, max) = (min.min(0.0), max.max(0.0));
    if max - min <= 0.0 {
        // An all-zero tensor: any scale represents it exactly.
        return QuantParams {
            scale: 1.0 / 255.0,
            zero_point: -128,
        };
    }
    let scale = (max - min) / 255.0;
    let zero_point = round_half_up(-128.0 - min / scale).clamp(-128.0, 127.0) as i8;
    QuantParams { scale, zero_point }
}

/// The parameters of every class: as stated by the file, else from the
/// calibration ranges.
pub(crate) fn class_params(
    graph: &LayerGraph,
    reference: &FloatReference,
    calibration: Option<&[Vec<f32>]>,
) -> Result<Vec<(QuantParams, ParamSource)>, OnnxError> {
    let missing: Vec<usize> = (0..graph.stated.len())
        .filter(|&c| graph.stated[c].is_none())
        .collect();
    let mut ranges = vec![(0.0f64, 0.0f64); graph.stated.len()];
    if !missing.is_empty() {
        let Some(inputs) = calibration.filter(|c| !c.is_empty()) else {
            let value = graph
                .values
                .iter()
                .find(|v| v.class.is_some_and(|c| graph.stated[c].is_none()))
                .map_or_else(String::new, |v| v.name.clone());
            return Err(OnnxError::NeedsCalibration { tensor: value });
        };
        for (sample, input) in inputs.iter().enumerate() {
            let values = reference
                .run_all(input)
                .map_err(|e| OnnxError::Calibration {
                    problem: format!("input {sample}: {e}"),
                })?;
            for (value, data) in graph.values.iter().zip(&values) {
                let Some(class) = value.class.filter(|&c| graph.stated[c].is_none()) else {
                    continue;
                };
                for &x in data {
                    if !x.is_finite() {
                        return Err(OnnxError::Calibration {
                            problem: format!(
                                "input {sample} gives the non-finite value {x} in `{}`",
                                value.name
                            ),
                        });
                    }
                    let r = &mut ranges[class];
                    r.0 = r.0.min(f64::from(x));
                    r.1 = r.1.max(f64::from(x));
                }
            }
        }
    }
    Ok(graph
        .stated
        .iter()
        .zip(&ranges)
        .map(|(stated, &(lo, hi))| match stated {
            Some(p) => (*p, ParamSource::Stated),
            None => (
                params_from_range(lo, hi),
                ParamSource::Calibrated { min: lo, max: hi },
            ),
        })
        .collect())
}

/// The quantized model and what the quantizer decided.
pub(crate) struct QuantizedModel {
    pub model: Model,
    pub layers: Vec<LayerReport>,
    pub input: ActivationReport,
    pub logits: ActivationReport,
    /// The IR tensor holding the logits.
    pub logits_tensor: TensorId,
}

fn activation_report(params: &(QuantParams, ParamSource), name: &str) -> ActivationReport {
    ActivationReport {
        tensor: name.to_owned(),
        scale: params.0.scale,
        zero_point: params.0.zero_point,
        source: params.1,
    }
}

/// Symmetric per-tensor int8 weights: `(values, scale)`.
/// How much smaller than the whole tensor's a float weight's per-channel
/// scale may be.
const MAX_CHANNEL_SCALE_RATIO: f64 = 4096.0;

/// Int8 weights and their scales: as given for quantized weights; for float
/// weights symmetric `max|w| / 127`, over the whole tensor or, with
/// `per_channel`, over each output's weights.
fn quantize_weights(w: &Weights, outputs: usize, per_channel: bool) -> (Vec<i8>, Vec<f64>) {
    match w {
        Weights::Int8 { values, scales } => (values.clone(), scales.clone()),
        Weights::Float(w) => {
            let scale_of = |w: &[f32]| {
                let max = w.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
                if max > 0.0 {
                    max / 127.0
                } else {
                    1.0
                }
            };
            let groups = if per_channel { outputs.max(1) } else { 1 };
            let per = (w.len() / groups).max(1);
            // A channel's scale is at least 1/4096 of the tensor's: a dead or
            // near-zero channel (onnxruntime meets subnormal rows) would
            // otherwise get a scale so small that its bias and its
            // requantization ratio leave every integer range.
            let floor = scale_of(w) / MAX_CHANNEL_SCALE_RATIO;
            let scales: Vec<f64> = w.chunks(per).map(|c| scale_of(c).max(floor)).collect();
            let q = w
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let s = scales[(i / per).min(scales.len() - 1)];
                    round_half_up(f64::from(x) / s).clamp(-127.0, 127.0) as i8
                })
                .collect();
            (q, scales)
        }
    }
}

/// The bias at the accumulator scales (one per output), with the input
/// zero point folded in.
fn quantize_bias(
    bias: &Bias,
    weights: &[i8],
    accumulator_scales: &[f64],
    input_zero_point: i8,
) -> Result<Vec<i32>, String> {
    let acc = |o: usize| accumulator_scales[o.min(accumulator_scales.len() - 1)];
    let raw: Vec<f64> = match bias {
        Bias::Int32 { values, scales } => values
            .iter()
            .enumerate()
            .map(|(o, &q)| {
                let scale = crate::onnx::layers::channel_scale(scales, o, values.len());
                // onnxruntime states the bias scale as float32(s_in * s_w):
                // equal up to rounding, so the integers are taken as they are.
                if (scale - acc(o)).abs() <= 1e-6 * acc(o) {
                    f64::from(q)
                } else {
                    round_half_up(f64::from(q) * scale / acc(o))
                }
            })
            .collect(),
        Bias::Float(b) => b
            .iter()
            .enumerate()
            .map(|(o, &x)| round_half_up(f64::from(x) / acc(o)))
            .collect(),
    };
    let fan_in = weights.len() / raw.len().max(1);
    raw.iter()
        .enumerate()
        .map(|(o, &q)| {
            let row_sum: i64 = weights[o * fan_in..(o + 1) * fan_in]
                .iter()
                .map(|&w| i64::from(w))
                .sum();
            let folded = q - (i64::from(input_zero_point) * row_sum) as f64;
            if folded.abs() > f64::from(i32::MAX) {
                Err(format!(
                    "output {o}: the bias {folded} (input zero point folded in) does not fit int32; the bias is too large for the accumulator scale {:e}",
                    acc(o)
                ))
            } else {
                Ok(folded as i32)
            }
        })
        .collect()
}

/// A quantized Dense / Conv2d: weights, bias, requantization, per-channel ones.
type Weighted = (Vec<i8>, Vec<i32>, Requant, Vec<ChannelRequant>);

/// Builds the IR model.
pub(crate) fn to_ir(
    graph: &LayerGraph,
    params: &[(QuantParams, ParamSource)],
    name: &str,
    per_channel: bool,
) -> Result<QuantizedModel, OnnxError> {
    let class_of = |value: usize| graph.values[value].class.map(|c| params[c]);
    let input = class_of(0).ok_or_else(|| OnnxError::Graph {
        problem: "the input has no quantization class".into(),
    })?;
    let input_scale = scale_fraction(input.0.scale).ok_or_else(|| OnnxError::Graph {
        problem: format!(
            "the input scale {} cannot be written as the IR's fraction",
            input.0.scale
        ),
    })?;
    let mut nodes: Vec<Node> = Vec::new();
    let mut reports = Vec::new();
    // ir_of[value]: the IR tensor holding the value.
    let mut ir_of: Vec<TensorId> = vec![TensorId(0)];
    for (i, layer) in graph.layers.iter().enumerate() {
        let v = i + 1;
        let layer_error = |problem: String| OnnxError::Layer {
            node_name: layer.origin.node_name.clone(),
            op_type: layer.origin.op_type.clone(),
            problem,
        };
        let x = layer.inputs[0];
        let inputs: Vec<TensorId> = layer.inputs.iter().map(|&id| ir_of[id]).collect();
        let px = class_of(x).map(|p| p.0);
        let py = class_of(v).map(|p| p.0);
        let requant_of = |real: f64,
                          zero_point: i8|
         -> Result<(Requant, RequantReport), OnnxError> {
            let (multiplier, shift) = requant_multiplier(real).ok_or_else(|| {
                layer_error(format!(
                    "the requantization ratio {real:e} (s_in * s_w / s_out) cannot be a multiplier in [1, 2^31) with a shift in 1..=62"
                ))
            })?;
            let report = RequantReport::new(real, multiplier, shift);
            Ok((
                Requant {
                    multiplier,
                    shift,
                    zero_point,
                },
                report,
            ))
        };
        let mut report = LayerReport {
            ir_node: nodes.len(),
            kind: OpKind::Reshape,
            onnx_node: layer.origin.node_name.clone(),
            onnx_op: layer.origin.op_type.clone(),
            input_scale: px.map(|p| p.scale),
            input_zero_point: px.map(|p| p.zero_point),
            weight_scale: None,
            output_scale: py.map(|p| p.scale),
            output_zero_point: py.map(|p| p.zero_point),
            requant: Vec::new(),
            folded_relu: layer.relu,
        };
        let (px, py) = match (px, py) {
            (Some(px), Some(py)) => (px, py),
            (Some(px), None) => (px, px),
            _ => {
                return Err(layer_error("reads the ArgMax index".into()));
            }
        };
        // Weights, bias (input zero point folded in) and requantization of a
        // Dense or Conv2d layer; the scales go into the report.
        let weighted = |weights: &Weights,
                        bias: &Bias,
                        outputs: u32,
                        report: &mut LayerReport|
         -> Result<Weighted, OnnxError> {
            let (w, sw) = quantize_weights(weights, outputs as usize, per_channel);
            let acc_scales: Vec<f64> = sw.iter().map(|s| px.scale * s).collect();
            let bias = quantize_bias(bias, &w, &acc_scales, px.zero_point).map_err(layer_error)?;
            report.weight_scale = sw.iter().copied().reduce(f64::max);
            let mut channels = Vec::with_capacity(acc_scales.len());
            for acc in &acc_scales {
                let (requant, r) = requant_of(acc / py.scale, py.zero_point)?;
                report.requant.push(r);
                channels.push(ChannelRequant {
                    multiplier: requant.multiplier,
                    shift: requant.shift,
                });
            }
            let first = channels[0];
            let requant = Requant {
                multiplier: first.multiplier,
                shift: first.shift,
                zero_point: py.zero_point,
            };
            // Channels that all requantize alike are one per-tensor requantization.
            if channels.iter().all(|c| *c == first) {
                channels.clear();
                report.requant.truncate(1);
            }
            Ok((w, bias, requant, channels))
        };
        let op = match &layer.op {
            LayerOp::Dense {
                in_features,
                out_features,
                weights,
                bias,
            } => {
                let (w, bias, requant, channels) =
                    weighted(weights, bias, *out_features, &mut report)?;
                Op::Dense {
                    in_features: *in_features,
                    out_features: *out_features,
                    weights: w,
                    bias,
                    requant,
                    channels,
                }
            }
            LayerOp::Conv2d {
                geometry,
                weights,
                bias,
            } => {
                let (w, bias, requant, channels) =
                    weighted(weights, bias, geometry.out_channels, &mut report)?;
                Op::Conv2d {
                    geometry: *geometry,
                    input_zero_point: px.zero_point,
                    weights: w,
                    bias,
                    requant,
                    channels,
                }
            }
            LayerOp::Add => {
                let pb = class_of(layer.inputs[1])
                    .map(|p| p.0)
                    .ok_or_else(|| layer_error("reads the ArgMax index".into()))?;
                let (ra, rb) = (px.scale / py.scale, pb.scale / py.scale);
                let (ma, mb, shift) = add_multipliers(ra, rb).ok_or_else(|| {
                    layer_error(format!(
                        "the scale ratios {ra:e} and {rb:e} cannot be multipliers with one shift in 1..=62"
                    ))
                })?;
                report.requant.push(RequantReport::new(ra, ma, shift));
                report.requant.push(RequantReport::new(rb, mb, shift));
                Op::Add {
                    a_zero_point: px.zero_point,
                    b_zero_point: pb.zero_point,
                    a_multiplier: ma,
                    b_multiplier: mb,
                    shift,
                    zero_point: py.zero_point,
                }
            }
            LayerOp::Relu => Op::Relu {
                zero_point: px.zero_point,
            },
            LayerOp::MaxPool { kernel, stride } => Op::MaxPool {
                kernel: *kernel,
                stride: *stride,
            },
            LayerOp::Reshape { shape } => Op::Reshape {
                shape: shape.clone(),
            },
            LayerOp::ArgMax => Op::ArgMax,
        };
        report.kind = op.kind();
        reports.push(report);
        nodes.push(Node { inputs, op });
        // A folded ReLU whose output zero point is not -128 (stated by a
        // quantized file) needs its own max with the zero point.
        if layer.relu && py.zero_point != -128 {
            let previous = TensorId(nodes.len() as u32);
            reports.push(LayerReport {
                ir_node: nodes.len(),
                kind: OpKind::Relu,
                onnx_node: layer.origin.node_name.clone(),
                onnx_op: "Relu".into(),
                input_scale: Some(py.scale),
                input_zero_point: Some(py.zero_point),
                weight_scale: None,
                output_scale: Some(py.scale),
                output_zero_point: Some(py.zero_point),
                requant: Vec::new(),
                folded_relu: false,
            });
            nodes.push(Node {
                inputs: vec![previous],
                op: Op::Relu {
                    zero_point: py.zero_point,
                },
            });
        }
        ir_of.push(TensorId(nodes.len() as u32));
    }
    let logits_value = graph.logits_value();
    let logits = class_of(logits_value).ok_or_else(|| OnnxError::Graph {
        problem: "the logits have no quantization class".into(),
    })?;
    let model = Model {
        name: name.to_owned(),
        input: TensorInfo {
            shape: graph.values[0].shape.clone(),
            zero_point: input.0.zero_point,
            scale: input_scale,
        },
        nodes,
    };
    Ok(QuantizedModel {
        model,
        layers: reports,
        input: activation_report(&input, &graph.values[0].name),
        logits: activation_report(&logits, &graph.values[logits_value].name),
        logits_tensor: ir_of[logits_value],
    })
}

#[cfg(test)]
mod tests;
