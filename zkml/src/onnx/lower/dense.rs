//! Matrix products and additions: Gemm, MatMul, and Add (which folds a
//! constant bias into the MatMul before it); also the Dense and Add layer
//! builders the QOperator nodes share.

use crate::onnx::graph::{Attributes, NodeContext};
use crate::onnx::layers::{Bias, Layer, LayerOp, QuantParams, Weights};
use crate::onnx::proto::NodeProto;
use crate::onnx::OnnxError;

use super::{Lowering, Sym};

impl Lowering<'_> {
    pub(super) fn gemm(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["alpha", "beta", "transA", "transB"])?;
        let (alpha, beta) = (attrs.float("alpha", 1.0)?, attrs.float("beta", 1.0)?);
        let (trans_a, trans_b) = (attrs.int("transA", 0)?, attrs.int("transB", 0)?);
        if trans_a != 0 {
            return Err(ctx.error(format!(
                "transA={trans_a} is not supported: the input must be a [1, in] row (transA=0)"
            )));
        }
        if alpha != 1.0 || (beta != 1.0 && node.input.get(2).is_some_and(|c| !c.is_empty())) {
            return Err(ctx.error(format!(
                "alpha={alpha}, beta={beta} are not supported (only alpha=1, beta=1)"
            )));
        }
        let x = self.float_activation(ctx, node, 0)?;
        let (out, inp, weights) = self.weight_matrix(ctx, node, 1, trans_b != 0)?;
        self.check_features(ctx, x, inp)?;
        let bias = self.bias(ctx, node, 2, out)?;
        let v = self.dense(ctx, node, x, inp, out, weights, bias, None);
        self.bind(node, Sym::Activation(v));
        Ok(())
    }

    pub(super) fn check_features(
        &self,
        ctx: &NodeContext,
        x: usize,
        inp: u32,
    ) -> Result<(), OnnxError> {
        let n = self.vector_len(ctx, x)?;
        if n != inp {
            return Err(ctx.error(format!(
                "the weight takes {inp} inputs, but `{}` has {n}",
                self.values[x].name
            )));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn dense(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
        x: usize,
        in_features: u32,
        out_features: u32,
        weights: Weights,
        bias: Bias,
        stated: Option<QuantParams>,
    ) -> usize {
        let class = self.new_class(stated);
        let layer = Layer {
            op: LayerOp::Dense {
                in_features,
                out_features,
                weights,
                bias,
            },
            inputs: vec![x],
            relu: false,
            origin: Self::origin(ctx),
        };
        let name = node.output.first().cloned().unwrap_or_default();
        self.push_layer(layer, vec![out_features], Some(class), &name)
    }

    pub(super) fn matmul(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        Attributes::new(node, ctx, &[])?;
        let x = self.float_activation(ctx, node, 0)?;
        let (out, inp, weights) = self.weight_matrix(ctx, node, 1, false)?;
        self.check_features(ctx, x, inp)?;
        let v = self.dense(
            ctx,
            node,
            x,
            inp,
            out,
            weights,
            Bias::Float(vec![0.0; out as usize]),
            None,
        );
        if let Some(name) = node.output.first() {
            self.pending_bias.insert(name.clone(), v);
        }
        self.bind(node, Sym::Activation(v));
        Ok(())
    }

    /// The MatMul output this Add reads, when it adds a constant bias to it.
    /// The MatMul output this Add reads, when it adds a constant bias to it:
    /// `(value, constant input, the MatMul's output name)`. The MatMul output
    /// may have passed through a QuantizeLinear / DequantizeLinear pair (QDQ
    /// files quantize it before the bias Add) if nothing else reads it.
    fn bias_target(&self, node: &NodeProto) -> Option<(usize, usize, String)> {
        for (act, cst) in [(0, 1), (1, 0)] {
            let name = node.input.get(act)?;
            let reads_const = matches!(
                node.input.get(cst).and_then(|n| self.syms.get(n)),
                Some(Sym::Const(_) | Sym::Dequantized(_))
            );
            let Some(Sym::Activation(v)) = self.syms.get(name) else {
                continue;
            };
            let pending = self
                .pending_bias
                .iter()
                .find(|(_, &p)| p == *v)
                .map(|(n, _)| n.clone());
            if let Some(matmul_name) = pending {
                let single = |n: &str| self.readers.get(n) == Some(&1);
                if reads_const && single(name) && single(&matmul_name) {
                    return Some((*v, cst, matmul_name));
                }
            }
        }
        None
    }

    pub(super) fn add(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        Attributes::new(node, ctx, &[])?;
        if let Some((v, cst, matmul_name)) = self.bias_target(node) {
            let LayerOp::Dense { out_features, .. } = self.layers[v - 1].op else {
                return Err(ctx.error("internal: a pending bias is not a Dense"));
            };
            let bias = self.bias(ctx, node, cst, out_features)?;
            if let LayerOp::Dense { bias: b, .. } = &mut self.layers[v - 1].op {
                *b = bias;
            }
            if node.input.get(1 - cst) != Some(&matmul_name) {
                // A QDQ quantization of the bias-less MatMul output is
                // dropped: the Dense requantizes once, to the Add's output.
                if let Some(class) = self.values[v].class {
                    self.stated[class] = None;
                }
            }
            self.pending_bias.remove(&matmul_name);
            self.bind(node, Sym::Activation(v));
            return Ok(());
        }
        let a = self.float_activation(ctx, node, 0).map_err(|_| {
            ctx.error(
                "only two activations, or a MatMul output and its constant bias, can be added",
            )
        })?;
        let b = self.float_activation(ctx, node, 1).map_err(|_| {
            ctx.error(
                "only two activations, or a MatMul output and its constant bias, can be added",
            )
        })?;
        self.add_layer(ctx, node, a, b, None)
    }

    pub(super) fn add_layer(
        &mut self,
        ctx: &NodeContext,
        node: &NodeProto,
        a: usize,
        b: usize,
        stated: Option<QuantParams>,
    ) -> Result<(), OnnxError> {
        if self.values[a].shape != self.values[b].shape {
            return Err(ctx.error(format!(
                "adds `{}` {:?} and `{}` {:?}: broadcasting is not supported",
                self.values[a].name,
                self.values[a].shape,
                self.values[b].name,
                self.values[b].shape
            )));
        }
        let shape = self.values[a].shape.clone();
        let class = self.new_class(stated);
        let layer = Layer {
            op: LayerOp::Add,
            inputs: vec![a, b],
            relu: false,
            origin: Self::origin(ctx),
        };
        let name = node.output.first().cloned().unwrap_or_default();
        let v = self.push_layer(layer, shape, Some(class), &name);
        self.bind(
            node,
            match stated {
                Some(params) => Sym::Quantized { value: v, params },
                None => Sym::Activation(v),
            },
        );
        Ok(())
    }
}
