//! Ops that keep their input's quantization (Relu, which may instead fold
//! into the layer before it, Flatten and Reshape; MaxPool, in `conv`, too),
//! and ArgMax.

use crate::onnx::graph::{Attributes, NodeContext};
use crate::onnx::layers::{Layer, LayerOp};
use crate::onnx::proto::NodeProto;
use crate::onnx::OnnxError;

use super::{Form, Lowering, Sym};

impl Lowering<'_> {
    pub(super) fn relu(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        Attributes::new(node, ctx, &[])?;
        let (v, form) = self.any_activation(ctx, node, 0)?;
        let input_name = Self::input_name(node, 0);
        let class = self.values[v].class;
        let foldable = v > 0
            && matches!(form, Form::Float)
            && !self.layers[v - 1].relu
            && matches!(
                self.layers[v - 1].op,
                LayerOp::Dense { .. } | LayerOp::Conv2d { .. } | LayerOp::Add
            )
            && self.readers.get(input_name) == Some(&1)
            && class.is_some_and(|c| self.stated[c].is_none());
        if foldable {
            // The layer's output range becomes the ReLU's (it starts at 0, so
            // the zero point is -128 and the int8 clamp is the ReLU).
            self.layers[v - 1].relu = true;
            self.pending_bias.remove(input_name);
            self.bind(node, Sym::Activation(v));
            return Ok(());
        }
        self.shape_preserving(
            ctx,
            node,
            v,
            form,
            LayerOp::Relu,
            self.values[v].shape.clone(),
        )
    }

    /// A layer that keeps its input's quantization (Relu, MaxPool, Reshape).
    pub(super) fn shape_preserving(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
        x: usize,
        form: Form,
        op: LayerOp,
        shape: Vec<u32>,
    ) -> Result<(), OnnxError> {
        let layer = Layer {
            op,
            inputs: vec![x],
            relu: false,
            origin: Self::origin(ctx),
        };
        let class = self.values[x].class;
        let name = node.output.first().cloned().unwrap_or_default();
        let v = self.push_layer(layer, shape, class, &name);
        self.bind(
            node,
            match form {
                Form::Float => Sym::Activation(v),
                Form::Int(params) => Sym::Quantized { value: v, params },
            },
        );
        Ok(())
    }

    pub(super) fn flatten(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["axis"])?;
        let (x, form) = self.any_activation(ctx, node, 0)?;
        let rank = self.values[x].shape.len() as i64 + 1;
        let axis = attrs.int("axis", 1)?;
        if axis != 1 && axis + rank != 1 {
            return Err(ctx.error(format!(
                "axis={axis} is not supported (only 1: keep the batch dimension)"
            )));
        }
        let n = self.values[x]
            .shape
            .iter()
            .map(|&d| u64::from(d))
            .product::<u64>();
        let n = u32::try_from(n).map_err(|_| ctx.error("too many elements"))?;
        self.shape_preserving(
            ctx,
            node,
            x,
            form,
            LayerOp::Reshape { shape: vec![n] },
            vec![n],
        )
    }

    pub(super) fn reshape(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["allowzero"])?;
        let allow_zero = attrs.int("allowzero", 0)? != 0;
        let (x, form) = self.any_activation(ctx, node, 0)?;
        let target = self.constant(ctx, node, 1)?;
        let Some(target) = target.as_ints().map(<[i64]>::to_vec) else {
            return Err(ctx.error(format!("shape {} must be INT64", target.describe())));
        };
        // The input's full ONNX shape, batch first.
        let full: Vec<i64> = std::iter::once(1)
            .chain(self.values[x].shape.iter().map(|&d| i64::from(d)))
            .collect();
        let total: i64 = full.iter().product();
        let mut dims = Vec::with_capacity(target.len());
        let mut infer = None;
        for (i, &d) in target.iter().enumerate() {
            match d {
                0 if !allow_zero => dims.push(*full.get(i).ok_or_else(|| {
                    ctx.error(format!(
                        "shape {target:?}: 0 at axis {i} copies a missing input axis"
                    ))
                })?),
                -1 if infer.is_none() => {
                    infer = Some(i);
                    dims.push(1);
                }
                d if d > 0 => dims.push(d),
                _ => return Err(ctx.error(format!("shape {target:?} is not supported"))),
            }
        }
        let known: i64 = dims.iter().product();
        if let Some(i) = infer {
            if known == 0 || total % known != 0 {
                return Err(ctx.error(format!("shape {target:?} does not fit {total} elements")));
            }
            dims[i] = total / known;
        }
        if dims.iter().product::<i64>() != total || dims.first() != Some(&1) || dims.len() < 2 {
            return Err(ctx.error(format!(
                "reshapes {full:?} to {target:?}: the result must keep batch 1 first and the element count"
            )));
        }
        let shape = dims[1..]
            .iter()
            .map(|&d| u32::try_from(d).map_err(|_| ctx.error("dimension too large")))
            .collect::<Result<Vec<_>, _>>()?;
        self.shape_preserving(
            ctx,
            node,
            x,
            form,
            LayerOp::Reshape {
                shape: shape.clone(),
            },
            shape,
        )
    }

    pub(super) fn arg_max(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["axis", "keepdims", "select_last_index"])?;
        let (x, _) = self.any_activation(ctx, node, 0)?;
        self.vector_len(ctx, x)?;
        let axis = attrs.int("axis", 0)?;
        if axis != 1 && axis != -1 {
            return Err(ctx.error(format!(
                "axis={axis} is not supported: only the last axis (1 or -1) of a [1, n] tensor"
            )));
        }
        if attrs.int("select_last_index", 0)? != 0 {
            return Err(
                ctx.error("select_last_index=1 is not supported (ties go to the first maximum)")
            );
        }
        let layer = Layer {
            op: LayerOp::ArgMax,
            inputs: vec![x],
            relu: false,
            origin: Self::origin(ctx),
        };
        let name = node.output.first().cloned().unwrap_or_default();
        let v = self.push_layer(layer, vec![1], None, &name);
        self.bind(node, Sym::Index(v));
        Ok(())
    }
}
