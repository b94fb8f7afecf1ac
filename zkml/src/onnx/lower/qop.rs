//! QOperator nodes: QLinearMatMul, com.microsoft.QGemm and
//! com.microsoft.QLinearAdd (QLinearConv shares the Conv handler in `conv`).

use crate::onnx::graph::{Attributes, Constant, NodeContext};
use crate::onnx::layers::{Bias, LayerOp, QuantParams, Weights};
use crate::onnx::proto::{data_type, NodeProto};
use crate::onnx::OnnxError;

use super::constants::{broadcast_bias, dequantize_constant, int8_weights};
use super::{same_params, transpose, u32_of, Form, Lowering, Sym};

impl Lowering<'_> {
    /// A QOperator node's stated input parameters must be those of its input.
    pub(super) fn check_int_input(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        form: Form,
        given: QuantParams,
    ) -> Result<(), OnnxError> {
        match form {
            Form::Int(p) if same_params(p, given) => Ok(()),
            Form::Int(p) => Err(ctx.error(format!(
                "states input scale {} and zero point {} for `{}`, which has scale {} and zero point {}",
                given.scale,
                given.zero_point,
                Self::input_name(node, 0),
                p.scale,
                p.zero_point
            ))),
            Form::Float => Err(ctx.error(format!(
                "input `{}` is a float tensor; this op reads an integer tensor (a QuantizeLinear is missing)",
                Self::input_name(node, 0)
            ))),
        }
    }

    pub(super) fn qgemm(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["alpha", "transA", "transB"])?;
        if attrs.float("alpha", 1.0)? != 1.0 {
            return Err(ctx.error("alpha != 1 is not supported"));
        }
        if attrs.int("transA", 0)? != 0 {
            return Err(
                ctx.error("transA=1 is not supported: the input must be a [1, in] row (transA=0)")
            );
        }
        let trans_b = attrs.int("transB", 0)? != 0;
        let (x, form) = self.any_activation(ctx, node, 0)?;
        let a = self.activation_params(ctx, node, 1, 2)?;
        self.check_int_input(ctx, node, form, a)?;
        let (out, inp, weights, w_scales) = self.int_weight_matrix(ctx, node, 3, trans_b)?;
        self.check_features(ctx, x, inp)?;
        let bias = match node.input.get(6).filter(|n| !n.is_empty()) {
            None => Bias::Float(vec![0.0; out as usize]),
            Some(_) => {
                let c = self.constant(ctx, node, 6)?;
                let scales = w_scales.iter().map(|w| a.scale * w).collect();
                int32_bias(ctx, c, scales, out)?
            }
        };
        if node.input.get(7).is_none_or(|n| n.is_empty()) {
            return Err(ctx.error("a float output (no y_scale) is not supported"));
        }
        let y = self.activation_params(ctx, node, 7, 8)?;
        let v = self.dense(ctx, node, x, inp, out, weights, bias, Some(y));
        self.bind(
            node,
            Sym::Quantized {
                value: v,
                params: y,
            },
        );
        Ok(())
    }

    /// An integer weight matrix input (with scale and zero point at the
    /// next two inputs) as `[out][in]` int8 plus its scale.
    fn int_weight_matrix(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
        stored_out_in: bool,
    ) -> Result<(u32, u32, Weights, Vec<f64>), OnnxError> {
        let d = self.integer_constant(ctx, node, i, i + 1, Some(i + 2))?;
        let weights = int8_weights(ctx, &d, if stored_out_in { 0 } else { 1 })?;
        let Weights::Int8 { values, scales } = weights else {
            return Err(ctx.error("internal: integer weights are not int8"));
        };
        let [rows, cols] = d.values.dims[..] else {
            return Err(ctx.error(format!("weight {} must be 2-D", d.values.describe())));
        };
        let (out, inp, values) = if stored_out_in {
            (rows, cols, values)
        } else {
            (cols, rows, transpose(&values, rows, cols))
        };
        Ok((
            u32_of(ctx, "output size", out as i64)?,
            u32_of(ctx, "input size", inp as i64)?,
            Weights::Int8 {
                values,
                scales: scales.clone(),
            },
            scales,
        ))
    }

    pub(super) fn qlinear_matmul(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
    ) -> Result<(), OnnxError> {
        Attributes::new(node, ctx, &[])?;
        let (x, form) = self.any_activation(ctx, node, 0)?;
        let a = self.activation_params(ctx, node, 1, 2)?;
        self.check_int_input(ctx, node, form, a)?;
        let (out, inp, weights, _) = self.int_weight_matrix(ctx, node, 3, false)?;
        self.check_features(ctx, x, inp)?;
        let y = self.activation_params(ctx, node, 6, 7)?;
        let v = self.dense(
            ctx,
            node,
            x,
            inp,
            out,
            weights,
            Bias::Float(vec![0.0; out as usize]),
            Some(y),
        );
        if let Some(name) = node.output.first() {
            self.pending_bias.insert(name.clone(), v);
        }
        self.bind(
            node,
            Sym::Quantized {
                value: v,
                params: y,
            },
        );
        Ok(())
    }

    /// `com.microsoft.QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp)`.
    pub(super) fn qlinear_add(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
    ) -> Result<(), OnnxError> {
        Attributes::new(node, ctx, &[])?;
        let y = self.activation_params(ctx, node, 6, 7)?;
        // A QLinearMatMul's output plus a constant: fold the constant into the
        // Dense's bias and give the Dense the Add's output quantization (one
        // requantization instead of two; values may differ by one step from
        // onnxruntime's, which rounds the MatMul output first).
        for (act, cst) in [(0usize, 3usize), (3, 0)] {
            let Some(name) = node.input.get(act) else {
                continue;
            };
            let Some(&v) = self.pending_bias.get(name) else {
                continue;
            };
            if self.readers.get(name.as_str()) != Some(&1)
                || !matches!(self.opt_input(ctx, node, cst)?, Some(Sym::Const(_)))
            {
                continue;
            }
            let (_, form) = self.any_activation(ctx, node, act)?;
            let a = self.activation_params(ctx, node, act + 1, act + 2)?;
            self.check_int_input(ctx, node, form, a)?;
            let b = self.integer_constant(ctx, node, cst, cst + 1, Some(cst + 2))?;
            let LayerOp::Dense {
                out_features,
                weights: Weights::Int8 {
                    scales: w_scales, ..
                },
                ..
            } = &self.layers[v - 1].op
            else {
                return Err(ctx.error("internal: a pending bias is not an int8 Dense"));
            };
            let out_features = *out_features;
            let acc_scales: Vec<f64> = w_scales.iter().map(|w| a.scale * w).collect();
            let real = dequantize_constant(ctx, &b)?;
            let bias = broadcast_bias(ctx, Bias::Float(real), out_features as usize)?;
            let Bias::Float(real) = bias else {
                return Err(ctx.error("internal: bias is not float"));
            };
            let values = real
                .iter()
                .enumerate()
                .map(|(o, &r)| {
                    let s = crate::onnx::layers::channel_scale(&acc_scales, o, real.len());
                    round_to_i32(f64::from(r) / s)
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ctx.error("the bias does not fit int32 at the accumulator scale"))?;
            if let LayerOp::Dense { bias, .. } = &mut self.layers[v - 1].op {
                *bias = Bias::Int32 {
                    values,
                    scales: acc_scales,
                };
            }
            if let Some(class) = self.values[v].class {
                self.stated[class] = Some(y);
            }
            self.pending_bias.remove(name);
            self.bind(
                node,
                Sym::Quantized {
                    value: v,
                    params: y,
                },
            );
            return Ok(());
        }
        let (a, form_a) = self.any_activation(ctx, node, 0)?;
        let pa = self.activation_params(ctx, node, 1, 2)?;
        self.check_int_input(ctx, node, form_a, pa)?;
        let (b, form_b) = self.any_activation(ctx, node, 3)?;
        let pb = self.activation_params(ctx, node, 4, 5)?;
        if !matches!(form_b, Form::Int(p) if same_params(p, pb)) {
            return Err(ctx.error(format!(
                "input `{}` is not an integer tensor with the stated scale and zero point",
                Self::input_name(node, 3)
            )));
        }
        self.add_layer(ctx, node, a, b, Some(y))
    }
}

/// Round half up to i32, if it fits.
fn round_to_i32(x: f64) -> Option<i32> {
    let r = (x + 0.5).floor();
    (r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX)).then_some(r as i32)
}

/// A QOperator bias input: INT32 at the accumulator scale.
fn int32_bias(
    ctx: &NodeContext,
    c: &Constant,
    scales: Vec<f64>,
    outputs: u32,
) -> Result<Bias, OnnxError> {
    if c.data_type != data_type::INT32 {
        return Err(ctx.error(format!("bias {} must be INT32", c.describe())));
    }
    let values = c
        .as_ints()
        .unwrap_or_default()
        .iter()
        .map(|&q| i32::try_from(q).ok())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ctx.error("bias value outside int32"))?;
    broadcast_bias(ctx, Bias::Int32 { values, scales }, outputs as usize)
}
