//! QDQ nodes: QuantizeLinear states an activation's quantization,
//! DequantizeLinear reads it back (or dequantizes an integer constant).

use crate::onnx::graph::{Attributes, NodeContext};
use crate::onnx::proto::NodeProto;
use crate::onnx::OnnxError;

use super::{same_params, Lowering, Sym};

impl Lowering<'_> {
    pub(super) fn quantize_linear(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
    ) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["axis", "saturate"])?;
        let _ = attrs;
        let x = self.float_activation(ctx, node, 0)?;
        let params = self.activation_params(ctx, node, 1, 2)?;
        self.state_params(ctx, x, params)?;
        self.bind(node, Sym::Quantized { value: x, params });
        Ok(())
    }

    pub(super) fn dequantize_linear(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
    ) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["axis"])?;
        match self.input(ctx, node, 0)? {
            Sym::Quantized { value, params } => {
                let given = self.activation_params(ctx, node, 1, 2)?;
                if !same_params(given, params) {
                    return Err(ctx.error(format!(
                        "dequantizes `{}` with scale {} and zero point {}, but it was quantized with scale {} and zero point {}",
                        Self::input_name(node, 0),
                        given.scale,
                        given.zero_point,
                        params.scale,
                        params.zero_point
                    )));
                }
                self.bind(node, Sym::Activation(value));
            }
            Sym::Const(_) => {
                let mut d = self.integer_constant(ctx, node, 0, 1, Some(2))?;
                let axis = attrs.int("axis", 1)?;
                // The axis only matters for per-axis parameters (ONNX ignores
                // it for a scalar scale, and its default 1 may not exist).
                if d.scales.len() > 1 || d.zero_points.len() > 1 {
                    let rank = d.values.dims.len() as i64;
                    let normalized = if axis < 0 { axis + rank } else { axis };
                    if !(0..rank).contains(&normalized) {
                        return Err(ctx.error(format!(
                            "axis {axis} is outside the {rank}-D tensor {}",
                            d.values.describe()
                        )));
                    }
                    d.axis = Some(normalized as usize);
                }
                self.dequantized.push(d);
                self.bind(node, Sym::Dequantized(self.dequantized.len() - 1));
            }
            _ => {
                return Err(ctx.error(format!(
                    "input `{}` must be a quantized activation or an integer constant",
                    Self::input_name(node, 0)
                )))
            }
        }
        Ok(())
    }
}
