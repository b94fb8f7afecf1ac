//! Constant inputs: the quantization parameters of QDQ and QOperator nodes,
//! integer constants, and the weight matrices and biases of layers.

use crate::onnx::graph::NodeContext;
use crate::onnx::layers::{Bias, QuantParams, Weights};
use crate::onnx::proto::{data_type, NodeProto};
use crate::onnx::OnnxError;

use super::{transpose, u32_of, DequantizedConst, Lowering, Sym};

impl Lowering<'_> {
    /// The quantization parameters given by a (scale, zero point) input pair
    /// of a QuantizeLinear / DequantizeLinear / QOperator node, for an
    /// activation: one scale, one zero point. A UINT8 zero point `z` is
    /// shifted to the int8 zero point `z - 128` (the IR's activations are
    /// int8; the shift does not change any real value).
    pub(super) fn activation_params(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        scale_input: usize,
        zero_point_input: usize,
    ) -> Result<QuantParams, OnnxError> {
        let scale = self.constant(ctx, node, scale_input)?;
        let scale = scale.float_scalar().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| {
            ctx.error(format!(
                "scale {} must be one positive float (per-axis activation scales are not supported)",
                scale.describe()
            ))
        })?;
        let zero_point = match self.opt_constant(ctx, node, zero_point_input)? {
            // ONNX's default zero point is a UINT8 0.
            None => -128,
            Some(z) => {
                let v = match z.as_ints() {
                    Some([v]) => *v,
                    _ => {
                        return Err(
                            ctx.error(format!("zero point {} must be one integer", z.describe()))
                        )
                    }
                };
                let v = match z.data_type {
                    data_type::UINT8 => v - 128,
                    data_type::INT8 => v,
                    other => {
                        return Err(ctx.error(format!(
                            "zero point {} has type {}; activations must be INT8 or UINT8",
                            z.describe(),
                            data_type::name(other)
                        )))
                    }
                };
                i8::try_from(v).map_err(|_| ctx.error(format!("zero point {v} is outside int8")))?
            }
        };
        Ok(QuantParams { scale, zero_point })
    }

    /// An integer constant with its scales and zero points (QOperator weight
    /// and bias inputs, and DequantizeLinear of a constant).
    pub(super) fn integer_constant(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        values_input: usize,
        scale_input: usize,
        zero_point_input: Option<usize>,
    ) -> Result<DequantizedConst, OnnxError> {
        let values = self.constant(ctx, node, values_input)?.clone();
        if values.as_ints().is_none() {
            return Err(ctx.error(format!("{} must be an integer tensor", values.describe())));
        }
        let scale = self.constant(ctx, node, scale_input)?;
        let scales: Vec<f64> = scale.as_floats().into_iter().map(f64::from).collect();
        if scales.is_empty() || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(ctx.error(format!(
                "scale {} must hold positive finite floats",
                scale.describe()
            )));
        }
        let zero_points = match zero_point_input {
            None => vec![0],
            Some(i) => match self.opt_constant(ctx, node, i)? {
                None => vec![0],
                Some(z) => z
                    .as_ints()
                    .map(<[i64]>::to_vec)
                    .filter(|z| !z.is_empty())
                    .ok_or_else(|| {
                        ctx.error(format!("zero point {} must be integers", z.describe()))
                    })?,
            },
        };
        Ok(DequantizedConst {
            values,
            scales,
            zero_points,
            axis: None,
        })
    }

    /// A weight matrix as `[out][in]` plus its sizes. `stored_out_in` says
    /// whether it is stored `[out, in]` (Gemm transB=1) or `[in, out]`.
    pub(super) fn weight_matrix(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
        stored_out_in: bool,
    ) -> Result<(u32, u32, Weights), OnnxError> {
        let (dims, weights) = match self.input(ctx, node, i)? {
            Sym::Const(c) => {
                let c = &self.consts[c];
                match &c.values {
                    crate::onnx::graph::ConstValues::Float(w) => {
                        (c.dims.clone(), Weights::Float(w.clone()))
                    }
                    _ => {
                        return Err(ctx.error(format!(
                            "weight {} must be float (or DequantizeLinear of int8)",
                            c.describe()
                        )))
                    }
                }
            }
            Sym::Dequantized(d) => {
                let d = &self.dequantized[d];
                let out_axis = if stored_out_in { 0 } else { 1 };
                (d.values.dims.clone(), int8_weights(ctx, d, out_axis)?)
            }
            _ => {
                return Err(ctx.error(format!(
                    "weight `{}` must be a constant",
                    Self::input_name(node, i)
                )))
            }
        };
        let [rows, cols] = dims.as_slice() else {
            return Err(ctx.error(format!(
                "weight `{}` has dims {dims:?}, expected 2-D",
                Self::input_name(node, i)
            )));
        };
        let (rows, cols) = (*rows, *cols);
        let (out, inp) = if stored_out_in {
            (rows, cols)
        } else {
            (cols, rows)
        };
        let weights = if stored_out_in {
            weights
        } else {
            match weights {
                Weights::Float(w) => Weights::Float(transpose(&w, rows, cols)),
                Weights::Int8 { values, scales } => Weights::Int8 {
                    values: transpose(&values, rows, cols),
                    scales,
                },
            }
        };
        let out = u32_of(ctx, "output size", out as i64)?;
        let inp = u32_of(ctx, "input size", inp as i64)?;
        Ok((out, inp, weights))
    }

    /// A bias of `outputs` values (a float constant, possibly broadcast
    /// from one value, or a dequantized integer constant).
    pub(super) fn bias(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
        outputs: u32,
    ) -> Result<Bias, OnnxError> {
        let n = outputs as usize;
        let sym = match self.opt_input(ctx, node, i)? {
            None => return Ok(Bias::Float(vec![0.0; n])),
            Some(sym) => sym,
        };
        let bias = match sym {
            Sym::Const(c) => {
                let c = &self.consts[c];
                match &c.values {
                    crate::onnx::graph::ConstValues::Float(b) => Bias::Float(b.clone()),
                    _ => {
                        return Err(ctx.error(format!(
                            "bias {} must be float (or DequantizeLinear of int32)",
                            c.describe()
                        )))
                    }
                }
            }
            Sym::Dequantized(d) => dequantized_bias(ctx, &self.dequantized[d])?,
            _ => {
                return Err(ctx.error(format!(
                    "bias `{}` must be a constant",
                    Self::input_name(node, i)
                )))
            }
        };
        broadcast_bias(ctx, bias, n)
    }
}

/// The one value all entries share (per-axis parameters that are all equal
/// are per-tensor ones).
fn uniform<T: Copy + PartialEq>(values: &[T]) -> Option<T> {
    let first = *values.first()?;
    values.iter().all(|&v| v == first).then_some(first)
}

/// The channel along `axis` of each element of a tensor of `dims`.
fn channel_of(dims: &[usize], axis: usize) -> impl Fn(usize) -> usize + '_ {
    let stride: usize = dims.iter().skip(axis + 1).product();
    let count = dims.get(axis).copied().unwrap_or(1).max(1);
    move |i| (i / stride.max(1)) % count
}

/// Per-tensor (one value) or per-axis (one value per channel of `axis`)
/// quantization parameters, checked against the tensor's dims.
fn per_axis<'a, T: Copy + PartialEq>(
    ctx: &NodeContext,
    d: &DequantizedConst,
    what: &str,
    values: &'a [T],
    axis: usize,
) -> Result<&'a [T], OnnxError> {
    if values.len() <= 1 || uniform(values).is_some() {
        return Ok(&values[..1.min(values.len())]);
    }
    let channels = d.values.dims.get(axis).copied().unwrap_or(0);
    if values.len() != channels {
        return Err(ctx.error(format!(
            "{} has {} {what}s, but its axis {axis} has {channels} channels",
            d.values.describe(),
            values.len()
        )));
    }
    Ok(values)
}

/// Int8 symmetric weights from an integer constant: one scale, or one per
/// output channel (`out_axis` of the stored tensor), and the zero points
/// folded in exactly (`q - z` must fit int8; UINT8 weights with zero point
/// 128 do).
pub(super) fn int8_weights(
    ctx: &NodeContext,
    d: &DequantizedConst,
    out_axis: usize,
) -> Result<Weights, OnnxError> {
    let per_channel = d.scales.len() > 1 || d.zero_points.len() > 1;
    if let Some(axis) = d.axis.filter(|&a| per_channel && a != out_axis) {
        return Err(ctx.error(format!(
            "weight {} is quantized per channel along axis {axis}; only the output axis ({out_axis}) is supported",
            d.values.describe()
        )));
    }
    let scales = per_axis(ctx, d, "scale", &d.scales, out_axis)?.to_vec();
    let zero_points = per_axis(ctx, d, "zero point", &d.zero_points, out_axis)?;
    let channel = channel_of(&d.values.dims, out_axis);
    let ints = d.values.as_ints().unwrap_or_default();
    let values = ints
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let z = if zero_points.len() == 1 {
                zero_points[0]
            } else {
                zero_points[channel(i)]
            };
            i8::try_from(q - z).map_err(|_| (q, z))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(q, z)| {
            ctx.error(format!(
                "weight {} has zero point {z}, which cannot be folded exactly: {q} - {z} falls outside int8",
                d.values.describe()
            ))
        })?;
    Ok(Weights::Int8 { values, scales })
}

/// The real values of an integer constant, per tensor or per axis.
pub(super) fn dequantize_constant(
    ctx: &NodeContext,
    d: &DequantizedConst,
) -> Result<Vec<f32>, OnnxError> {
    let axis = d.axis.unwrap_or(0);
    let scales = per_axis(ctx, d, "scale", &d.scales, axis)?;
    let zero_points = per_axis(ctx, d, "zero point", &d.zero_points, axis)?;
    let channel = channel_of(&d.values.dims, axis);
    let pick = |v: usize, i: usize| if v == 1 { 0 } else { channel(i) };
    Ok(d.values
        .as_ints()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let z = zero_points[pick(zero_points.len(), i)];
            let s = scales[pick(scales.len(), i)];
            ((q - z) as f64 * s) as f32
        })
        .collect())
}

/// A dequantized bias: INT32 values with zero point 0 (or one zero point)
/// stay integer with their scales (one, or one per output); anything else
/// is turned into floats.
pub(super) fn dequantized_bias(ctx: &NodeContext, d: &DequantizedConst) -> Result<Bias, OnnxError> {
    if d.values.data_type == data_type::INT32 {
        if let Some(zero_point) = uniform(&d.zero_points) {
            let scales = per_axis(ctx, d, "scale", &d.scales, 0)?.to_vec();
            let values = d
                .values
                .as_ints()
                .unwrap_or_default()
                .iter()
                .map(|&q| i32::try_from(q - zero_point).ok())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ctx.error(format!(
                        "bias {} minus its zero point leaves int32",
                        d.values.describe()
                    ))
                })?;
            return Ok(Bias::Int32 { values, scales });
        }
    }
    Ok(Bias::Float(dequantize_constant(ctx, d)?))
}

/// A bias of `n` values, or one value repeated `n` times.
pub(super) fn broadcast_bias(ctx: &NodeContext, bias: Bias, n: usize) -> Result<Bias, OnnxError> {
    fn spread<T: Copy>(v: Vec<T>, n: usize) -> Option<Vec<T>> {
        match v.len() {
            len if len == n => Some(v),
            1 => Some(vec![v[0]; n]),
            _ => None,
        }
    }
    let got = match &bias {
        Bias::Float(b) => b.len(),
        Bias::Int32 { values, .. } => values.len(),
    };
    let bad = || ctx.error(format!("the bias has {got} values, expected {n}"));
    Ok(match bias {
        Bias::Float(b) => Bias::Float(spread(b, n).ok_or_else(bad)?),
        Bias::Int32 { values, scales } => Bias::Int32 {
            values: spread(values, n).ok_or_else(bad)?,
            scales,
        },
    })
}
