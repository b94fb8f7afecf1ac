//! Lowering a decoded ONNX graph to the [`LayerGraph`]: one pass over the
//! nodes in file order, tracking what every ONNX value name stands for.

use std::collections::BTreeMap;

use super::graph::{decode_constant, qualified_op_type, Attributes, Constant, NodeContext};
use super::layers::{Bias, Layer, LayerGraph, LayerOp, Origin, QuantParams, Value, Weights};
use super::proto::{data_type, GraphProto, ModelProto, NodeProto};
use super::{OnnxError, SourceFormat, SUPPORTED_OPS};

/// What an ONNX value name stands for during lowering.
#[derive(Clone, Debug)]
enum Sym {
    /// A float activation (value id).
    Activation(usize),
    /// An integer activation: a float activation seen through
    /// `QuantizeLinear`, or the output of a QOperator node.
    Quantized { value: usize, params: QuantParams },
    /// The ArgMax output.
    Index(usize),
    /// A constant (index into `consts`).
    Const(usize),
    /// `DequantizeLinear` of an integer constant (index into `dequantized`).
    Dequantized(usize),
}

/// An integer constant with its (per-tensor or per-axis) scale and zero point.
#[derive(Clone, Debug)]
struct DequantizedConst {
    values: Constant,
    scales: Vec<f64>,
    zero_points: Vec<i64>,
}

/// The class of ops the float-op handlers accept as their data input.
#[derive(Clone, Copy)]
enum Form {
    Float,
    Int(QuantParams),
}

struct Lowering<'g> {
    consts: Vec<Constant>,
    dequantized: Vec<DequantizedConst>,
    syms: BTreeMap<String, Sym>,
    values: Vec<Value>,
    layers: Vec<Layer>,
    stated: Vec<Option<QuantParams>>,
    /// How many nodes (and graph outputs) read each name.
    readers: BTreeMap<&'g str, usize>,
    /// MatMul outputs still waiting for their bias Add: name -> value.
    pending_bias: BTreeMap<String, usize>,
}

/// Lowers the model's graph; also says whether it was float, QDQ or QOperator.
pub(crate) fn lower(model: &ModelProto) -> Result<(LayerGraph, SourceFormat), OnnxError> {
    let graph = model.graph.as_ref().ok_or(OnnxError::NoGraph)?;
    let mut lowering = Lowering::new(graph)?;
    for (index, node) in graph.node.iter().enumerate() {
        lowering.node(index, node)?;
    }
    let layer_graph = lowering.finish(graph)?;
    Ok((layer_graph, source_format(graph)))
}

fn source_format(graph: &GraphProto) -> SourceFormat {
    let has = |pred: &dyn Fn(&str) -> bool| graph.node.iter().any(|n| pred(&n.op_type));
    if has(&|op| op.starts_with("QLinear") || op == "QGemm") {
        SourceFormat::QOperator
    } else if has(&|op| op == "QuantizeLinear" || op == "DequantizeLinear") {
        SourceFormat::Qdq
    } else {
        SourceFormat::Float
    }
}

fn graph_error(problem: impl Into<String>) -> OnnxError {
    OnnxError::Graph {
        problem: problem.into(),
    }
}

/// Parameters are "the same" when their scales agree to float32 precision.
fn same_params(a: QuantParams, b: QuantParams) -> bool {
    a.zero_point == b.zero_point
        && (a.scale - b.scale).abs() <= 1e-6 * a.scale.abs().max(b.scale.abs())
}

fn u32_of(ctx: &NodeContext, what: &str, v: i64) -> Result<u32, OnnxError> {
    u32::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| ctx.error(format!("{what} {v} is not a positive size")))
}

/// `rows x cols` row-major to `cols x rows`.
fn transpose<T: Copy>(data: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(data.len());
    for c in 0..cols {
        for r in 0..rows {
            out.push(data[r * cols + c]);
        }
    }
    out
}

/// The `[C, H, W]` output side of a window sliding over `size` (padded).
fn windows(size: u32, padding: u32, window: u32, stride: u32) -> Option<u32> {
    let padded = u64::from(size) + 2 * u64::from(padding);
    let spare = padded.checked_sub(u64::from(window))?;
    u32::try_from(spare / u64::from(stride) + 1).ok()
}

impl<'g> Lowering<'g> {
    fn new(graph: &'g GraphProto) -> Result<Lowering<'g>, OnnxError> {
        let mut lowering = Lowering {
            consts: Vec::new(),
            dequantized: Vec::new(),
            syms: BTreeMap::new(),
            values: Vec::new(),
            layers: Vec::new(),
            stated: Vec::new(),
            readers: BTreeMap::new(),
            pending_bias: BTreeMap::new(),
        };
        for tensor in &graph.initializer {
            let constant = decode_constant(tensor)?;
            lowering
                .syms
                .insert(tensor.name.clone(), Sym::Const(lowering.consts.len()));
            lowering.consts.push(constant);
        }
        for node in &graph.node {
            for name in node.input.iter().filter(|n| !n.is_empty()) {
                *lowering.readers.entry(name.as_str()).or_default() += 1;
            }
        }
        for output in &graph.output {
            *lowering.readers.entry(output.name.as_str()).or_default() += 1;
        }
        // The model input: the one graph input that is not an initializer
        // (before IR version 4, initializers were listed as inputs too).
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !lowering.syms.contains_key(&i.name))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(graph_error(format!(
                "the graph has {} inputs besides its initializers; the importer takes exactly one",
                inputs.len()
            )));
        };
        let tensor_type = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| graph_error(format!("input `{}` is not a tensor", input.name)))?;
        if tensor_type.elem_type != data_type::FLOAT {
            return Err(graph_error(format!(
                "input `{}` has element type {}, expected FLOAT",
                input.name,
                data_type::name(tensor_type.elem_type)
            )));
        }
        let dims = tensor_type
            .shape
            .as_ref()
            .map(|s| s.dim.as_slice())
            .unwrap_or_default();
        let mut shape = Vec::new();
        for (axis, dim) in dims.iter().enumerate() {
            match (axis, dim.dim_value) {
                // The batch dimension: symbolic or 1 (the IR runs batch 1).
                (0, None) | (0, Some(1)) => {}
                (_, Some(d)) if d > 0 && u32::try_from(d).is_ok() => shape.push(d as u32),
                _ => {
                    return Err(graph_error(format!(
                        "input `{}` has shape {:?}: expected [1 or batch, d1, ...] with fixed positive d1, ...",
                        input.name,
                        dims.iter()
                            .map(|d| d.dim_value.map_or_else(
                                || d.dim_param.clone().unwrap_or_else(|| "?".into()),
                                |v| v.to_string()
                            ))
                            .collect::<Vec<_>>()
                    )))
                }
            }
        }
        if shape.is_empty() {
            return Err(graph_error(format!(
                "input `{}` has no dimensions after the batch dimension (rank {})",
                input.name,
                dims.len()
            )));
        }
        lowering.stated.push(None);
        lowering.values.push(Value {
            shape,
            class: Some(0),
            name: input.name.clone(),
        });
        lowering.syms.insert(input.name.clone(), Sym::Activation(0));
        Ok(lowering)
    }

    fn finish(self, graph: &GraphProto) -> Result<LayerGraph, OnnxError> {
        let [output] = graph.output.as_slice() else {
            return Err(graph_error(format!(
                "the graph has {} outputs; the importer takes exactly one",
                graph.output.len()
            )));
        };
        if self.layers.is_empty() {
            return Err(graph_error(
                "the graph computes nothing: no layer was imported",
            ));
        }
        let last = self.values.len() - 1;
        match self.syms.get(&output.name) {
            Some(Sym::Activation(v) | Sym::Index(v) | Sym::Quantized { value: v, .. }) if *v == last => {}
            Some(_) => {
                return Err(graph_error(format!(
                    "the graph output `{}` is not the last computed value (the IR's output is its last tensor)",
                    output.name
                )))
            }
            None => {
                return Err(graph_error(format!(
                    "the graph output `{}` is not computed by any node",
                    output.name
                )))
            }
        }
        Ok(LayerGraph {
            values: self.values,
            layers: self.layers,
            stated: self.stated,
        })
    }

    // ------------------------------------------------------------------
    // Reading node inputs
    // ------------------------------------------------------------------

    fn input(&self, ctx: &NodeContext, node: &NodeProto, i: usize) -> Result<Sym, OnnxError> {
        self.opt_input(ctx, node, i)?.ok_or_else(|| {
            ctx.error(format!(
                "has {} inputs, input {i} is required",
                node.input.len()
            ))
        })
    }

    fn opt_input(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<Sym>, OnnxError> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(name) => self.syms.get(name).cloned().map(Some).ok_or_else(|| {
                ctx.error(format!(
                    "input `{name}` is neither an initializer, the graph input, nor written by an earlier node"
                ))
            }),
        }
    }

    fn input_name(node: &NodeProto, i: usize) -> &str {
        node.input.get(i).map_or("", String::as_str)
    }

    fn float_activation(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<usize, OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Activation(v) => Ok(v),
            Sym::Quantized { .. } => Err(ctx.error(format!(
                "input `{}` is an integer tensor; this op reads float values (a DequantizeLinear is missing)",
                Self::input_name(node, i)
            ))),
            _ => Err(ctx.error(format!(
                "input `{}` must be an activation computed from the graph input, not a constant or an index",
                Self::input_name(node, i)
            ))),
        }
    }

    /// An activation in either form (for ops that do not change values).
    fn any_activation(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<(usize, Form), OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Activation(v) => Ok((v, Form::Float)),
            Sym::Quantized { value, params } => Ok((value, Form::Int(params))),
            _ => Err(ctx.error(format!(
                "input `{}` must be an activation computed from the graph input, not a constant or an index",
                Self::input_name(node, i)
            ))),
        }
    }

    fn constant(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<&Constant, OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Const(c) => Ok(&self.consts[c]),
            _ => Err(ctx.error(format!(
                "input `{}` must be a constant (an initializer or Constant output)",
                Self::input_name(node, i)
            ))),
        }
    }

    fn opt_constant(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<&Constant>, OnnxError> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(_) => self.constant(ctx, node, i).map(Some),
        }
    }

    /// The quantization parameters given by a (scale, zero point) input pair
    /// of a QuantizeLinear / DequantizeLinear / QOperator node, for an
    /// activation: one scale, one zero point. A UINT8 zero point `z` is
    /// shifted to the int8 zero point `z - 128` (the IR's activations are
    /// int8; the shift does not change any real value).
    fn activation_params(
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
    fn integer_constant(
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
        })
    }

    // ------------------------------------------------------------------
    // Building layers
    // ------------------------------------------------------------------

    fn new_class(&mut self, stated: Option<QuantParams>) -> usize {
        self.stated.push(stated);
        self.stated.len() - 1
    }

    fn state_params(
        &mut self,
        ctx: &NodeContext,
        value: usize,
        params: QuantParams,
    ) -> Result<(), OnnxError> {
        let Some(class) = self.values[value].class else {
            return Err(ctx.error("quantizes the ArgMax index"));
        };
        match self.stated[class] {
            None => {
                self.stated[class] = Some(params);
                Ok(())
            }
            Some(p) if same_params(p, params) => Ok(()),
            Some(p) => Err(ctx.error(format!(
                "quantizes `{}` with scale {} and zero point {}, but it (or a tensor it shares parameters with through Relu/MaxPool/Reshape) is already quantized with scale {} and zero point {}; requantizing between them is not supported",
                self.values[value].name, params.scale, params.zero_point, p.scale, p.zero_point
            ))),
        }
    }

    fn push_layer(
        &mut self,
        layer: Layer,
        shape: Vec<u32>,
        class: Option<usize>,
        name: &str,
    ) -> usize {
        self.layers.push(layer);
        self.values.push(Value {
            shape,
            class,
            name: name.to_owned(),
        });
        self.values.len() - 1
    }

    fn bind(&mut self, node: &NodeProto, sym: Sym) {
        if let Some(name) = node.output.first() {
            if let Sym::Activation(v) | Sym::Quantized { value: v, .. } | Sym::Index(v) = sym {
                self.values[v].name.clone_from(name);
            }
            self.syms.insert(name.clone(), sym);
        }
    }

    fn origin(ctx: &NodeContext) -> Origin {
        Origin {
            node_name: ctx.name.clone(),
            op_type: ctx.op_type.clone(),
        }
    }

    /// The activation's IR shape must be one vector (ONNX `[1, n]`).
    fn vector_len(&self, ctx: &NodeContext, value: usize) -> Result<u32, OnnxError> {
        match self.values[value].shape.as_slice() {
            [n] => Ok(*n),
            shape => Err(ctx.error(format!(
                "reads `{}` of shape [1, {}]; a matrix product needs a [1, n] input (add a Flatten)",
                self.values[value].name,
                shape.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// A weight matrix as `[out][in]` plus its sizes. `stored_out_in` says
    /// whether it is stored `[out, in]` (Gemm transB=1) or `[in, out]`.
    fn weight_matrix(
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
                    super::graph::ConstValues::Float(w) => {
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
                (d.values.dims.clone(), int8_weights(ctx, d)?)
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
                Weights::Int8 { values, scale } => Weights::Int8 {
                    values: transpose(&values, rows, cols),
                    scale,
                },
            }
        };
        let out = u32_of(ctx, "output size", out as i64)?;
        let inp = u32_of(ctx, "input size", inp as i64)?;
        Ok((out, inp, weights))
    }

    /// A bias of `outputs` values (a float constant, possibly broadcast
    /// from one value, or a dequantized integer constant).
    fn bias(
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
                    super::graph::ConstValues::Float(b) => Bias::Float(b.clone()),
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

    // ------------------------------------------------------------------
    // Nodes
    // ------------------------------------------------------------------

    fn node(&mut self, index: usize, node: &NodeProto) -> Result<(), OnnxError> {
        let ctx = NodeContext::of(index, node);
        let domain_is_default = matches!(node.domain.as_str(), "" | "ai.onnx");
        match (domain_is_default, node.op_type.as_str()) {
            (true, "Gemm") => self.gemm(&ctx, node),
            (true, "MatMul") => self.matmul(&ctx, node),
            (true, "Add") => self.add(&ctx, node),
            (true, "Conv") => self.conv(&ctx, node, ConvInputs::FLOAT),
            (true, "Relu") => self.relu(&ctx, node),
            (true, "MaxPool") => self.max_pool(&ctx, node),
            (true, "Flatten") => self.flatten(&ctx, node),
            (true, "Reshape") => self.reshape(&ctx, node),
            (true, "ArgMax") => self.arg_max(&ctx, node),
            (true, "Identity") => {
                Attributes::new(node, &ctx, &[])?;
                let sym = self.input(&ctx, node, 0)?;
                self.bind(node, sym);
                Ok(())
            }
            (true, "Constant") => self.constant_node(&ctx, node),
            (true, "QuantizeLinear") => self.quantize_linear(&ctx, node),
            (true, "DequantizeLinear") => self.dequantize_linear(&ctx, node),
            (true, "QLinearMatMul") => self.qlinear_matmul(&ctx, node),
            (true, "QLinearConv") => self.conv(&ctx, node, ConvInputs::QLINEAR),
            (false, "QGemm") if node.domain == "com.microsoft" => self.qgemm(&ctx, node),
            (false, "QLinearAdd") if node.domain == "com.microsoft" => self.qlinear_add(&ctx, node),
            _ => Err(OnnxError::UnsupportedOp {
                op_type: qualified_op_type(node),
                node_name: node.name.clone(),
                node_index: index,
                supported: SUPPORTED_OPS,
            }),
        }
    }

    fn gemm(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn check_features(&self, ctx: &NodeContext, x: usize, inp: u32) -> Result<(), OnnxError> {
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
    fn dense(
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

    fn matmul(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn add(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn add_layer(
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

    fn conv(
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
            (d.values.dims.clone(), int8_weights(ctx, &d)?)
        } else {
            match self.input(ctx, node, io.weight)? {
                Sym::Const(c) => {
                    let c = &self.consts[c];
                    match &c.values {
                        super::graph::ConstValues::Float(w) => {
                            (c.dims.clone(), Weights::Float(w.clone()))
                        }
                        _ => {
                            return Err(ctx.error(format!("weight {} must be float", c.describe())))
                        }
                    }
                }
                Sym::Dequantized(d) => {
                    let d = &self.dequantized[d];
                    (d.values.dims.clone(), int8_weights(ctx, d)?)
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
        let (Some(oh), Some(ow)) = (
            windows(h, padding, kernel_h, stride),
            windows(w, padding, kernel_w, stride),
        ) else {
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
                    let w_scale = self
                        .integer_constant(ctx, node, io.weight, io.weight + 1, None)?
                        .scales[0];
                    let d = DequantizedConst {
                        scales: vec![x_scale * w_scale],
                        zero_points: vec![0],
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
                in_channels,
                out_channels,
                kernel_h,
                kernel_w,
                stride,
                padding,
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

    /// A QOperator node's stated input parameters must be those of its input.
    fn check_int_input(
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

    fn relu(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
    fn shape_preserving(
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

    fn max_pool(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
        let (Some(oh), Some(ow)) = (windows(h, 0, kernel, stride), windows(w, 0, kernel, stride))
        else {
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

    fn flatten(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn reshape(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn arg_max(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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

    fn constant_node(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["value"])?;
        let tensor = attrs
            .tensor("value")?
            .ok_or_else(|| ctx.error("only the `value` (tensor) form of Constant is supported"))?;
        let mut constant = decode_constant(tensor)?;
        if let Some(name) = node.output.first() {
            constant.name.clone_from(name);
        }
        self.consts.push(constant);
        self.bind(node, Sym::Const(self.consts.len() - 1));
        Ok(())
    }

    fn quantize_linear(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["axis", "saturate"])?;
        let _ = attrs;
        let x = self.float_activation(ctx, node, 0)?;
        let params = self.activation_params(ctx, node, 1, 2)?;
        self.state_params(ctx, x, params)?;
        self.bind(node, Sym::Quantized { value: x, params });
        Ok(())
    }

    fn dequantize_linear(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
                let d = self.integer_constant(ctx, node, 0, 1, Some(2))?;
                let axis = attrs.int("axis", 1)?;
                if d.scales.len() > 1 && axis != 0 {
                    return Err(ctx.error(format!(
                        "per-axis scales along axis {axis} are not supported (only per-output-channel, axis 0, and then only if all equal)"
                    )));
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

    fn qgemm(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
        let (out, inp, weights, w_scale) = self.int_weight_matrix(ctx, node, 3, trans_b)?;
        self.check_features(ctx, x, inp)?;
        let bias = match node.input.get(6).filter(|n| !n.is_empty()) {
            None => Bias::Float(vec![0.0; out as usize]),
            Some(_) => {
                let c = self.constant(ctx, node, 6)?;
                int32_bias(ctx, c, a.scale * w_scale, out)?
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
    ) -> Result<(u32, u32, Weights, f64), OnnxError> {
        let d = self.integer_constant(ctx, node, i, i + 1, Some(i + 2))?;
        let weights = int8_weights(ctx, &d)?;
        let Weights::Int8 { values, scale } = weights else {
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
            Weights::Int8 { values, scale },
            scale,
        ))
    }

    fn qlinear_matmul(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
    fn qlinear_add(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
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
                weights: Weights::Int8 { scale: w_scale, .. },
                ..
            } = &self.layers[v - 1].op
            else {
                return Err(ctx.error("internal: a pending bias is not an int8 Dense"));
            };
            let (out_features, acc_scale) = (*out_features, a.scale * *w_scale);
            let real = dequantize_constant(ctx, &b)?;
            let bias = broadcast_bias(ctx, Bias::Float(real), out_features as usize)?;
            let Bias::Float(real) = bias else {
                return Err(ctx.error("internal: bias is not float"));
            };
            let values = real
                .iter()
                .map(|&r| round_to_i32(f64::from(r) / acc_scale))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ctx.error("the bias does not fit int32 at the accumulator scale"))?;
            if let LayerOp::Dense { bias, .. } = &mut self.layers[v - 1].op {
                *bias = Bias::Int32 {
                    values,
                    scale: acc_scale,
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

/// Where a Conv-like node's inputs are.
#[derive(Clone, Copy)]
struct ConvInputs {
    quantized: bool,
    weight: usize,
    bias: Option<usize>,
}

impl ConvInputs {
    /// `Conv(X, W, B)`.
    const FLOAT: ConvInputs = ConvInputs {
        quantized: false,
        weight: 1,
        bias: Some(2),
    };
    /// `QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)`.
    const QLINEAR: ConvInputs = ConvInputs {
        quantized: true,
        weight: 3,
        bias: Some(8),
    };
}

/// Round half up to i32, if it fits.
fn round_to_i32(x: f64) -> Option<i32> {
    let r = (x + 0.5).floor();
    (r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX)).then_some(r as i32)
}

/// The one value all entries share (per-axis parameters that are all equal
/// are per-tensor ones).
fn uniform<T: Copy + PartialEq>(values: &[T]) -> Option<T> {
    let first = *values.first()?;
    values.iter().all(|&v| v == first).then_some(first)
}

/// Int8 symmetric weights from an integer constant: one scale, and a zero
/// point folded in exactly (`q - z` must fit int8; UINT8 weights with zero
/// point 128 do).
fn int8_weights(ctx: &NodeContext, d: &DequantizedConst) -> Result<Weights, OnnxError> {
    let scale = uniform(&d.scales).ok_or_else(|| {
        ctx.error(format!(
            "weight {} has {} different per-channel scales; the IR has one requantization multiplier per layer, so only per-tensor weight scales are supported (quantize with per_channel=False)",
            d.values.describe(),
            d.scales.len()
        ))
    })?;
    let zero_point = uniform(&d.zero_points).ok_or_else(|| {
        ctx.error(format!(
            "weight {} has per-channel zero points, which are not supported",
            d.values.describe()
        ))
    })?;
    let ints = d.values.as_ints().unwrap_or_default();
    let values = ints
        .iter()
        .map(|&q| i8::try_from(q - zero_point).ok())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            ctx.error(format!(
                "weight {} has zero point {zero_point}, which cannot be folded exactly: some q - {zero_point} fall outside int8",
                d.values.describe()
            ))
        })?;
    Ok(Weights::Int8 { values, scale })
}

fn dequantize_constant(ctx: &NodeContext, d: &DequantizedConst) -> Result<Vec<f32>, OnnxError> {
    let (Some(scale), Some(zero_point)) = (uniform(&d.scales), uniform(&d.zero_points)) else {
        return Err(ctx.error(format!(
            "{} has per-channel parameters, which are not supported here",
            d.values.describe()
        )));
    };
    Ok(d.values
        .as_ints()
        .unwrap_or_default()
        .iter()
        .map(|&q| ((q - zero_point) as f64 * scale) as f32)
        .collect())
}

/// A dequantized bias: INT32 values with one scale stay integer (the zero
/// point subtracted exactly); anything else is turned into floats.
fn dequantized_bias(ctx: &NodeContext, d: &DequantizedConst) -> Result<Bias, OnnxError> {
    if d.values.data_type == data_type::INT32 {
        if let (Some(scale), Some(zero_point)) = (uniform(&d.scales), uniform(&d.zero_points)) {
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
            return Ok(Bias::Int32 { values, scale });
        }
    }
    Ok(Bias::Float(dequantize_constant(ctx, d)?))
}

/// A QOperator bias input: INT32 at the accumulator scale.
fn int32_bias(
    ctx: &NodeContext,
    c: &Constant,
    scale: f64,
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
    broadcast_bias(ctx, Bias::Int32 { values, scale }, outputs as usize)
}

/// A bias of `n` values, or one value repeated `n` times.
fn broadcast_bias(ctx: &NodeContext, bias: Bias, n: usize) -> Result<Bias, OnnxError> {
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
        Bias::Int32 { values, scale } => Bias::Int32 {
            values: spread(values, n).ok_or_else(bad)?,
            scale,
        },
    })
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
