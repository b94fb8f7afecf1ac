//! Sliding-window ops: Conv and QLinearConv (one handler, told apart by
//! [`ConvInputs`]), and MaxPool.

use crate::ir::{window_count, ConvGeometry};
use crate::onnx::graph::{Attributes, NodeContext};
use crate::onnx::layers::{Bias, Layer, LayerOp, Weights};
use crate::onnx::proto::NodeProto;
use crate::onnx::OnnxError;

use super::constants::{broadcast_bias, dequantized_bias, int8_weights};
use super::{u32_of, DequantizedConst, Lowering, Sym};

impl Lowering<'_> {
    pub(super) fn conv(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
        io: ConvInputs,
    ) -> Result<(), OnnxError> {
        let attrs = Attributes::new(
            node,
            ctx,
            &[
                "auto_pad",
                "dilations",
                "group",
                "kernel_shape",
                "pads",
                "strides",
            ],
        )?;
        let x = if io.quantized {
            let (x, form) = self.any_activation(ctx, node, 0)?;
            let given = self.activation_params(ctx, node, 1, 2)?;
            self.check_int_input(ctx, node, form, given)?;
            x
        } else {
            self.float_activation(ctx, node, 0)?
        };
        let (dims, weights) = if io.quantized {
            let d =
                self.integer_constant(ctx, node, io.weight, io.weight + 1, Some(io.weight + 2))?;
            (d.values.dims.clone(), int8_weights(ctx, &d, 0)?)
        } else {
            match self.input(ctx, node, io.weight)? {
                Sym::Const(c) => {
                    let c = &self.consts[c];
                    match &c.values {
                        crate::onnx::graph::ConstValues::Float(w) => {
                            (c.dims.clone(), Weights::Float(w.clone()))
                        }
                        _ => {
                            return Err(ctx.error(format!("weight {} must be float", c.describe())))
                        }
                    }
                }
                Sym::Dequantized(d) => {
                    let d = &self.dequantized[d];
                    (d.values.dims.clone(), int8_weights(ctx, d, 0)?)
                }
                _ => return Err(ctx.error("the weight must be a constant")),
            }
        };
        let [o, c, kh, kw] = dims.as_slice() else {
            return Err(ctx.error(format!(
                "weight dims {dims:?}: expected [out, in, kh, kw] (2-D convolution)"
            )));
        };
        let (out_channels, in_channels) = (
            u32_of(ctx, "out channels", *o as i64)?,
            u32_of(ctx, "in channels", *c as i64)?,
        );
        let (kernel_h, kernel_w) = (
            u32_of(ctx, "kernel height", *kh as i64)?,
            u32_of(ctx, "kernel width", *kw as i64)?,
        );
        if attrs.int("group", 1)? != 1 {
            return Err(ctx.error("group != 1 (grouped or depthwise convolution) is not supported"));
        }
        if let Some(d) = attrs.ints("dilations")? {
            if d.iter().any(|&d| d != 1) {
                return Err(ctx.error(format!("dilations {d:?} are not supported (only 1)")));
            }
        }
        if let Some(k) = attrs.ints("kernel_shape")? {
            if k != [*kh as i64, *kw as i64] {
                return Err(ctx.error(format!(
                    "kernel_shape {k:?} disagrees with the weight dims {dims:?}"
                )));
            }
        }
        let stride = square(ctx, "strides", attrs.ints("strides")?, 1)?;
        let padding = symmetric_pads(ctx, &attrs)?;
        let (stride, padding) = (
            u32_of(ctx, "stride", stride)?,
            u32::try_from(padding).map_err(|_| ctx.error("pads too large"))?,
        );
        let [ci, h, w] = self.values[x].shape[..] else {
            return Err(ctx.error(format!(
                "reads `{}` of IR shape {:?}; a convolution needs [1, C, H, W]",
                self.values[x].name, self.values[x].shape
            )));
        };
        if ci != in_channels {
            return Err(ctx.error(format!(
                "the weight takes {in_channels} channels, the input has {ci}"
            )));
        }
        let geometry = ConvGeometry {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            stride,
            padding,
        };
        let Some([oh, ow]) = geometry.output_size([h, w]) else {
            return Err(ctx.error(format!(
                "a {kernel_h}x{kernel_w} kernel does not fit the {h}x{w} input"
            )));
        };
        let (bias, stated) = if io.quantized {
            let bias = match io
                .bias
                .and_then(|i| node.input.get(i))
                .filter(|n| !n.is_empty())
            {
                None => Bias::Float(vec![0.0; out_channels as usize]),
                Some(_) => {
                    let i = io.bias.unwrap_or_default();
                    let d = self.integer_constant(ctx, node, i, 1, None)?;
                    // QLinearConv's bias is int32 at scale x_scale * w_scale.
                    let x_scale = self.activation_params(ctx, node, 1, 2)?.scale;
                    let w_scales = self
                        .integer_constant(ctx, node, io.weight, io.weight + 1, None)?
                        .scales;
                    let d = DequantizedConst {
                        scales: w_scales.iter().map(|w| x_scale * w).collect(),
                        zero_points: vec![0],
                        axis: Some(0),
                        ..d
                    };
                    dequantized_bias(ctx, &d)?
                }
            };
            (bias, Some(self.activation_params(ctx, node, 6, 7)?))
        } else {
            (self.bias(ctx, node, 2, out_channels)?, None)
        };
        let bias = broadcast_bias(ctx, bias, out_channels as usize)?;
        let class = self.new_class(stated);
        let layer = Layer {
            op: LayerOp::Conv2d {
                geometry,
                weights,
                bias,
            },
            inputs: vec![x],
            relu: false,
            origin: Self::origin(ctx),
        };
        let name = node.output.first().cloned().unwrap_or_default();
        let v = self.push_layer(layer, vec![out_channels, oh, ow], Some(class), &name);
        self.bind(
            node,
            match stated {
                Some(params) => Sym::Quantized { value: v, params },
                None => Sym::Activation(v),
            },
        );
        Ok(())
    }

    pub(super) fn max_pool(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
    ) -> Result<(), OnnxError> {
        let attrs = Attributes::new(
            node,
            ctx,
            &[
                "auto_pad",
                "ceil_mode",
                "dilations",
                "kernel_shape",
                "pads",
                "storage_order",
                "strides",
            ],
        )?;
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(ctx.error("the Indices output is not supported"));
        }
        if attrs.int("ceil_mode", 0)? != 0 {
            return Err(ctx.error("ceil_mode=1 is not supported"));
        }
        if let Some(d) = attrs.ints("dilations")? {
            if d.iter().any(|&d| d != 1) {
                return Err(ctx.error(format!("dilations {d:?} are not supported (only 1)")));
            }
        }
        if symmetric_pads(ctx, &attrs)? != 0 {
            return Err(ctx.error("padding is not supported (pads must be 0)"));
        }
        let kernel = match attrs.ints("kernel_shape")? {
            Some(k) => square(ctx, "kernel_shape", Some(k), 0)?,
            None => return Err(ctx.error("kernel_shape is required")),
        };
        let stride = square(ctx, "strides", attrs.ints("strides")?, 1)?;
        let (kernel, stride) = (
            u32_of(ctx, "kernel", kernel)?,
            u32_of(ctx, "stride", stride)?,
        );
        let (x, form) = self.any_activation(ctx, node, 0)?;
        let [c, h, w] = self.values[x].shape[..] else {
            return Err(ctx.error(format!(
                "reads IR shape {:?}; MaxPool needs [1, C, H, W]",
                self.values[x].shape
            )));
        };
        let (Some(oh), Some(ow)) = (
            window_count(u64::from(h), kernel, stride),
            window_count(u64::from(w), kernel, stride),
        ) else {
            return Err(ctx.error(format!(
                "a {kernel}x{kernel} window does not fit the {h}x{w} input"
            )));
        };
        self.shape_preserving(
            ctx,
            node,
            x,
            form,
            LayerOp::MaxPool { kernel, stride },
            vec![c, oh, ow],
        )
    }
}

/// Where a Conv-like node's inputs are.
#[derive(Clone, Copy)]
pub(super) struct ConvInputs {
    quantized: bool,
    weight: usize,
    bias: Option<usize>,
}

impl ConvInputs {
    /// `Conv(X, W, B)`.
    pub(super) const FLOAT: ConvInputs = ConvInputs {
        quantized: false,
        weight: 1,
        bias: Some(2),
    };
    /// `QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)`.
    pub(super) const QLINEAR: ConvInputs = ConvInputs {
        quantized: true,
        weight: 3,
        bias: Some(8),
    };
}

/// A two-element attribute with equal elements (`strides`, `kernel_shape`).
fn square(
    ctx: &NodeContext,
    what: &str,
    v: Option<&[i64]>,
    default: i64,
) -> Result<i64, OnnxError> {
    match v {
        None => Ok(default),
        Some([a, b]) if a == b => Ok(*a),
        Some(v) => Err(ctx.error(format!(
            "{what} {v:?} is not supported: it must be [n, n] (2-D, equal sides)"
        ))),
    }
}

/// The one padding of all four sides, from `pads` and `auto_pad`.
fn symmetric_pads(ctx: &NodeContext, attrs: &Attributes<'_>) -> Result<i64, OnnxError> {
    match attrs.string("auto_pad")?.as_deref() {
        None | Some("NOTSET") | Some("VALID") | Some("") => {}
        Some(other) => {
            return Err(ctx.error(format!(
                "auto_pad={other} is not supported (give explicit pads)"
            )))
        }
    }
    match attrs.ints("pads")? {
        None => Ok(0),
        Some(p @ [a, ..]) if p.len() == 4 && p.iter().all(|x| x == a) && *a >= 0 => Ok(*a),
        Some(p) => Err(ctx.error(format!(
            "pads {p:?} are not supported: all four sides must be equal"
        ))),
    }
}
